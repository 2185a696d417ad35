-- testlib.lua: a small assertion library for Lua tests run by the host.
--
-- A test file is a recipe: its run() builds a suite, runs cases and
-- returns suite:done(), a table {suite=, passed=, failed=, failures=}
-- that tests/run_lua.sh reads from `clawhost run FILE --json`.
local _M = {}

local suite_mt = {}
suite_mt.__index = suite_mt

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- Deep comparison for plain tables (metatables are ignored).
local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end
_M.same = same

function _M.new(name)
  return setmetatable({ name = name, passed = 0, failed = 0,
                        failures = {} }, suite_mt)
end

-- Run one case; it fails when it raises (an assertion or any error).
function suite_mt:case(name, fn)
  local ok, err = pcall(fn)
  if ok then
    self.passed = self.passed + 1
  else
    self.failed = self.failed + 1
    self.failures[#self.failures + 1] = name .. ": " .. tostring(err)
  end
end

function _M.eq(got, want, what)
  if not same(got, want) then
    error((what or "value") .. ": expected " .. show(want) ..
          ", got " .. show(got), 2)
  end
end

function _M.ok(v, what)
  if not v then error((what or "condition") .. " is false", 2) end
end

-- fn must raise an error whose text contains `pattern` (plain find).
function _M.raises(fn, pattern, what)
  local ok, err = pcall(fn)
  if ok then error((what or "call") .. " did not raise", 2) end
  local msg = type(err) == "table" and tostring(err.message) or
              tostring(err)
  if pattern and not msg:find(pattern, 1, true) then
    error((what or "call") .. " raised " .. show(msg) ..
          ", expected it to mention " .. show(pattern), 2)
  end
  return err
end

function suite_mt:done()
  return { suite = self.name, passed = self.passed,
           failed = self.failed, failures = self.failures }
end

return _M
