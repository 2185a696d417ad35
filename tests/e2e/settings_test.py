"""Settings that follow the user (docs/secrets.md, "Where a setting comes
from"): the user file $XDG_CONFIG_HOME/clawhost/env (~/.config/clawhost/
env), --env-file and $CLAWHOST_ENV_FILE, the one order secrets and
config share, the refusals, and "not set" messages that list every place
searched with its path (host/runtime/sources.c, host/lib/secret.c,
lua/client).

HOME is the test's own (conftest.py), XDG_CONFIG_HOME is dropped unless
a test sets it to a folder of its own: no test reads or writes the real
user's files.
"""
import os

import pytest

from tests.e2e.fixtures.util import home, run_lua  # noqa: F401

QUEUE = "queue-secret-0123456789"


def write(path, text, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def user_file(host, xdg=None):
    base = xdg if xdg else host.home / ".config"
    return base / "clawhost" / "env"


PROBE = """
local secret = require "secret"
local s = secret.get("THREADS_QUEUE_SECRET")
return {base = config.get("THREADS_FASTAPI_BASE_URL"),
        base_source = config.source("THREADS_FASTAPI_BASE_URL"),
        secret_source = s and secret.info(s).source,
        hosts = s and secret.info(s).hosts}
"""


# ---- the user file, from / ----

@pytest.mark.parametrize("xdg", [None, "xdg"])
def test_from_root_a_recipe_sees_the_user_file(host, xdg):
    """What cron does: cd / && clawhost run ..."""
    env = {}
    if xdg:
        env["XDG_CONFIG_HOME"] = str(host.dir / xdg)
    write(user_file(host, xdg and host.dir / xdg),
          "THREADS_FASTAPI_BASE_URL=http://127.0.0.1:9\n"
          "THREADS_QUEUE_SECRET=" + QUEUE + "\n")
    r = run_lua(host, PROBE, "--json", cwd="/", env=env)
    assert r.code == 0, r
    assert r.json() == {"base": "http://127.0.0.1:9",
                        "base_source": "user-file",
                        "secret_source": "user-file",
                        "hosts": ["127.0.0.1:9"]}
    assert QUEUE not in r.text


def test_xdg_config_home_replaces_the_default(host):
    write(user_file(host), "THREADS_FASTAPI_BASE_URL=http://home:1\n")
    write(user_file(host, host.dir / "xdg"),
          "THREADS_FASTAPI_BASE_URL=http://xdg:2\n")
    r = run_lua(host, PROBE, "--json", cwd="/",
                env={"XDG_CONFIG_HOME": str(host.dir / "xdg")})
    assert r.code == 0, r
    assert r.json()["base"] == "http://xdg:2"


@pytest.mark.parametrize("value", ["", "relative/dir"])
def test_an_empty_or_relative_xdg_config_home_is_ignored(host, value):
    """XDG Base Directory spec: a relative path is invalid and ignored;
    unset or empty means ~/.config."""
    (host.dir / "relative" / "dir" / "clawhost").mkdir(parents=True)
    write(host.dir / "relative" / "dir" / "clawhost" / "env",
          "THREADS_FASTAPI_BASE_URL=http://relative:3\n")
    write(user_file(host), "THREADS_FASTAPI_BASE_URL=http://home:1\n")
    r = run_lua(host, PROBE, "--json", env={"XDG_CONFIG_HOME": value})
    assert r.code == 0, r
    assert r.json()["base"] == "http://home:1"


def test_the_publish_recipe_from_root_finds_its_settings(host):
    """The issue's own case: publish from / fails only past the settings
    (nothing listens on port 9), not with "missing settings"."""
    write(user_file(host), "THREADS_FASTAPI_BASE_URL=http://127.0.0.1:9\n"
          "THREADS_QUEUE_SECRET=" + QUEUE + "\n")
    r = host.run("run", "publish", "--message", "x", "--dry-run", cwd="/")
    assert "missing setting" not in r.err, r
    assert r.code == 0, r
    assert QUEUE not in r.text


# ---- one order for every place ----

PLACES = ["provider", "folder", "env", "env-file", ".env.local",
          "user-file"]


def put(host, place, name, value):
    """Set name=value in one place; returns the environment it needs."""
    if place == "provider":
        write(host.dir / "prov" / name, value)
        return {"CREDENTIALS_DIRECTORY": str(host.dir / "prov")}
    if place == "folder":
        write(host.dir / "fold" / name, value)
        return {"CLAWHOST_SECRETS_DIR": str(host.dir / "fold")}
    if place == "env":
        return {name: value}
    path = {"env-file": host.dir / "extra.env",
            ".env.local": host.dir / ".env.local",
            "user-file": user_file(host)}[place]
    old = path.read_text() if path.exists() else ""
    write(path, old + "%s=%s\n" % (name, value))
    return {"CLAWHOST_ENV_FILE": str(path)} if place == "env-file" else {}


@pytest.mark.parametrize("first", range(len(PLACES)))
def test_secret_precedence(host, first):
    """The name is set in places[first] and in every later place: the
    first one wins, whatever the later ones say."""
    env = {}
    for place in PLACES[first:]:
        env.update(put(host, place, "MYAPP_TOKEN", "value-from-" + place))
    r = run_lua(host, 'local secret = require "secret"\n'
                'return secret.info(secret.require("MYAPP_TOKEN")).source',
                "--json", env=env)
    assert r.code == 0, r
    assert r.json() == PLACES[first]


CONFIG_PLACES = PLACES[2:]


@pytest.mark.parametrize("first", range(len(CONFIG_PLACES)))
def test_config_precedence(host, first):
    """config reads the same places after the two credential folders,
    which hold one credential per file and are only read by secret."""
    env = {}
    for place in PLACES[first + 2:]:
        env.update(put(host, place, "MYAPP_BASE_URL", "http://" +
                       place.strip(".") + ":1"))
    env.update(put(host, "provider", "MYAPP_BASE_URL", "http://prov:1"))
    r = run_lua(host, 'return {config.get("MYAPP_BASE_URL"), '
                'config.source("MYAPP_BASE_URL")}', "--json", env=env,
                settings=["MYAPP_BASE_URL"])
    assert r.code == 0, r
    place = CONFIG_PLACES[first]
    assert r.json() == ["http://" + place.strip(".") + ":1", place]


def test_each_alias_goes_through_every_place_first(host):
    """THETA_ONDEMAND_API_TOKEN in the user file wins over THETA_API_KEY
    in the environment: one name through all places, then the next."""
    write(user_file(host), "THETA_ONDEMAND_API_TOKEN=tok-user-file-123\n")
    r = run_lua(host, 'local secret = require "secret"\n'
                'local s = secret.require("THETA_ONDEMAND_API_TOKEN")\n'
                'return {secret.info(s).name, secret.info(s).source}',
                "--json", env={"THETA_API_KEY": "tok-env-key-12345"})
    assert r.code == 0, r
    assert r.json() == ["THETA_ONDEMAND_API_TOKEN", "user-file"]


def test_prefix_binding_sees_the_settings_files(host):
    """MYAPP_TOKEN goes to MYAPP_BASE_URL, found in the user file."""
    write(user_file(host), "MYAPP_BASE_URL=http://127.0.0.1:7\n"
          "MYAPP_TOKEN=myapp-token-123\n")
    r = run_lua(host, 'local secret = require "secret"\n'
                'return secret.info(secret.require("MYAPP_TOKEN")).hosts',
                "--json", cwd="/")
    assert r.code == 0, r
    assert r.json() == ["127.0.0.1:7"]


# ---- refusals ----

@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_user_file_others_may_use_is_refused(host, mode):
    path = write(user_file(host), "THREADS_FASTAPI_BASE_URL=http://x:1\n",
                 mode)
    r = run_lua(host, PROBE, cwd="/")
    assert r.code == 2, r
    assert ("%s can be read or changed by others (mode %04o); it holds "
            "credentials: run chmod 600 %s" % (path, mode, path)) in r.err


def test_a_refused_user_file_is_not_reached_when_an_earlier_place_has_it(
        host):
    write(user_file(host), "THREADS_FASTAPI_BASE_URL=http://x:1\n", 0o644)
    r = run_lua(host, 'return config.get("THREADS_FASTAPI_BASE_URL")',
                "--json", env={"THREADS_FASTAPI_BASE_URL": "http://env:2"})
    assert r.code == 0, r
    assert r.json() == "http://env:2"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
@pytest.mark.parametrize("which", ["user", "env-file"])
def test_a_file_another_user_owns_is_refused(host, which):
    path = user_file(host) if which == "user" else host.dir / "x.env"
    write(path, "THREADS_FASTAPI_BASE_URL=http://x:1\n")
    os.chown(path, 65534, 65534)
    env = {"CLAWHOST_ENV_FILE": str(path)} if which != "user" else {}
    r = run_lua(host, PROBE, env=env)
    assert r.code == 2, r
    assert ("%s belongs to another user; it holds credentials, so "
            "clawhost only reads its own" % path) in r.err


def test_a_user_file_that_does_not_parse_names_its_line(host):
    path = write(user_file(host), "OK=1\nzebra line\n")
    r = run_lua(host, PROBE)
    assert r.code == 2, r
    assert "%s:2: expected KEY=value" % path in r.err
    assert "zebra" not in r.err


# ---- $CLAWHOST_ENV_FILE ----

def test_clawhost_env_file(host):
    path = write(host.dir / "conf" / "prod.env",
                 "THREADS_FASTAPI_BASE_URL=http://127.0.0.1:9\n"
                 "THREADS_QUEUE_SECRET=" + QUEUE + "\n")
    write(host.dir / ".env.local", "THREADS_FASTAPI_BASE_URL=http://no:1\n")
    r = run_lua(host, PROBE, "--json", env={"CLAWHOST_ENV_FILE": str(path)})
    assert r.code == 0, r
    assert r.json()["base"] == "http://127.0.0.1:9"
    assert r.json()["base_source"] == "env-file"
    assert r.json()["secret_source"] == "env-file"


def test_clawhost_env_file_is_checked_like_env_local(host):
    path = write(host.dir / "prod.env", "THREADS_QUEUE_SECRET=x\n", 0o640)
    r = run_lua(host, PROBE, env={"CLAWHOST_ENV_FILE": str(path)})
    assert r.code == 2, r
    assert ("%s can be read or changed by others (mode 0640); it holds "
            "credentials: run chmod 600 %s" % (path, path)) in r.err


def test_a_missing_clawhost_env_file_is_an_error(host):
    missing = host.dir / "nope.env"
    r = run_lua(host, PROBE, env={"CLAWHOST_ENV_FILE": str(missing)})
    assert r.code == 2, r
    assert "%s ($CLAWHOST_ENV_FILE): no such file" % missing in r.err


# ---- --env-file ----

@pytest.mark.parametrize("where", ["before", "after", "equals"])
def test_env_file_option_before_or_after_the_command(host, where):
    path = write(host.dir / "conf" / "opt.env",
                 "THREADS_FASTAPI_BASE_URL=http://127.0.0.1:9\n"
                 "THREADS_QUEUE_SECRET=" + QUEUE + "\n")
    other = write(host.dir / "other.env", "THREADS_FASTAPI_BASE_URL=x\n")
    recipe = host.recipe("local config = require 'config'\n"
                         "return { run = function() " + PROBE + " end }\n")
    args = {"before": ["--env-file", path, "run", recipe, "--json"],
            "after": ["run", recipe, "--json", "--env-file", path],
            "equals": ["run", "--env-file=%s" % path, recipe, "--json"]}
    # the option wins over $CLAWHOST_ENV_FILE
    r = host.run(*args[where], cwd="/",
                 env={"CLAWHOST_ENV_FILE": str(other)})
    assert r.code == 0, r
    assert r.json()["base"] == "http://127.0.0.1:9"
    assert r.json()["base_source"] == "env-file"
    assert r.json()["secret_source"] == "env-file"


def test_env_file_option_comes_after_the_environment(host):
    path = write(host.dir / "opt.env", "THREADS_FASTAPI_BASE_URL=http://f:1\n")
    write(host.dir / ".env.local", "THREADS_FASTAPI_BASE_URL=http://l:2\n")
    r = run_lua(host, PROBE, "--json", "--env-file", path,
                env={"THREADS_FASTAPI_BASE_URL": "http://env:3"})
    assert r.code == 0, r
    assert r.json()["base"] == "http://env:3"


@pytest.mark.parametrize("mode,says", [
    (0o644, "can be read or changed by others (mode 0644); it holds "
            "credentials: run chmod 600 {path}"),
    (None, "{path} (--env-file): no such file"),
])
def test_an_unusable_env_file_stops_the_run_before_it_starts(host, mode,
                                                             says):
    """Even a recipe that reads no setting: a typo in a crontab shows."""
    path = host.dir / "opt.env"
    if mode is not None:
        write(path, "X=1\n", mode)
    r = host.run("run", "hello", "--env-file", path)
    assert r.code == 2, r
    assert says.format(path=path) in r.err
    assert "hello" not in r.out


def test_env_file_option_needs_a_value(host):
    r = host.run("run", "hello", "--env-file")
    assert r.code == 2, r
    assert "--env-file needs a value" in r.err
    r = host.run("check", "--env-file=")
    assert r.code == 2, r
    assert "--env-file needs a file name" in r.err


# ---- "not set" says where it looked ----

def test_secret_require_lists_every_place(host):
    r = run_lua(host, 'local secret = require "secret"\n'
                'secret.require("MYAPP_TOKEN")', cwd="/")
    assert r.code == 2, r
    assert ("MYAPP_TOKEN is not set; looked in: $CREDENTIALS_DIRECTORY "
            "(not set), $CLAWHOST_SECRETS_DIR (not set), the environment, "
            "--env-file (not given), ./.env.local (/.env.local: none), "
            "~/.config/clawhost/env (%s: none). Run `clawhost setup`"
            % user_file(host)) in r.err, r.err
    # one line of message, then the hint line (issue 15)
    msg, hint = r.err.strip().split("error: ", 1)[-1].split("\n")
    assert hint.startswith("hint: fix the setting"), r.err


def test_missing_settings_list_every_place_with_paths(host):
    """cd / && clawhost run publish: both settings named, each place
    searched, in order, with its path."""
    write(user_file(host, host.dir / "xdg"), "UNRELATED=1\n")
    env_file = write(host.dir / "e.env", "OTHER=1\n")
    r = host.run("run", "publish", "--message", "x", cwd="/",
                 env={"XDG_CONFIG_HOME": str(host.dir / "xdg"),
                      "CLAWHOST_ENV_FILE": str(env_file),
                      "CLAWHOST_SECRETS_DIR": str(host.dir)})
    assert r.code == 2, r
    assert ("missing settings: THREADS_FASTAPI_BASE_URL (your backend's "
            "base URL, e.g. http://127.0.0.1:8000); THREADS_QUEUE_SECRET "
            "(the X-Queue-Secret value your backend expects); looked in: "
            "$CREDENTIALS_DIRECTORY (not set), $CLAWHOST_SECRETS_DIR (%s), "
            "the environment, $CLAWHOST_ENV_FILE (%s), ./.env.local "
            "(/.env.local: none), $XDG_CONFIG_HOME/clawhost/env (%s). Run "
            "`clawhost setup`, or set them in one of those places"
            % (host.dir, env_file, user_file(host, host.dir / "xdg"))
            ) in r.err, r.err


def test_a_missing_base_url_lists_the_places_config_reads(host):
    r = host.run("run", "postimg", "--prompt", "x")
    assert r.code == 2, r
    assert ("missing setting: THREADS_FASTAPI_BASE_URL (your backend's "
            "base URL, e.g. http://127.0.0.1:8000); looked in: the "
            "environment, --env-file (not given), ./.env.local (%s: none), "
            "~/.config/clawhost/env (%s: none)"
            % (host.dir / ".env.local", user_file(host))) in r.err, r.err
