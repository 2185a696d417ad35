"""What a run prints: the result on stdout (text or --json), errors and
their exit codes, diagnostics on stderr (-q, -v, --log-json)
(DESIGN sections 3 and 7, host/cli/result.c, host/cli/run.c,
host/runtime/err.c, host/runtime/log.c)."""
import json

import pytest

from tests.e2e.fixtures.util import (PLAIN_BIN, home,  # noqa: F401
                                     run_lua)


# ---- --json ----

def test_json_nested_tables_lists_and_empty_array(host):
    r = run_lua(host, """
        return {
          nested = {a = {b = {c = 1, d = "x"}}},
          list = {1, 2.5, "three", true},
          empty_list = json.array{},
          empty_object = {},
          null = json.null,
          unicode = "h\\u{e9}llo \\u{1F600}",
          control = "tab\\tnl\\n",
          int = 9007199254740993,
          neg = -0.5,
          list_of_rows = {{id = 1}, {id = 2}},
        }
    """, "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc == {
        "nested": {"a": {"b": {"c": 1, "d": "x"}}},
        "list": [1, 2.5, "three", True],
        "empty_list": [],
        "empty_object": {},
        "null": None,
        "unicode": "h\u00e9llo \U0001F600",
        "control": "tab\tnl\n",
        "int": 9007199254740993,
        "neg": -0.5,
        "list_of_rows": [{"id": 1}, {"id": 2}],
    }
    assert r.out.endswith("}\n")
    assert '"empty_list": []' in r.out


@pytest.mark.parametrize("lua,value", [
    ("return 42", 42), ('return "text"', "text"), ("return true", True),
    ("return {}", {}), ("return json.array{}", []),
    ("return {1, 2}", [1, 2]), ("return 1.5", 1.5)])
def test_json_scalar_and_empty_results(host, lua, value):
    r = run_lua(host, lua, "--json")
    assert r.code == 0, r
    assert r.json() == value


def test_json_nil_result(host):
    r = run_lua(host, "return nil", "--json")
    assert r.code == 0, r
    assert r.json() is None


def test_json_report_rows(host):
    r = run_lua(host, """
        ctx.report({service = "a", state = "ok"})
        ctx:report({service = "b", state = "down"})
        return {checked = 2}
    """, "--json")
    assert r.code == 0, r
    assert r.json() == {"checked": 2, "report": [
        {"service": "a", "state": "ok"}, {"service": "b", "state": "down"}]}


def test_json_report_rows_without_a_result(host):
    r = run_lua(host, 'ctx.report({n = 1})', "--json")
    assert r.code == 0, r
    assert r.json() == {"report": [{"n": 1}]}


def test_json_result_with_its_own_report_field_wins(host):
    r = run_lua(host, 'ctx.report({n = 1}) return {report = "mine"}',
                "--json")
    assert r.code == 0, r
    assert r.json() == {"report": "mine"}


@pytest.mark.parametrize("value,words", [
    ('task.spawn(function() end)', "clawhost.Task"),
    ("function() end", "function"),
    ("coroutine.create(function() end)", "thread"),
])
def test_json_result_with_userdata_is_a_clean_error(host, value, words):
    r = run_lua(host, "return {ok = 1, bad = %s}" % value, "--json")
    assert r.code == 1, r
    assert "cannot report the result" in r.err
    assert words in r.err
    assert "bad" in r.err                   # the path to the value


def test_json_result_with_a_secret_is_a_clean_error(host):
    r = run_lua(host, 'local s = require("secret").random(16)\n'
                "return {token = s}", "--json")
    assert r.code == 1, r
    assert "cannot report the result" in r.err
    assert "Secret" in r.err or "secret" in r.err


def test_json_sparse_array_is_a_clean_error(host):
    r = run_lua(host, "return {[1] = 1, [3] = 3}", "--json")
    assert r.code == 1, r
    assert "cannot report the result" in r.err


def test_json_cycle_is_a_clean_error(host):
    r = run_lua(host, "local t = {} t.self = t return t", "--json")
    assert r.code == 1, r
    assert "cannot report the result" in r.err


# ---- text output ----

def test_text_output_shapes(host):
    r = run_lua(host, """
        return {
          name = "x",
          count = 3,
          flag = false,
          tags = {"a", "b"},
          empty = {},
          sub = {k = "v", inner = {z = 1}},
          rows = {{svc = "api", ok = true}, {svc = "db", ok = false}},
          columns = {"svc", "ok"},
          none = json.null,
        }
    """)
    assert r.code == 0, r
    assert r.out == (
        "count: 3\n"
        "empty: (none)\n"
        "flag: false\n"
        "name: x\n"
        "none: null\n"
        "rows:\n"
        "  svc  ok\n"
        "  api  true\n"
        "  db   false\n"
        "sub:\n"
        "  inner:\n"
        "    z: 1\n"
        "  k: v\n"
        "tags: a, b\n")


def test_text_output_of_a_list_and_a_scalar(host):
    r = run_lua(host, 'return {"one", "two"}')
    assert r.code == 0 and r.out == "one\ntwo\n", r
    r = run_lua(host, "return 7")
    assert r.code == 0 and r.out == "7\n", r
    r = run_lua(host, "return nil")
    assert r.code == 0 and r.out == "", r


def test_text_output_of_report_rows(host):
    r = run_lua(host, """
        ctx.report({job = 1, state = "done"})
        ctx.report({job = 22, state = "failed"})
        return {total = 2}
    """)
    assert r.code == 0, r
    assert r.out == ("total: 2\n\n"
                     "job  state\n"
                     "1    done\n"
                     "22   failed\n")


def test_text_output_truncates_long_cells(host):
    r = run_lua(host, 'return {rows = {{v = string.rep("x", 100)}}}',
                env={"COLUMNS": "40"})
    assert r.code == 0, r
    assert "  " + "x" * 35 + "...\n" in r.out   # a word: cut inside it
    assert "x" * 36 not in r.out


# ---- result tables fit the terminal ----

LONG = ("A long description that goes on and on about the thing in "
        "question, far past the width of any terminal one could want")
TABLE = """
    return {rows = {
      {id = "a1", name = "first", note = %r},
      {id = "b22", name = "second", note = "short"},
      {id = "c333", name = "x", note = string.rep("u", 150)},
    }, columns = {"id", "name", "note"}}
""" % LONG


def cut_cells(out):
    return [c for line in out.splitlines() for c in line.split("  ")
            if c.endswith("...")]


@pytest.mark.parametrize("width", [100, 80, 60, 40, 30])
def test_table_fits_columns(host, width):
    r = run_lua(host, TABLE, env={"COLUMNS": str(width)})
    assert r.code == 0, r
    assert all(len(line) <= width for line in r.out.splitlines()), r.out
    lines = r.out.splitlines()
    assert lines[1].split() == ["id", "name", "note"]
    assert lines[3].split()[:2] == ["b22", "second"]   # narrow ones kept
    assert "short" in lines[3]


def test_table_cuts_at_a_word_boundary(host):
    r = run_lua(host, TABLE, env={"COLUMNS": "60"})
    assert r.code == 0, r
    note = r.out.splitlines()[2].split("first", 1)[1].strip()
    assert note.endswith("...") and len(note) <= 60
    kept = note[:-3]
    assert LONG.startswith(kept) and LONG[len(kept)] == " ", note
    assert not kept.endswith(" ")


def test_table_without_a_terminal_is_100_wide(host):
    r = run_lua(host, TABLE)            # stdout is a pipe, no COLUMNS
    assert r.code == 0, r
    widths = [len(line) for line in r.out.splitlines()]
    assert max(widths) == 100, r.out
    r = run_lua(host, TABLE, env={"COLUMNS": "nonsense"})
    assert max(len(line) for line in r.out.splitlines()) == 100


def test_table_fits_the_terminal_it_is_printed_on(host):
    """stdout on a terminal of 50 columns, no COLUMNS: its width."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios
    from tests.e2e.conftest import BIN, clean_env
    path = host.recipe("return { run = function(ctx, args)\n" + TABLE +
                       "\nend }\n", name="table.lua")
    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
    env = clean_env(host.home, dict(host.env))
    proc = subprocess.run([BIN, "run", str(path)], stdout=sub,
                          stderr=subprocess.PIPE, cwd=host.dir, env=env,
                          timeout=60)
    os.close(sub)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.returncode == 0, proc.stderr
    lines = out.decode().replace("\r\n", "\n").splitlines()
    assert lines and max(len(line) for line in lines) == 50, lines


def test_table_cuts_utf8_on_a_character(host):
    r = run_lua(host, 'return {rows = {{v = string.rep("\\u{e9}", 80)}}}',
                env={"COLUMNS": "30"})
    assert r.code == 0, r
    assert "  " + "\u00e9" * 25 + "...\n" in r.out


def test_report_rows_fit_too(host):
    r = run_lua(host, """
        for i = 1, 3 do
          ctx.report({n = i, text = string.rep("word ", 40)})
        end
    """, env={"COLUMNS": "50"})
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert all(len(line) <= 50 for line in lines), r.out
    assert lines[1].endswith("word...")


def test_key_value_lines_are_not_cut(host):
    r = run_lua(host, 'return {text = string.rep("word ", 40)}',
                env={"COLUMNS": "40"})
    assert r.code == 0, r
    assert "..." not in r.out and len(r.out.splitlines()[0]) > 40


def test_text_output_of_a_task_handle_is_its_name(host):
    r = run_lua(host, "return {t = task.spawn(function() end)}")
    assert r.code == 0, r
    assert r.out.startswith("t: clawhost.Task ")


def test_text_output_of_nesting_at_the_depth_limit(host):
    r = run_lua(host, """
        local root = {} local t = root
        for i = 1, 12 do local n = {x = i} t.k = n t = n end
        return root
    """, binary=PLAIN_BIN)
    assert r.code == 0, r
    assert "x: 12" in r.out


def test_text_output_of_deep_nesting(host):
    r = run_lua(host, """
        local root = {} local t = root
        for i = 1, 40 do local n = {x = i} t.k = n t = n end
        return root
    """, binary=PLAIN_BIN)
    assert r.code == 0, r
    assert "{...}" in r.out


def test_json_output_of_deep_nesting(host):
    r = run_lua(host, """
        local root = {} local t = root
        for i = 1, 40 do local n = {x = i} t.k = n t = n end
        return root
    """, "--json", binary=PLAIN_BIN)
    assert r.code in (0, 1), r
    if r.code == 0:
        json.loads(r.out)


# ---- errors and exit codes ----

@pytest.mark.parametrize("code,status", [
    ("budget_exceeded", 3), ("config", 2), ("usage", 2), ("policy", 4),
    ("blocked", 4), ("dry_run", 4), ("deadline", 124), ("cancelled", 130),
    ("timeout", 1), ("whatever", 1)])
def test_nil_err_return_maps_to_exit_status(host, code, status):
    r = run_lua(host, 'return nil, errors.new("%s", "the message")' % code)
    assert r.code == status, r
    assert "the message" in r.err
    assert r.out == ""


@pytest.mark.parametrize("code,status", [("budget_exceeded", 3),
                                         ("config", 2), ("policy", 4)])
def test_raised_error_object_maps_to_exit_status(host, code, status):
    r = run_lua(host, 'error(errors.new("%s", "raised message"))' % code)
    assert r.code == status, r
    assert "raised message" in r.err


def test_budget_exceeded_message_and_json(host):
    r = run_lua(host, 'return nil, errors.new("budget_exceeded", '
                '"reserving 0.50 USD would pass the 2.00 USD cap")',
                "--json")
    assert r.code == 3, r
    assert "would pass the 2.00 USD cap" in r.err
    assert r.json() == {"error": {
        "code": "budget_exceeded",
        "message": "reserving 0.50 USD would pass the 2.00 USD cap"}}


def test_policy_error_object_is_labelled(host):
    r = run_lua(host, 'return nil, errors.new("policy", "not today")')
    assert r.code == 4, r
    assert "refused by policy: not today" in r.err


def test_result_and_error_together(host):
    r = run_lua(host, 'return {done = 3}, errors.new("budget_exceeded", '
                '"stopped half-way")', "--json")
    assert r.code == 3, r
    assert r.json() == {"done": 3, "error": {
        "code": "budget_exceeded", "message": "stopped half-way"}}
    r = run_lua(host, 'return {done = 3}, errors.new("budget_exceeded", '
                '"stopped half-way")')
    assert r.code == 3, r
    assert r.out == "done: 3\n"
    assert "stopped half-way" in r.err


def test_nil_and_a_plain_string(host):
    r = run_lua(host, 'return nil, "plain reason"')
    assert r.code == 1, r
    assert "plain reason" in r.err


def test_second_value_that_is_a_count_is_not_an_error(host):
    r = run_lua(host, 'return ("aaa"):gsub("a", "b")')
    assert r.code == 0, r
    assert r.out == "bbb\n"


def test_plain_error_has_file_and_line(host):
    r = run_lua(host, '\n\nerror("x")')
    assert r.code == 1, r
    # body() puts six requires and two lines before the body
    assert "probe.lua:11: x" in r.err, r
    assert "traceback" not in r.err


def test_error_without_position(host):
    r = run_lua(host, 'error("bare", 0)')
    assert r.code == 1, r
    assert "error: bare" in r.err


@pytest.mark.parametrize("lua,words", [
    ("error({})", "error object is a table"),
    ("error()", "nil error"),
    ("error(42)", "42"),
    ("local x = nil; return x.y", "attempt to index"),
    ("return 1 + {}", "attempt to perform arithmetic"),
    ("return #nil", "attempt to get length"),
])
def test_other_errors_exit_1(host, lua, words):
    r = run_lua(host, lua)
    assert r.code == 1, r
    assert words in r.err


def test_error_with_json_prints_an_error_object(host):
    r = run_lua(host, 'error("kaboom")', "--json")
    assert r.code == 1, r
    doc = r.json()
    assert doc["error"]["code"] == "error"
    assert "kaboom" in doc["error"]["message"]


def test_verbose_shows_a_traceback(host):
    r = run_lua(host, """
        local function inner() error("deep problem") end
        local function outer() inner() end
        outer()
    """, "-v")
    assert r.code == 1, r
    assert "stack traceback" in r.err
    assert "in local 'inner'" in r.err or "inner" in r.err
    assert "deep problem" in r.err


def test_verbose_traceback_for_an_error_in_a_task(host):
    r = run_lua(host, "task.spawn(function() error('task problem') end)"
                ":wait()", "-v")
    assert r.code == 1, r
    assert "task problem" in r.err


# ---- stdout is only the result ----

def test_print_goes_to_stderr_never_stdout(host):
    r = run_lua(host, """
        print("from print")
        log.info("from log")
        warn("from warn")
        ctx.report({a = 1})
        return {result = true}
    """, "--json")
    assert r.code == 0, r
    assert json.loads(r.out) == {"result": True, "report": [{"a": 1}]}
    for words in ("from print", "from log", "from warn"):
        assert words in r.err
        assert words not in r.out


def test_print_in_the_main_chunk_and_in_cleanup(host):
    path = host.recipe("""
        print("LOADING")
        return { run = function(ctx)
          ctx.defer(function() print("CLEANING") end)
          return "result"
        end }
    """, name="prints.lua")
    r = host.run("run", path)
    assert r.code == 0, r
    assert r.out == "result\n"
    assert "LOADING" in r.err and "CLEANING" in r.err


def test_ctx_write_streams_to_stdout_or_stderr_with_json(host):
    r = run_lua(host, 'ctx.write("part1 ") ctx:write("part2") '
                'return "done"')
    assert r.code == 0, r
    assert r.out == "part1 part2done\n"
    r = run_lua(host, 'ctx.write("part1 ") return "done"', "--json")
    assert r.code == 0, r
    assert r.json() == "done"
    assert "part1" in r.err


# ---- log levels and formats ----

LOGS = """
log.debug("dbg line")
log.info("info line", {k = "v w", n = 3})
log.warn("warn line")
log.error("error line")
print("print line")
return 1
"""


def test_default_log_levels(host):
    r = run_lua(host, LOGS)
    assert r.code == 0, r
    assert "dbg line" not in r.err
    assert 'info line k="v w" n=3' in r.err or \
        'info line n=3 k="v w"' in r.err
    assert "warning: warn line" in r.err
    assert "error: error line" in r.err
    assert "print line" in r.err


def test_quiet_hides_info(host):
    for flag in ("-q", "--quiet"):
        r = run_lua(host, LOGS, flag)
        assert r.code == 0, r
        assert "info line" not in r.err and "dbg line" not in r.err
        assert "warn line" in r.err and "error line" in r.err
        assert r.out == "1\n"


def test_verbose_shows_debug(host):
    r = run_lua(host, LOGS, "-v")
    assert "debug: dbg line" in r.err


def test_log_json_lines(host):
    r = run_lua(host, LOGS, "--log-json")
    assert r.code == 0, r
    lines = [json.loads(line) for line in r.err.splitlines()]
    by_msg = {d["msg"]: d for d in lines}
    assert by_msg["info line"]["level"] == "info"
    assert by_msg["info line"]["k"] == "v w" and by_msg["info line"]["n"] == 3
    assert by_msg["warn line"]["level"] == "warn"
    assert by_msg["error line"]["level"] == "error"
    assert by_msg["print line"]["source"] == "print"
    assert "dbg line" not in by_msg
    for d in lines:
        assert d["time"].endswith("Z")
    assert r.out == "1\n"


def test_log_json_error_line(host):
    r = run_lua(host, 'error("as json")', "--log-json")
    assert r.code == 1, r
    lines = [json.loads(line) for line in r.err.splitlines()]
    assert any(d["level"] == "error" and "as json" in d["msg"]
               for d in lines)


def test_log_json_escapes_control_characters(host):
    r = run_lua(host, 'log.info("a\\"b\\\\c\\n\\1", {["q\\"k"] = "\\t"})',
                "--log-json")
    assert r.code == 0, r
    d = json.loads(r.err.splitlines()[0])
    assert d["msg"] == 'a"b\\c\n\x01'
    assert d['q"k'] == "\t"


def test_log_json_with_verbose_and_quiet(host):
    r = run_lua(host, LOGS, "--log-json", "-v")
    msgs = [json.loads(line)["msg"] for line in r.err.splitlines()]
    assert "dbg line" in msgs
    r = run_lua(host, LOGS, "--log-json", "-q")
    msgs = [json.loads(line)["msg"] for line in r.err.splitlines()]
    assert "info line" not in msgs and "warn line" in msgs


def test_log_progress_lines(host):
    r = run_lua(host, """
        log.progress("deploy", "starting")
        log.progress("deploy", "starting")
        log.progress("deploy", "ready", {done = true})
        return 1
    """)
    assert r.code == 0, r
    assert r.err.count("deploy: starting") == 1
    assert "deploy: ready" in r.err


def test_log_needs_a_string(host):
    r = run_lua(host, "log.info({})")
    assert r.code == 1, r
    assert "bad argument" in r.err


# ---- clock values as text (process-level, so known bugs can be xfail) ----

def test_clock_iso_truncates_to_the_second(host):
    r = run_lua(host, "return clock.iso(1778565600.75)")
    assert r.code == 0, r
    assert r.out == "2026-05-12T06:00:00Z\n"


def test_clock_parse_iso_refuses_embedded_nul(host):
    r = run_lua(host, 'local t, err = clock.parse_iso('
                '"2026-05-12T06:00:00Z\\0x")\n'
                'return {parsed = t ~= nil, code = err and err.code}',
                "--json")
    assert r.code == 0, r
    assert r.json() == {"parsed": False, "code": "parse"}
