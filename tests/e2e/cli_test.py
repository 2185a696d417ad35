"""The command line as a user meets it: run, list, help, version, usage
errors and their exit codes (DESIGN section 7)."""
import json
import os
import re

import pytest

from tests.e2e.conftest import ROOT
from tests.e2e.fixtures.util import PLAIN_BIN, home  # noqa: F401

VERSION = (ROOT / "VERSION").read_text().strip()


# ---- run hello ----

def test_run_hello_json_is_valid_json(host):
    r = host.run("run", "hello", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["greeting"] == "hello, world"
    assert doc["greetings"] == ["hello, world"]
    assert doc["dry_run"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["at"])


def test_run_hello_text_output(host):
    r = host.run("run", "hello")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert "greeting: hello, world" in lines
    assert "greetings: hello, world" in lines
    assert "dry_run: false" in lines
    assert any(line.startswith("at: ") for line in lines)
    # keys come sorted
    keys = [line.split(":")[0] for line in lines]
    assert keys == sorted(keys)


def test_run_hello_with_name_and_times(host):
    r = host.run("run", "hello", "--name", "Ada", "--times", "2", "--json")
    assert r.code == 0, r
    assert r.json()["greetings"] == ["hello, Ada", "hello, Ada"]
    r = host.run("run", "hello", "--name=Grace")
    assert r.code == 0, r
    assert "greeting: hello, Grace" in r.out


def test_global_options_may_come_before_the_recipe(host):
    r = host.run("run", "--json", "hello", "--name", "x")
    assert r.code == 0, r
    assert r.json()["greeting"] == "hello, x"


SPIN = "return { run = function() while true do end end }\n"


@pytest.mark.parametrize("args", [
    ["--timeout", "1", "--json", "run", "{spin}"],
    ["--timeout=1", "run", "{spin}", "--json"],
    ["run", "{spin}", "--timeout", "1", "--json"],
    ["run", "--json", "{spin}", "--timeout=1"],
])
def test_global_options_before_and_after_the_command(host, args):
    """The deadline is the one given, wherever it stands: a recipe that
    spins forever ends with 124 and a JSON error object."""
    spin = host.recipe(SPIN, "spin.lua")
    r = host.run(*[str(spin) if a == "{spin}" else a for a in args])
    assert r.code == 124, r
    assert "deadline" in r.json()["error"]["message"]


def test_global_options_before_the_command_with_recipe_options(host):
    r = host.run("--json", "--timeout", "20", "run", "hello", "--name", "x",
                 "--quiet")
    assert r.code == 0, r
    assert r.json()["greeting"] == "hello, x"
    r = host.run("--dry-run", "help", "hello")
    assert r.code == 0, r
    assert "usage: clawhost run hello" in r.out


def test_global_options_before_other_commands_are_theirs(host):
    r = host.run("--json", "list")
    assert r.code == 0, r
    assert isinstance(r.json(), list)
    r = host.run("--timeout", "20", "ledger", "--bogus")
    assert r.code == 2, r


@pytest.mark.parametrize("args,says", [
    (["--frobnicate", "run", "hello"], "unknown option --frobnicate"),
    (["--json"], "a command is missing after the global options"),
    (["--timeout"], "--timeout needs a value"),
    (["--timeout", "abc", "run", "hello"], "--timeout expects seconds"),
])
def test_bad_global_options_before_the_command(host, args, says):
    r = host.run(*args)
    assert r.code == 2, r
    assert says in r.err


@pytest.mark.parametrize("flag", ["--timeout", "--cleanup-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "0.0"])
def test_a_zero_timeout_is_refused_without_contradiction(host, flag,
                                                         value):
    """0 is not "no deadline" (every run has one) and the message does
    not say "between 0 and ..." while refusing 0."""
    r = host.run("run", "hello", flag, value)
    assert r.code == 2, r
    assert ("%s expects seconds, more than 0 and at most 604800 (7 days; "
            "there is no unlimited run), got '%s'" % (flag, value)) in r.err
    assert "between 0" not in r.err
    assert "0 is refused" in host.run("--help").out


def test_the_smallest_and_largest_timeouts_are_taken(host):
    assert host.run("run", "hello", "--timeout", "604800").code == 0
    assert host.run("run", "hello", "--timeout", "0.5").code == 0
    assert host.run("run", "hello", "--timeout", "604801").code == 2


def test_unknown_option_before_the_recipe(host):
    r = host.run("run", "--frobnicate", "hello")
    assert r.code == 2, r
    assert "--frobnicate" in r.err
    assert "after the recipe name" in r.err


def test_dry_run_flag_reaches_ctx(host):
    r = host.run("run", "hello", "--dry-run", "--json")
    assert r.code == 0, r
    assert r.json()["dry_run"] is True


# ---- list ----

def test_list_shows_recipes_with_descriptions(host):
    r = host.run("list", "--all")
    assert r.code == 0, r
    lines = [line for line in r.out.splitlines() if line.strip()]
    hello = [line for line in lines if line.split()[0] == "hello"]
    assert hello and "Say hello" in hello[0]
    assert any(line.split()[0] == "parallel" for line in lines)
    assert r.out.index("hello") < r.out.index("parallel")   # sorted
    # under their groups: a heading, then the group's recipes indented
    headings = [line for line in lines if not line.startswith(" ")]
    assert "Examples" in headings and "Theta deployments" in headings
    assert "Other" not in headings          # every shipped recipe has one
    block = r.out.split("Theta deployments\n", 1)[1].split("\n\n", 1)[0]
    assert "validate-disposable" in block and "publish" not in block
    assert all(line.startswith("  ") for line in lines
               if line not in headings)


ALIASES = ["get_request_status", "get_upload_url", "list_services"]
EXAMPLES = ["hello", "parallel"]


def listed(out):
    return [line.split()[0] for line in out.splitlines()
            if line.startswith("  ")]


def test_list_hides_examples_and_aliases(host):
    r = host.run("list")
    assert r.code == 0, r
    names = listed(r.out)
    assert "publish" in names and "status" in names and "chat" in names
    for name in ALIASES + EXAMPLES:
        assert name not in names, name
    assert "Examples" not in r.out.splitlines()
    assert r.out.rstrip().endswith("5 more (examples and other names of "
                                   "these): clawhost list --all")


def test_list_all_shows_them(host):
    r = host.run("list", "--all")
    assert r.code == 0, r
    names = listed(r.out)
    for name in ALIASES + EXAMPLES + ["publish"]:
        assert name in names, name
    assert "more (examples" not in r.out
    # an alias sits with the recipe it names
    block = r.out.split("Theta on-demand\n", 1)[1].split("\n\n", 1)[0]
    assert "get_request_status" in block and "status" in block


def test_list_json_hides_the_same_and_marks_aliases(host):
    short = [e["name"] for e in host.run("list", "--json").json()]
    assert "publish" in short
    assert not set(short) & set(ALIASES + EXAMPLES)
    doc = host.run("list", "--json", "--all").json()
    alias = {e["name"]: e.get("alias_of") for e in doc}
    assert alias["get_request_status"] == "status"
    assert alias["get_upload_url"] == "upload-url"
    assert alias["list_services"] == "services"
    assert alias["status"] is None and alias["hello"] is None


def test_list_hides_a_users_alias_too(host, tmp_path):
    root = tmp_path / "inst"
    (root / "recipes").mkdir(parents=True)
    (root / "lua").mkdir()
    (root / "recipes" / "aa.lua").write_text(
        'return { description = "the one", run = function() end }')
    (root / "recipes" / "bb.lua").write_text(
        'return { description = "other name", alias_of = "aa", '
        'run = function() end }')
    r = host.run("list", env={"CLAWHOST_HOME": str(root)})
    assert r.code == 0, r
    assert listed(r.out) == ["aa"] and "1 more" in r.out


def test_alias_of_must_be_a_string(host):
    path = host.recipe("return { alias_of = 5, run = function() end }",
                       name="badalias.lua")
    r = host.run("run", path)
    assert r.code == 2 and "`alias_of` must be a string" in r.err, r


def test_list_json(host):
    r = host.run("list", "--json", "--all")
    assert r.code == 0, r
    doc = r.json()
    names = [e["name"] for e in doc]
    assert "hello" in names and "parallel" in names
    hello = next(e for e in doc if e["name"] == "hello")
    assert hello["description"].startswith("Say hello")
    assert isinstance(hello["spends"], bool)
    assert hello["group"] == "Examples"


def test_list_json_spends_matches_help(host):
    r = host.run("list", "--json", "--all")
    hello = next(e for e in r.json() if e["name"] == "hello")
    assert "spends money: no" in host.run("help", "hello").out
    assert hello["spends"] is False


def test_list_in_an_empty_home(host, tmp_path):
    root = tmp_path / "inst"
    (root / "recipes").mkdir(parents=True)
    (root / "lua").mkdir()
    r = host.run("list", "--json", env={"CLAWHOST_HOME": str(root)})
    assert r.code == 0, r
    assert json.loads(r.out) == []


def test_list_reports_a_broken_recipe_and_goes_on(host, tmp_path):
    root = tmp_path / "inst"
    (root / "recipes").mkdir(parents=True)
    (root / "lua").mkdir()
    (root / "recipes" / "aa.lua").write_text("this is not lua")
    (root / "recipes" / "bb.lua").write_text(
        'return { description = "fine", run = function() end }')
    r = host.run("list", env={"CLAWHOST_HOME": str(root)})
    assert r.code == 0, r
    assert "aa" in r.out and "cannot load" in r.out
    assert "bb" in r.out and "fine" in r.out


def test_list_one_refused_recipe_does_not_spoil_the_next(host, tmp_path):
    root = tmp_path / "inst"
    (root / "recipes").mkdir(parents=True)
    (root / "lua").mkdir()
    (root / "recipes" / "aa.lua").write_text(
        'local f = io.open\nreturn { description = "bad", '
        'run = function() end }')
    (root / "recipes" / "bb.lua").write_text(
        "local n = 0 for i = 1, 10000 do n = n + i end\n"
        'return { description = "fine one", run = function() end }')
    r = host.run("list", env={"CLAWHOST_HOME": str(root)})
    assert r.code == 0, r
    bb = [line for line in r.out.splitlines()
          if line.strip().startswith("bb")]
    assert bb and "fine one" in bb[0], r


def test_list_rejects_arguments(host):
    r = host.run("list", "--bogus")
    assert r.code == 2, r
    assert "--bogus" in r.err


# ---- help ----

def test_help_recipe(host):
    r = host.run("help", "hello")
    assert r.code == 0, r
    assert r.out.startswith("hello: Say hello")
    assert "usage: clawhost run hello" in r.out
    assert "--name TEXT" in r.out and "who to greet" in r.out
    assert "(default: world)" in r.out
    assert "--times N" in r.out
    assert "spends money: no" in r.out
    assert "global options" in r.out


def test_run_recipe_help_is_the_same_text(host):
    a = host.run("help", "hello")
    b = host.run("run", "hello", "--help")
    c = host.run("run", "hello", "-h")
    assert b.code == 0 and c.code == 0, (b, c)
    assert a.out == b.out == c.out


def test_help_of_unknown_recipe(host):
    r = host.run("help", "helo")
    assert r.code == 2, r
    assert "no recipe 'helo'" in r.err
    assert "did you mean hello" in r.err


def test_help_alone_prints_usage(host):
    r = host.run("help")
    assert r.code == 0, r
    assert "usage:" in r.out


def test_help_of_a_recipe_file_with_params(host):
    path = host.recipe("""
        return {
          description = "file recipe",
          params = {
            message = { type = "string", required = true, help = "text" },
            image = { type = "list", help = "image URL" },
            at = { type = "time", help = "when" },
            mode = { type = "enum", values = { "a", "b" } },
            force = { type = "boolean", help = "really" },
          },
          spends = true,
          calls = { "https://example.invalid/api" },
          run = function() end,
        }
    """, name="withparams.lua")
    r = host.run("help", path)
    assert r.code == 0, r
    assert "usage: clawhost run withparams --message TEXT" in r.out
    assert "[--image TEXT]..." in r.out
    assert "(required)" in r.out
    assert "(repeatable)" in r.out
    assert "RFC 3339" in r.out
    assert "--mode a|b" in r.out
    assert "--[no-]force" in r.out
    assert "spends money: yes" in r.out
    assert "https://example.invalid/api" in r.out


def test_help_json_gives_the_params_as_data(host):
    r = host.run("help", "hello", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["name"] == "hello" and doc["group"] == "Examples"
    assert doc["description"].startswith("Say hello")
    assert doc["spends"] is False
    assert doc["usage"] == "clawhost run hello [--name TEXT] [--times N]"
    times = next(p for p in doc["params"] if p["name"] == "times")
    assert times == {"name": "times", "flag": "--times",
                     "type": "integer", "required": False, "default": 1,
                     "min": 1, "max": 10, "arg": "N",
                     "help": "how many greetings"}
    assert [p["name"] for p in doc["params"]] == ["name", "times"]
    same = host.run("run", "hello", "--help", "--json")
    assert same.code == 0 and same.json() == doc, same


def test_help_json_of_every_kind_of_param(host):
    path = host.recipe("""
        return {
          description = "file recipe", group = "Mine",
          params = {
            message = { type = "string", required = true, help = "text",
                        max_bytes = 5000 },
            image = { type = "list", arg = "URL", default = "u" },
            slot = { type = "list", of = "time" },
            mode = { type = "enum", values = { "a", "b" }, default = "b" },
            force = { type = "boolean" },
          },
          settings = { MYAPP_REGION = "the region" },
          spends = "yes, a little",
          calls = { "https://example.invalid/api" },
          run = function() end,
        }
    """, name="withparams.lua")
    r = host.run("help", path, "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["calls"] == ["https://example.invalid/api"]
    assert doc["spends"] == "yes, a little" and doc["group"] == "Mine"
    assert doc["settings"] == {"MYAPP_REGION": "the region"}
    p = {e["name"]: e for e in doc["params"]}
    assert p["message"]["required"] is True
    assert p["message"]["max_bytes"] == 5000
    assert p["image"]["default"] == ["u"] and p["image"]["arg"] == "URL"
    assert p["image"]["of"] == "string"
    assert p["slot"]["of"] == "time" and p["slot"]["arg"] == "TIME"
    assert p["mode"]["values"] == ["a", "b"] and p["mode"]["default"] == "b"
    assert p["mode"]["arg"] == "a|b"
    assert p["force"]["type"] == "boolean" and "default" not in p["force"]
    assert doc["usage"].startswith("clawhost run withparams --message TEXT")


def test_help_json_of_a_recipe_without_params(host):
    path = host.recipe("return { run = function() end }", name="bare.lua")
    r = host.run("help", path, "--json")
    assert r.code == 0, r
    assert '"params": []' in r.out
    assert r.json()["params"] == [] and r.json()["spends"] is False


# ---- --help, version, usage errors ----

@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_level_help(host, flag):
    r = host.run(flag)
    assert r.code == 0, r
    assert "usage:" in r.out and "clawhost run RECIPE" in r.out
    assert "exit status" in r.out
    for opt in ("--json", "--dry-run", "--timeout", "--memory-mb",
                "--budget", "--cleanup-timeout", "--log-json"):
        assert opt in r.out


@pytest.mark.parametrize("cmd,words", [
    ("list", ["usage: clawhost list", "--json", "--all",
              "clawhost help RECIPE"]),
    ("ledger", ["usage: clawhost ledger", "--open", "--release ID",
                "--settle ID USD", "CLAWHOST_STATE_DIR"]),
    ("setup", ["usage: clawhost setup", "--from-env"]),
    ("check", ["usage: clawhost check"]),
])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_subcommand_help(host, cmd, words, flag):
    r = host.run(cmd, flag)
    assert r.code == 0, r
    for w in words:
        assert w in r.out, w
    assert r.err == ""
    if cmd == "ledger":         # help only: no ledger made
        assert not (host.home / ".local" / "state").exists()


@pytest.mark.parametrize("cmd", ["version", "--version", "-V"])
def test_version(host, cmd):
    r = host.run(cmd)
    assert r.code == 0, r
    assert r.out.startswith("clawhost %s (" % VERSION)
    assert "Lua 5.4" in r.out
    r = host.run("--quiet", cmd)    # after global options too
    assert r.code == 0, r
    assert r.out.startswith("clawhost %s (" % VERSION)


def test_no_arguments_is_a_usage_error(host):
    r = host.run()
    assert r.code == 2, r
    assert r.out == ""
    assert "usage:" in r.err and "clawhost run RECIPE" in r.err


@pytest.mark.parametrize("typo,suggestion", [("rn", "run"), ("lst", "list"),
                                             ("hepl", "help"),
                                             ("verison", "version")])
def test_unknown_command_suggests(host, typo, suggestion):
    r = host.run(typo, "hello")
    assert r.code == 2, r
    assert "unknown command '%s'" % typo in r.err
    assert "did you mean %s?" % suggestion in r.err


def test_unknown_command_without_a_close_match(host):
    r = host.run("xyzzyplugh")
    assert r.code == 2, r
    assert "unknown command 'xyzzyplugh'" in r.err
    assert "did you mean" not in r.err


def test_run_without_a_recipe(host):
    r = host.run("run")
    assert r.code == 2, r
    assert "which recipe" in r.err


def test_run_unknown_recipe_suggests(host):
    r = host.run("run", "helo")
    assert r.code == 2, r
    assert "no recipe 'helo'" in r.err and "did you mean hello?" in r.err


@pytest.mark.parametrize("name", ["../hello", "hel lo", "a" * 80])
def test_run_bad_recipe_names(host, name):
    r = host.run("run", name)
    assert r.code == 2, r


def test_run_missing_file_and_non_lua_file(host):
    r = host.run("run", "./nope.lua")
    assert r.code == 2, r
    assert "no recipe file" in r.err
    (host.dir / "notes.txt").write_text("x")
    r = host.run("run", "./notes.txt")
    assert r.code == 2, r
    assert "not a .lua file" in r.err


# ---- broken recipes are configuration errors (exit 2) ----

@pytest.mark.parametrize("src,words", [
    ("return 5", "must return a table"),
    ("return {}", "`run` must be a function"),
    ("return { run = 5 }", "`run` must be a function"),
    ("return { description = 5, run = function() end }",
     "`description` must be a string"),
    ("this is not lua", "does not load"),
    ("return { run = function() end, params = 5 }",
     "params must be a table"),
])
def test_broken_recipes_exit_2(host, src, words):
    path = host.recipe(src, name="broken.lua")
    r = host.run("run", path)
    assert r.code == 2, r
    assert words in r.err
    assert r.out == ""


def test_broken_recipe_with_json_reports_error_object(host):
    path = host.recipe("return 5", name="broken.lua")
    r = host.run("run", path, "--json")
    assert r.code == 2, r
    assert r.json()["error"]["code"] == "config"


def test_binary_recipe_file_is_refused(host):
    path = host.dir / "bin.lua"
    path.write_bytes(b"\x1bLua\x54\x00garbage")
    r = host.run("run", path)
    assert r.code in (2, 4), r
    assert "binary" in r.err


def test_shebang_line_is_allowed_and_line_numbers_kept(host):
    path = host.recipe("#!/usr/bin/env clawhost\n"
                       "return { run = function()\n"
                       "  error('on line three')\n"
                       "end }\n", name="shebang.lua")
    r = host.run("run", path)
    assert r.code == 1, r
    assert "shebang.lua:3: on line three" in r.err


# ---- where the installation is ----

def test_plain_binary_finds_recipes_next_to_it(host):
    if not os.path.exists(PLAIN_BIN):
        pytest.skip("build/clawhost is not built")
    del host.env["CLAWHOST_HOME"]
    r = host.run("run", "hello", "--json", binary=PLAIN_BIN)
    assert r.code == 0, r


def test_clawhost_home_selects_the_installation(host, tmp_path):
    root = tmp_path / "inst"
    (root / "recipes").mkdir(parents=True)
    (root / "lua").mkdir()
    (root / "lua" / "greet.lua").write_text(
        "return { word = 'hi from lua/' }")
    (root / "recipes" / "mine.lua").write_text(
        'local g = require "greet"\n'
        'return { description = "mine", run = function() '
        'return g.word end }')
    r = host.run("run", "mine", env={"CLAWHOST_HOME": str(root)})
    assert r.code == 0, r
    assert r.out == "hi from lua/\n"


def test_asan_binary_finds_the_checkout(host):
    """build/asan/clawhost finds recipes/ two folders up (fixed in
    1cd5735; before, run_lua.sh build/asan/clawhost failed)."""
    asan = ROOT / "build" / "asan" / "clawhost"
    if not asan.exists():
        pytest.skip("build/asan/clawhost is not built")
    del host.env["CLAWHOST_HOME"]
    r = host.run("run", "hello", "--json", binary=str(asan))
    assert r.code == 0, r
