-- sandbox_test.lua: the sandbox's details that a recipe can observe
-- without being stopped (host/sandbox/sandbox.c, sbcoro.c, require.c,
-- lstrmatch.c). What is refused (exit 4) is tested from outside, in
-- tests/e2e/test_sandbox.py: a refusal would end this suite.

-- The string matchers are the host's own (they obey the deadline). Each
-- entry is a Lua expression and what stock Lua 5.4 gives for it, as
-- "<pcall ok> <results as %q/tostring>", generated with lua5.4.
local PATTERNS = {
  { "string.find(\"hello world\", \"o w\")",
    "true 5, 7" },
  { "string.find(\"hello world\", \"o\", 6)",
    "true 8, 8" },
  { "string.find(\"hello world\", \"l+\")",
    "true 3, 4" },
  { "string.find(\"hello\", \"l\", -2)",
    "true 4, 4" },
  { "string.find(\"hello\", \"\", 10)",
    "true nil" },
  { "string.find(\"hello\", \"\", 6)",
    "true 6, 5" },
  { "string.find(\"hello\", \"xyz\")",
    "true nil" },
  { "string.find(\"a.b\", \".\", 1, true)",
    "true 2, 2" },
  { "string.find(\"a+b\", \"+\", 1, true)",
    "true 2, 2" },
  { "string.find(\"hello\", \"(l)(l)\")",
    "true 3, 4, \"l\", \"l\"" },
  { "string.find(\"hello\", \"()ll()\")",
    "true 3, 4, 3, 5" },
  { "string.find(\"\", \"\")",
    "true 1, 0" },
  { "string.find(\"abc\", \"^b\")",
    "true nil" },
  { "string.find(\"abc\", \"c$\")",
    "true 3, 3" },
  { "string.find(\"a$c\", \"$c\")",
    "true 2, 3" },
  { "string.match(\"key = value\", \"(%w+)%s*=%s*(%w+)\")",
    "true \"key\", \"value\"" },
  { "string.match(\"2026-05-12\", \"(%d+)-(%d+)-(%d+)\")",
    "true \"2026\", \"05\", \"12\"" },
  { "string.match(\"  trim  \", \"^%s*(.-)%s*$\")",
    "true \"trim\"" },
  { "string.match(\"THE (quick) fox\", \"%((%a+)%)\")",
    "true \"quick\"" },
  { "string.match(\"f(a(b)c)d\", \"%b()\")",
    "true \"(a(b)c)\"" },
  { "string.match(\"THE (quick) fox\", \"%f[%a]%a+\")",
    "true \"THE\"" },
  { "string.match(\"hello\", \".-l\")",
    "true \"hel\"" },
  { "string.match(\"hello\", \".*l\")",
    "true \"hell\"" },
  { "string.match(\"hello\", \"l?lo\")",
    "true \"llo\"" },
  { "string.match(\"x = 10\", \"()=()\")",
    "true 3, 4" },
  { "string.match(\"abc\", \"((a)(b))\")",
    "true \"ab\", \"a\", \"b\"" },
  { "string.match(\"hello\", \"h(.)\")",
    "true \"e\"" },
  { "string.match(\"aaa\", \"a-b\")",
    "true nil" },
  { "string.match(\"[test]\", \"%[(.*)%]\")",
    "true \"test\"" },
  { "string.match(\"a1b2c3\", \"%a%d%a%d\")",
    "true \"a1b2\"" },
  { "string.match(\"\\0x\\0\", \"%z?x\")",
    "true \"\\0x\"" },
  { "string.match(\"hello\", \"[^aeiou]+\")",
    "true \"h\"" },
  { "string.match(\"hello\", \"[%a]-o\")",
    "true \"hello\"" },
  { "string.match(\"0x1F\", \"^0[xX](%x+)$\")",
    "true \"1F\"" },
  { "string.match(\"a.b\", \"%.\")",
    "true \".\"" },
  { "string.match(\"abc\", \"b\", -1)",
    "true nil" },
  { "string.match(\"abcabc\", \"(abc)%1\")",
    "true \"abc\"" },
  { "string.match(\"ab-cd\", \"[a-c-]+\")",
    "true \"ab-c\"" },
  { "string.match(\"UPPER lower\", \"%u+\")",
    "true \"UPPER\"" },
  { "string.match(\"tab\\there\", \"%c\")",
    "true \"\\9\"" },
  { "string.match(\"x!y\", \"%p\")",
    "true \"!\"" },
  { "string.match(\"caf√©\", \"caf.\")",
    "true \"caf√\"" },
  { "string.gsub(\"hello world\", \"o\", \"0\")",
    "true \"hell0 w0rld\", 2" },
  { "string.gsub(\"hello world\", \"o\", \"0\", 1)",
    "true \"hell0 world\", 1" },
  { "string.gsub(\"hello\", \"\", \"-\")",
    "true \"-h-e-l-l-o-\", 6" },
  { "string.gsub(\"abc\", \"%w\", \"%0%0\")",
    "true \"aabbcc\", 3" },
  { "string.gsub(\"hello world\", \"(%w+)\", \"<%1>\")",
    "true \"<hello> <world>\", 2" },
  { "string.gsub(\"hello world\", \"(%w+) (%w+)\", \"%2 %1\")",
    "true \"world hello\", 1" },
  { "string.gsub(\"$name is $age\", \"%$(%w+)\", {name=\"bob\", age=3})",
    "true \"bob is 3\", 2" },
  { "string.gsub(\"abc\", \"%w\", function(c) return c:upper() .. \".\" end)",
    "true \"A.B.C.\", 3" },
  { "string.gsub(\"abc\", \"%w\", function(c) if c == \"b\" then return false end return \"x\" end)",
    "true \"xbx\", 3" },
  { "string.gsub(\"a b c\", \" \", \"%%\")",
    "true \"a%b%c\", 2" },
  { "string.gsub(\"abc\", \"b*\", \"-\")",
    "true \"-a-c-\", 3" },
  { "string.gsub(\"\", \"x*\", \"-\")",
    "true \"-\", 1" },
  { "string.gsub(\"hello\", \"l\", {l = 1})",
    "true \"he11o\", 2" },
  { "string.gsub(\"one two\", \"(%w+)\", \"%0-%0\")",
    "true \"one-one two-two\", 2" },
  { "string.gsub(\"abc\", \".\", {a = true})",
    "false \"[string \\\"return string.gsub(\\\"abc\\\", \\\".\\\", {a = true})\\\"]:1: invalid replacement value (a boolean)\"" },
  { "string.gsub(\"x^2\", \"%^\", \"**\")",
    "true \"x**2\", 1" },
  { "string.gsub(\"hello world\", \"%f[%w]%w+\", string.upper)",
    "true \"HELLO WORLD\", 2" },
  { "string.gsub(\"aaa\", \"^a\", \"b\")",
    "true \"baa\", 1" },
  { "string.gsub(\"a,b,,c\", \",\", \";\", 2)",
    "true \"a;b;,c\", 2" },
  { "string.gsub(\"abc\", \"\", \"-\", 2)",
    "true \"-a-bc\", 2" },
  { "(function() local t = {} for k, v in string.gmatch(\"a=1, b=2\", \"(%w+)=(%w+)\") do t[#t+1] = k .. v end return table.concat(t, \" \") end)()",
    "true \"a1 b2\"" },
  { "(function() local t = {} for w in string.gmatch(\"one two  three\", \"%a+\") do t[#t+1] = w end return table.concat(t, \"|\") end)()",
    "true \"one|two|three\"" },
  { "(function() local t = {} for w in string.gmatch(\"abc\", \"\") do t[#t+1] = \"[\" .. w .. \"]\" end return table.concat(t) end)()",
    "true \"[][][][]\"" },
  { "(function() local t = {} for p in string.gmatch(\"abc\", \"()\") do t[#t+1] = p end return table.concat(t, \",\") end)()",
    "true \"1,2,3,4\"" },
  { "(function() local t = {} for w in string.gmatch(\"baa\", \"a*\") do t[#t+1] = \"[\" .. w .. \"]\" end return table.concat(t) end)()",
    "true \"[][aa]\"" },
  { "(function() local t = {} for w in string.gmatch(\"hello world\", \"%a+\", 3) do t[#t+1] = w end return table.concat(t, \"|\") end)()",
    "true \"llo|world\"" },
  { "(function() local t = {} for w in string.gmatch(\"abab\", \"^ab\") do t[#t+1] = w end return #t end)()",
    "true 0" },
  { "select(\"#\", string.find(\"abc\", \"(x?)\"))",
    "true 3" },
  { "pcall(string.find, \"abc\", \"[a\")",
    "true false, \"malformed pattern (missing ']')\"" },
  { "pcall(string.find, \"abc\", \"%\")",
    "true false, \"malformed pattern (ends with '%')\"" },
  { "pcall(string.match, \"abc\", \"(()\")",
    "true false, \"unfinished capture\"" },
  { "pcall(string.gsub, \"abc\", \"(a)\", \"%2\")",
    "true false, \"invalid capture index %2\"" },
  { "pcall(string.gsub, \"abc\", \"a\", \"%x\")",
    "true false, \"invalid use of '%' in replacement string\"" },
  { "pcall(string.match, \"abc\", \"%b\")",
    "true false, \"malformed pattern (missing arguments to '%b')\"" },
  { "pcall(string.match, \"abc\", \"%f\")",
    "true false, \"missing '[' after '%f' in pattern\"" },
  { "pcall(string.rep)",
    "true false, \"bad argument #1 to 'string.rep' (string expected, got no value)\"" },
  { "pcall(string.find, \"abc\", \"%1\")",
    "true false, \"invalid capture index %1\"" },
  { "pcall(string.match, string.rep(\"a\", 300), string.rep(\"(a)\", 33))",
    "true false, \"too many captures\"" },
  { "string.find(string.rep(\"a\", 10000), string.rep(\"a\", 5000) .. \"b\")",
    "true nil" },
  { "#string.match(string.rep(\"x\", 100000), \".*\")",
    "true 100000" },
}

local function show_results(r)
  local parts = {}
  for j = 2, r.n do
    local v = r[j]
    parts[#parts + 1] = type(v) == "string" and string.format("%q", v)
                        or tostring(v)
  end
  return tostring(r[1]) .. " " .. table.concat(parts, ", ")
end

local function cases(t, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  suite:case("string matchers behave like stock Lua 5.4", function()
    local bad = {}
    for i, c in ipairs(PATTERNS) do
      local f = assert(load("return " .. c[1]))
      local got = show_results(table.pack(pcall(f)))
      if got ~= c[2] then
        bad[#bad + 1] = i .. ": " .. c[1] .. " -> " .. got ..
                        " (stock: " .. c[2] .. ")"
      end
    end
    eq(table.concat(bad, "\n"), "")
  end)

  suite:case("string methods go through the same matchers", function()
    eq(("a,b"):find(",", 1, true), 2)
    eq(("k=v"):match("(%w)=(%w)"), "k")
    eq(select(2, ("aaa"):gsub("a", "b")), 3)
    local n = 0
    for _ in ("x y z"):gmatch("%a") do n = n + 1 end
    eq(n, 3)
    ok(("").find == string.find, "method and library are one function")
  end)

  suite:case("library tables read normally", function()
    eq(type(string.format), "function")
    eq(math.floor(2.5), 2)
    eq(math.maxinteger, 9223372036854775807)
    eq(math.pi > 3.14, true)
    eq(table.concat({ 1, 2 }, "-"), "1-2")
    eq(utf8.charpattern, "[\0-\x7F\xC2-\xFD][\x80-\xBF]*")
    eq(type(os.time), "function")
    eq(type(debug.traceback), "function")
  end)

  suite:case("library tables are read-only proxies", function()
    eq(rawget(string, "format"), nil, "nothing stored in the proxy")
    eq(next(string), nil, "the proxy itself is empty")
    eq(rawlen(table), 0)
  end)

  suite:case("pairs lists a library's functions", function()
    local names = {}
    for k, v in pairs(string) do
      ok(type(v) == "function", k)
      names[k] = true
    end
    ok(names.format and names.find and names.gsub and names.rep, "string")
    local n = 0
    for k in pairs(math) do n = n + 1 end
    ok(n > 20, "math has its functions")
  end)

  suite:case("what is left of os, debug, io and package", function()
    local function keys(t)
      local r = {}
      for k in pairs(t) do r[#r + 1] = k end
      table.sort(r)
      return table.concat(r, ",")
    end
    eq(keys(os), "clock,date,difftime,time")
    eq(keys(debug), "traceback")
    eq(keys(io), "")
    eq(keys(package), "")
  end)

  suite:case("removed functions are tombstones until called", function()
    eq(type(string.dump), "function")
    eq(type(dofile), "function")
    eq(type(loadfile), "function")
    eq(type(io), "table")
  end)

  suite:case("os keeps time, clock, date and difftime", function()
    ok(os.time() > 1.6e9, "time")
    eq(os.time({ year = 2026, month = 5, day = 12, hour = 6, isdst = false })
       - os.time({ year = 2026, month = 5, day = 11, hour = 6,
                   isdst = false }), 86400)
    ok(os.clock() >= 0, "clock")
    eq(os.date("!%Y-%m-%dT%H:%M:%S", 1778565600), "2026-05-12T06:00:00")
    eq(os.date("!*t", 0).year, 1970)
    eq(os.difftime(5, 2), 3.0)
  end)

  suite:case("debug.traceback works", function()
    local tb = debug.traceback("msg")
    ok(tb:find("^msg\nstack traceback:"), tb)
    local tbl = {}
    ok(debug.traceback(tbl) == tbl, "non-strings pass through")
  end)

  suite:case("require of standard library names", function()
    ok(require("string") == string, "string")
    ok(require("table") == table, "table")
    ok(require("math") == math, "math")
    ok(require("utf8") == utf8, "utf8")
    ok(require("coroutine") == coroutine, "coroutine")
    ok(require("os") == os, "os")
  end)

  suite:case("require of host modules gives read-only views", function()
    local json = require "json"
    ok(require("json") == json, "cached")
    eq(type(json.encode), "function")
    eq(type(json.safe), "table")
    eq(type(json.safe.decode), "function")
    eq(rawget(json, "encode"), nil, "a proxy")
    for _, name in ipairs({ "task", "clock", "log", "config", "errors",
                            "json" }) do
      eq(type(require(name)), "table", name)
    end
  end)

  suite:case("require of a module in the recipe's folder", function()
    local tl = require "testlib"
    eq(type(tl.new), "function")
    ok(require("testlib") == tl, "cached")
  end)

  suite:case("require needs a string", function()
    raises(function() require() end, "bad argument #1")
    raises(function() require({}) end, "bad argument #1")
  end)

  suite:case("each chunk has its own globals", function()
    ok(_G == _ENV, "_G is the chunk's env")
    ok(_G._G == _G, "_G._G")
    SANDBOX_TEST_GLOBAL = 1
    local f = load("return SANDBOX_TEST_GLOBAL, print ~= nil")
    local v, has_print = f()
    eq(v, nil, "a loaded chunk does not see the recipe's globals")
    eq(has_print, true, "but sees the base functions")
    SANDBOX_TEST_GLOBAL = nil
  end)

  suite:case("shadowing a base function stays in the chunk", function()
    local saved = print
    print = function() end
    ok(load("return print")() ~= print, "a new chunk has the real print")
    print = nil
    eq(type(load("return print")()), "function")
    print = saved
  end)

  suite:case("load with an environment", function()
    local env = { x = 2 }
    eq(load("x = x * 21 return x", "c", "t", env)(), 42)
    eq(env.x, 42)
    local f = load("return x", "c", "t", nil)
    raises(function() f() end, "attempt to index a nil value")
  end)

  suite:case("load of text: chunk names, errors, reader functions", function()
    local f, err = load("return +", "=mychunk")
    eq(f, nil)
    ok(err:find("^mychunk:1:"), err)
    local pieces = { "return ", "1 ", "+ 1" }
    local i = 0
    eq(load(function() i = i + 1 return pieces[i] end)(), 2)
    raises(function() load(function() return 5 end) end,
           "reader function must return a string")
    eq(load("return ...", "c", "t")(7, 8), 7)
    eq(load("return 1", "c", "bt")(), 1, "mode bt loads text")
  end)

  suite:case("setmetatable and getmetatable on own tables", function()
    local mt = { __index = { a = 1 } }
    local t = setmetatable({}, mt)
    ok(getmetatable(t) == mt, "own metatable")
    eq(t.a, 1)
    ok(setmetatable(t, nil) == t, "returns the table")
    eq(getmetatable(t), nil)
    local prot = setmetatable({}, { __metatable = "locked by me" })
    eq(getmetatable(prot), "locked by me")
    raises(function() setmetatable(prot, {}) end,
           "cannot change a protected metatable")
    eq(getmetatable("x" == "x"), nil, "booleans have none")
    eq(getmetatable(1), nil)
    raises(function() setmetatable({}, 5) end, "nil or table")
  end)

  suite:case("rawset and rawget on own tables", function()
    local t = setmetatable({}, { __newindex = function() error("no") end })
    rawset(t, "k", "v")
    eq(rawget(t, "k"), "v")
    raises(function() rawset(5, 1, 1) end, "table expected")
  end)

  suite:case("pcall and xpcall", function()
    eq({ pcall(function(a, b) return a + b, "x" end, 1, 2) },
       { true, 3, "x" })
    local okp, err = pcall(error, "msg", 0)
    eq(okp, false)
    eq(err, "msg")
    okp, err = pcall(error)
    eq({ okp, err }, { false })
    okp, err = pcall(nil)
    eq(okp, false)
    ok(err:find("attempt to call a nil value"), err)
    eq({ xpcall(function(a) return a * 2 end, print, 21) }, { true, 42 })
    local _, tb = xpcall(function() error("deep") end, debug.traceback)
    ok(tb:find("deep") and tb:find("stack traceback"), tb)
    local _, h = xpcall(error, function(m) return "handled: " .. m end,
                        "boom", 0)
    eq(h, "handled: boom")
    raises(function() xpcall(print) end, "bad argument #2")
    raises(function() pcall() end, "bad argument #1")
  end)

  suite:case("pcall around a wait", function()
    local okp, v = pcall(function() require("task").sleep(0) return 5 end)
    eq({ okp, v }, { true, 5 })
  end)

  suite:case("error positions", function()
    local function f() error("here") end
    local _, e = pcall(f)
    ok(e:find("^sandbox_test.lua:%d+: here$"), e)
    local function g() error("caller", 2) end
    local _, e2 = pcall(function() g() end)
    ok(e2:find("^sandbox_test.lua:%d+: caller$"), e2)
  end)

  suite:case("coroutine basics", function()
    local co = coroutine.create(function(a)
      local b = coroutine.yield(a + 1)
      return b + 1
    end)
    eq(coroutine.status(co), "suspended")
    eq({ coroutine.resume(co, 1) }, { true, 2 })
    eq({ coroutine.resume(co, 10) }, { true, 11 })
    eq(coroutine.status(co), "dead")
    eq({ coroutine.resume(co) }, { false, "cannot resume dead coroutine" })
    local w = coroutine.wrap(function() error("in wrap") end)
    raises(w, "in wrap")
    raises(function() coroutine.create(5) end, "bad argument #1")
    raises(function() coroutine.resume(5) end, "coroutine expected")
  end)

  suite:case("coroutine status from inside and running", function()
    local inner
    local co = coroutine.create(function()
      inner = coroutine.status(coroutine.running())
      local c, main = coroutine.running()
      return main
    end)
    local _, main = coroutine.resume(co)
    eq(inner, "running")
    eq(main, false)
  end)

  suite:case("a coroutine cannot resume itself", function()
    local co
    co = coroutine.create(function() return coroutine.resume(co) end)
    local okc, okin, msg = coroutine.resume(co)
    eq(okc, true)
    eq(okin, false)
    eq(msg, "cannot resume non-suspended coroutine")
  end)

  suite:case("coroutine.wrap of a dead coroutine", function()
    local w = coroutine.wrap(function() return 1 end)
    eq(w(), 1)
    raises(w, "cannot resume dead coroutine")
  end)

  suite:case("coroutine.close runs <close> values", function()
    local closed = {}
    local co = coroutine.create(function()
      local a <close> = setmetatable({}, { __close = function()
        closed[#closed + 1] = "a" end })
      coroutine.yield()
    end)
    coroutine.resume(co)
    eq(coroutine.close(co), true)
    eq(closed, { "a" })
    eq(coroutine.status(co), "dead")
    local co2 = coroutine.create(function() error({ code = 1 }) end)
    coroutine.resume(co2)
    local okc, e = coroutine.close(co2)
    eq(okc, false)
    eq(e, { code = 1 })
    eq(coroutine.close(coroutine.create(print)), true, "never started")
  end)

  suite:case("coroutine.close of a running coroutine", function()
    local co
    co = coroutine.create(function()
      return pcall(coroutine.close, co)
    end)
    local _, okc, e = coroutine.resume(co)
    eq(okc, false)
    ok(tostring(e):find("cannot close a running coroutine"), e)
  end)

  suite:case("coroutine.wrap closes a failed coroutine's <close> values",
             function()
    local closed = false
    local w = coroutine.wrap(function()
      local a <close> = setmetatable({}, { __close = function()
        closed = true end })
      error("fail")
    end)
    pcall(w)
    eq(closed, true)
  end)

  suite:case("deep coroutine nesting", function()
    local function nest(n)
      if n == 0 then return 0 end
      return coroutine.wrap(function() return 1 + nest(n - 1) end)()
    end
    eq(nest(50), 50)
  end)

  suite:case("<close> runs in reverse order, with the error", function()
    local log = {}
    local okp = pcall(function()
      local a <close> = setmetatable({}, { __close = function(_, e)
        log[#log + 1] = "a:" .. tostring(e) end })
      local b <close> = setmetatable({}, { __close = function(_, e)
        log[#log + 1] = "b" end })
      error("E", 0)
    end)
    eq(okp, false)
    eq(log, { "b", "a:E" })
  end)

  suite:case("collectgarbage options that stay allowed", function()
    eq(math.type(collectgarbage("count")), "float")
    eq(collectgarbage("isrunning"), true)
    eq(collectgarbage(), 0)
    eq(collectgarbage("collect"), 0)
    eq(type(collectgarbage("step")), "boolean")
  end)

  suite:case("__gc of own tables runs, as a task after the collection",
             function()
    local ran = false
    do setmetatable({}, { __gc = function(o) ran = type(o) end }) end
    collectgarbage()
    eq(ran, false)              -- not inside the collector
    require("task").sleep(0)
    eq(ran, "table")
  end)

  suite:case("string library details", function()
    eq(string.format("%q", 1 / 0), "1e9999")
    eq(string.format("%q", math.mininteger), "0x8000000000000000")
    eq(string.format("%5s|%-5s|", "a", "b"), "    a|b    |")
    eq(string.format("%x", 255), "ff")
    eq(("abc"):rep(2, "-"), "abc-abc")
    eq(("abc"):byte(1, -1), 97)
    eq(string.char(104, 105), "hi")
    eq(("Hello"):lower(), "hello")
    eq(("abc"):reverse(), "cba")
    eq(("abcdef"):sub(-3), "def")
    eq(#("x"):rep(0), 0)
    eq(string.pack("<i4", 1), "\1\0\0\0")
    eq(string.unpack("<i4", "\1\0\0\0"), 1)
    eq(string.packsize("i4"), 4)
    eq(tostring(12):len(), 2)
  end)

  suite:case("table library details", function()
    local t = { 5, 2, 8 }
    table.sort(t)
    eq(t, { 2, 5, 8 })
    table.insert(t, 1, 0)
    eq(t[1], 0)
    eq(table.remove(t), 8)
    eq(table.unpack({ 1, 2, 3 }, 2), 2)
    eq(table.pack(1, nil, 3).n, 3)
    eq(table.move({ 1, 2, 3 }, 1, 3, 2), { 1, 1, 2, 3 })
    raises(function() table.sort({ 3, {}, 1 }) end, "attempt to compare")
  end)

  suite:case("math and utf8 details", function()
    math.randomseed(42)
    local a = math.random(1, 100)
    math.randomseed(42)
    eq(math.random(1, 100), a, "seeded random repeats")
    eq(math.tointeger(3.0), 3)
    eq(math.type(1), "integer")
    eq(math.ult(1, -1), true)
    eq(7 // 2, 3)
    eq(7 % -3, -2)
    eq(utf8.char(0x48, 0x20AC), "H\u{20AC}")
    eq(utf8.len("\u{20AC}x"), 2)
    eq(utf8.codepoint("\u{20AC}"), 0x20AC)
    eq(utf8.offset("a\u{20AC}b", 3), 5)
    eq({ utf8.len("\xff") }, { nil, 1 })
  end)

  suite:case("tostring and tonumber", function()
    eq(tonumber("0x10"), 16)
    eq(tonumber("10", 2), 2)
    eq(tonumber("z", 36), 35)
    eq(tonumber("nope"), nil)
    eq(tostring(nil), "nil")
    ok(tostring(print):find("^builtin: ") or tostring(print):find("^function"),
       tostring(print))
    local t = setmetatable({}, { __tostring = function() return "T!" end,
                                 __name = "My.Type" })
    eq(tostring(t), "T!")
  end)

  suite:case("select, ipairs, next and friends", function()
    eq(select("#"), 0)
    eq(select(-1, 1, 2, 3), 3)
    local n = 0
    for i, v in ipairs({ 1, 2, nil, 4 }) do n = i end
    eq(n, 2)
    eq(next({}), nil)
    eq(rawequal("a", "a"), true)
    eq(rawlen("abc"), 3)
    eq(type(_VERSION), "string")
  end)

  suite:case("warn and print return nothing", function()
    eq(select("#", print("sandbox_test: print goes to stderr")), 0)
    eq(select("#", warn("@off")), 0)
  end)

  suite:case("goto, integer for loops and <const>", function()
    local x <const> = 5
    local s = 0
    for i = 1, 3 do
      if i == 2 then goto continue end
      s = s + i
      ::continue::
    end
    eq(s, 4)
    eq(x, 5)
    local c = 0
    for i = math.maxinteger - 2, math.maxinteger do c = c + 1 end
    eq(c, 3, "no overflow at the end of an integer loop")
  end)
end

return {
  description = "Tests for the sandbox's visible details",
  run = function(ctx)
    local t = require "testlib"
    local suite = t.new("sandbox")
    cases(t, suite)
    return suite:done()
  end,
}
