"""config: non-secret settings from the environment and from .env.local
in the working directory; the file must be private; only the names
clawhost documents and the ones a recipe declares in `settings` are
handed out; credential-looking names and values with a login are refused
with a pointer to secret.get (DESIGN section 3, host/runtime/config.c,
host/cli/declared.c, host/pure/settings.c, host/pure/dotenv.c). Value
parsing is in tests/lua/config_test.lua."""
import os
import re

import pytest

from tests.e2e.fixtures.util import home, run_lua  # noqa: F401


def write_env(host, text, mode=0o600, name=".env.local"):
    path = host.dir / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def get(host, names, *args, env=None):
    """config.get and config.source of each name, declared."""
    lua = "return {%s}" % ", ".join(
        '{config.get("%s"), config.source("%s")}' % (n, n) for n in names)
    return run_lua(host, lua, "--json", *args, env=env, settings=names)


def test_value_from_the_environment(host):
    r = get(host, ["FOO_BASE_URL"], env={"FOO_BASE_URL": "http://x:1"})
    assert r.code == 0, r
    assert r.json() == [["http://x:1", "env"]]


def test_missing_value_and_default(host):
    r = run_lua(host, 'return {config.get("NOPE_X") == nil, '
                'config.get("NOPE_X", "dflt"), config.source("NOPE_X")}',
                "--json", settings=["NOPE_X"])
    assert r.code == 0, r
    assert r.json() == [True, "dflt"]


def test_blank_environment_value_counts_as_unset(host):
    r = run_lua(host, 'return config.get("BLANK_X", "dflt")', "--json",
                env={"BLANK_X": "   "}, settings=["BLANK_X"])
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
    r = run_lua(host, 'return config.get("EMPTY", "dflt")', "--json",
                settings=["EMPTY"])
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
                "return {ok, e.code}", "--json", settings=["PLAIN"])
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
                env={name: "v"}, settings=[name])
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
                "--json", settings=["FLAG", "COUNT", "RATE"])
    assert r.code == 0, r
    assert r.json() == [True, 12, 0.25, 10]


@pytest.mark.parametrize("fn,value,words", [
    ("bool", "maybe", "expected one of 1/true/yes/on"),
    ("number", "12abc", "expected a number"),
    ("number", "inf", "expected a number"),
])
def test_bad_values_are_config_errors(host, fn, value, words):
    r = run_lua(host, 'return config.%s("SETTING_X")' % fn,
                env={"SETTING_X": value}, settings=["SETTING_X"])
    assert r.code == 2, r
    assert words in r.err
    assert "SETTING_X=%s (from env)" % value in r.err


def test_bad_value_names_the_file_it_came_from(host):
    write_env(host, "SETTING_Y=perhaps\n")
    r = run_lua(host, 'return config.bool("SETTING_Y")',
                settings=["SETTING_Y"])
    assert r.code == 2, r
    assert "SETTING_Y=perhaps (from .env.local)" in r.err


def test_config_values_reach_the_hello_recipe_environment(host):
    # A recipe run by name sees the same working directory's .env.local.
    write_env(host, "GREETING_NAME=from file\n")
    path = host.recipe('local config = require "config"\n'
                       'return { settings = { GREETING_NAME = "who" },\n'
                       'run = function() return '
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
    "CFGTEST_DB_URL": "postgres://app:Db-Pa55word@db/app",
    "CFGTEST_PLAIN_URL": "https://example.com/@team",
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


# ---- the allow-list ------------------------------------------------------

AUDIT_ENV = {
    "DATABASE_URL": "postgres://app:Db-Pa55word@db/app",
    "GH_PAT": "ghp_0123456789abcdef",
    "REDIS_URL": "redis://:R3dis-Pa55@cache:6379/0",
    "SENTRY_DSN": "https://0a1b2c3d4e5f@o1.ingest.sentry.io/42",
    "GIT_CRED": "cr3d-v4lue-9876", "GPG_PASSPHRASE": "pa55-phr4se-5432",
    "SESSION_COOKIE": "sess-c00kie-1234",
    "HTTP_AUTHORIZATION": "Bearer auth-h34der-5678",
}


@pytest.mark.parametrize("name", sorted(AUDIT_ENV))
def test_the_audit_probe_gets_no_credential(host, name):
    """The audit's probe: credentials under names the old rule let
    through. Each is refused, undeclared or credential-looking, and
    points to secret.get."""
    r = run_lua(host, 'return config.get("%s")' % name, "--json",
                env=AUDIT_ENV)
    assert r.code == 2, r
    assert r.json()["error"]["code"] == "config"
    assert "config.get('%s')" % name in r.err
    assert "secret.get('%s')" % name in r.err
    for value in AUDIT_ENV.values():
        assert value not in r.text


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL", "FOO"])
def test_config_get_of_an_undeclared_name_is_refused(host, name):
    r = run_lua(host, 'return config.get("%s")' % name, "--json",
                env={**AUDIT_ENV, "FOO": "bar"})
    assert r.code == 2, r
    assert r.json()["error"]["code"] == "config"
    assert ("config.get('%s'): %s is not a setting this recipe declares"
            % (name, name)) in r.err
    assert 'add settings = { %s = "what it is" } to the recipe' % name \
        in r.err
    assert "or read a credential with secret.get('%s')" % name in r.err
    assert "bar" not in r.out
    for value in AUDIT_ENV.values():
        assert value not in r.text


def test_undeclared_name_is_refused_by_every_function_set_or_not(host):
    r = run_lua(host, """
        local out = {}
        for _, fn in ipairs({"get", "bool", "number", "source"}) do
          for _, name in ipairs({"MYAPP_SET", "MYAPP_UNSET"}) do
            local ok, e = pcall(config[fn], name, "dflt")
            out[#out + 1] = ok and "read" or e.message
          end
        end
        return out""", "--json", env={"MYAPP_SET": "1"})
    assert r.code == 0, r
    for fn, msg in zip(["get", "get", "bool", "bool", "number", "number",
                        "source", "source"], r.json()):
        assert msg.startswith("config.%s('MYAPP_" % fn), msg
        assert "is not a setting this recipe declares" in msg


def test_a_declared_name_is_read_and_only_that_one(host):
    r = run_lua(host, """
        local ok, e = pcall(config.get, "MYAPP_OTHER")
        return {config.get("MYAPP_REGION"), config.source("MYAPP_REGION"),
                ok, e.code}""", "--json", settings=["MYAPP_REGION"],
                env={"MYAPP_REGION": "eu-west", "MYAPP_OTHER": "x"})
    assert r.code == 0, r
    assert r.json() == ["eu-west", "env", False, "config"]


def test_top_of_file_reads_come_before_the_declarations(host):
    path = host.recipe('local config = require "config"\n'
                       'local region = config.get("MYAPP_REGION")\n'
                       'return { settings = { MYAPP_REGION = "where" },\n'
                       'run = function() return region end }')
    r = host.run("run", path, env={"MYAPP_REGION": "eu"})
    assert r.code == 2, r
    assert "read them inside run, not at the top of the file" in r.err


def test_help_shows_the_declared_settings(host):
    path = host.recipe('return { description = "posts to my app",\n'
                       'settings = {\n'
                       '  MYAPP_REGION = "the region my recipe posts to",\n'
                       '  MYAPP_BASE_URL = "my app\'s base URL",\n'
                       '},\n'
                       'run = function() end }', name="myapp.lua")
    r = host.run("help", path)
    assert r.code == 0, r
    lines = r.out.splitlines()
    head = lines.index("settings (read with config.get; set them in the "
                       "environment, --env-file, .env.local or")
    assert lines[head + 1] == "~/.config/clawhost/env):"
    assert lines[head + 2].split() == ["MYAPP_BASE_URL", "my", "app's",
                                       "base", "URL"]
    assert lines[head + 3].startswith("  MYAPP_REGION ")
    assert lines[head + 3].endswith(" the region my recipe posts to")
    # a recipe without settings has no such section
    plain = host.run("help", "hello")
    assert plain.code == 0, plain
    assert "settings (" not in plain.out


@pytest.mark.parametrize("name, says", [
    ("GITHUB_TOKEN", "looks like a credential"),
    ("DB_PASSWORD", "looks like a credential"),
    ("CLAWHOST_STORE", "looks like a credential"),
    ("CLAWHOST_PROXY", "looks like a credential"),
    ("GH_PAT", "looks like a credential"),
    ("SENTRY_DSN", "looks like a credential"),
    ("GIT_CRED", "looks like a credential"),
    ("GPG_PASSPHRASE", "looks like a credential"),
    ("SESSION_COOKIE", "looks like a credential"),
    ("HTTP_AUTHORIZATION", "looks like a credential"),
    ("PROXY_AUTH", "looks like a credential"),
    ("THREADS_QUEUE_SECRET", "is a credential clawhost knows"),
    ("THETA_ONDEMAND_API_KEY", "is a credential clawhost knows"),
    ("THETA_INFERENCE_AUTH_PASS", "is a credential clawhost knows"),
])
def test_a_credential_cannot_be_declared(host, name, says):
    path = host.recipe('return { settings = { %s = "mine" },\n'
                       'run = function() print("ran") end }' % name)
    for cmd in ("run", "help"):
        r = host.run(cmd, path, env={name: "hunter2-value"})
        assert r.code == 2, r
        assert "recipe probe: setting %s %s" % (name, says) in r.err
        assert "secret.get('%s')" % name in r.err
        assert "ran" not in r.out and "hunter2" not in r.text


@pytest.mark.parametrize("decl, says", [
    ('settings = "MYAPP_REGION"', "`settings` must be a table"),
    ('settings = { "MYAPP_REGION" }', "settings maps names to what they "
     "are"),
    ('settings = { ["MY-APP"] = "x" }', "setting 'MY-APP' is not a "
     "variable name"),
    ('settings = { ["1ABC"] = "x" }', "setting '1ABC' is not a variable"),
    ('settings = { MYAPP_REGION = true }', "setting MYAPP_REGION needs a "
     "line of help"),
    ('settings = { MYAPP_REGION = "" }', "setting MYAPP_REGION needs a "
     "line of help"),
])
def test_a_bad_declaration_is_a_config_error_at_load(host, decl, says):
    path = host.recipe('return { %s,\n'
                       'run = function() print("ran") end }' % decl)
    r = host.run("run", path, "--json")
    assert r.code == 2, r
    assert says in r.err
    assert r.json()["error"]["code"] == "config"
    assert "ran" not in r.out


@pytest.mark.parametrize("name, value", [
    ("THETA_INFERENCE_ENDPOINT", "https://alice:Endp0int-Pw@e.example"),
    ("THREADS_FASTAPI_BASE_URL", "http://ops@127.0.0.1:8000"),
    ("MYAPP_DB", "postgres://app:Db-Pa55word@db/app"),
    ("MYAPP_DB", "app:Db-Pa55word@tcp(db:3306)/app"),
    ("MYAPP_CACHE", "redis://:R3dis-Pa55@cache:6379/0"),
])
def test_a_value_with_a_login_is_refused_even_when_allowed(host, name,
                                                             value):
    r = run_lua(host, 'return config.get("%s")' % name, "--json",
                env={name: value}, settings=["MYAPP_DB", "MYAPP_CACHE"])
    assert r.code == 2, r
    assert ("config.get('%s'): the value of %s (from env) holds a user "
            "name or password" % (name, name)) in r.err
    assert "secret.get" in r.err
    login = value.split("@")[0].split("/")[-1]      # user[:password]
    assert value not in r.text and login not in r.text


def test_only_a_login_makes_a_value_a_credential(host):
    """An @ in a path or query, or an e-mail address, is no login."""
    env = {"MYAPP_PAGE": "https://example.com/@team?x=a@b",
           "MYAPP_MAIL": "ops@example.com",
           "MYAPP_DB": "postgres://app:Db-Pa55word@db/app"}
    r = run_lua(host, """
        local ok, e = pcall(config.get, "MYAPP_DB")
        return {config.get("MYAPP_PAGE"), config.get("MYAPP_MAIL"),
                ok, e.code}""", "--json", env=env, settings=sorted(env))
    assert r.code == 0, r
    assert r.json() == [env["MYAPP_PAGE"], env["MYAPP_MAIL"], False,
                        "config"]
    assert "Pa55" not in r.text


# ---- one list of documented settings ------------------------------------

def documented_in_c():
    """The names of the readable table in host/pure/settings.c."""
    from tests.e2e.conftest import ROOT
    src = (ROOT / "host" / "pure" / "settings.c").read_text()
    table = src.split("settings_readable readable[] = {", 1)[1]
    table = table.split("};", 1)[0]
    return re.findall(r'\{"([A-Z0-9_]+)",', table)


def documented_in_docs():
    from tests.e2e.conftest import ROOT
    text = (ROOT / "docs" / "modules.md").read_text()
    part = text.split("### Settings config hands out", 1)[1]
    part = part.split("\n#", 1)[0]
    return re.findall(r"^\| `([A-Z0-9_]+)` \|", part, re.M)


def read_by_lua():
    """Every setting name lua/ reads through config: literal calls, the
    base URL lists of its clients and their *_VAR names."""
    from tests.e2e.conftest import ROOT
    names = set()
    for path in (ROOT / "lua").rglob("*.lua"):
        src = path.read_text()
        names |= set(re.findall(
            r'config\.(?:get|bool|number|source)\("([A-Z0-9_]+)"', src))
        for base in re.findall(r"\bbase = \{([^}]*)", src):
            names |= set(re.findall(r'"([A-Z][A-Z0-9_]+)"', base))
        names |= set(re.findall(r'_M\.(?:BASE|TENANT)_VAR = "([A-Z_]+)"',
                                src))
    names.discard("EXAMPLE_BASE_URL")      # the comment's example client
    return names


def test_docs_list_exactly_the_documented_settings():
    assert documented_in_docs() == documented_in_c()


def test_every_setting_lua_reads_is_documented():
    assert read_by_lua(), "the scan found the library's settings"
    assert read_by_lua() <= set(documented_in_c())


def test_documented_settings_are_read_without_declaring(host):
    names = documented_in_c()
    assert len(names) >= 18
    env = {n: "1" for n in names}
    lua = "return {%s}" % ", ".join('config.source("%s")' % n
                                    for n in names)
    r = run_lua(host, lua, "--json", env=env)
    assert r.code == 0, r
    assert r.json() == ["env"] * len(names)
    # the host's own plumbing and a credential's user half are not among
    # them (THETA_VIDEO_SA_ID is: the Video API puts it in its paths)
    assert "THETA_VIDEO_SA_ID" in names
    for name in ["CLAWHOST_PROXY", "CLAWHOST_HOME", "CLAWHOST_STATE_DIR",
                 "CLAWHOST_SECRETS_DIR", "CLAWHOST_CONNECT_TO",
                 "CLAWHOST_CA_FILE", "THETA_INFERENCE_AUTH_USER"]:
        assert name not in names
        r = run_lua(host, 'return config.get("%s")' % name,
                    env={name: "x"})
        assert r.code == 2, (name, r)
        assert "config.get('%s')" % name in r.err
        assert "x\n" not in r.out
