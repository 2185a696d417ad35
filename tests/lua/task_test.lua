-- task_test.lua: tests for the task module (host/runtime/task.c,
-- host/runtime/loop.c) and for host waits inside recipe coroutines
-- (host/sandbox/sbcoro.c).
--
-- Every case runs inside the suite's run(), which is itself a task.
-- Timing is only used for ordering, never for speed: short sleeps, and
-- assertions about which finished first.

local function cases(t, task, clock, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  suite:case("spawn + wait returns every value", function()
    local h = task.spawn(function(a, b) task.sleep(0.01) return a + b,
                         "two", nil, false end, 1, 2)
    local r = table.pack(h:wait())
    eq(r.n, 4)
    eq(r[1], 3)
    eq(r[2], "two")
    eq(r[3], nil)
    eq(r[4], false)
  end)

  suite:case("wait on a finished task, and twice", function()
    local h = task.spawn(function() return "v" end)
    task.sleep(0)
    ok(h:done(), "done after a yield")
    eq(h:wait(), "v")
    eq(h:wait(), "v", "results are kept")
  end)

  suite:case("done before and after", function()
    local h = task.spawn(function() task.sleep(0.02) end)
    eq(h:done(), false)
    h:wait()
    eq(h:done(), true)
  end)

  suite:case("a spawned task does not run until the spawner waits", function()
    local ran = false
    local h = task.spawn(function() ran = true end)
    eq(ran, false, "not yet")
    h:wait()
    eq(ran, true)
  end)

  suite:case("a raised error is re-raised by wait", function()
    local h = task.spawn(function() task.sleep(0.01) error("child failed") end)
    raises(function() h:wait() end, "child failed")
    -- and again: the error is kept
    raises(function() h:wait() end, "child failed")
    ok(h:done(), "a failed task is done")
  end)

  suite:case("a raised table is re-raised as the same object", function()
    local e = { code = "mine" }
    local h = task.spawn(function() error(e) end)
    local okw, got = pcall(h.wait, h)
    ok(not okw and got == e, "same table")
  end)

  suite:case("a task cannot wait for itself", function()
    local h
    h = task.spawn(function() task.sleep(0) return pcall(h.wait, h) end)
    local okw, err = h:wait()
    eq(okw, false)
    ok(tostring(err):find("cannot wait for itself", 1, true), err)
  end)

  suite:case("only one task may wait for a task", function()
    local target = task.spawn(function() task.sleep(0.05) return 1 end)
    local first = task.spawn(function() return target:wait() end)
    task.sleep(0)
    local okw, err = pcall(target.wait, target)
    eq(okw, false)
    ok(tostring(err):find("already waiting", 1, true), err)
    eq(first:wait(), 1)
  end)

  suite:case("spawn checks its argument", function()
    raises(function() task.spawn(42) end, "bad argument #1")
    raises(function() task.spawn() end, "bad argument #1")
  end)

  suite:case("all: results in order, whatever the finishing order", function()
    local order = {}
    local res, errs = task.all {
      function() task.sleep(0.06) order[#order + 1] = 1 return "one" end,
      function() task.sleep(0.02) order[#order + 1] = 2 return "two" end,
      function() order[#order + 1] = 3 return "three" end,
    }
    eq(res, { "one", "two", "three" })
    eq(errs, {})
    eq(order, { 3, 2, 1 })
  end)

  suite:case("all: the first value only", function()
    local res = task.all { function() return 1, 2, 3 end }
    eq(res, { 1 })
  end)

  suite:case("all: nil, err returns fill errs", function()
    local res, errs = task.all {
      function() return "ok" end,
      function() return nil, "no luck" end,
      function() task.sleep(0.01) return nil, { code = "x" } end,
      function() return nil end,
      function() return false, "not an error: first value is false" end,
    }
    eq(res[1], "ok")
    eq(res[2], nil)
    eq(res[3], nil)
    eq(res[5], false)
    eq(errs[2], "no luck")
    eq(errs[3], { code = "x" })
    eq(errs[4], nil, "nil alone is no error")
    eq(errs[5], nil, "a second value after a non-nil first")
  end)

  suite:case("all: a raised error comes after every task finished",
             function()
    local finished = {}
    local okp, err = pcall(task.all, {
      function() task.sleep(0.01) error("first raise") end,
      function() task.sleep(0.05) finished[2] = true return 2 end,
      function() error("second raise") end,
    })
    eq(okp, false)
    ok(tostring(err):find("first raise", 1, true),
       "lowest index wins: " .. tostring(err))
    eq(finished[2], true, "the slow task was not cut short")
  end)

  suite:case("all: empty list", function()
    local res, errs = task.all {}
    eq(res, {})
    eq(errs, {})
  end)

  suite:case("all: elements must be functions", function()
    raises(function() task.all { function() end, 5 } end,
           "task.all: element 2 is a number, expected a function")
    raises(function() task.all("x") end, "bad argument #1")
  end)

  suite:case("all: nested all", function()
    local res = task.all {
      function() return task.all { function() return 1 end,
                                   function() return 2 end } end,
      function() return "x" end,
    }
    eq(res, { { 1, 2 }, "x" })
  end)

  suite:case("sleep lets other tasks run", function()
    local log = {}
    local a = task.spawn(function()
      for i = 1, 3 do log[#log + 1] = "a" .. i task.sleep(0.01) end end)
    local b = task.spawn(function()
      for i = 1, 3 do log[#log + 1] = "b" .. i task.sleep(0.01) end end)
    a:wait()
    b:wait()
    eq(#log, 6)
    eq(log[1], "a1")
    eq(log[2], "b1", "interleaved")
  end)

  suite:case("sleep(0) yields and comes back", function()
    local other = false
    task.spawn(function() other = true end)
    task.sleep(0)
    eq(other, true)
  end)

  suite:case("sleep waits at least that long", function()
    local t0 = clock.monotonic()
    task.sleep(0.05)
    ok(clock.monotonic() - t0 >= 0.045, "slept")
  end)

  suite:case("shorter sleeps wake first", function()
    local order = {}
    task.all {
      function() task.sleep(0.05) order[#order + 1] = "long" end,
      function() task.sleep(0.01) order[#order + 1] = "short" end,
      function() task.sleep(0.03) order[#order + 1] = "mid" end,
    }
    eq(order, { "short", "mid", "long" })
  end)

  suite:case("sleep checks its argument", function()
    raises(function() task.sleep(-1) end, "finite number of seconds")
    raises(function() task.sleep(0 / 0) end, "finite number of seconds")
    raises(function() task.sleep(math.huge) end, "finite number of seconds")
    raises(function() task.sleep("soon") end, "number expected")
  end)

  suite:case("deadline decreases", function()
    local a = task.deadline()
    ok(a > 0, "positive")
    task.sleep(0.02)
    local b = task.deadline()
    ok(b < a, "decreased: " .. a .. " -> " .. b)
    ok(a - b >= 0.015, "by about the sleep")
  end)

  suite:case("sleep inside coroutine.wrap inside a task", function()
    local h = task.spawn(function()
      local gen = coroutine.wrap(function()
        for i = 1, 3 do
          task.sleep(0.01)
          coroutine.yield(i)
        end
        return "end"
      end)
      return { gen(), gen(), gen(), gen() }
    end)
    eq(h:wait(), { 1, 2, 3, "end" })
  end)

  suite:case("sleep inside coroutine.resume", function()
    local co = coroutine.create(function(x)
      task.sleep(0.01)
      local y = coroutine.yield(x + 1)
      task.sleep(0.01)
      return y * 2
    end)
    local a = { coroutine.resume(co, 1) }
    eq(a, { true, 2 })
    eq(coroutine.status(co), "suspended")
    local b = { coroutine.resume(co, 5) }
    eq(b, { true, 10 })
    eq(coroutine.status(co), "dead")
  end)

  suite:case("waits in nested coroutines", function()
    local outer = coroutine.wrap(function()
      local inner = coroutine.wrap(function()
        task.sleep(0.01)
        coroutine.yield("inner")
        task.sleep(0.01)
        return "inner done"
      end)
      local x = inner()
      task.sleep(0.01)
      coroutine.yield(x)
      return inner()
    end)
    eq(outer(), "inner")
    eq(outer(), "inner done")
  end)

  suite:case("task.all and :wait inside a coroutine", function()
    local gen = coroutine.wrap(function()
      local r = task.all { function() task.sleep(0.01) return 1 end,
                           function() return 2 end }
      coroutine.yield(r[1] + r[2])
      local h = task.spawn(function() task.sleep(0.01) return 10 end)
      return h:wait()
    end)
    eq(gen(), 3)
    eq(gen(), 10)
  end)

  suite:case("waits inside pcall inside a coroutine", function()
    local co = coroutine.wrap(function()
      local okp, v = pcall(function() task.sleep(0.01) return "slept" end)
      return okp, v
    end)
    local okp, v = co()
    eq(okp, true)
    eq(v, "slept")
  end)

  suite:case("errors after a wait in a coroutine", function()
    local co = coroutine.create(function()
      task.sleep(0.01)
      error("after the wait")
    end)
    local okc, err = coroutine.resume(co)
    eq(okc, false)
    ok(tostring(err):find("after the wait", 1, true), err)
    eq(coroutine.status(co), "dead")
  end)

  suite:case("a coroutine waiting for the host cannot be resumed by " ..
             "another task", function()
    local co = coroutine.create(function() task.sleep(0.05) return "x" end)
    local waiter = task.spawn(function() return coroutine.resume(co) end)
    task.sleep(0.01)              -- waiter is now inside the sleep
    local okc, err = pcall(coroutine.resume, co)
    eq(okc, false)
    ok(tostring(err):find("waiting for the host", 1, true), err)
    local okw, v = waiter:wait()
    eq(okw, true)
    eq(v, "x")
  end)

  suite:case("coroutine.yield at task level is an error", function()
    local h = task.spawn(function() coroutine.yield(1) end)
    local okw, err = pcall(h.wait, h)
    eq(okw, false)
    ok(tostring(err):find("coroutine.yield called outside a coroutine",
                          1, true), err)
    ok(tostring(err):find("task.sleep", 1, true), "points to task.sleep")
    raises(function() coroutine.yield() end, "outside a coroutine",
           "in the suite's own task")
  end)

  suite:case("isyieldable: false in a task, true in a coroutine", function()
    eq(coroutine.isyieldable(), false)
    eq(coroutine.wrap(function() return coroutine.isyieldable() end)(),
       true)
  end)

  suite:case("coroutine.running inside a task", function()
    local co, main = coroutine.running()
    eq(type(co), "thread")
    eq(main, false, "a task is not the main thread")
  end)

  suite:case("resume/wrap/close refuse a task thread", function()
    local me = coroutine.running()
    raises(function() coroutine.resume(me) end, "that is a task")
    raises(function() coroutine.close(me) end, "that is a task")
  end)

  suite:case("waiting inside a C callback is a clear error", function()
    raises(function()
      table.sort({ 3, 2, 1 }, function(a, b) task.sleep(0) return a < b end)
    end, "cannot wait here")
    raises(function()
      return tostring(setmetatable({}, { __tostring = function()
        task.sleep(0) return "x" end }))
    end, "cannot wait here")
    raises(function()
      string.gsub("ab", "%w", function() task.sleep(0) end)
    end, "cannot wait here")
    -- the same through a coroutine inside the callback
    raises(function()
      table.sort({ 2, 1 }, function(a, b)
        coroutine.wrap(function() task.sleep(0) end)()
        return a < b
      end)
    end, "cannot wait")
  end)

  suite:case("metamethods called by Lua code may wait", function()
    -- Lua 5.4 lets __index & co. yield when the VM calls them
    local t = setmetatable({}, { __index = function(_, k)
      task.sleep(0.01) return k .. "!" end })
    eq(t.x, "x!")
    local obj = setmetatable({}, { __add = function(a, b)
      task.sleep(0) return 5 end })
    eq(obj + 1, 5)
  end)

  suite:case("the loop still works after a refused wait", function()
    pcall(table.sort, { 2, 1 }, function(a, b) task.sleep(0) return a < b end)
    task.sleep(0.01)
    eq(task.all { function() task.sleep(0.01) return 1 end }, { 1 })
  end)

  suite:case("handles are clawhost.Task values", function()
    local h = task.spawn(function() end)
    eq(type(h), "userdata")
    ok(tostring(h):find("^clawhost.Task %d+ %(running%)$"), tostring(h))
    h:wait()
    ok(tostring(h):find("%(done%)$"), tostring(h))
    raises(function() h.wait(42) end, "clawhost.Task expected")
  end)

  suite:case("many tasks", function()
    local hs, sum = {}, 0
    for i = 1, 200 do
      hs[i] = task.spawn(function() task.sleep(0.001 * (i % 7)) return i end)
    end
    for i = 1, 200 do sum = sum + hs[i]:wait() end
    eq(sum, 200 * 201 // 2)
  end)

  suite:case("task.all of many functions", function()
    local fs = {}
    for i = 1, 300 do fs[i] = function() task.sleep(0) return i * i end end
    local res = task.all(fs)
    eq(#res, 300)
    eq(res[300], 90000)
  end)

  suite:case("<close> values of a task close when it ends", function()
    local closed = false
    local h = task.spawn(function()
      local c <close> = setmetatable({}, { __close = function()
        closed = true end })
      task.sleep(0.01)
      error("failing task")
    end)
    pcall(h.wait, h)
    eq(closed, true)
  end)
end

return {
  description = "Tests for the task module",
  run = function(ctx)
    local t = require "testlib"
    local suite = t.new("task")
    cases(t, require "task", require "clock", suite)
    return suite:done()
  end,
}
