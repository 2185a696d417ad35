"""Cleanup: ctx.defer functions run whatever ends the run (success,
error, deadline, memory, policy, SIGINT, SIGTERM), last registered
first, under their own deadline; <close> values of a failing run() are
closed (DESIGN section 6, host/cli/run.c, host/runtime/ctx.c)."""
import signal

import pytest

from tests.e2e.fixtures.util import (ASAN, body, finish, home,  # noqa: F401
                                     run_lua, start, wait_for_line)

GUARD = 20
SLACK = 1.5 if not ASAN else 4.0

DEFERS = """
ctx.defer(function() print("DEFER-1") end)
ctx.defer(function() print("DEFER-2") end)
ctx.defer(function() print("DEFER-3") end)
"""


def deferred_order(err):
    return [line for line in err.splitlines() if line.startswith("DEFER-")]


def assert_all_ran(r):
    assert deferred_order(r.err) == ["DEFER-3", "DEFER-2", "DEFER-1"], r


def test_defer_runs_on_success_last_first(host):
    r = run_lua(host, DEFERS + 'return "done"')
    assert r.code == 0, r
    assert r.out == "done\n"
    assert_all_ran(r)


def test_defer_runs_after_the_result_is_computed_but_before_exit(host):
    r = run_lua(host, DEFERS + 'print("BODY-END") return "done"')
    lines = r.err.splitlines()
    assert lines.index("BODY-END") < lines.index("DEFER-3"), r


def test_defer_runs_on_error(host):
    r = run_lua(host, DEFERS + 'error("boom")')
    assert r.code == 1, r
    assert "boom" in r.err
    assert_all_ran(r)


def test_defer_runs_on_nil_err_return(host):
    r = run_lua(host, DEFERS + 'return nil, errors.new("config", "nope")')
    assert r.code == 2, r
    assert_all_ran(r)


def test_defer_runs_on_deadline(host):
    r = run_lua(host, DEFERS + "while true do end", "--timeout", "1",
                timeout=GUARD)
    assert r.code == 124, r
    assert_all_ran(r)


def test_defer_runs_on_deadline_while_sleeping(host):
    r = run_lua(host, DEFERS + "task.sleep(100)", "--timeout", "1",
                timeout=GUARD)
    assert r.code == 124, r
    assert_all_ran(r)


def test_defer_runs_on_memory_breach(host):
    r = run_lua(host, DEFERS + "local t = {} for i = 1, 1e9 do "
                "t[i] = {i} end", "--memory-mb", "32", timeout=GUARD)
    assert r.code == 1, r
    assert "memory limit" in r.err
    assert_all_ran(r)


def test_defer_can_allocate_after_a_memory_breach(host):
    r = run_lua(host, """
        ctx.defer(function()
          local t = {} for i = 1, 1000 do t[i] = ("x"):rep(100) end
          print("DEFER-ALLOC " .. #t)
        end)
        local t = {} for i = 1, 1e9 do t[i] = {i} end
    """, "--memory-mb", "32", timeout=GUARD)
    assert r.code == 1, r
    assert "DEFER-ALLOC 1000" in r.err


def test_defer_runs_on_policy_refusal(host):
    r = run_lua(host, DEFERS + 'pcall(io.open, "/etc/passwd")')
    assert r.code == 4, r
    assert_all_ran(r)


def test_defer_in_a_spawned_task_and_nested_functions(host):
    r = run_lua(host, """
        local function helper() ctx.defer(function() print("DEFER-1") end) end
        helper()
        task.spawn(function() ctx.defer(function() print("DEFER-2") end)
          end):wait()
        ctx:defer(function() print("DEFER-3") end)
        return "ok"
    """)
    assert r.code == 0, r
    assert_all_ran(r)


def test_deferred_function_may_wait(host):
    r = run_lua(host, """
        ctx.defer(function()
          task.sleep(0.1)
          local r = task.all{function() task.sleep(0.05) return 1 end,
                             function() return 2 end}
          print("DEFER-WAITED " .. r[1] + r[2])
        end)
        return "ok"
    """, timeout=GUARD)
    assert r.code == 0, r
    assert "DEFER-WAITED 3" in r.err


def test_defer_needs_a_function(host):
    r = run_lua(host, "ctx.defer(42)")
    assert r.code == 1, r
    assert "function expected" in r.err


def test_defer_outside_run_is_an_error(host):
    path = host.recipe("""
        local saved
        return { run = function(ctx)
          ctx.defer(function()
            local ok, e = pcall(ctx.defer, function() end)
            print("NESTED " .. tostring(ok) .. " " .. tostring(e))
          end)
          return "ok"
        end }
    """, name="nested.lua")
    r = host.run("run", path)
    assert r.code == 0, r
    assert "NESTED false" in r.err and "only while run() executes" in r.err


# ---- failing and slow cleanup ----

def test_failing_defer_is_reported_and_fails_the_run(host):
    r = run_lua(host, """
        ctx.defer(function() print("DEFER-1") end)
        ctx.defer(function() error("cleanup broke") end)
        ctx.defer(function() print("DEFER-3") end)
        return "result"
    """)
    assert r.code == 1, r
    assert r.out == "result\n"          # the result is still shown
    assert "cleanup function failed" in r.err
    assert "cleanup broke" in r.err
    # the others still ran
    assert deferred_order(r.err) == ["DEFER-3", "DEFER-1"], r


def test_failing_defer_keeps_the_runs_own_exit_status(host):
    r = run_lua(host, """
        ctx.defer(function() error("cleanup broke") end)
        return nil, errors.new("budget_exceeded", "over the cap")
    """)
    assert r.code == 3, r
    assert "cleanup broke" in r.err and "over the cap" in r.err


def test_looping_defer_is_stopped_by_the_cleanup_deadline(host):
    r = run_lua(host, """
        ctx.defer(function() print("DEFER-FIRST") end)
        ctx.defer(function() while true do end end)
        return "result"
    """, "--cleanup-timeout", "1", timeout=GUARD)
    assert r.code == 1, r
    assert r.elapsed < 1 + SLACK, r
    assert "cleanup took longer than 1 s" in r.err
    assert r.out == "result\n"


def test_sleeping_defer_is_stopped_by_the_cleanup_deadline(host):
    r = run_lua(host, "ctx.defer(function() task.sleep(100) end) "
                "return 'result'", "--cleanup-timeout", "1", timeout=GUARD)
    assert r.code == 1, r
    assert r.elapsed < 1 + SLACK, r
    assert "cleanup" in r.err


def test_cleanup_deadline_is_separate_from_the_run_deadline(host):
    # The run used up its own deadline; cleanup still gets its time.
    r = run_lua(host, """
        ctx.defer(function() task.sleep(0.5) print("DEFER-SLEPT") end)
        while true do end
    """, "--timeout", "1", "--cleanup-timeout", "5", timeout=GUARD)
    assert r.code == 124, r
    assert "DEFER-SLEPT" in r.err


def test_looping_defer_after_a_deadline(host):
    r = run_lua(host, """
        ctx.defer(function() while true do end end)
        while true do end
    """, "--timeout", "1", "--cleanup-timeout", "1", timeout=GUARD)
    assert r.code == 124, r
    assert r.elapsed < 2 + 2 * SLACK, r


# ---- <close> ----

def test_close_values_of_a_failing_run_are_closed(host):
    r = run_lua(host, """
        local a <close> = setmetatable({}, {__close = function(_, e)
          print("CLOSED-A " .. tostring(e)) end})
        local b <close> = setmetatable({}, {__close = function(_, e)
          print("CLOSED-B") end})
        error("run failed")
    """)
    assert r.code == 1, r
    lines = [line for line in r.err.splitlines()
             if line.startswith("CLOSED")]
    assert lines[0] == "CLOSED-B"
    assert lines[1].startswith("CLOSED-A") and "run failed" in lines[1]


def test_close_values_on_success_and_soft_failure(host):
    r = run_lua(host, """
        local a <close> = setmetatable({}, {__close = function()
          print("CLOSED-A") end})
        return nil, "soft"
    """)
    assert r.code == 1, r
    assert "CLOSED-A" in r.err


def test_close_values_run_on_deadline(host):
    r = run_lua(host, """
        local a <close> = setmetatable({}, {__close = function()
          print("CLOSED-A") end})
        while true do end
    """, "--timeout", "1", timeout=GUARD)
    assert r.code == 124, r
    assert "CLOSED-A" in r.err


def test_close_values_run_on_policy_refusal_and_memory(host):
    close = ("local a <close> = setmetatable({}, {__close = function() "
             'print("CLOSED-A") end})\n')
    r = run_lua(host, close + "local f = io.open")
    assert r.code == 4 and "CLOSED-A" in r.err, r
    r = run_lua(host, close + "local t = {} for i = 1, 1e9 do t[i] = {} end",
                "--memory-mb", "32", timeout=GUARD)
    assert r.code == 1 and "CLOSED-A" in r.err, r


def test_close_values_of_a_stopped_task_run(host):
    r = run_lua(host, """
        task.spawn(function()
          local a <close> = setmetatable({}, {__close = function()
            print("TASK-CLOSED") end})
          task.sleep(100)
        end)
        task.sleep(0)
        return "ok"
    """, timeout=GUARD)
    assert r.code == 0, r
    assert "TASK-CLOSED" in r.err
    assert "still running when run() returned" in r.err


def test_close_values_in_a_coroutine_closed_with_coroutine_close(host):
    r = run_lua(host, """
        local co = coroutine.create(function()
          local a <close> = setmetatable({}, {__close = function()
            print("CO-CLOSED") end})
          coroutine.yield()
        end)
        coroutine.resume(co)
        return coroutine.close(co)
    """)
    assert r.code == 0, r
    assert r.out == "true\n" and "CO-CLOSED" in r.err


def test_looping_close_after_a_deadline_is_stopped(host):
    r = None
    try:
        r = run_lua(host, """
            local a <close> = setmetatable({}, {__close = function()
              print("CLOSING") while true do end end})
            while true do end
        """, "--timeout", "1", "--cleanup-timeout", "1",
            timeout=1 + SLACK + 1)
    except Exception as e:      # subprocess.TimeoutExpired: it hung
        pytest.fail("the run hung: %s" % e)
    assert r.code == 124, r


# ---- signals ----

SIGNAL_RECIPE = """
ctx.defer(function() print("DEFER-1") end)
ctx.defer(function() print("DEFER-2") end)
print("READY")
{wait}
return "not reached"
"""


@pytest.mark.parametrize("wait", ["task.sleep(100)",
                                  "while true do end",
                                  "while true do pcall(function() "
                                  "while true do end end) end",
                                  "task.all{function() task.sleep(100) "
                                  "end}"],
                         ids=["sleep", "busy", "busy-pcall", "task.all"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_interrupts_and_runs_defer(host, sig, wait):
    path = host.recipe(body(SIGNAL_RECIPE.format(wait=wait)), name="sig.lua")
    proc = start(host, "run", path, "--timeout", "60")
    lines = wait_for_line(proc, "READY")
    proc.send_signal(sig)
    code, out, err = finish(proc)
    err = "".join(lines) + err
    assert code == 130, (code, out, err)
    assert "interrupted by %s" % sig.name in err
    assert deferred_order(err) == ["DEFER-2", "DEFER-1"], err
    assert "not reached" not in out


def test_signal_with_json_prints_an_error_object(host):
    path = host.recipe(body(SIGNAL_RECIPE.format(wait="task.sleep(100)")),
                       name="sig.lua")
    proc = start(host, "run", path, "--json")
    wait_for_line(proc, "READY")
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 130
    assert '"cancelled"' in out


def test_second_signal_interrupts_a_slow_cleanup(host):
    path = host.recipe(body("""
        ctx.defer(function() print("CLEANUP-START") task.sleep(100)
                             print("CLEANUP-END") end)
        print("READY")
        task.sleep(100)
    """), name="slowclean.lua")
    proc = start(host, "run", path)
    lines = wait_for_line(proc, "READY")
    proc.send_signal(signal.SIGINT)
    lines += wait_for_line(proc, "CLEANUP-START")
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    err = "".join(lines) + err
    assert code == 130, err
    assert "CLEANUP-END" not in err
    assert "cleanup stopped" in err


# ---- one broken cleanup function and the others ----

@pytest.mark.parametrize("breach", [
    "pcall(function() local f = io.open end)",
    "local t = {} for i = 1, 1e9 do t[i] = {} end",
], ids=["policy", "memory"])
def test_fatal_breach_in_one_defer_does_not_cancel_the_others(host, breach):
    r = run_lua(host, """
        ctx.defer(function() print("DEFER-1") end)
        ctx.defer(function() %s end)
        return "ok"
    """ % breach, "--memory-mb", "32", timeout=GUARD)
    assert r.code != 0, r
    assert "DEFER-1" in r.err, r


def test_policy_breach_in_cleanup_exits_4(host):
    r = run_lua(host, "ctx.defer(function() local f = io.open end) "
                "return 'ok'")
    assert r.code == 4, r


def test_signal_while_the_recipe_loads(host):
    path = host.recipe('print("READY")\nwhile true do end\n'
                       'return { run = function() end }', name="loading.lua")
    proc = start(host, "run", path)
    lines = wait_for_line(proc, "READY")
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 130, "".join(lines) + err
    assert "interrupted by SIGINT" in err


def test_close_values_of_a_coroutine_left_suspended_run_at_the_end(host):
    """Lua would collect it and never close them; the host closes it
    in cleanup, after run() returned."""
    r = run_lua(host, """
        local function gen()
          local a <close> = setmetatable({}, {__close = function()
            print("GEN-CLOSED") end})
          coroutine.yield(1)
          coroutine.yield(2)
        end
        for v in coroutine.wrap(gen) do break end   -- abandoned
        local co = coroutine.create(gen)
        coroutine.resume(co)                        -- unreachable after
        co = nil
        collectgarbage()
        return "done"
    """)
    assert r.code == 0, r
    assert r.err.count("GEN-CLOSED") == 2, r


def test_finished_coroutines_are_not_kept(host):
    r = run_lua(host, """
        for i = 1, 200000 do
          local co = coroutine.create(function(x) return x end)
          coroutine.resume(co, i)
          local w = coroutine.wrap(function() error("x") end)
          pcall(w)
        end
        return "ok"
    """, "--memory-mb", "16")
    assert r.code == 0, r
