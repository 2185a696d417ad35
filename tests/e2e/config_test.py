"""config: non-secret settings from the environment and from .env.local
in the working directory; the file must be private; credential-looking
names are refused with a pointer to secret.get (DESIGN section 3,
host/runtime/config.c, host/pure/dotenv.c). Value parsing is in
tests/lua/config_test.lua."""
import os

import pytest

from tests.e2e.fixtures.util import home, run_lua  # noqa: F401


def write_env(host, text, mode=0o600, name=".env.local"):
    path = host.dir / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def get(host, names, *args, env=None):
    lua = "return {%s}" % ", ".join(
        '{config.get("%s"), config.source("%s")}' % (n, n) for n in names)
    return run_lua(host, lua, "--json", *args, env=env)


def test_value_from_the_environment(host):
    r = get(host, ["FOO_BASE_URL"], env={"FOO_BASE_URL": "http://x:1"})
    assert r.code == 0, r
    assert r.json() == [["http://x:1", "env"]]


def test_missing_value_and_default(host):
    r = run_lua(host, 'return {config.get("NOPE_X") == nil, '
                'config.get("NOPE_X", "dflt"), config.source("NOPE_X")}',
                "--json")
    assert r.code == 0, r
    assert r.json() == [True, "dflt"]


def test_blank_environment_value_counts_as_unset(host):
    r = run_lua(host, 'return config.get("BLANK_X", "dflt")', "--json",
                env={"BLANK_X": "   "})
    assert r.code == 0, r
    assert r.json() == "dflt"


def test_values_from_env_local(host):
    write_env(host, "# settings\n"
              "PLAIN=plain value\n"
              "export EXPORTED=yes\n"
              'DQ="double # not a comment\\nsecond line"\n'
              "SQ='single $NOT \\n'\n"
              "TRAILING=value # a comment\n"
              "  SPACED = around  \n"
              "EMPTY=\n"
              "DUP=first\n"
              "DUP=second\n"
              'MULTI="line one\n'
              'line two"\n')
    r = get(host, ["PLAIN", "EXPORTED", "DQ", "SQ", "TRAILING", "SPACED",
                   "DUP", "MULTI"])
    assert r.code == 0, r
    assert r.json() == [
        ["plain value", ".env.local"], ["yes", ".env.local"],
        ["double # not a comment\nsecond line", ".env.local"],
        ["single $NOT \\n", ".env.local"], ["value", ".env.local"],
        ["around", ".env.local"], ["second", ".env.local"],
        ["line one\nline two", ".env.local"]]
    r = run_lua(host, 'return config.get("EMPTY", "dflt")', "--json")
    assert r.json() == "dflt"


def test_environment_wins_over_env_local(host):
    write_env(host, "BOTH=from file\n")
    r = get(host, ["BOTH"], env={"BOTH": "from env"})
    assert r.code == 0, r
    assert r.json() == [["from env", "env"]]


def test_env_local_is_read_from_the_working_directory(host):
    sub = host.dir / "elsewhere"
    sub.mkdir()
    (sub / ".env.local").write_text("WHERE=elsewhere\n")
    os.chmod(sub / ".env.local", 0o600)
    r = get(host, ["WHERE"])
    assert r.code == 0, r
    assert r.json() == [{}]             # {nil, nil}: not found


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666, 0o601])
def test_env_local_readable_by_others_is_refused(host, mode):
    write_env(host, "PLAIN=x\n", mode=mode)
    r = get(host, ["PLAIN"])
    assert r.code == 2, r
    assert "chmod 600" in r.err
    assert "%04o" % mode in r.err
    assert r.json()["error"]["code"] == "config"


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_env_local_private_modes_are_fine(host, mode):
    write_env(host, "PLAIN=x\n", mode=mode)
    r = get(host, ["PLAIN"])
    assert r.code == 0, r
    assert r.json() == [["x", ".env.local"]]


def test_unsafe_env_local_cannot_be_caught(host):
    write_env(host, "PLAIN=x\n", mode=0o644)
    r = run_lua(host, 'local ok, e = pcall(config.get, "PLAIN")\n'
                "return {ok, e.code}", "--json")
    # A config error is an ordinary error: the recipe may catch it, but
    # never gets the value.
    assert r.code == 0, r
    assert r.json() == [False, "config"]


def test_env_local_that_is_not_a_file(host):
    (host.dir / ".env.local").mkdir()
    r = get(host, ["PLAIN"])
    assert r.code == 2, r
    assert "not a regular file" in r.err


@pytest.mark.parametrize("text,line", [("zebra line\n", 1),
                                       ("OK=1\n\nBAD zebra\n", 3),
                                       ('K="zebra\n', 1),
                                       ("1ABC=zebra\n", 1)])
def test_env_local_syntax_error_names_the_line(host, text, line):
    write_env(host, text)
    r = get(host, ["PLAIN"])
    assert r.code == 2, r
    assert ".env.local:%d:" % line in r.err
    # never the text of the line: it may hold a secret
    assert "zebra" not in r.err


def test_env_local_is_not_needed(host):
    r = get(host, ["PLAIN"])
    assert r.code == 0, r


@pytest.mark.parametrize("name", [
    "THREADS_QUEUE_SECRET", "X_TOKEN", "X_API_KEY", "DB_PASSWORD",
    "MY_PASSWD", "AWS_CREDENTIALS", "SSH_PRIVATE_KEY", "SOME_APIKEY",
    "SIGNING_KEY", "ADMIN_PASS", "ROOT_PWD", "theta_api_key", "x_token"])
def test_credential_names_point_to_secret_get(host, name):
    for fn in ("get", "bool", "number", "source"):
        r = run_lua(host, 'return config.%s("%s")' % (fn, name),
                    env={name: "hunter2"})
        assert r.code == 2, r
        assert "secret.get('%s')" % name in r.err, r
        assert "hunter2" not in r.err and "hunter2" not in r.out


def test_credential_name_refused_even_when_unset(host):
    r = run_lua(host, 'return config.get("UNSET_TOKEN")')
    assert r.code == 2, r
    assert "secret.get" in r.err


@pytest.mark.parametrize("name", ["TOKEN_COUNT", "KEYBOARD", "MONKEY",
                                  "PASSAGE", "THETA_HTTP_TIMEOUT_MS"])
def test_ordinary_names_are_not_taken_for_credentials(host, name):
    r = run_lua(host, 'return config.get("%s")' % name, "--json",
                env={name: "v"})
    assert r.code == 0, r
    assert r.json() == "v"


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "", "A.B"])
def test_invalid_variable_names_are_bad_arguments(host, name):
    r = run_lua(host, 'return config.get("%s")' % name)
    assert r.code == 1, r
    assert "not a variable name" in r.err


def test_bool_and_number_from_env_local(host):
    write_env(host, "FLAG=on\nCOUNT=12\nRATE=0.25\n")
    r = run_lua(host, 'return {config.bool("FLAG"), config.number("COUNT"), '
                'config.number("RATE"), config.number("COUNT", 0, 1, 10)}',
                "--json")
    assert r.code == 0, r
    assert r.json() == [True, 12, 0.25, 10]


@pytest.mark.parametrize("fn,value,words", [
    ("bool", "maybe", "expected one of 1/true/yes/on"),
    ("number", "12abc", "expected a number"),
    ("number", "inf", "expected a number"),
])
def test_bad_values_are_config_errors(host, fn, value, words):
    r = run_lua(host, 'return config.%s("SETTING_X")' % fn,
                env={"SETTING_X": value})
    assert r.code == 2, r
    assert words in r.err
    assert "SETTING_X=%s (from env)" % value in r.err


def test_bad_value_names_the_file_it_came_from(host):
    write_env(host, "SETTING_Y=perhaps\n")
    r = run_lua(host, 'return config.bool("SETTING_Y")')
    assert r.code == 2, r
    assert "SETTING_Y=perhaps (from .env.local)" in r.err


def test_config_values_reach_the_hello_recipe_environment(host):
    # A recipe run by name sees the same working directory's .env.local.
    write_env(host, "GREETING_NAME=from file\n")
    path = host.recipe('local config = require "config"\n'
                       'return { run = function() return '
                       'config.get("GREETING_NAME") end }', name="cfg.lua")
    r = host.run("run", path)
    assert r.code == 0, r
    assert r.out == "from file\n"


CFGTEST_ENV = {
    "CFGTEST_SET": "1", "CFGTEST_TEXT": "hello world", "CFGTEST_BLANK": " ",
    "CFGTEST_BOOL_1": "1", "CFGTEST_BOOL_TRUE": "TRUE",
    "CFGTEST_BOOL_YES": "yes", "CFGTEST_BOOL_ON": "On",
    "CFGTEST_BOOL_0": "0", "CFGTEST_BOOL_FALSE": "false",
    "CFGTEST_BOOL_NO": "NO", "CFGTEST_BOOL_OFF": "off",
    "CFGTEST_BOOL_BAD": "maybe", "CFGTEST_INT": "42", "CFGTEST_FLOAT": "2.5",
    "CFGTEST_NEG": "-7", "CFGTEST_SPACES": " 12 ", "CFGTEST_EXP": "1.5e3",
    "CFGTEST_NUM_BAD": "12abc", "CFGTEST_NUM_INF": "inf",
}


def test_lua_config_suite_with_values(host):
    """tests/lua/config_test.lua with its value-parsing cases turned on."""
    from tests.e2e.conftest import ROOT
    r = host.run("run", ROOT / "tests" / "lua" / "config_test.lua",
                 "--json", env=CFGTEST_ENV)
    assert r.code == 0, r
    doc = r.json()
    assert doc["failed"] == 0, doc["failures"]
    assert doc["passed"] >= 10, doc


def test_name_with_an_embedded_nul_is_refused(host):
    r = run_lua(host, 'return config.get("PATH\\0junk")', "--json")
    assert r.code == 1, r
    assert "not a variable name" in r.err
