-- clock_test.lua: tests for the clock module (host/runtime/clock.c).
--
-- Run by the host as a recipe (`clawhost run tests/lua/clock_test.lua
-- --json`, see tests/run_lua.sh).

local function cases(t, clock, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  -- 2026-05-12T06:00:00Z
  local T = 1778565600

  suite:case("now and monotonic", function()
    local n = clock.now()
    ok(math.type(n) == "float", "now is a float")
    ok(n > 1.7e9 and n < 4e9, "now is epoch seconds")
    local a = clock.monotonic()
    local b = clock.monotonic()
    ok(b >= a, "monotonic never goes back")
    ok(math.abs(clock.now() - os.time()) < 5, "now agrees with os.time")
  end)

  suite:case("iso formats UTC with a Z", function()
    eq(clock.iso(0), "1970-01-01T00:00:00Z")
    eq(clock.iso(T), "2026-05-12T06:00:00Z")
    eq(clock.iso(T + 0.25), "2026-05-12T06:00:00Z", "no digits")
    eq(clock.iso(-1), "1969-12-31T23:59:59Z")
    eq(clock.iso(951782400), "2000-02-29T00:00:00Z", "leap day")
    eq(clock.iso(253402300799), "9999-12-31T23:59:59Z")
  end)

  suite:case("iso with fractional digits", function()
    eq(clock.iso(1.5, 3), "1970-01-01T00:00:01.500Z")
    eq(clock.iso(1.123456789, 6), "1970-01-01T00:00:01.123456Z")
    eq(clock.iso(1.24, 1), "1970-01-01T00:00:01.2Z")
    eq(clock.iso(1.26, 1), "1970-01-01T00:00:01.2Z")
    eq(clock.iso(T, 0), "2026-05-12T06:00:00Z")
    eq(clock.iso(-1.5, 1), "1969-12-31T23:59:58.5Z")
  end)

  -- digits are cut, never rounded up: a time is named when it begins,
  -- so no digit names a moment that has not started yet
  suite:case("iso truncates instead of rounding", function()
    eq(clock.iso(0.9999999, 3), "1970-01-01T00:00:00.999Z")
    eq(clock.iso(59.9996, 3), "1970-01-01T00:00:59.999Z")
  end)

  suite:case("iso without an argument is now", function()
    local s = clock.iso()
    ok(s:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"), s)
    local back = clock.parse_iso(s)
    ok(math.abs(back - clock.now()) < 5, "round trip of now")
  end)

  suite:case("iso refuses bad arguments", function()
    raises(function() clock.iso(0 / 0) end, "time out of range")
    raises(function() clock.iso(1 / 0) end, "time out of range")
    raises(function() clock.iso(1e13) end, "time out of range")
    raises(function() clock.iso(0, 7) end, "digits must be 0 to 6")
    raises(function() clock.iso(0, -1) end, "digits must be 0 to 6")
    raises(function() clock.iso("soon") end, "number expected")
    raises(function() clock.iso(0, 1.5) end, "number has no integer")
  end)

  suite:case("parse_iso with Z and with offsets", function()
    eq(clock.parse_iso("2026-05-12T06:00:00Z"), T)
    eq(clock.parse_iso("2026-05-12T08:00:00+02:00"), T)
    eq(clock.parse_iso("2026-05-12T00:30:00-05:30"), T)
    eq(clock.parse_iso("2026-05-11T23:59:00-06:01"), T)
    eq(clock.parse_iso("2026-05-12T06:00:00+00:00"), T)
    eq(clock.parse_iso("2026-05-12T06:00:00-00:00"), T)
    eq(clock.parse_iso("1970-01-01T00:00:00Z"), 0)
    eq(clock.parse_iso("1969-12-31T23:59:59Z"), -1)
  end)

  suite:case("parse_iso accepts lower case and a space", function()
    eq(clock.parse_iso("2026-05-12t06:00:00z"), T)
    eq(clock.parse_iso("2026-05-12 06:00:00Z"), T)
  end)

  suite:case("parse_iso fractions", function()
    eq(clock.parse_iso("2026-05-12T06:00:00.25Z"), T + 0.25)
    eq(clock.parse_iso("2026-05-12T06:00:00.5+01:00"), T - 3600 + 0.5)
    local v = clock.parse_iso("2026-05-12T06:00:00.123456789Z")
    ok(math.abs(v - (T + 0.123456789)) < 1e-6, "many digits")
  end)

  suite:case("parse_iso round trips iso", function()
    for _, v in ipairs({ 0, 1, T, 951782400, 4102444800, -86400 }) do
      eq(clock.parse_iso(clock.iso(v)), v, clock.iso(v))
    end
    eq(clock.parse_iso(clock.iso(T + 0.5, 3)), T + 0.5)
  end)

  suite:case("parse_iso without an offset returns nil, err", function()
    local v, err = clock.parse_iso("2026-05-12T06:00:00")
    eq(v, nil)
    eq(err.code, "parse")
    ok(err.message:find("UTC offset is missing", 1, true), err.message)
    ok(err.message:find("2026-05-12T06:00:00", 1, true), "names the input")
    ok(require("errors").is(err), "an errors object")
  end)

  local function fails(s, words)
    local v, err = clock.parse_iso(s)
    eq(v, nil, "value for " .. s)
    ok(err and err.code == "parse", "parse error for " .. s)
    ok(err.message:find(words, 1, true),
       s .. ": " .. err.message .. " should mention " .. words)
  end

  suite:case("parse_iso out-of-range fields", function()
    local range = "out of range"
    fails("2026-13-01T00:00:00Z", range)
    fails("2026-00-12T00:00:00Z", range)
    fails("2026-05-00T00:00:00Z", range)
    fails("2026-05-32T00:00:00Z", range)
    fails("2026-04-31T00:00:00Z", range)
    fails("2026-02-29T00:00:00Z", range)
    fails("1900-02-29T00:00:00Z", range)
    fails("2026-05-12T24:00:00Z", range)
    fails("2026-05-12T23:60:00Z", range)
    fails("2026-05-12T23:59:61Z", range)
  end)

  suite:case("parse_iso leap days and the leap second", function()
    eq(clock.parse_iso("2024-02-29T00:00:00Z"), 1709164800)
    eq(clock.parse_iso("2000-02-29T00:00:00Z"), 951782400)
    -- :60 is accepted and lands on the next second
    eq(clock.parse_iso("2026-05-12T23:59:60Z"),
       clock.parse_iso("2026-05-13T00:00:00Z"))
  end)

  suite:case("parse_iso bad offsets", function()
    local off = "UTC offset must be"
    fails("2026-05-12T06:00:00+24:00", off)
    fails("2026-05-12T06:00:00+02:60", off)
    fails("2026-05-12T06:00:00+0200", off)
    fails("2026-05-12T06:00:00+02", off)
    fails("2026-05-12T06:00:00 Z", off)
    fails("2026-05-12T06:00:00Zjunk", off)
    fails("2026-05-12T06:00:00UTC", off)
    fails("2026-05-12T06:00:00.Z", "followed by digits")
  end)

  suite:case("parse_iso wrong shapes", function()
    local shape = "not of the form"
    fails("", shape)
    fails("garbage", shape)
    fails("2026-05-12", shape)
    fails("2026/05/12T06:00:00Z", shape)
    fails("26-05-12T06:00:00Z", shape)
    fails("2026-5-12T06:00:00Z", shape)
    fails("2026-05-12T6:00:00Z", shape)
    fails("2026-05-12X06:00:00Z", shape)
    fails(" 2026-05-12T06:00:00Z", shape)
  end)

  suite:case("parse_iso needs a string", function()
    raises(function() clock.parse_iso() end, "bad argument")
    raises(function() clock.parse_iso({}) end, "bad argument")
  end)
end

return {
  description = "Tests for the clock module",
  run = function(ctx)
    local t = require "testlib"
    local clock = require "clock"
    local suite = t.new("clock")
    cases(t, clock, suite)
    return suite:done()
  end,
}
