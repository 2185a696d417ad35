-- json_test.lua: tests for the json module (host/lib/json.c).
--
-- Run by the host as a recipe (`clawhost run tests/lua/json_test.lua
-- --json`) and by tests/c/test_json.c on a plain Lua state. The full
-- userdata comes from task.spawn (a clawhost.Task); the C harness
-- preloads a stand-in with the same type name, and tests the
-- clawhost.Secret message in C.
local MiB = 1024 * 1024

local function nest_arrays(n)
  local root = {}
  local t = root
  for _ = 2, n do
    local inner = {}
    t[1] = inner
    t = inner
  end
  return root
end

local function cases(t, json, suite)
  local eq, raises, ok = t.eq, t.raises, t.ok

  suite:case("round trip of nested values", function()
    local v = { name = "clawhost", list = { 1, 2, 3 }, f = 1.5,
                nested = { a = { b = { c = true, d = false } } },
                none = json.null, text = "h\195\169llo" }
    local s = json.encode(v)
    eq(s, '{"f":1.5,"list":[1,2,3],"name":"clawhost","nested":{"a":' ..
          '{"b":{"c":true,"d":false}}},"none":null,"text":"h\195\169llo"}')
    eq(json.decode(s), v, "decoded")
    eq(json.encode(json.decode(s)), s, "re-encoded")
  end)

  suite:case("scalars at the root", function()
    eq(json.encode("x"), '"x"')
    eq(json.encode(true), "true")
    eq(json.encode(false), "false")
    eq(json.encode(nil), "null")
    eq(json.encode(json.null), "null")
    eq(json.decode('"x"'), "x")
    eq(json.decode("true"), true)
    eq(json.decode(" 7 "), 7)
  end)

  suite:case("empty arrays from json.array and from decode", function()
    eq(json.encode({ images = json.array {} }), '{"images":[]}')
    eq(json.encode({ images = json.array() }), '{"images":[]}')
    eq(json.encode({ images = json.decode("[]") }), '{"images":[]}')
    eq(json.encode(json.decode('{"a":[]}')), '{"a":[]}')
    eq(json.encode(json.decode("[ \n\t\r ]")), "[]")
    eq(json.encode(json.decode("[[],[[]],{},[{}]]")), "[[],[[]],{},[{}]]")
    eq(json.encode(json.decode('{"a":{},"b":[]}')), '{"a":{},"b":[]}')
    eq(json.encode({}), "{}", "plain empty table")
    ok(json.is_array(json.decode("[]")), "decoded [] is marked")
    ok(not json.is_array(json.decode("{}")), "decoded {} is not")
  end)

  suite:case("a decoded array emptied by the recipe stays an array", function()
    local a = json.decode("[1,2,3]")
    ok(json.is_array(a), "marked")
    a[3], a[2], a[1] = nil, nil, nil
    eq(json.encode(a), "[]")
    local doc = json.decode('{"items":[{"id":1}],"meta":{"n":1}}')
    table.remove(doc.items)
    eq(json.encode(doc), '{"items":[],"meta":{"n":1}}')
    ok(not json.is_array(doc.meta), "objects are not marked")
    doc.items[1] = "x"
    eq(json.encode(doc.items), '["x"]')
  end)

  suite:case("[] inside a string is text", function()
    local v = json.decode('{"s":"[]","t":"[ ]","u":"a\\"[]","v":[]}')
    eq(v.s, "[]")
    eq(v.t, "[ ]")
    eq(v.u, 'a"[]')
    eq(json.encode(v), '{"s":"[]","t":"[ ]","u":"a\\"[]","v":[]}')
    local w = json.decode('["\\\\",[],"[]"]')
    eq(w[1], "\\")
    eq(json.encode(w), '["\\\\",[],"[]"]')
  end)

  suite:case("a marker-looking string stays a string", function()
    local look = '["\\u00ff0123456789abcdef"]'
    local v = json.decode(look)
    eq(#v, 1, "one element")
    eq(v[1], "\195\1910123456789abcdef")
    v = json.decode('[["\\u00ff"],[],["\\u00ffffffffffffffffff"]]')
    eq(v[1][1], "\195\191")
    eq(#v[2], 0)
    eq(v[3][1], "\195\191ffffffffffffffff")
    eq(json.encode(v), '[["\195\191"],[],["\195\191ffffffffffffffff"]]')
    -- the real marker starts with the byte 0xFF, which input cannot hold
    raises(function() json.decode('["\255abc"]') end,
           "json.decode: invalid UTF-8 at byte 3")
  end)

  suite:case("keys come out sorted by bytes, every time", function()
    eq(json.encode({ b = 1, a = 2, c = { z = 1, y = 2 } }),
       '{"a":2,"b":1,"c":{"y":2,"z":1}}')
    local keys = { "ab", "B", "\195\169", "a", "_", "aa", "A1", "" }
    local fwd, back = {}, {}
    for i = 1, #keys do fwd[keys[i]] = i end
    for i = #keys, 1, -1 do back[keys[i]] = i end
    local want = '{"":8,"A1":7,"B":2,"_":5,"a":4,"aa":6,"ab":1,' ..
                 '"\195\169":3}'
    eq(json.encode(fwd), want, "forward")
    eq(json.encode(back), want, "backward")
    local big = {}
    for i = 1, 200 do big["k" .. i] = i end
    local first = json.encode(big)
    for _ = 1, 3 do eq(json.encode(big), first, "stable") end
    ok(first:find('"k1":1,"k10":10,"k100":100,"k101":101', 1, true),
       "byte order, not numeric")
  end)

  suite:case("integers and floats", function()
    eq(json.encode(1), "1")
    eq(json.encode(-42), "-42")
    eq(json.encode(math.maxinteger), "9223372036854775807")
    eq(json.encode(math.mininteger), "-9223372036854775808")
    eq(json.encode(1800.0), "1800", "integral float")
    eq(json.encode(-3.0), "-3")
    eq(json.encode(2.0 ^ 53), "9007199254740992")
    eq(json.encode(1.5), "1.5")
    eq(json.encode(0.1), "0.1")
    eq(json.encode(1e300), "1e+300")
    for _, x in ipairs { 1 / 3, 0.1 + 0.2, 2.0 ^ 54, -1e-300, 123.456,
                         5e-324, 1.7976931348623157e308, 2.0 ^ 53 + 2 } do
      local s = json.encode(x)
      eq(tonumber(s), x, "round trip of " .. s)
      ok(#s <= 24, "short text " .. s)
    end
    eq(json.encode(0.1 + 0.2), "0.30000000000000004")
    eq(json.encode(json.decode("-0")), "-0")
    eq(math.type(json.decode("42")), "integer")
    eq(math.type(json.decode("-7")), "integer")
    eq(math.type(json.decode("1e2")), "integer")
    eq(math.type(json.decode("1.5")), "float")
    eq(math.type(json.decode("12345678901234567890")), "float")
    eq(math.type(json.decode('{"id":5}').id), "integer")
    eq(json.decode("[1,2.5]")[2], 2.5)
  end)

  suite:case("NaN and infinity are refused with the path", function()
    raises(function() json.encode({ a = { b = 0 / 0 } }) end,
           "json.encode: cannot encode NaN at a.b")
    raises(function() json.encode({ x = { 1, math.huge } }) end,
           "cannot encode inf at x[2]")
    raises(function() json.encode(-math.huge) end,
           "cannot encode -inf at (root)")
    raises(function() json.decode("1e999") end,
           "json.decode: number out of range at (root)")
    raises(function() json.decode('{"a":[1,-1e999]}') end,
           "number out of range at a[2]")
  end)

  suite:case("cycles are refused with the path", function()
    local t = { meta = {} }
    t.meta.self = t
    raises(function() json.encode(t) end,
           "json.encode: cycle at meta.self")
    local a = { 1 }
    a[2] = a
    raises(function() json.encode(a) end, "cycle at [2]")
    local shared = { 1 }
    eq(json.encode({ a = shared, b = shared }), '{"a":[1],"b":[1]}')
  end)

  suite:case("nesting: 128 levels pass, 129 are refused", function()
    local s128 = json.encode(nest_arrays(128))
    eq(#s128, 256)
    local err = raises(function() json.encode(nest_arrays(129)) end,
                       "json.encode: nesting deeper than 128 at [1][1]")
    eq(err.code, "json")
    local obj = { }
    local o = obj
    for _ = 1, 129 do o.a = {}; o = o.a end
    raises(function() json.encode(obj) end, "at a.a.a.a")
    local deep = string.rep("[", 128) .. string.rep("]", 128)
    eq(json.encode(json.decode(deep)), deep, "decode 128, re-encode")
    raises(function()
      json.decode(string.rep("[", 129) .. string.rep("]", 129))
    end, "json.decode: nesting deeper than 128")
    raises(function()
      json.decode(string.rep('{"a":', 129) .. "1" .. string.rep("}", 129))
    end, "nesting deeper than 128")
  end)

  suite:case("a full userdata is refused by its type name", function()
    local task = require "task"
    local h = task.spawn(function() end)
    eq(type(h), "userdata")
    raises(function() json.encode({ meta = { job = h } }) end,
           "json.encode: cannot encode a clawhost.Task at meta.job")
    local none, err = json.safe.encode({ h })
    eq(none, nil)
    ok(err.message:find("clawhost.Task at [1]", 1, true), err.message)
    h:wait()
  end)

  suite:case("functions, threads and other userdata are refused", function()
    raises(function() json.encode({ cb = print }) end,
           "json.encode: cannot encode a function at cb")
    raises(function() json.encode({ co = coroutine.create(print) }) end,
           "cannot encode a thread at co")
    raises(function() json.encode({ [1] = 1, [2] = function() end }) end,
           "cannot encode a function at [2]")
  end)

  suite:case("sparse and mixed tables are refused with paths", function()
    raises(function() json.encode({ 1, nil, 3 }) end,
           "json.encode: array is missing index 2 at (root)")
    raises(function() json.encode({ list = { [1] = 1, [3] = 3 } }) end,
           "missing index 2 at list")
    raises(function() json.encode({ 1, 2, x = 3 }) end,
           "mixes integer keys and string keys (such as x) at (root)")
    raises(function() json.encode({ [true] = 1 }) end,
           "table has a boolean key at (root)")
    raises(function() json.encode({ a = { [1.5] = 1 } }) end,
           "the number key 1.5 at a")
    raises(function() json.encode({ [0] = "zero" }) end,
           "the number key 0 at (root)")
    raises(function() json.encode({ a = { { b = { [{}] = 1 } } } }) end,
           "a table key at a[1].b")
    raises(function() json.encode({ m = { { content = { 1, nil, 2 } } } })
           end, "missing index 2 at m[1].content")
    raises(function() json.encode(json.array { a = 1 }) end,
           "json.array has the string key a at (root)")
    raises(function() json.encode({ ["odd key"] = { x = {}, [2] = 1 } })
           end, 'at ["odd key"]')
  end)

  suite:case("invalid UTF-8 is refused with path and offset", function()
    raises(function() json.encode({ name = "ab\255c" }) end,
           "json.encode: invalid UTF-8 (byte 3 of the string) at name")
    raises(function() json.encode({ ["k\195"] = 1 }) end,
           'invalid UTF-8 (byte 2 of the key) at ["k\\xc3"]')
    raises(function() json.encode({ "\192\128" }) end, "at [1]")
    raises(function() json.encode("\237\160\128") end, "byte 1")
    raises(function() json.encode("\244\144\128\128") end, "byte 1")
    raises(function() json.encode("ok\240\159\152") end, "byte 3")
    eq(json.encode("\240\159\152\128 \195\169"),
       '"\240\159\152\128 \195\169"')
    raises(function() json.decode('"a\255b"') end,
           "json.decode: invalid UTF-8 at byte 3")
    raises(function() json.decode('{"a":"\192\175"}') end, "at byte 7")
  end)

  suite:case("\\u escapes, surrogate pairs included, decode to UTF-8",
             function()
    eq(json.decode('"\\ud83d\\ude00"'), "\240\159\152\128")
    eq(json.decode('"\\u00e9\\u4e2d"'), "\195\169\228\184\173")
    eq(json.decode('"\\u0041\\u0000B"'), "A\0B")
    eq(json.decode('"\\"\\\\\\/\\b\\f\\n\\r\\t"'), '"\\/\b\f\n\r\t')
    raises(function() json.decode('"\\ud800"') end,
           "json.decode: expected value but found invalid unicode escape")
    raises(function() json.decode('"\\udc00\\ud800"') end, "at byte 2")
  end)

  suite:case("control characters are escaped, '/' is not", function()
    eq(json.encode("a\nb\t\1\31\"\\"), '"a\\nb\\t\\u0001\\u001f\\"\\\\"')
    eq(json.encode("\b\f\r\0"), '"\\b\\f\\r\\u0000"')
    eq(json.encode("\127"), '"\127"')
    eq(json.encode("https://x/y"), '"https://x/y"')
    eq(json.decode(json.encode("a\0b\1")), "a\0b\1")
    raises(function() json.decode('"a\nb"') end,
           "json.decode: unescaped control character in a string at byte 3")
  end)

  suite:case("decode errors carry the position", function()
    raises(function() json.decode('{"a":') end,
           "json.decode: expected value but found the end of the input " ..
           "at byte 6")
    raises(function() json.decode("[1,]") end, "found ']' at byte 4")
    raises(function() json.decode('{"a" 1}') end, "at byte 6")
    raises(function() json.decode("{} x") end,
           "expected the end but found invalid token at byte 4")
    raises(function() json.decode("") end, "at byte 1")
    -- positions stay those of the input when empty arrays were rewritten
    raises(function() json.decode("[[], [1,]]") end, "found ']' at byte 9")
    raises(function() json.decode('[[],{"a":[ ],"b" 2}]') end, "at byte 18")
    raises(function() json.decode("{}\0") end,
           "json.decode: NUL byte at byte 3")
  end)

  suite:case("invalid numbers are refused", function()
    for _, s in ipairs { "NaN", "Infinity", "-Infinity", "0x10", "01",
                         "[inf]", "-", "+1" } do
      raises(function() json.decode(s) end, "json.decode: expected value",
             s)
    end
  end)

  -- RFC 8259 section 6: int needs a digit, frac = "." 1*DIGIT. cjson
  -- 2.1.0 hands numbers to strtod, which takes all of these.
  suite:case("a '.' in a number needs a digit on each side", function()
    local before = "invalid number (a digit must come before '.') at byte "
    local after = "invalid number (a digit must follow '.') at byte "
    for _, c in ipairs {
      { "[-.123]", before .. "3" }, { "[1.]", after .. "4" },
      { "[-2.]", after .. "5" }, { "[0.e1]", after .. "4" },
      { "[2.e3]", after .. "4" }, { "[2.e+3]", after .. "4" },
      { "[2.e-3]", after .. "4" }, { "1.", after .. "3" },
      { '{"a":[1,{"b":7.}]}', after .. "16" },
    } do
      local err = raises(function() json.decode(c[1]) end,
                         "json.decode: " .. c[2], c[1])
      eq(err.code, "json")
    end
    eq(json.decode("[1.5, -0.25, 0.5e1, 2E-3, -0, 1e+2]"),
       { 1.5, -0.25, 5, 0.002, 0, 100 })
    eq(json.decode('["1.", "-.5"]'), { "1.", "-.5" })
  end)

  suite:case("size caps", function()
    local big = string.rep(" ", 64 * MiB + 1)
    local err = raises(function() json.decode(big) end,
                       "json.decode: the input is 67108865 bytes; " ..
                       "the limit is 67108864 bytes")
    eq(err.code, "json")
    raises(function() json.encode(big) end,
           "json.encode: output would exceed the limit of 67108864 bytes")
    local none, e2 = json.safe.decode(big)
    eq(none, nil)
    eq(e2.code, "json")
  end)

  suite:case("safe variants return nil, err", function()
    local v, err = json.safe.decode("{")
    eq(v, nil)
    eq(err.code, "json")
    ok(err.message:find("^json.decode: "), err.message)
    v, err = json.safe.encode({ f = print })
    eq(v, nil)
    eq(err.code, "json")
    ok(err.message:find("^json.encode: cannot encode a function at f"),
       err.message)
    eq(json.safe.encode({ 1 }), "[1]")
    eq(json.safe.decode("[1]"), { 1 })
    eq(select("#", json.safe.decode("[1]")), 1)
    raises(function() json.safe.decode(nil) end, "string expected")
    raises(function() json.decode(42) end, "string expected")
    local raised = raises(function() json.decode("{") end, "json.decode:")
    eq(raised.code, "json")
  end)

  suite:case("json.null equals decoded nulls", function()
    eq(json.decode("null"), json.null)
    eq(json.decode("[null]")[1], json.null)
    eq(json.decode('{"a":null}').a, json.null)
    eq(json.encode({ a = json.null, b = { json.null } }),
       '{"a":null,"b":[null]}')
    eq(type(json.null), "userdata")
  end)

  suite:case("json.array marks, refuses foreign metatables", function()
    local t = {}
    ok(json.array(t) == t, "returns its argument")
    ok(json.is_array(t), "marked")
    ok(json.array(t) == t, "marking twice is fine")
    ok(json.is_array(json.array()), "new table")
    ok(not json.is_array({}), "plain table")
    ok(not json.is_array(nil) and not json.is_array("x"), "non-tables")
    raises(function() json.array(setmetatable({}, {})) end,
           "json.array: the table already has a metatable")
    raises(function() json.array(5) end,
           "json.array: expected a table, got number")
    eq(json.encode(json.array { 1, 2 }), "[1,2]")
  end)

  suite:case("metamethods never run while encoding", function()
    local boom = function() error("metamethod ran") end
    local v = setmetatable({ a = 1 }, { __index = boom, __pairs = boom,
                                        __len = boom, __newindex = boom })
    eq(json.encode(v), '{"a":1}')
    local arr = setmetatable({ 1, 2 }, { __index = boom, __len = boom })
    eq(json.encode({ arr }), "[[1,2]]")
  end)
end

return {
  description = "Tests for the json module",
  run = function(ctx)
    local t = require("testlib")
    local json = require "json"
    local suite = t.new("json")
    cases(t, json, suite)
    return suite:done()
  end,
}
