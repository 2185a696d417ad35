"""The sandbox seen from outside: every refused thing stops the run with
exit 4 and a message naming what was refused, also when the recipe wraps
it in pcall, xpcall or a coroutine; the safe parts keep working
(DESIGN sections 2 and 3, host/sandbox/sandbox.c, sbcoro.c, require.c)."""
import pytest

from tests.e2e.fixtures.util import home, run_lua  # noqa: F401

TASK = 'require("task").spawn(function() end)'

# (id, Lua statement, words the refusal must contain)
PROBES = [
    # bytecode
    ("load-binary-string", 'load(string.char(27) .. "LuaT\\0junk")',
     "binary chunks"),
    ("load-binary-reader",
     'local parts = {string.char(27), "LuaT", "\\0junk"}\n'
     'local i = 0\n'
     'load(function() i = i + 1; return parts[i] end)', "binary chunks"),
    ("load-mode-b", 'load("return 1", "chunk", "b")', "binary chunks"),
    ("load-mode-b-reader",
     'local done = false\n'
     'load(function() if done then return nil end done = true '
     'return "return 1" end, "chunk", "b")', "binary chunks"),
    ("string.dump", "string.dump(function() end)", "string.dump"),
    ("string.dump-method", '("").dump(print)', "string.dump"),
    ("load-of-dump", "load(string.dump(print))", "string.dump"),
] + [
    ("debug." + f, "local f = debug.%s" % f, "debug.%s" % f)
    for f in ("getinfo", "sethook", "gethook", "getlocal", "setlocal",
              "getupvalue", "setupvalue", "upvalueid", "upvaluejoin",
              "getregistry", "getmetatable", "setmetatable",
              "getuservalue", "setuservalue", "setcstacklimit", "debug")
] + [
    ("debug.sethook-call", "debug.sethook()", "debug.sethook"),
    ("debug.getregistry-call", "debug.getregistry()", "debug.getregistry"),
] + [
    ("io." + f, "local f = io.%s" % f, "io.%s" % f)
    for f in ("open", "popen", "lines", "read", "write", "stdout",
              "stderr", "stdin", "input", "output", "tmpfile", "close")
] + [
    ("io.open-call", 'io.open("/etc/passwd")', "io.open"),
    ("io.popen-call", 'io.popen("id")', "io.popen"),
    ("io.lines-call", 'for l in io.lines("/etc/passwd") do end', "io.lines"),
    ("io.write-call", 'io.write("x")', "io.write"),
    ("io.read-call", 'io.read("l")', "io.read"),
] + [
    ("os." + f, "local f = os.%s" % f, "os.%s" % f)
    for f in ("execute", "getenv", "remove", "rename", "exit", "tmpname",
              "setlocale")
] + [
    ("os.execute-call", 'os.execute("touch pwned")', "os.execute"),
    ("os.getenv-call", 'os.getenv("HOME")', "os.getenv"),
    ("os.exit-call", "os.exit(0)", "os.exit"),
    ("os.remove-call", 'os.remove("probe.lua")', "os.remove"),
] + [
    ("package." + f, "local f = package.%s" % f, "package.%s" % f)
    for f in ("loadlib", "path", "cpath", "loaded", "preload",
              "searchers", "searchpath", "config")
] + [
    ("package.loadlib-call", 'package.loadlib("libc.so.6", "system")',
     "package.loadlib"),
    ("require-package.loaded", 'local p = require("package").loaded',
     "package.loaded"),
    ("require-io.open", 'local o = require("io").open', "io.open"),
    ("require-os.execute", 'local o = require("os").execute',
     "os.execute"),
    ("require-debug.getinfo", 'local o = require("debug").getinfo',
     "debug.getinfo"),
] + [
    ("require " + name, 'require %r' % name, words)
    for name, words in (
        ("../x", "never a path"), ("/etc/passwd", "never a path"),
        ("x/y", "never a path"), ("a..b", "never a path"),
        (".hidden", "never a path"), ("", "never a path"),
        ("socket", "no socket.lua"), ("lfs", "no lfs.lua"),
        ("ffi", "no ffi.lua"), ("testlib", "no testlib.lua"),
        ("nosuch.module", "no nosuch/module.lua"))
] + [
    # metatables
    ("getmetatable-string", 'getmetatable("")', "metatable of a string"),
    ("string-mt-replace", 'getmetatable("").__index = {}',
     "metatable of a string"),
    ("string-mt-rawset", 'rawset(getmetatable("abc"), "__index", {})',
     "metatable of a string"),
    ("getmetatable-task", "getmetatable(%s)" % TASK, "clawhost.Task"),
    ("getmetatable-error", 'getmetatable(require("errors").new("x", "y"))',
     "clawhost.Error"),
    ("getmetatable-array", 'getmetatable(require("json").array{})',
     "clawhost.json.array"),
    ("getmetatable-sse-parser", 'getmetatable(require("sse").parser())',
     "clawhost.sse.Parser"),
    ("getmetatable-reservation",
     'getmetatable(require("budget").reserve(0, "probe"))',
     "clawhost.budget.Reservation"),
    ("getmetatable-json-module", 'getmetatable(require("json"))',
     "locked by the host"),
    ("getmetatable-string-lib", "getmetatable(string)",
     "locked by the host"),
    ("getmetatable-math", "getmetatable(math)", "locked by the host"),
    ("getmetatable-os", "getmetatable(os)", "locked by the host"),
    ("getmetatable-env", "getmetatable(_ENV)", "locked by the host"),
    ("getmetatable-G", "getmetatable(_G)", "locked by the host"),
    ("setmetatable-error", 'setmetatable(require("errors").new("x"), {})',
     "clawhost.Error belongs to the host"),
    ("setmetatable-error-nil",
     'setmetatable(require("errors").new("x"), nil)',
     "clawhost.Error belongs to the host"),
    ("setmetatable-array", 'setmetatable(require("json").array{}, nil)',
     "clawhost.json.array belongs to the host"),
    ("setmetatable-array-other",
     'setmetatable(require("json").array{}, {})',
     "clawhost.json.array belongs to the host"),
    ("setmetatable-math", "setmetatable(math, {})", "belongs to the host"),
    ("setmetatable-string", "setmetatable(string, nil)",
     "belongs to the host"),
    ("setmetatable-task-module", 'setmetatable(require("task"), nil)',
     "belongs to the host"),
    ("setmetatable-env", "setmetatable(_ENV, nil)", "belongs to the host"),
    # the collector keeps running
] + [
    ("collectgarbage-" + o, 'collectgarbage("%s")' % o,
     'collectgarbage("%s")' % o)
    for o in ("stop", "generational", "incremental", "restart", "setpause",
              "setstepmul")
] + [
    ("dofile", 'dofile("/etc/passwd")', "dofile"),
    ("dofile-noarg", "dofile()", "dofile"),
    ("loadfile", 'loadfile("/etc/passwd")', "loadfile"),
    ("loadfile-noarg", "loadfile()", "loadfile"),
] + [
    # library tables are read-only, through assignment and rawset
    ("write-" + lib, "%s.%s = 1" % (lib, key), "cannot change %s.%s" % (
        lib, key))
    for lib, key in (("string", "upper"), ("string", "x"),
                     ("table", "insert"), ("math", "pi"), ("math", "x"),
                     ("os", "time"), ("os", "x"), ("utf8", "char"),
                     ("coroutine", "wrap"), ("debug", "traceback"),
                     ("io", "x"), ("package", "path"))
] + [
    ("rawset-" + lib, 'rawset(%s, "x", 1)' % lib, "rawset")
    for lib in ("string", "table", "math", "os", "utf8", "coroutine",
                "debug", "io", "package")
] + [
    ("write-json-module", 'require("json").encode = nil',
     "read-only"),
    ("write-json-safe", 'require("json").safe.decode = print',
     "read-only"),
    ("write-task-module", 'require("task").sleep = nil', "read-only"),
    ("rawset-clock-module", 'rawset(require("clock"), "now", print)',
     "rawset"),
    ("write-config-module", 'require("config").get = print', "read-only"),
    ("write-errors-module", 'require("errors").new = nil', "read-only"),
    ("write-log-module", 'require("log").info = nil', "read-only"),
]

IDS = [p[0] for p in PROBES]


@pytest.mark.parametrize("probe,words", [p[1:] for p in PROBES], ids=IDS)
def test_probe_is_refused(host, probe, words):
    r = run_lua(host, probe + '\nreturn "NOT REFUSED"')
    assert r.code == 4, r
    assert "refused by policy" in r.err, r
    assert words in r.err, r
    assert "NOT REFUSED" not in r.out


@pytest.mark.parametrize("probe,words", [p[1:] for p in PROBES], ids=IDS)
def test_probe_is_refused_inside_pcall(host, probe, words):
    lua = ("local ok, e = pcall(function()\n" + probe + "\nend)\n"
           'return "CAUGHT " .. tostring(ok) .. " " .. tostring(e)')
    r = run_lua(host, lua)
    assert r.code == 4, r
    assert words in r.err, r
    assert "CAUGHT" not in r.out


# A sample of probes through every other way Lua has to catch an error.
CATCHERS = {
    "xpcall": ("local ok = xpcall(function()\n{p}\nend, "
               "function(m) return m end)"),
    "xpcall-traceback": ("local ok = xpcall(function()\n{p}\nend, "
                         "debug.traceback)"),
    "nested-pcall": ("local ok = pcall(pcall, function()\n{p}\nend)"),
    "coroutine.resume": ("local co = coroutine.create(function()\n{p}\n"
                         "end)\nlocal ok = coroutine.resume(co)"),
    "coroutine.wrap": ("local ok = pcall(coroutine.wrap(function()\n{p}\n"
                       "end))"),
    "error-handler-probe": ("local ok = xpcall(error, function(m)\n{p}\n"
                            "end)"),
    "__index": ("local t = setmetatable({{}}, {{__index = function()\n{p}\n"
                "end}})\nlocal ok = pcall(function() return t.x end)"),
    "__close": ("local ok = pcall(function()\nlocal c <close> = "
                "setmetatable({{}}, {{__close = function()\n{p}\nend}})\n"
                "end)"),
    "gsub-callback": ('local ok = pcall(string.gsub, "ab", "%w", '
                      "function()\n{p}\nend)"),
    "sort-comparator": ("local ok = pcall(table.sort, {{3, 1, 2}}, "
                        "function(a, b)\n{p}\nend)"),
    "__tostring": ("local ok = pcall(tostring, setmetatable({{}}, "
                   "{{__tostring = function()\n{p}\nend}}))"),
    "__gc": ("setmetatable({{}}, {{__gc = function()\n{p}\nend}})\n"
             "collectgarbage()\nlocal ok = true"),
    "task": ("local t = require('task').spawn(function()\n{p}\nend)\n"
             "local ok = pcall(t.wait, t)"),
}

SAMPLE = [p for p in PROBES if p[0] in (
    "load-binary-string", "string.dump", "debug.getinfo", "io.open-call",
    "os.execute-call", "package.loadlib-call", "getmetatable-string",
    "collectgarbage-stop", "write-string", "rawset-math", "require ../x")]


@pytest.mark.parametrize("catcher", sorted(CATCHERS))
@pytest.mark.parametrize("probe,words", [p[1:] for p in SAMPLE],
                         ids=[p[0] for p in SAMPLE])
def test_refusal_cannot_be_caught(host, catcher, probe, words):
    lua = (CATCHERS[catcher].format(p=probe) +
           '\nreturn "CAUGHT " .. tostring(ok)')
    r = run_lua(host, lua)
    assert r.code == 4, r
    assert words in r.err, r
    assert "CAUGHT" not in r.out


def test_refusal_in_the_main_chunk(host):
    path = host.recipe('local x = io.open("/etc/passwd")\n'
                       'return { run = function() return "ran" end }',
                       name="top.lua")
    r = host.run("run", path)
    assert r.code == 4, r
    assert "io.open" in r.err and "ran" not in r.out


def test_refusal_in_a_required_module(host):
    (host.dir / "badmod.lua").write_text(
        "return { f = function() return os.getenv('HOME') end }")
    r = run_lua(host, 'local m = require "badmod"\n'
                'local ok = pcall(m.f)\nreturn "CAUGHT"')
    assert r.code == 4, r
    assert "os.getenv" in r.err and "CAUGHT" not in r.out


def test_policy_refusal_with_json_prints_error_object(host):
    r = run_lua(host, "local f = io.open", "--json")
    assert r.code == 4, r
    doc = r.json()
    assert doc["error"]["code"] == "policy"
    assert "io.open" in doc["error"]["message"]


def test_os_execute_really_did_not_run(host):
    r = run_lua(host, 'pcall(os.execute, "touch pwned")')
    assert r.code == 4, r
    assert not (host.dir / "pwned").exists()


def test_setmetatable_on_host_userdata_is_refused(host):
    # Userdata metatables cannot be set from Lua at all; the refusal is
    # Lua's own type error (exit 1), not a policy error.
    r = run_lua(host, "local t = %s\nsetmetatable(t, {})\n"
                "return 'NOT REFUSED'" % TASK)
    assert r.code in (1, 4), r
    assert "setmetatable" in r.err and "NOT REFUSED" not in r.out


def test_setmetatable_on_a_string_is_refused(host):
    r = run_lua(host, 'setmetatable("", {})\nreturn "NOT REFUSED"')
    assert r.code in (1, 4), r
    assert "NOT REFUSED" not in r.out


# ---- what a refused name is replaced by ----

def test_removed_globals_are_tombstones_not_nil(host):
    r = run_lua(host, "return {type(dofile), type(loadfile), type(io), "
                "type(os), type(debug), type(package)}", "--json")
    assert r.code == 0, r
    assert r.json() == ["function", "function", "table", "table", "table",
                        "table"]


def test_refusal_messages_say_what_to_do_instead(host):
    r = run_lua(host, "local f = io.open")
    assert "ctx.input" in r.err
    r = run_lua(host, "local f = os.getenv")
    assert "config.get" in r.err and "secret.get" in r.err
    r = run_lua(host, "local f = package.loadlib")
    assert "require" in r.err


# ---- the safe parts still work ----

SAFE = r"""
local out = {}
out.time = type(os.time()) == "number" and os.time() > 1.6e9
out.clock = os.clock() >= 0
out.date = os.date("!%Y-%m-%d", 0)
out.difftime = os.difftime(10, 4)
out.upper = ("abc"):upper()
out.format_q = string.format("%q", 'a"b\n')
out.format = string.format("%5.2f|%d|%s", 3.14159, 42, "x")
local t = {5, 3, 9, 1}
table.sort(t)
out.sorted = table.concat(t, ",")
out.sorted_desc = (function() table.sort(t, function(a, b) return a > b end)
                  return table.concat(t, ",") end)()
math.randomseed(7)
local r = math.random(1, 10)
out.random = r >= 1 and r <= 10
out.floor = math.floor(3.7)
out.utf8 = utf8.char(72, 228) .. "|" .. utf8.len("h\195\164")
local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1)
                                        return b * 2 end)
out.coroutine = co(1) .. "," .. co(5)
local env = { x = 41 }
out.load_env = load("return x + 1", "chunk", "t", env)()
out.load_default = load("return 1 + 1")()
local bad, msg = load("return +")
out.load_syntax = bad == nil and type(msg) == "string"
local ok, err = pcall(error, "plain")
out.pcall = tostring(ok) .. ":" .. err
local ok2, err2 = pcall(function() error({code = 7}) end)
out.pcall_table = (not ok2) and err2.code
local ok3, tb = xpcall(function() error("deep") end, debug.traceback)
out.xpcall = (not ok3) and tb:find("stack traceback", 1, true) ~= nil
out.modules = type(require "json") .. type(require "task") ..
              type(require "clock") .. type(require "log") ..
              type(require "config") .. type(require "errors")
out.std = require("string") == string and require("math") == math
out.gc = collectgarbage("count") > 0 and collectgarbage("isrunning")
collectgarbage()
collectgarbage("step")
out.select = select("#", 1, nil, 3)
out.tostring = tostring(12) .. tostring(nil)
out.gsub = ("hello world"):gsub("o", "0")
out.find = ("a.b"):find(".", 1, true)
out.rep = #string.rep("ab", 1000, ",")
out.pairs_string = (function() local n = 0
  for k, v in pairs(string) do n = n + 1 end return n > 10 end)()
out.len_table = #table == 0
local mt = {__index = function(_, k) return k .. "!" end}
out.own_metatable = setmetatable({}, mt).hi
out.getmetatable_own = getmetatable(setmetatable({}, mt)) == mt
local prot = setmetatable({}, {__metatable = "mine"})
out.user_protected = getmetatable(prot)
out.rawequal = rawequal(out, out) and rawlen({1, 2}) == 2 and
               rawget({a = 1}, "a") == 1
out.rawset_own = rawset({}, "k", "v").k
out.integer_division = 7 // 2
out.bits = 6 & 3
out.goto_ok = (function() local i = 0 ::top:: i = i + 1
  if i < 3 then goto top end return i end)()
out.closed = (function() local log = {}
  do local c <close> = setmetatable({}, {__close = function()
    log[#log + 1] = "closed" end}) end
  return log[1] end)()
out.warn = (function() warn("@on") warn("a ", "warning") return true end)()
out.traceback = type(debug.traceback())
out.version = _VERSION
return out
"""


def test_safe_things_still_work(host):
    r = run_lua(host, SAFE, "--json")
    assert r.code == 0, r
    got = r.json()
    want = {
        "time": True, "clock": True, "date": "1970-01-01", "difftime": 6,
        "upper": "ABC", "format_q": '"a\\"b\\\n"',
        "format": " 3.14|42|x", "sorted": "1,3,5,9",
        "sorted_desc": "9,5,3,1", "random": True, "floor": 3,
        "utf8": "H\u00e4|2", "coroutine": "2,10", "load_env": 42,
        "load_default": 2, "load_syntax": True, "pcall": "false:plain",
        "pcall_table": 7, "xpcall": True,
        "modules": "table" * 6, "std": True, "gc": True, "select": 3,
        "tostring": "12nil", "gsub": "hell0 w0rld", "find": 2,
        "rep": 2999, "pairs_string": True, "len_table": True,
        "own_metatable": "hi!", "getmetatable_own": True,
        "user_protected": "mine", "rawequal": True, "rawset_own": "v",
        "integer_division": 3, "bits": 2, "goto_ok": 3,
        "closed": "closed", "warn": True, "traceback": "string",
        "version": "Lua 5.4",
    }
    assert got == want
    assert "a warning" in r.err


def test_print_and_warn_go_to_stderr(host):
    r = run_lua(host, 'print("printed", 1, nil)\nwarn("warned")\n'
                'return "result"')
    assert r.code == 0, r
    assert r.out == "result\n"
    assert "printed\t1\tnil" in r.err
    assert "warned" in r.err


# ---- require: lua/ and the recipe's folder, nothing else ----

def test_require_modules_from_the_recipe_folder(host):
    (host.dir / "helper.lua").write_text(
        "local M = {}\n"
        "function M.greet(n) return 'hi ' .. n end\n"
        "M.seen_global = SHARED\n"
        "return M\n")
    (host.dir / "pkg").mkdir()
    (host.dir / "pkg" / "init.lua").write_text("return { name = 'pkg' }")
    (host.dir / "pkg" / "sub.lua").write_text(
        "return { name = 'pkg.sub', args = {...} }")
    (host.dir / "my-mod.lua").write_text("return 'dash'")
    (host.dir / "noreturn.lua").write_text("local x = 1")
    r = run_lua(host, """
        SHARED = "recipe global"
        local h = require "helper"
        local again = require "helper"
        local sub = require "pkg.sub"
        return {
          greet = h.greet("ada"),
          cached = h == again,
          global_leak = h.seen_global or "none",
          pkg = require("pkg").name,
          sub = sub.name,
          sub_args = sub.args,
          dash = require "my-mod",
          noreturn = require "noreturn",
        }
    """, "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["greet"] == "hi ada"
    assert doc["cached"] is True
    assert doc["global_leak"] == "none"       # modules get their own env
    assert doc["pkg"] == "pkg" and doc["sub"] == "pkg.sub"
    assert doc["sub_args"][0] == "pkg.sub"
    assert doc["sub_args"][1].endswith("pkg/sub.lua")
    assert doc["dash"] == "dash"
    assert doc["noreturn"] is True


def test_recipe_globals_do_not_leak_into_modules_or_base(host):
    (host.dir / "peek.lua").write_text(
        "return function() return type(print), tostring(rawget(_ENV, "
        "'print')), tostring(LEAK) end")
    r = run_lua(host, """
        LEAK = 1
        print = nil
        local a, b, c = require("peek")()
        return {a, b, c}
    """, "--json")
    assert r.code == 0, r
    assert r.json() == ["function", "nil", "nil"]


def test_require_loop_is_an_error(host):
    (host.dir / "loopa.lua").write_text("return require 'loopb'")
    (host.dir / "loopb.lua").write_text("return require 'loopa'")
    r = run_lua(host, "require 'loopa'")
    assert r.code == 1, r
    assert "loop" in r.err


def test_failed_require_is_retried(host):
    (host.dir / "flaky.lua").write_text(
        "COUNT = (COUNT or 0) + 1\nerror('flaky fails')")
    r = run_lua(host, """
        local a = pcall(require, "flaky")
        local b, e = pcall(require, "flaky")
        return {a, b, tostring(e):find("flaky fails", 1, true) ~= nil}
    """, "--json")
    assert r.code == 0, r
    assert r.json() == [False, False, True]


def test_module_in_another_folder_is_not_found(host):
    # A module of the same name in a sibling folder is never found.
    (host.dir / "elsewhere").mkdir()
    (host.dir / "elsewhere" / "hidden.lua").write_text("return 1")
    r = run_lua(host, "return require 'hidden'")
    assert r.code == 4, r
    assert "no hidden.lua" in r.err


def test_host_module_takes_precedence_over_recipe_folder(host):
    (host.dir / "json.lua").write_text("return { fake = true }")
    r = run_lua(host, "return require('json').fake == nil", "--json")
    assert r.code == 0, r
    assert r.json() is True


# ---- bugs ----

@pytest.mark.parametrize("lua", [
    'local _, real = pairs(string)\n'
    'real.upper = function() return "patched" end\n'
    'return ("a"):upper()',
    'local _, real = pairs(math)\nrawset(real, "pi", 3)\nreturn math.pi',
    'local _, real = pairs(require("json"))\n'
    'real.encode = function() return "patched" end\n'
    'return require("json").encode({})',
], ids=["string", "math", "json"])
def test_pairs_does_not_expose_the_real_library_table(host, lua):
    # pairs() gives an iterator closure and no state: `real` is nil, so
    # the probe fails with an ordinary error (or a refusal) and the
    # library is never patched.
    r = run_lua(host, lua)
    assert r.code in (0, 1, 4), r
    assert "patched" not in r.out and r.out.strip() != "3", r


def test_refusal_names_the_host_module(host):
    r = run_lua(host, 'require("json").encode = nil')
    assert r.code == 4, r
    assert "json.encode" in r.err


def test_error_text_not_enough_memory_is_catchable(host):
    r = run_lua(host, 'local ok, e = pcall(error, "not enough memory")\n'
                'return tostring(ok) .. " " .. e')
    assert r.code == 0, r
    assert r.out == "false not enough memory\n"


def test_matcher_argument_errors_name_the_function(host):
    r = run_lua(host, 'local ok, e = pcall(string.gsub, "abc", "a", true)\n'
                "return e")
    assert r.code == 0, r
    assert "'string.gsub'" in r.out or "'gsub'" in r.out, r
