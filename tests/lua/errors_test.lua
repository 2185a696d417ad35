-- errors_test.lua: tests for the errors module (host/runtime/err.c) and the
-- error objects host modules return. How codes map to exit statuses is
-- tested from outside, in tests/e2e/test_output.py.

local function cases(t, errors, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  suite:case("new makes a table with code and message", function()
    local e = errors.new("budget_exceeded", "over the cap")
    eq(type(e), "table")
    eq(e.code, "budget_exceeded")
    eq(e.message, "over the cap")
    ok(errors.is(e), "is")
  end)

  suite:case("message defaults to the code", function()
    local e = errors.new("timeout")
    eq(e.code, "timeout")
    eq(e.message, "timeout")
  end)

  suite:case("tostring gives the message", function()
    eq(tostring(errors.new("x", "the message")), "the message")
    eq(tostring(errors.new("only_code")), "only_code")
    local e = errors.new("x", "m")
    e.message = nil
    eq(tostring(e), "x", "falls back to the code")
    e.code = nil
    eq(tostring(e), "error", "and then to 'error'")
  end)

  suite:case("extra fields are copied in", function()
    local e = errors.new("http", "bad gateway",
                         { status = 502, retry_after = 1.5,
                           plan = { "a", "b" } })
    eq(e.status, 502)
    eq(e.retry_after, 1.5)
    eq(e.plan, { "a", "b" })
    eq(e.code, "http")
  end)

  suite:case("fields can override code and message", function()
    local e = errors.new("a", "b", { code = "c", message = "d" })
    eq(e.code, "c")
    eq(e.message, "d")
  end)

  suite:case("library code may add fields later", function()
    local e = errors.new("x", "y")
    e.detail = "more"
    eq(e.detail, "more")
  end)

  suite:case("is tells error objects from look-alikes", function()
    ok(not errors.is({ code = "x", message = "y" }), "plain table")
    ok(not errors.is("x"), "string")
    ok(not errors.is(nil), "nil")
    ok(not errors.is(42), "number")
    ok(not errors.is(setmetatable({}, {})), "other metatable")
    ok(not errors.is(require("json").array {}), "json array")
  end)

  suite:case("new checks its arguments", function()
    raises(function() errors.new() end, "bad argument #1")
    raises(function() errors.new({}) end, "bad argument #1")
    raises(function() errors.new("x", {}) end, "bad argument #2")
    -- a number is a string in Lua's eyes
    eq(errors.new(5, 6).code, "5")
  end)

  suite:case("raised error objects arrive intact through pcall", function()
    local e = errors.new("config", "THING is not set", { name = "THING" })
    local okp, got = pcall(error, e)
    ok(not okp, "pcall failed")
    ok(got == e, "same object")
    ok(errors.is(got), "still an error object")
    eq(got.name, "THING")
  end)

  suite:case("raised error objects carry no position prefix", function()
    local okp, got = pcall(function() error(errors.new("x", "plain")) end)
    eq(got.message, "plain")
  end)

  suite:case("error objects through xpcall and coroutines", function()
    local e = errors.new("x", "y")
    local _, got = xpcall(function() error(e) end, function(m) return m end)
    ok(got == e, "xpcall")
    local co = coroutine.create(function() error(e) end)
    local okc, got2 = coroutine.resume(co)
    ok(not okc and got2 == e, "coroutine.resume")
    local okw, got3 = pcall(coroutine.wrap(function() error(e) end))
    ok(not okw and got3 == e, "coroutine.wrap")
  end)

  suite:case("error objects from a task's :wait()", function()
    local task = require "task"
    local e = errors.new("remote", "it broke", { status = 500 })
    local h = task.spawn(function() error(e) end)
    local okw, got = pcall(h.wait, h)
    ok(not okw, "wait raised")
    ok(got == e, "the same object")
    eq(got.status, 500)
  end)

  suite:case("host modules return error objects", function()
    local v, err = require("clock").parse_iso("nope")
    ok(v == nil and errors.is(err), "clock.parse_iso")
    eq(err.code, "parse")
    local okc, cerr = pcall(require("config").get, "X_TOKEN")
    ok(not okc and errors.is(cerr), "config refusal is an error object")
    eq(cerr.code, "config")
  end)

  suite:case("the errors module is shared and read-only", function()
    ok(require("errors") == errors, "require returns the same table")
    eq(type(errors.new), "function")
    eq(type(errors.is), "function")
  end)
end

return {
  description = "Tests for the errors module",
  run = function(ctx)
    local t = require "testlib"
    local errors = require "errors"
    local suite = t.new("errors")
    cases(t, errors, suite)
    return suite:done()
  end,
}
