-- loop.lua -- pure Lua work, the same file for `lua5.4 bench/loop.lua`
-- and `clawhost run bench/loop.lua` (make bench, section 1): arithmetic,
-- table writes and string building, no C call that takes long. The work
-- runs when the file loads, so both interpreters time the same thing.
local x, t, parts = 0, {}, {}
for i = 1, 30000000 do
  x = x + i % 7
  t[i % 1024 + 1] = x
end
for i = 1, 200000 do parts[#parts + 1] = tostring(i) end
local s = table.concat(parts, ",")
return { description = "pure Lua work (bench)",
         run = function() return { x = x, len = #s } end }
