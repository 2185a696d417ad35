"""Limits: the wall-clock deadline (exit 124) stops code wherever it
runs, and the memory cap (exit 1) cannot be caught (DESIGN section 2,
host/runtime/rt.c, host/pure/strmatch.c).

Timing bounds here are requirements, not speed measurements: a deadline
must stop a run within about 1.5 s of the limit. The bounds are generous
for a loaded 2-core machine (and larger again under ASan)."""
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import ROOT, Host
from tests.e2e.fixtures.util import (ASAN, asan_skip, body,  # noqa: F401
                                     home, run_lua, run_rusage)

# How far past --timeout the process may exit.
SLACK = 1.5 if not ASAN else 4.0
# The subprocess guard: a run that hangs fails instead of blocking.
GUARD = 20


def assert_deadline(r, limit):
    assert r.code == 124, r
    assert "deadline" in r.err, r
    assert r.elapsed < limit + SLACK, r
    assert r.elapsed >= limit * 0.9, r


# ---- busy code ----

BUSY = {
    "plain-loop": "while true do end",
    "coroutine.wrap": "coroutine.wrap(function() while true do end end)()",
    "coroutine.resume": ("local co = coroutine.create(function() "
                         "while true do end end)\n"
                         "return coroutine.resume(co)"),
    "nested-coroutines": ("coroutine.wrap(function() coroutine.wrap("
                          "function() while true do end end)() end)()"),
    "pcall-in-a-loop": ("while true do pcall(function() "
                        "while true do end end) end"),
    "pcall-catching-and-retrying": (
        "local n = 0\nwhile true do\n"
        "  local ok, e = pcall(function() while true do end end)\n"
        "  n = n + 1\nend"),
    "xpcall": ("return xpcall(function() while true do end end, "
               "function(m) return m end)"),
    "xpcall-traceback": ("while true do xpcall(function() "
                         "while true do end end, debug.traceback) end"),
    "__close-handler": ("do local c <close> = setmetatable({}, {__close = "
                        "function() while true do end end}) end"),
    "__index-metamethod": ("local t = setmetatable({}, {__index = "
                           "function() while true do end end})\n"
                           "return t.x"),
    "sort-comparator": ("local t = {} for i = 1, 100 do t[i] = i end\n"
                        "table.sort(t, function(a, b) while true do end "
                        "end)"),
    "gsub-callback": ('return ("abc"):gsub("%w", function() '
                      "while true do end end)"),
    "spawned-task": ("local t = task.spawn(function() while true do end "
                     "end)\nreturn t:wait()"),
    "task.all": "task.all{function() while true do end end}",
    "load-chunk": 'load("while true do end")()',
    "tostring-metamethod": ("return tostring(setmetatable({}, {__tostring "
                            "= function() while true do end end}))"),
}

# Waiting, not busy: the loop sees the deadline, not the hook.
WAITS = {
    "task.sleep": "task.sleep(100)",
    "task.all-of-sleeps": ("task.all{function() task.sleep(100) end, "
                           "function() task.sleep(200) end}"),
    "sleep-in-coroutine": ("coroutine.wrap(function() task.sleep(100) "
                           "end)()"),
    "sleep-in-pcall": "pcall(task.sleep, 100)",
    "wait-for-task": ("local t = task.spawn(function() task.sleep(100) "
                      "end)\nt:wait()"),
}


@pytest.fixture(scope="module")
def busy_runs(tmp_path_factory):
    """Every BUSY and PATTERNS probe, run with --timeout 1, two at a time
    (the deadline is wall-clock, so two CPU-bound runs on two cores still
    meet it); each test below then checks its own run."""
    h = Host(tmp_path_factory.mktemp("busy"))
    h.env["CLAWHOST_HOME"] = str(ROOT)
    probes = {("busy", k): v for k, v in BUSY.items()}
    probes.update({("pattern", k): v for k, v in PATTERNS.items()})
    probes.update({("wait", k): v for k, v in WAITS.items()})
    paths = {key: h.recipe(body(lua), name="%s-%s.lua" % key)
             for key, lua in probes.items()}

    def one(key):
        return key, h.run("run", paths[key], "--timeout", "1",
                          timeout=GUARD)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, sorted(probes)))


@pytest.mark.parametrize("name", sorted(BUSY))
def test_busy_code_hits_the_deadline(busy_runs, name):
    r = busy_runs["busy", name]
    assert_deadline(r, 1)
    assert "--timeout 1" in r.err


@pytest.mark.parametrize("name", sorted(WAITS))
def test_waiting_code_hits_the_deadline(busy_runs, name):
    assert_deadline(busy_runs["wait", name], 1)


def test_deadline_while_waiting_names_the_timeout(busy_runs):
    assert "--timeout 1" in busy_runs["wait", "task.sleep"].err


def test_plain_loop_with_timeout_2(host):
    r = run_lua(host, "while true do end", "--timeout", "2", timeout=GUARD)
    assert_deadline(r, 2)
    assert r.elapsed < 3.5 if not ASAN else True, r


def test_deadline_in_the_main_chunk(host):
    path = host.recipe("while true do end\n"
                       "return { run = function() end }", name="top.lua")
    r = host.run("run", path, "--timeout", "1", timeout=GUARD)
    assert_deadline(r, 1)


def test_deadline_in_a_required_module(host):
    (host.dir / "spin.lua").write_text("while true do end")
    r = run_lua(host, "require 'spin'", "--timeout", "1", timeout=GUARD)
    assert_deadline(r, 1)


def test_deadline_with_json_prints_an_error_object(host):
    r = run_lua(host, "while true do end", "--timeout", "1", "--json",
                timeout=GUARD)
    assert_deadline(r, 1)
    assert r.json()["error"]["code"] == "deadline"


def test_fractional_timeout(host):
    r = run_lua(host, "while true do end", "--timeout", "0.5",
                timeout=GUARD)
    assert_deadline(r, 0.5)


def test_work_within_the_limit_is_not_stopped(host):
    r = run_lua(host, "task.sleep(0.2) local n = 0 for i = 1, 1e5 do "
                "n = n + i end return n", "--timeout", "5", timeout=GUARD)
    assert r.code == 0, r
    assert r.out == "5000050000\n"


def test_deadline_reported_by_task_deadline(host):
    r = run_lua(host, "return task.deadline()", "--timeout", "30",
                "--json")
    assert r.code == 0, r
    assert 25 < r.json() <= 30


# ---- patterns that backtrack for a long time ----

PATTERN = 'string.rep("a", 22), string.rep(".-", 10) .. "b"'
PATTERNS = {
    "find": "return string.find(%s)" % PATTERN,
    "match": "return string.match(%s)" % PATTERN,
    "gmatch": "for m in string.gmatch(%s) do end" % PATTERN,
    "gsub": 'return string.gsub(%s, "x")' % PATTERN,
    "in-pcall": "return pcall(string.find, %s)" % PATTERN,
    "in-coroutine": ("return coroutine.wrap(function() "
                     "return string.match(%s) end)()" % PATTERN),
}


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pathological_pattern_hits_the_deadline(busy_runs, name):
    assert_deadline(busy_runs["pattern", name], 1)


def test_ordinary_patterns_still_match(host):
    r = run_lua(host, """
        return {
          {("key=val"):match("(%w+)=(%w+)")},
          {("a,b,,c"):find(",,", 1, true)},
          select(2, ("hello"):gsub("l", "L")),
          (function() local t = {} for w in ("a b c"):gmatch("%a") do
             t[#t + 1] = w end return table.concat(t) end)(),
          ("%d"):rep(2),
          ("THE (quick) fox"):find("%((%a+)%)"),
          ("f(a(b)c)"):match("%b()"),
          ("  trim  "):match("^%s*(.-)%s*$"),
          ("abc"):gsub("", "-"),
          ("x"):match("()"),
        }
    """, "--json")
    assert r.code == 0, r
    assert r.json() == [["key", "val"], [4, 5], 2, "abc", "%d%d", 5,
                        "(a(b)c)", "trim", "-a-b-c-", 1]


# ---- the deadline cannot be dodged ----

def test_deadline_stops_a_looping_xpcall_handler(host):
    r = run_lua(host, "return xpcall(function() while true do end end, "
                "function(m) while true do end end)", "--timeout", "1",
                timeout=1 + SLACK + 0.5)
    assert_deadline(r, 1)


# ---- memory ----

BOMB = "local t = {} for i = 1, 1e9 do t[i] = {i, tostring(i)} end"
MEMORY_WORDS = "memory limit"


def assert_memory(r, mb):
    assert r.code == 1, r
    assert MEMORY_WORDS in r.err, r
    assert "%d MiB" % mb in r.err and "--memory-mb" in r.err, r


def test_allocation_bomb_hits_the_memory_cap(host):
    r = run_lua(host, BOMB, "--memory-mb", "64", timeout=GUARD)
    assert_memory(r, 64)


@asan_skip
def test_allocation_bomb_peak_rss_stays_bounded(host):
    path = host.recipe(body(BOMB), name="bomb.lua")
    r, usage = run_rusage(host, "run", path, "--memory-mb", "64",
                          timeout=GUARD)
    assert_memory(r, 64)
    peak_mb = usage.ru_maxrss / 1024.0       # ru_maxrss is in KiB
    assert peak_mb < 100, "peak RSS %.1f MB" % peak_mb


@pytest.mark.parametrize("wrap", [
    "local ok, e = pcall(function() %s end) return 'CAUGHT ' .. tostring(e)",
    "local ok, e = xpcall(function() %s end, debug.traceback) "
    "return 'CAUGHT'",
    "local co = coroutine.create(function() %s end) "
    "local ok, e = coroutine.resume(co) return 'CAUGHT'",
    "local t = task.spawn(function() %s end) "
    "local ok = pcall(t.wait, t) return 'CAUGHT'",
    "local ok = pcall(pcall, function() %s end) return 'CAUGHT'",
], ids=["pcall", "xpcall", "coroutine", "task", "nested-pcall"])
def test_memory_breach_cannot_be_caught(host, wrap):
    r = run_lua(host, wrap % BOMB, "--memory-mb", "32", timeout=GUARD)
    assert_memory(r, 32)
    assert "CAUGHT" not in r.out


def test_catching_and_retrying_after_a_breach_is_stopped(host):
    r = run_lua(host, "for n = 1, 100 do pcall(function() %s end) end "
                "return 'SURVIVED'" % BOMB, "--memory-mb", "32",
                timeout=GUARD)
    assert_memory(r, 32)
    assert "SURVIVED" not in r.out


def test_string_doubling_hits_the_cap(host):
    r = run_lua(host, 'local s = "x" while true do s = s .. s end',
                "--memory-mb", "64", timeout=GUARD)
    assert_memory(r, 64)


def test_huge_string_rep_hits_the_cap(host):
    r = run_lua(host, 'return #string.rep("x", 200 * 1024 * 1024)',
                "--memory-mb", "64", timeout=GUARD)
    assert_memory(r, 64)


def test_huge_string_rep_in_pcall_still_hits_the_cap(host):
    r = run_lua(host, 'local ok, e = pcall(string.rep, "x", 200 * 1024 * '
                "1024) return 'CAUGHT'", "--memory-mb", "64",
                timeout=GUARD)
    assert_memory(r, 64)
    assert "CAUGHT" not in r.out


def test_impossible_string_rep_is_a_plain_error(host):
    # Larger than Lua's own string limit: Lua refuses before allocating.
    r = run_lua(host, 'local ok, e = pcall(string.rep, "x", 1 << 40) '
                "return {ok, e}", "--memory-mb", "64", "--json",
                timeout=GUARD)
    assert r.code == 0, r
    ok, msg = r.json()
    assert ok is False and "too large" in msg


def test_growing_array_hits_the_cap(host):
    r = run_lua(host, "local t = {} for i = 1, 1e9 do t[i] = i end",
                "--memory-mb", "16",
                timeout=GUARD)
    assert_memory(r, 16)


def test_memory_breach_with_json(host):
    r = run_lua(host, BOMB, "--memory-mb", "32", "--json", timeout=GUARD)
    assert r.code == 1, r
    assert r.json()["error"]["code"] == "memory"


def test_memory_breach_in_a_spawned_task(host):
    r = run_lua(host, "task.spawn(function() %s end) task.sleep(5)" % BOMB,
                "--memory-mb", "32", timeout=GUARD)
    assert_memory(r, 32)


def test_memory_breach_in_the_main_chunk(host):
    path = host.recipe(BOMB + "\nreturn { run = function() end }",
                       name="topbomb.lua")
    r = host.run("run", path, "--memory-mb", "32", timeout=GUARD)
    assert_memory(r, 32)


def test_memory_use_below_the_cap_is_fine(host):
    r = run_lua(host, 'local t = {} for i = 1, 1e5 do t[i] = "v" .. i end '
                "return #t", "--memory-mb", "32", timeout=GUARD)
    assert r.code == 0, r
    assert r.out == "100000\n"


def test_memory_is_reclaimed_by_the_collector(host):
    # Far more than the cap in total, never more than a little at once.
    r = run_lua(host, "for n = 1, 200 do local t = {} for i = 1, 1e4 do "
                "t[i] = {i} end end return 'ok'", "--memory-mb", "16",
                timeout=GUARD)
    assert r.code == 0, r


# ---- limits that hold in every corner (finalizers, long C calls) ----------

CLEANUP = 'ctx.defer(function() print("CLEANUP-RAN") end)\n'


def assert_stopped(r, code, limit_s):
    assert r.code == code, r
    assert r.elapsed < limit_s, r
    assert "CLEANUP-RAN" in r.err, r       # print goes to stderr


def test_finalizer_that_never_returns_at_close(host):
    """A global with a __gc that loops: Lua would run it inside lua_close
    with hooks off, and the process would spin forever."""
    path = host.recipe(
        "G = setmetatable({}, {__gc = function() while true do end end})\n"
        "return { run = function(ctx)\n" + CLEANUP + "end }\n", "gc.lua")
    r = host.run("run", path, "--timeout", "2", timeout=GUARD)
    assert_stopped(r, 124, 2 + SLACK)
    assert "deadline" in r.err


def test_finalizer_that_never_returns_during_the_run(host):
    r = run_lua(host, CLEANUP + """
        do setmetatable({}, {__gc = function() while true do end end}) end
        collectgarbage("collect")
        task.sleep(30)
        """, "--timeout", "2", timeout=GUARD)
    assert_stopped(r, 124, 2 + SLACK)


def test_finalizer_that_never_returns_and_sigterm(host):
    path = host.recipe(
        "G = setmetatable({}, {__gc = function() while true do end end})\n"
        "return { run = function(ctx)\n" + CLEANUP + "end }\n", "gc.lua")
    p = host.popen("run", path, "--timeout", "100")
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    out, err = p.communicate(timeout=GUARD)
    assert p.returncode == 130, err
    assert time.monotonic() - t0 < 1 + SLACK
    assert "CLEANUP-RAN" in err


def test_finalizers_run_as_lua_would_but_stoppable(host):
    """After a collection (not inside it), in a task; an error is a
    warning; the rest run when run() returns; each runs once."""
    r = run_lua(host, """
        local seen = {}
        for i = 1, 3 do
          setmetatable({}, {__gc = function(o) seen[#seen + 1] = i end})
        end
        setmetatable({}, {__gc = function() error("boom") end})
        collectgarbage("collect")
        local during = #seen
        task.sleep(0)
        KEEP = setmetatable({}, {__gc = function() print("AT-END") end})
        local mt = {}
        local late = setmetatable({}, mt)
        mt.__gc = function() print("NEVER") end   -- set after: no mark
        return { during = during, after = #seen }
        """, "--json", timeout=GUARD)
    assert r.code == 0, r
    assert r.json() == {"during": 0, "after": 3}
    assert r.err.count("AT-END") == 1 and "NEVER" not in r.err
    assert "error in __gc metamethod" in r.err and "boom" in r.err


# Each call takes milliseconds to a tenth of a second inside C, where no
# hook can run; the loops never end by themselves.
LONG_C_CALLS = {
    "lower-upper": ('local s = string.rep("aB", 25 * 1024 * 1024)\n'
                    "while true do s = s:lower():upper() end"),
    "json": ('local t = {} for i = 1, 200000 do t[i] = "x" .. i end\n'
             "while true do json.decode(json.encode(t)) end"),
    "utf8.len": ('local s = string.rep("é", 20 * 1024 * 1024)\n'
                 "while true do utf8.len(s) end"),
    "plain-find": ('local s = string.rep("a", 50 * 1024 * 1024)\n'
                   'while true do s:find("b", 1, true) end'),
}


@pytest.mark.parametrize("name", sorted(LONG_C_CALLS))
def test_loop_of_long_c_calls_stops_at_the_deadline(host, name):
    r = run_lua(host, CLEANUP + LONG_C_CALLS[name], "--timeout", "2",
                "--memory-mb", "512", timeout=GUARD)
    assert_stopped(r, 124, 2 + 1 + SLACK)


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 130),
                                      (signal.SIGINT, 130)])
def test_loop_of_long_c_calls_stops_at_a_signal(host, sig, code):
    path = host.recipe(body(CLEANUP + LONG_C_CALLS["lower-upper"]),
                       name="long.lua")
    p = host.popen("run", path, "--timeout", "100", "--memory-mb", "512")
    time.sleep(2.0)
    p.send_signal(sig)
    t0 = time.monotonic()
    out, err = p.communicate(timeout=GUARD)
    assert p.returncode == code, err
    assert time.monotonic() - t0 < 1 + SLACK, err
    assert "CLEANUP-RAN" in err


def test_secret_random_in_a_loop_is_a_recipe_error(host):
    r = run_lua(host, """
        local secret = require "secret"
        for i = 1, 100000 do secret.random(256) end
        """, timeout=GUARD)
    assert r.code == 1, r
    assert "at most 64 secrets" in r.err, r
    assert r.elapsed < 10, r


BOMBS = {
    "closures": ("local t = {} local i = 0\n"
                 "while true do i = i + 1\n"
                 "  t[i] = function() return i end end"),
    "tasks": ("local t = {}\nwhile true do\n"
              "  t[#t + 1] = task.spawn(function() task.sleep(100) end)\n"
              "end"),
    "string.format": ('local t = {}\nwhile true do\n'
                      '  t[#t + 1] = string.format("%099d", #t) end'),
    "concat": ('local s = "x"\nwhile true do s = s .. s end'),
    "secrets": ('local secret = require "secret"\nlocal t = {}\n'
                "while true do t[#t + 1] = secret.random(64) end"),
}


@asan_skip
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_allocation_bombs_peak_within_cap_plus_10_mib(host, name):
    path = host.recipe(body(BOMBS[name]), name="bomb.lua")
    r, usage = run_rusage(host, "run", path, "--memory-mb", "64",
                          timeout=GUARD)
    assert r.code == 1, r
    peak_mb = usage.ru_maxrss / 1024.0       # ru_maxrss is in KiB
    assert peak_mb <= 64 + 10, "peak RSS %.1f MB" % peak_mb
