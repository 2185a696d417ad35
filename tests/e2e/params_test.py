"""Command-line params against a recipe's declarations: every type, both
spellings, defaults, and every usage error exits 2 naming the flag
(DESIGN section 3, host/cli/params.c, host/cli/main.c)."""
import pathlib

import pytest

from tests.e2e.fixtures.util import home  # noqa: F401

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
PARAMS = FIXTURES / "params.lua"
REQUIRED = FIXTURES / "required.lua"


def run_params(host, *args, **kw):
    return host.run("run", PARAMS, "--json", *args, **kw)


def args_of(host, *args, **kw):
    r = run_params(host, *args, **kw)
    assert r.code == 0, r
    return r.json()


def assert_usage(r, *words):
    assert r.code == 2, r
    for w in words:
        assert w in r.err, (w, r)
    assert "usage: clawhost run params" in r.err, r
    assert "'clawhost help params'" in r.err, r


# ---- every type ----

def test_defaults_when_nothing_is_given(host):
    doc = args_of(host)
    assert doc["args"] == {"level": 3, "mode": "slow", "names": ["x", "y"],
                           "on": True}
    assert doc["same_args"] is True
    assert doc["recipe"] == "params"
    assert "doc_bytes" not in doc


def test_every_type_with_space_separated_values(host, tmp_path):
    f = host.dir / "in.txt"
    f.write_bytes(b"hi\x00there\n")
    doc = args_of(host, "--text", "hello world", "--ratio", "2.5",
                  "--count", "7", "--big", "9007199254740993",
                  "--force", "--color", "green", "--tag", "a", "--tag", "b",
                  "--at", "2026-05-12T08:00:00+02:00", "--doc", "in.txt",
                  "--chat-id", "-100123")
    a = doc["args"]
    assert a["text"] == "hello world"
    assert a["ratio"] == 2.5 and doc["ratio_type"] == "float"
    assert a["count"] == 7 and doc["count_type"] == "integer"
    assert a["big"] == 9007199254740993
    assert a["force"] is True
    assert a["color"] == "green"
    assert a["tag"] == ["a", "b"]
    assert a["at"] == "2026-05-12T08:00:00+02:00"
    assert doc["at_epoch"] == 1778565600
    assert a["doc"] == "in.txt"               # the recipe sees the path
    assert doc["doc_bytes"] == "hi\u0000there\n"
    assert doc["doc_bytes_method"] == doc["doc_bytes"]
    assert a["chat_id"] == "-100123"
    # defaults fill the rest
    assert a["level"] == 3 and a["mode"] == "slow"


def test_every_type_with_equals(host):
    (host.dir / "in.txt").write_text("x=y")
    doc = args_of(host, "--text=a=b", "--ratio=-2", "--count=2",
                  "--force=true", "--color=red", "--tag=one", "--tag=",
                  "--at=2026-05-12T06:00:00Z", "--doc=in.txt",
                  "--chat-id=5", "--level=9", "--mode=fast", "--names=z",
                  "--on=false")
    a = doc["args"]
    assert a["text"] == "a=b"
    assert a["ratio"] == -2
    assert a["count"] == 2
    assert a["force"] is True
    assert a["color"] == "red"
    assert a["tag"] == ["one", ""]
    assert doc["at_epoch"] == 1778565600
    assert doc["doc_bytes"] == "x=y"
    assert a["chat_id"] == "5"
    assert a["level"] == 9 and a["mode"] == "fast"
    assert a["names"] == ["z"]                # given replaces the default
    assert a["on"] is False


def test_underscore_name_is_also_accepted(host):
    assert args_of(host, "--chat_id", "7")["args"]["chat_id"] == "7"


def test_values_that_look_like_negative_numbers(host):
    doc = args_of(host, "--ratio", "-3.5", "--text", "-x")
    assert doc["args"]["ratio"] == -3.5
    assert doc["args"]["text"] == "-x"


@pytest.mark.parametrize("flag,name,value", [
    ("--force", "force", True), ("--force=true", "force", True),
    ("--force=yes", "force", True), ("--force=1", "force", True),
    ("--force=on", "force", True), ("--force=false", "force", False),
    ("--force=no", "force", False), ("--force=0", "force", False),
    ("--force=OFF", "force", False), ("--no-force", "force", False),
    ("--no-on", "on", False), ("--on", "on", True)])
def test_boolean_spellings(host, flag, name, value):
    assert args_of(host, flag)["args"][name] is value


def test_boolean_not_given_and_without_default_is_absent(host):
    assert "force" not in args_of(host)["args"]


def test_integer_bounds_are_inclusive(host):
    assert args_of(host, "--count", "1")["args"]["count"] == 1
    assert args_of(host, "--count", "10")["args"]["count"] == 10
    assert args_of(host, "--count", "2.0")["args"]["count"] == 2
    assert args_of(host, "--ratio", "10.5")["args"]["ratio"] == 10.5
    assert args_of(host, "--ratio", "-10")["args"]["ratio"] == -10


@pytest.mark.parametrize("args,words", [
    (["--count", "0"], ["--count must be at least 1", "'0'"]),
    (["--count", "11"], ["--count must be at most 10", "'11'"]),
    (["--count", "2.5"], ["--count expects a whole number", "'2.5'"]),
    (["--count", "many"], ["--count expects a number", "'many'"]),
    (["--ratio", "abc"], ["--ratio expects a number", "'abc'"]),
    (["--ratio", "inf"], ["--ratio expects a number"]),
    (["--ratio", "nan"], ["--ratio expects a number"]),
    (["--ratio", "-11"], ["--ratio must be at least -10"]),
    (["--ratio", "10.6"], ["--ratio must be at most 10.5"]),
    (["--ratio", ""], ["--ratio expects a number"]),
    (["--color", "purple"], ["--color must be one of red|green|blue",
                             "'purple'"]),
    (["--color", "RED"], ["--color must be one of"]),
])
def test_bad_values(host, args, words):
    assert_usage(run_params(host, *args), *words)


@pytest.mark.parametrize("value,why", [
    ("2026-05-12T06:00:00", "UTC offset is missing"),
    ("2026-05-12", "not of the form"),
    ("2026-13-12T06:00:00Z", "out of range"),
    ("2026-02-30T06:00:00Z", "out of range"),
    ("2026-05-12T06:00:00+25:00", "UTC offset must be"),
    ("tomorrow", "not of the form"),
])
def test_time_needs_rfc3339_with_offset(host, value, why):
    assert_usage(run_params(host, "--at", value), "--at", value,
                 "RFC 3339", why)


def test_time_with_offsets_and_fractions(host):
    for value in ("2026-05-12T06:00:00Z", "2026-05-12T06:00:00z",
                  "2026-05-12T01:00:00-05:00", "2026-05-12T06:00:00.000Z"):
        assert args_of(host, "--at", value)["at_epoch"] == 1778565600, value


def test_file_param_missing_file(host):
    assert_usage(run_params(host, "--doc", "nope.txt"), "--doc nope.txt",
                 "No such file")


def test_file_param_directory(host):
    assert_usage(run_params(host, "--doc", "."), "--doc .",
                 "not a regular file")


def test_file_param_at_the_cap(host):
    (host.dir / "sixteen.bin").write_bytes(b"a" * 16)
    assert args_of(host, "--doc", "sixteen.bin")["doc_bytes"] == "a" * 16


def test_file_param_empty_file(host):
    (host.dir / "empty").write_bytes(b"")
    assert args_of(host, "--doc", "empty")["doc_bytes"] == ""


def test_file_param_over_the_cap(host):
    (host.dir / "big.bin").write_bytes(b"a" * 17)
    assert_usage(run_params(host, "--doc", "big.bin"), "--doc big.bin",
                 "17 bytes", "16")


def test_file_param_over_the_cap_is_refused(host):
    # Whatever the message, the bytes never reach the recipe.
    (host.dir / "big.bin").write_bytes(b"a" * 17)
    r = run_params(host, "--doc", "big.bin")
    assert r.code != 0, r
    assert "aaaa" not in r.out


def test_input_of_a_param_that_is_not_a_file(host):
    path = host.recipe("""
        return { params = { name = { type = "string" } },
          run = function(ctx, args)
            local ok, e = pcall(ctx.input, "name")
            return {ok = ok, e = tostring(e), other = ctx.input("nothing")}
          end }
    """, name="notfile.lua")
    r = host.run("run", path, "--name", "x", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["ok"] is False and "not a file param" in doc["e"]


# ---- flags that are wrong ----

@pytest.mark.parametrize("typed,meant", [("--colour", "--color"),
                                         ("--chatid", "--chat-id"),
                                         ("--cout", "--count"),
                                         ("--forse", "--force")])
def test_unknown_flag_suggests(host, typed, meant):
    r = run_params(host, typed, "x")
    assert_usage(r, "unknown option %s" % typed, "did you mean %s?" % meant)


def test_unknown_flag_without_a_close_match(host):
    r = run_params(host, "--zzzzzzzzzz", "x")
    assert_usage(r, "unknown option --zzzzzzzzzz")
    assert "did you mean" not in r.err


def test_missing_required_names_each(host):
    r = host.run("run", REQUIRED)
    assert r.code == 2, r
    assert "missing required options: --chat-id, --message" in r.err
    assert "usage: clawhost run required --chat-id N --message TEXT" in r.err


def test_missing_one_required(host):
    r = host.run("run", REQUIRED, "--message", "hi")
    assert r.code == 2, r
    assert "missing required option: --chat-id" in r.err
    assert "--message," not in r.err


def test_required_given(host):
    r = host.run("run", REQUIRED, "--message", "hi", "--chat-id", "5",
                 "--json")
    assert r.code == 0, r
    assert r.json() == {"message": "hi", "chat_id": 5}


@pytest.mark.parametrize("args,words", [
    (["--text", "a", "--text", "b"], ["--text was given more than once"]),
    (["--force", "--force"], ["--force was given more than once"]),
    (["--force", "--no-force"], ["--force was given more than once"]),
    (["--level", "1", "--level=2"], ["--level was given more than once"]),
])
def test_flag_given_twice(host, args, words):
    assert_usage(run_params(host, *args), *words)


@pytest.mark.parametrize("args,words", [
    (["positional"], ["unexpected argument 'positional'"]),
    (["--text", "a", "stray"], ["unexpected argument 'stray'"]),
    (["-x"], ["unexpected argument '-x'"]),
    (["--"], ["unexpected argument '--'"]),
])
def test_positional_arguments(host, args, words):
    assert_usage(run_params(host, *args), *words)


def test_flag_without_its_value(host):
    assert_usage(run_params(host, "--text"), "--text needs a value (TEXT)")
    assert_usage(run_params(host, "--color"),
                 "--color needs a value (red|green|blue)")


@pytest.mark.parametrize("arg", ["--force=maybe", "--no-force=true"])
def test_boolean_with_a_bad_value(host, arg):
    assert_usage(run_params(host, arg), "--force")


def test_boolean_with_a_bad_value_is_refused(host):
    r = run_params(host, "--force=maybe")
    assert r.code != 0, r


# ---- declarations that are wrong (exit 2, naming the param) ----

def recipe_with(host, decl):
    return host.recipe("return { description = 'd', params = { %s }, "
                       "run = function(ctx, args) return args end }" % decl,
                       name="decl.lua")


@pytest.mark.parametrize("name", ["json", "dry_run", "budget", "timeout",
                                  "memory_mb", "log_json", "quiet",
                                  "verbose", "allow_host", "help",
                                  "cleanup_timeout"])
def test_reserved_param_names(host, name):
    r = host.run("run", recipe_with(host, "%s = {type = 'string'}" % name))
    assert r.code == 2, r
    assert "param '%s'" % name in r.err
    assert "global option" in r.err


@pytest.mark.parametrize("decl,words", [
    ("x = {type = 'float'}", ["param 'x'", "unknown type"]),
    ("x = {type = 'List'}", ["param 'x'", "unknown type"]),
    ("Bad = {type = 'string'}", ["param 'Bad'", "not a valid name"]),
    ("['with-dash'] = {type = 'string'}", ["param 'with-dash'"]),
    ("['9lives'] = {type = 'string'}", ["param '9lives'"]),
    ("x = 5", ["param 'x'", "must be a table"]),
    ("x = {type = 'enum'}", ["param 'x'", "without a values list"]),
    ("x = {type = 'enum', values = {}}", ["param 'x'", "values list"]),
    ("x = {type = 'string', required = true, default = 'd'}",
     ["param 'x'", "required and has a default"]),
    ("x = {type = 'file', max_bytes = 0}", ["param 'x'", "max_bytes"]),
    ("x = {type = 'file', max_bytes = 300 * 1024 * 1024}",
     ["param 'x'", "max_bytes"]),
    ("[1] = {type = 'string'}", ["params keys must be names"]),
])
def test_bad_declarations(host, decl, words):
    r = host.run("run", recipe_with(host, decl))
    assert r.code == 2, r
    for w in words:
        assert w in r.err, (w, r)


def test_bad_declaration_also_fails_help(host):
    r = host.run("help", recipe_with(host, "x = {type = 'float'}"))
    assert r.code == 2, r
    assert "unknown type" in r.err


def test_type_defaults_to_string(host):
    r = host.run("run", recipe_with(host, "x = {help = 'no type'}"), "--x",
                 "5", "--json")
    assert r.code == 0, r
    assert r.json() == {"x": "5"}


def test_list_default_is_a_copy(host):
    path = host.recipe("""
        local dflt = {"a"}
        return { params = { l = { type = "list", default = dflt } },
          run = function(ctx, args)
            args.l[2] = "changed"
            return {#dflt, args.l}
          end }
    """, name="copy.lua")
    r = host.run("run", path, "--json")
    assert r.code == 0, r
    assert r.json() == [1, ["a", "changed"]]


# ---- global options ----

@pytest.mark.parametrize("args,words", [
    (["--timeout", "0"], ["--timeout expects seconds"]),
    (["--timeout", "-1"], ["--timeout expects seconds"]),
    (["--timeout", "abc"], ["--timeout expects seconds", "'abc'"]),
    (["--timeout", "1e9"], ["--timeout expects seconds"]),
    (["--timeout", "inf"], ["--timeout expects seconds"]),
    (["--timeout", "nan"], ["--timeout expects seconds"]),
    (["--timeout"], ["--timeout needs a value"]),
    (["--cleanup-timeout", "0"], ["--cleanup-timeout expects seconds"]),
    (["--cleanup-timeout", "x"], ["--cleanup-timeout expects seconds"]),
    (["--memory-mb", "8"], ["--memory-mb expects a whole number", "'8'"]),
    (["--memory-mb", "64.5"], ["--memory-mb expects a whole number"]),
    (["--memory-mb", "x"], ["--memory-mb expects"]),
    (["--memory-mb", "99999999999"], ["--memory-mb expects"]),
    (["--memory-mb", ""], ["--memory-mb expects"]),
    (["--budget", "abc"], ["--budget", "abc"]),
    (["--budget", "-1"], ["--budget", "negative"]),
    (["--budget", ""], ["--budget"]),
    (["--allow-host", ""], ["--allow-host"]),
])
def test_invalid_global_option_values(host, args, words):
    r = host.run("run", "hello", *args)
    assert r.code == 2, r
    for w in words:
        assert w in r.err, (w, r)
    assert r.out == ""


@pytest.mark.parametrize("args", [["--timeout", "0.5"], ["--timeout=30"],
                                  ["--memory-mb", "16"],
                                  ["--memory-mb=512"],
                                  ["--cleanup-timeout", "5"],
                                  ["--budget", "0.50"], ["--budget=3"],
                                  ["-q"], ["-v"], ["--quiet"],
                                  ["--verbose"], ["--log-json"]])
def test_valid_global_option_values(host, args):
    r = host.run("run", "hello", "--json", *args)
    assert r.code == 0, r
    assert r.json()["greeting"] == "hello, world"


def test_global_options_between_recipe_params(host):
    doc = args_of(host, "--text", "a", "--timeout", "30", "--count", "2",
                  "-q")
    assert doc["args"]["text"] == "a" and doc["args"]["count"] == 2


# ---- dry run from the environment ----

@pytest.mark.parametrize("value,dry", [("1", True), ("true", True),
                                       ("yes", True), ("on", True),
                                       ("TRUE", True), ("0", False),
                                       ("false", False), ("no", False),
                                       ("off", False), ("", False)])
def test_theta_dry_run_env(host, value, dry):
    doc = args_of(host, env={"THETA_DRY_RUN": value})
    assert doc["dry_run"] is dry


def test_theta_dry_run_env_bad_value(host):
    r = run_params(host, env={"THETA_DRY_RUN": "maybe"})
    assert r.code == 2, r
    assert "THETA_DRY_RUN=maybe" in r.err
    assert r.out == ""


def test_dry_run_flag_wins_over_env_off(host):
    doc = args_of(host, "--dry-run", env={"THETA_DRY_RUN": "0"})
    assert doc["dry_run"] is True


def test_usage_error_with_json_prints_an_error_object(host):
    r = run_params(host, "--count", "0")
    assert r.code == 2, r
    doc = r.json()
    assert doc["error"]["code"] == "usage"
    assert "--count must be at least 1" in doc["error"]["message"]


# ---- declarations the host does not check ----

def test_enum_values_must_be_strings(host):
    r = host.run("run", recipe_with(host, "e = {type = 'enum', values = "
                                    "{1, 2}}"), "--e", "1", "--json")
    # either accepted, or refused as a bad declaration naming the param
    if r.code == 0:
        assert r.json()["e"] in (1, "1")
    else:
        assert r.code == 2 and "param 'e'" in r.err, r


def test_default_must_match_the_type(host):
    r = host.run("run", recipe_with(host, "n = {type = 'integer', "
                                    "default = 'abc'}"), "--json")
    assert r.code == 2 and "param 'n'" in r.err, r


def test_64_params_are_allowed_65_are_not(host):
    decl = ", ".join("p%d = {type = 'string'}" % i for i in range(64))
    r = host.run("run", recipe_with(host, decl), "--p63", "x", "--json")
    assert r.code == 0, r
    assert r.json() == {"p63": "x"}
    decl += ", p64 = {type = 'string'}"
    r = host.run("run", recipe_with(host, decl))
    assert r.code == 2, r
    assert "more than 64 params" in r.err


def test_param_name_length_limit(host):
    ok = "a" * 48
    r = host.run("run", recipe_with(host, "%s = {type = 'string'}" % ok),
                 "--" + ok, "v", "--json")
    assert r.code == 0, r
    assert r.json() == {ok: "v"}
    r = host.run("run", recipe_with(host, "%s = {type = 'string'}" %
                                    ("a" * 49)))
    assert r.code == 2, r
    assert "not a valid name" in r.err


# ---- text from a file or stdin (string params) ----

def text_recipe(host, decl="msg = {type = 'string'}"):
    return host.recipe("return { params = { %s }, run = function(ctx, "
                       "args) return {msg = args.msg, other = args.other, "
                       "n = args.msg and #args.msg} end }" % decl,
                       name="text.lua")


def test_text_from_a_file_is_its_bytes(host):
    (host.dir / "post.txt").write_bytes("h\u00e9llo\n\nsecond line\n"
                                        .encode())
    r = host.run("run", text_recipe(host), "--msg", "@post.txt", "--json")
    assert r.code == 0, r
    assert r.json()["msg"] == "h\u00e9llo\n\nsecond line\n"


def test_text_from_a_file_with_equals(host):
    (host.dir / "post.txt").write_text("from a file")
    r = host.run("run", text_recipe(host), "--msg=@post.txt", "--json")
    assert r.code == 0, r
    assert r.json()["msg"] == "from a file"


def test_text_from_stdin(host):
    r = host.run("run", text_recipe(host), "--msg", "-", "--json",
                 input="piped text\n")
    assert r.code == 0, r
    assert r.json()["msg"] == "piped text\n"


def test_text_from_empty_stdin(host):
    r = host.run("run", text_recipe(host), "--msg", "-", "--json",
                 input="")
    assert r.code == 0, r
    assert r.json()["msg"] == ""


def test_text_of_two_megabytes_goes_through_a_file(host):
    """A 2 MB message cannot be one argument (the kernel caps one at
    128 KiB: "Argument list too long"); @FILE carries it."""
    big = ("word " * 400000)[:2000000]
    (host.dir / "big.txt").write_text(big)
    path = text_recipe(host, "msg = {type = 'string', max_bytes = "
                       "4 * 1024 * 1024}")
    r = host.run("run", path, "--msg", "@big.txt", "--json")
    assert r.code == 0, r.err
    assert r.json()["n"] == 2000000 and r.json()["msg"] == big
    r = host.run("run", path, "--msg", "-", "--json", input=big)
    assert r.code == 0, r.err
    assert r.json()["n"] == 2000000


def test_text_cap_defaults_to_one_mib(host):
    (host.dir / "mib.txt").write_text("a" * (1 << 20))
    (host.dir / "over.txt").write_text("a" * ((1 << 20) + 1))
    r = host.run("run", text_recipe(host), "--msg", "@mib.txt", "--json")
    assert r.code == 0 and r.json()["n"] == 1 << 20, r.err
    r = host.run("run", text_recipe(host), "--msg", "@over.txt")
    assert r.code == 2, r
    assert "--msg @over.txt: 1048577 bytes, more than the 1048576" in r.err
    assert "aaaa" not in r.text


def test_text_cap_on_stdin(host):
    r = host.run("run", text_recipe(host), "--msg", "-",
                 input="a" * ((1 << 20) + 10))
    assert r.code == 2, r
    assert "--msg - (stdin): more than the 1048576 bytes" in r.err


def test_text_cap_from_max_bytes(host):
    path = text_recipe(host, "msg = {type = 'string', max_bytes = 8}")
    (host.dir / "nine.txt").write_text("123456789")
    (host.dir / "eight.txt").write_text("12345678")
    assert host.run("run", path, "--msg", "@eight.txt", "--json").json()[
        "msg"] == "12345678"
    r = host.run("run", path, "--msg", "@nine.txt")
    assert r.code == 2 and "9 bytes, more than the 8" in r.err, r
    r = host.run("run", path, "--msg", "-", input="123456789")
    assert r.code == 2 and "more than the 8 bytes" in r.err, r
    # the cap holds however the text is given
    r = host.run("run", path, "--msg", "123456789")
    assert r.code == 2 and "--msg: 9 bytes, more than the 8" in r.err, r


@pytest.mark.parametrize("value,words", [
    ("@nope.txt", ["--msg @nope.txt", "No such file"]),
    ("@.", ["--msg @.", "a folder, not a file"]),
    ("@", ["--msg @", "a file name must follow @", "@@"]),
])
def test_text_from_a_bad_file(host, value, words):
    r = host.run("run", text_recipe(host), "--msg", value)
    assert r.code == 2, r
    for w in words:
        assert w in r.err, (w, r)
    assert "usage: clawhost run text" in r.err


@pytest.mark.parametrize("data,why", [
    (b"caf\xe9 latin-1", "not UTF-8 (byte 4 is 0xE9)"),
    (b"\x89PNG\r\n\x1a\n", "not UTF-8 (byte 1 is 0x89)"),
    (b"ok\x00then", "a NUL byte at byte 3"),
    (b"\xed\xa0\x80 surrogate", "not UTF-8 (byte 1 is 0xED)"),
])
def test_text_must_be_utf8(host, data, why):
    (host.dir / "bin.dat").write_bytes(data)
    r = host.run("run", text_recipe(host), "--msg", "@bin.dat")
    assert r.code == 2, r
    assert "--msg @bin.dat: %s; --msg takes text" % why in r.err, r


def test_text_starting_with_at_is_escaped_with_two(host):
    r = host.run("run", text_recipe(host), "--msg", "@@handle hi",
                 "--json")
    assert r.code == 0, r
    assert r.json()["msg"] == "@handle hi"
    r = host.run("run", text_recipe(host), "--msg", "@@@x", "--json")
    assert r.json()["msg"] == "@@x"
    r = host.run("run", text_recipe(host), "--msg", "mid @ and -",
                 "--json")
    assert r.json()["msg"] == "mid @ and -"


def test_stdin_is_read_once_per_run(host):
    path = text_recipe(host, "msg = {type = 'string'}, "
                       "other = {type = 'string'}")
    r = host.run("run", path, "--msg", "-", "--other", "-", input="x")
    assert r.code == 2, r
    assert "--other -: stdin was already read for --msg" in r.err


def test_only_string_params_read_files(host, tmp_path):
    (host.dir / "x").write_text("contents")
    doc = args_of(host, "--tag", "@x", "--tag", "-", "--chat-id", "@x")
    assert doc["args"]["tag"] == ["@x", "-"]        # a list: as given
    assert doc["args"]["chat_id"] == "contents"     # a string: the file
    assert_usage(run_params(host, "--color", "@x"), "--color must be one")
    assert_usage(run_params(host, "--count", "-"), "--count expects")


def test_help_says_text_takes_a_file_or_stdin(host):
    r = host.run("help", text_recipe(host))
    assert r.code == 0, r
    assert "@FILE" in r.out and "- for stdin" in r.out


# ---- typed lists (`of`) ----

LISTS = FIXTURES / "lists.lua"


def run_lists(host, *args, **kw):
    return host.run("run", LISTS, "--json", *args, **kw)


def test_typed_list_values_are_converted(host):
    r = run_lists(host, "--slot", "2026-05-12T06:00:00Z", "--slot",
                  "2026-05-12T08:00:00+02:00", "--ratio", "0.5",
                  "--ratio", "10", "--id", "3", "--id", "4.0",
                  "--color", "green", "--color", "red", "--word", "7",
                  "--plain", "x")
    assert r.code == 0, r
    doc = r.json()
    a = doc["args"]
    assert a["slot"] == ["2026-05-12T06:00:00Z",
                         "2026-05-12T08:00:00+02:00"]
    assert a["ratio"] == [0.5, 10] and a["id"] == [3, 4]
    assert doc["kinds"]["id"] == ["integer", "integer"]
    assert doc["kinds"]["ratio"] == ["float", "integer"]
    assert a["color"] == ["green", "red"]
    assert a["word"] == ["7"] and doc["kinds"]["word"] == ["string"]
    assert a["plain"] == ["x"]
    assert a["keep"] == [1, 2]


@pytest.mark.parametrize("args,words", [
    (["--slot", "2026-05-12T06:00:00Z", "--slot", "tomorrow"],
     ["--slot (value 2) 'tomorrow' is not an RFC 3339 time"]),
    (["--slot", "2026-05-12T06:00:00"],
     ["--slot (value 1)", "UTC offset is missing"]),
    (["--id", "1", "--id", "2", "--id", "2.5"],
     ["--id (value 3) expects a whole number, got '2.5'"]),
    (["--id", "0"], ["--id (value 1) must be at least 1, got '0'"]),
    (["--ratio", "1", "--ratio", "11"],
     ["--ratio (value 2) must be at most 10, got '11'"]),
    (["--ratio", "x"], ["--ratio (value 1) expects a number, got 'x'"]),
    (["--color", "red", "--color", "blue"],
     ["--color (value 2) must be one of red|green, got 'blue'"]),
    (["--keep", "one"], ["--keep (value 1) expects a number"]),
])
def test_typed_list_element_errors_name_flag_and_position(host, args,
                                                          words):
    r = run_lists(host, *args)
    assert r.code == 2, r
    for w in words:
        assert w in r.err, (w, r)
    assert "usage: clawhost run lists" in r.err


def test_typed_list_is_checked_before_the_recipe_starts(host):
    path = host.recipe("""
        return { params = { n = { type = "list", of = "integer" } },
          run = function(ctx, args) print("started") return args end }
    """, name="early.lua")
    r = host.run("run", path, "--n", "1", "--n", "x")
    assert r.code == 2, r
    assert "started" not in r.out
    assert "--n (value 2) expects a number" in r.err


def test_typed_list_help(host):
    r = host.run("help", LISTS)
    assert r.code == 0, r
    assert "[--id N]..." in r.out and "[--color red|green]..." in r.out
    assert "[--slot TIME]..." in r.out and "[--ratio NUMBER]..." in r.out
    slot = [ln for ln in r.out.splitlines() if "--slot" in ln and
            "publishing" in ln][0]
    assert "(repeatable)" in slot and "RFC 3339" in slot


@pytest.mark.parametrize("decl,words", [
    ("x = {type = 'list', of = 'boolean'}", ["param 'x'", "`of`"]),
    ("x = {type = 'list', of = 'file'}", ["param 'x'", "`of`"]),
    ("x = {type = 'list', of = 'nope'}", ["param 'x'", "`of`"]),
    ("x = {type = 'string', of = 'integer'}",
     ["param 'x'", "has `of` but is not a list"]),
    ("x = {type = 'list', of = 'enum'}", ["param 'x'", "values list"]),
    ("x = {type = 'list', of = 'integer', default = {1, 'two'}}",
     ["param 'x'", "element 2 is a string, not a number"]),
    ("x = {type = 'list', of = 'integer', default = {1, 2.5}}",
     ["param 'x'", "element 2 is not a whole number"]),
    ("x = {type = 'list', of = 'enum', values = {'a'}, default = {'b'}}",
     ["param 'x'", "element 1 is not one of its values"]),
    ("x = {type = 'list', of = 'time', default = {'noon'}}",
     ["param 'x'", "element 1 is not an RFC 3339 time"]),
    ("x = {type = 'list', of = 'number', default = 'many'}",
     ["param 'x'", "is a string, not a number"]),
])
def test_typed_list_bad_declarations(host, decl, words):
    r = host.run("run", recipe_with(host, decl))
    assert r.code == 2, r
    for w in words:
        assert w in r.err, (w, r)


def test_typed_list_default_of_one_element(host):
    r = host.run("run", recipe_with(host, "x = {type = 'list', of = "
                                    "'integer', default = 5}"), "--json")
    assert r.code == 0, r
    assert r.json() == {"x": [5]}
