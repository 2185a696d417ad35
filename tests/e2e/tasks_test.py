"""Tasks seen from outside: concurrency of waits, warnings about tasks
left running or failing unobserved, and the process surviving many tasks
(host/runtime/task.c, host/runtime/loop.c, docs/task.md). The Lua-level
semantics are in tests/lua/task_test.lua."""
import pytest

from tests.e2e.fixtures.util import (PLAIN_BIN, home,  # noqa: F401
                                     run_lua)

GUARD = 20


def test_two_one_second_sleeps_take_about_one_second(host):
    r = run_lua(host, """
        local t0 = clock.monotonic()
        local res = task.all{
          function() task.sleep(1) return "a" end,
          function() task.sleep(1) return "b" end,
        }
        return {elapsed = clock.monotonic() - t0, res = res}
    """, "--json", timeout=GUARD)
    assert r.code == 0, r
    doc = r.json()
    assert doc["res"] == ["a", "b"]
    assert 0.9 < doc["elapsed"] < 1.8, doc
    assert r.elapsed < 1.8 + 1.0, r         # the whole process, generous


def test_spawned_sleeps_overlap(host):
    r = run_lua(host, """
        local t0 = clock.monotonic()
        local a = task.spawn(function() task.sleep(0.6) return 1 end)
        local b = task.spawn(function() task.sleep(0.6) return 2 end)
        local c = task.spawn(function() task.sleep(0.6) return 3 end)
        local sum = a:wait() + b:wait() + c:wait()
        return {sum = sum, elapsed = clock.monotonic() - t0}
    """, "--json", timeout=GUARD)
    assert r.code == 0, r
    doc = r.json()
    assert doc["sum"] == 6
    assert 0.5 < doc["elapsed"] < 1.5, doc


def test_parallel_recipe(host):
    r = host.run("run", "parallel", "--jobs", "4", "--seconds", "0.5",
                 "--json", timeout=GUARD)
    assert r.code == 0, r
    doc = r.json()
    assert doc["jobs"] == 4
    assert [row["job"] for row in doc["finished"]] == [1, 2, 3, 4]
    assert 0.4 < doc["elapsed_s"] < 1.5, doc
    assert doc["one_after_another_s"] == 2


def test_parallel_recipe_text_output_has_columns(host):
    r = host.run("run", "parallel", "--jobs", "2", "--seconds", "0",
                 timeout=GUARD)
    assert r.code == 0, r
    lines = r.out.splitlines()
    header = next(line for line in lines if "job" in line and "done_after_s"
                  in line)
    assert header.split() == ["job", "done_after_s"]


def test_task_left_running_is_warned_about_and_stopped(host):
    r = run_lua(host, """
        task.spawn(function() task.sleep(100) print("NEVER") end)
        task.spawn(function() task.sleep(100) end)
        task.sleep(0)
        return "ok"
    """, timeout=GUARD)
    assert r.code == 0, r
    assert r.out == "ok\n"
    assert "2 tasks were still running when run() returned" in r.err
    assert "NEVER" not in r.err
    assert r.elapsed < 10, r


def test_busy_task_left_running_is_stopped(host):
    # A task that never yields cannot be left behind: it runs until the
    # deadline (tasks are cooperative), then everything stops.
    r = run_lua(host, """
        task.spawn(function() while true do end end)
        return "ok"
    """, "--timeout", "1", timeout=GUARD)
    assert r.code in (0, 124), r


def test_one_task_left_running_singular_warning(host):
    r = run_lua(host, "task.spawn(function() task.sleep(100) end) "
                "return 'ok'", timeout=GUARD)
    assert r.code == 0, r
    assert "1 task was still running" in r.err


def test_waited_tasks_give_no_warning(host):
    r = run_lua(host, "local t = task.spawn(function() task.sleep(0.05) "
                "end) t:wait() return 'ok'")
    assert r.code == 0, r
    assert "still running" not in r.err and "warning" not in r.err


def test_yield_at_task_level_is_a_clear_error(host):
    r = run_lua(host, "coroutine.yield(1)")
    assert r.code == 1, r
    assert "coroutine.yield called outside a coroutine" in r.err
    assert "task.sleep" in r.err


def test_yield_in_a_spawned_task_fails_that_task(host):
    r = run_lua(host, """
        local t = task.spawn(function() coroutine.yield() end)
        local ok, e = pcall(t.wait, t)
        return {ok, e}
    """, "--json")
    assert r.code == 0, r
    ok, msg = r.json()
    assert ok is False and "outside a coroutine" in msg


def test_sleep_in_a_coroutine_inside_a_task(host):
    r = run_lua(host, """
        local t = task.spawn(function()
          local gen = coroutine.wrap(function()
            for i = 1, 3 do task.sleep(0.05) coroutine.yield(i) end
          end)
          return gen() + gen() + gen()
        end)
        return t:wait()
    """, timeout=GUARD)
    assert r.code == 0, r
    assert r.out == "6\n"


def test_wait_inside_a_c_callback_is_a_clear_error(host):
    r = run_lua(host, """
        local ok, e = pcall(table.sort, {3, 2, 1},
                            function(a, b) task.sleep(0.01) return a < b end)
        return e
    """)
    assert r.code == 0, r
    assert "cannot wait here" in r.out
    assert "table.sort" in r.out


def test_wait_while_the_recipe_loads_is_a_clear_error(host):
    path = host.recipe('require("task").sleep(0.1)\n'
                       'return { run = function() end }', name="load.lua")
    r = host.run("run", path)
    assert r.code == 1, r
    assert "only works while run() executes" in r.err


def test_unobserved_failure_is_reported_when_the_handle_is_gone(host):
    r = run_lua(host, """
        task.spawn(function() task.sleep(0.05) error("lost one") end)
        collectgarbage()
        task.sleep(0.2)
        return "ok"
    """, timeout=GUARD)
    assert r.code == 0, r
    assert "lost one" in r.err


def test_unobserved_failure_is_reported_while_the_handle_lives(host):
    r = run_lua(host, """
        local t = task.spawn(function() error("lost two") end)
        task.sleep(0.1)
        return "ok"
    """, timeout=GUARD)
    assert r.code == 0, r
    assert "lost two" in r.err


def test_many_sleeping_tasks(host):
    r = run_lua(host, """
        local n = 0
        local ts = {}
        for i = 1, 300 do
          ts[i] = task.spawn(function() task.sleep(0.2) n = n + 1 end)
        end
        for i = 1, 300 do ts[i]:wait() end
        return n
    """, timeout=GUARD)
    assert r.code == 0, r
    assert r.out == "300\n"


@pytest.mark.parametrize("jobs", [40, 100, 1000])
def test_task_all_with_many_functions(host, jobs):
    """Regression: task.all used to keep every element pushed while
    checking types and wrote past the Lua stack from ~40 functions on
    (SIGSEGV; fixed in d1ee42f). The plain binary, because liblua5.4.a is
    not instrumented and the ASan build never saw the overrun."""
    r = host.run("run", "parallel", "--jobs", jobs, "--seconds", "0",
                 "--json", binary=PLAIN_BIN, timeout=GUARD)
    assert r.code == 0, r
    assert [row["job"] for row in r.json()["finished"]] == \
        list(range(1, jobs + 1))


def test_task_all_many_functions_under_valgrind(host):
    from tests.e2e.fixtures.util import valgrind_run
    path = host.recipe(
        "local task = require 'task'\n"
        "return { run = function()\n"
        "  local fs = {}\n"
        "  for i = 1, 60 do fs[i] = function() return i end end\n"
        "  return #task.all(fs)\n"
        "end }", name="many.lua")
    r = valgrind_run(host, "run", path)
    assert r.code == 0, r
    assert r.out == "60\n"


def test_task_all_with_a_few_functions_is_clean_under_valgrind(host):
    from tests.e2e.fixtures.util import valgrind_run
    path = host.recipe(
        "local task = require 'task'\n"
        "return { run = function()\n"
        "  local fs = {}\n"
        "  for i = 1, 5 do fs[i] = function() task.sleep(0.01) return i "
        "end end\n"
        "  return #task.all(fs)\n"
        "end }", name="few.lua")
    r = valgrind_run(host, "run", path)
    assert r.code == 0, r
    assert r.out == "5\n"


def test_task_handle_tostring(host):
    r = run_lua(host, """
        local t = task.spawn(function() task.sleep(0.01) end)
        local before = tostring(t)
        t:wait()
        return {before, tostring(t)}
    """, "--json")
    assert r.code == 0, r
    before, after = r.json()
    assert before.startswith("clawhost.Task ") and "(running)" in before
    assert "(done)" in after
