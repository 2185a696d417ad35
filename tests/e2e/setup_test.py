"""`clawhost setup` and `clawhost check` end to end (docs/secrets.md):
.env.local written atomically with mode 0600, unrelated lines kept,
values read back byte for byte by clawhost and by a shell, nothing
written unless every value is valid, secrets read without echo on a
terminal, and check never printing a secret's value.

Loopback only: the one server is tests/servers/echo_secret.py.
"""
import json
import os
import pathlib
import pty
import resource
import select
import signal
import stat
import subprocess
import termios
import textwrap
import time

import pytest

from tests.e2e.conftest import BIN, clean_env
from tests.servers import harness

QUEUE = "Qu3ue-S3cret-'with'-\"quotes\"-$HOME-%41-&amp;"
TOKEN = "ondemand-TOKEN-0123456789abcdef"
EC_KEY = "ec-key-ABCDEFGHIJKLMNOP"
PASS = "p@ss w0rd with `tick` and \\back"


def env_file(host):
    return host.dir / ".env.local"


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def run_setup(host, lines, *args, env=None):
    return host.run("setup", *args, input="".join(l + "\n" for l in lines),
                    env=env)


def no_secret_in(text, *secrets):
    for s in secrets:
        assert s not in text, "a secret value was printed"
        for part in (s[:12], s[-12:]):
            assert part not in text, "part of a secret value was printed"


def shell_value(host, name):
    """What a POSIX shell reads from .env.local (set -a; . ./.env.local)."""
    p = subprocess.run(["sh", "-c", 'set -a; . ./.env.local; printf %s "$'
                        + name + '"'], cwd=host.dir, capture_output=True,
                       text=True, env={"PATH": os.environ["PATH"]})
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def echo():
    with harness.start("echo_secret") as srv:
        yield srv


def seen_auth(server):
    import urllib.request
    with urllib.request.urlopen(server.url + "/_seen", timeout=10) as r:
        return json.load(r)


# ---- setup from stdin ----

def test_stdin_creates_a_private_file(host):
    r = run_setup(host, ["THREADS_FASTAPI_BASE_URL=http://127.0.0.1:8000/",
                     "THREADS_QUEUE_SECRET=" + QUEUE,
                     "THETA_EC_PROJECT_ID=prj_abc_1",
                     "# a comment", "",
                     "export THETA_ORG_ID=org_X"])
    assert r.code == 0, r
    path = env_file(host)
    assert mode_of(path) == 0o600
    text = path.read_text()
    assert text.startswith("# .env.local")
    assert "THREADS_FASTAPI_BASE_URL=http://127.0.0.1:8000\n" in text
    assert "THETA_EC_PROJECT_ID=prj_abc_1\n" in text
    no_secret_in(r.text, QUEUE)
    assert "THREADS_QUEUE_SECRET" in r.out
    assert shell_value(host, "THREADS_QUEUE_SECRET") == QUEUE
    assert shell_value(host, "THETA_ORG_ID") == "org_X"
    assert not list(host.dir.glob(".env.local.tmp.*"))


def test_value_reaches_the_wire_byte_for_byte(host, echo):
    """Written by setup, read back by clawhost, sent as a header."""
    r = run_setup(host, ["THREADS_FASTAPI_BASE_URL=" + echo.url,
                     "THREADS_QUEUE_SECRET=" + QUEUE,
                     "THETA_INFERENCE_AUTH_PASS=" + PASS])
    assert r.code == 0, r
    host.recipe(textwrap.dedent("""
        local secret = require "secret"
        local http = require "http"
        local config = require "config"
        return { run = function(ctx)
          local s = secret.require("THREADS_QUEUE_SECRET")
          local p = secret.require("THETA_INFERENCE_AUTH_PASS")
          local res = assert(http.get(
            config.get("THREADS_FASTAPI_BASE_URL") .. "/publish",
            {headers = {["X-Queue-Secret"] = s}}))
          return {status = res.status, source = secret.info(s).source,
                  pass_source = secret.info(p).source}
        end }
        """), "wire.lua")
    run = host.run("run", "wire.lua", "--json")
    assert run.code == 0, run
    assert run.json() == {"status": 200, "source": ".env.local",
                          "pass_source": ".env.local"}
    sent = [v for req in seen_auth(echo)["headers"] for k, v in req
            if k.lower() == "x-queue-secret"]
    assert sent[-1].encode("latin-1") == QUEUE.encode()
    assert shell_value(host, "THETA_INFERENCE_AUTH_PASS") == PASS


def test_unrelated_lines_are_kept_byte_for_byte(host):
    old = ("# my settings\n"
           "\n"
           "UNRELATED=keep me   # trailing comment\n"
           "export THREADS_QUEUE_SECRET=\"old\n"
           "spanning two lines\"\n"
           "   weird line that is not an entry\n"
           "THETA_EC_PROJECT_ID=prj_old\n"
           "THREADS_QUEUE_SECRET=duplicate-later\n"
           "THETA_ORG_ID=org_gone\n"
           "LAST=no-newline")
    path = env_file(host)
    path.write_text(old)
    os.chmod(path, 0o600)
    r = run_setup(host, ["THREADS_QUEUE_SECRET=" + QUEUE,
                     "THETA_EC_PROJECT_ID=prj_new",
                     "THETA_ORG_ID=",
                     "THETA_MAX_BUDGET_USD=1.50"])
    assert r.code == 0, r
    new = path.read_text()
    assert new == ("# my settings\n"
                   "\n"
                   "UNRELATED=keep me   # trailing comment\n"
                   "export THREADS_QUEUE_SECRET=\"" +
                   QUEUE.replace("\\", "\\\\").replace('"', '\\"')
                   .replace("$", "\\$") + "\"\n"
                   "   weird line that is not an entry\n"
                   "THETA_EC_PROJECT_ID=prj_new\n"
                   "LAST=no-newline\n"
                   "THETA_MAX_BUDGET_USD=1.50\n")
    assert "removed: THETA_ORG_ID" in r.out
    assert shell_value(host, "THREADS_QUEUE_SECRET") == QUEUE


@pytest.mark.parametrize("line,what", [
    ("THREADS_FASTAPI_BASE_URL=http://user:Pw-S3cret-99@127.0.0.1:1",
     "credentials in the URL"),
    ("THREADS_FASTAPI_BASE_URL=ftp://127.0.0.1/Pw-S3cret-99",
     "http:// or https://"),
    ("THETA_ONDEMAND_API_BASE_URL=https://x.example/?k=Pw-S3cret-99",
     "no ?query"),
    ("THETA_EC_PROJECT_ID=Pw-S3cret-99", "prj_"),
    ("THETA_ORG_ID=prj_Pw_S3cret_99", "org_"),
    ("THREADS_TENANT_ID=Pw-S3cret-99!", "a-z 0-9"),
    ("THETA_MAX_BUDGET_USD=Pw-S3cret-99", "THETA_MAX_BUDGET_USD"),
    ("THETA_VIDEO_SA_SECRET=it's `Pw-S3cret-99`", "both ' and `"),
    ("THREADS_QUEUE_SECRTE=Pw-S3cret-99", "did you mean "
                                          "THREADS_QUEUE_SECRET"),
    ("Pw-S3cret-99", "expected NAME=value"),
    ("Pw-S3cret-99abcdefABC=", "not a setting clawhost knows"),
])
def test_invalid_input_writes_nothing_and_never_echoes(host, line, what):
    path = env_file(host)
    path.write_text("KEEP=1\n")
    os.chmod(path, 0o600)
    before = os.stat(path)
    r = run_setup(host, ["THETA_EC_API_KEY=" + EC_KEY, line])
    assert r.code == 2, r
    assert what in r.err, r.err
    assert "nothing written" in r.err
    no_secret_in(r.text, "Pw-S3cret-99", "Pw_S3cret_99", EC_KEY)
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino,
                                                 before.st_mtime_ns)
    assert path.read_text() == "KEEP=1\n"


def test_nothing_to_do(host):
    r = run_setup(host, ["# only a comment", ""])
    assert r.code == 0, r
    assert "nothing to change" in r.out
    assert not env_file(host).exists()


def test_from_env(host):
    env = {"THREADS_FASTAPI_BASE_URL": "https://threads.example/",
           "THREADS_QUEUE_SECRET": QUEUE, "THETA_API_KEY": TOKEN,
           "UNRELATED_VAR": "not taken"}
    r = host.run("setup", "--from-env", env=env, input="")
    assert r.code == 0, r
    text = env_file(host).read_text()
    assert "THREADS_FASTAPI_BASE_URL=https://threads.example\n" in text
    assert "THETA_API_KEY=" + TOKEN + "\n" in text
    assert "UNRELATED_VAR" not in text
    assert mode_of(env_file(host)) == 0o600
    no_secret_in(r.text, QUEUE, TOKEN)
    assert shell_value(host, "THREADS_QUEUE_SECRET") == QUEUE
    bad = host.run("setup", "--from-env", input="",
                   env={"THETA_EC_PROJECT_ID": "nope", "THETA_EC_API_KEY":
                        EC_KEY})
    assert bad.code == 2, bad
    assert "THETA_EC_PROJECT_ID" in bad.err
    assert EC_KEY not in env_file(host).read_text()


def test_a_readable_file_is_rewritten_private(host):
    path = env_file(host)
    path.write_text("THETA_EC_API_KEY=" + EC_KEY + "\n")
    os.chmod(path, 0o644)
    assert host.run("check").code == 2      # refused while 0644
    r = run_setup(host, [])
    assert r.code == 0, r
    assert mode_of(path) == 0o600
    assert "readable by others before" in r.out
    assert path.read_text() == "THETA_EC_API_KEY=" + EC_KEY + "\n"


def test_a_symlink_is_refused(host):
    target = host.dir / "elsewhere.env"
    target.write_text("X=1\n")
    os.chmod(target, 0o600)
    os.symlink(target, env_file(host))
    r = run_setup(host, ["THETA_ORG_ID=org_x"])
    assert r.code == 2, r
    assert "not a regular file" in r.err
    assert target.read_text() == "X=1\n"


def test_failed_write_leaves_the_old_file_whole(host):
    """A disk that fills up mid-write (RLIMIT_FSIZE): the old file stays
    exactly as it was and no temporary file is left behind."""
    path = env_file(host)
    old = "# precious\nTHETA_ORG_ID=org_keep\n"
    path.write_text(old)
    os.chmod(path, 0o600)

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    full_env = clean_env(host.home)
    p = subprocess.run([BIN, "setup"], cwd=host.dir, env=full_env,
                       input="THREADS_QUEUE_SECRET=" + "Q" * 200 + "\n",
                       capture_output=True, text=True, timeout=30,
                       preexec_fn=small_disk)
    assert p.returncode == 1, p.stderr
    assert "left as it was" in p.stderr
    assert "Q" * 12 not in p.stdout + p.stderr
    assert path.read_text() == old
    assert mode_of(path) == 0o600
    assert sorted(x.name for x in host.dir.iterdir()
                  if x.name.startswith(".env")) == [".env.local"]


def test_setup_usage(host):
    r = host.run("setup", "--help")
    assert r.code == 0
    for name in ("THREADS_FASTAPI_BASE_URL", "THETA_ONDEMAND_API_TOKEN",
                 "THETA_VIDEO_SA_SECRET", "THETA_MAX_BUDGET_USD"):
        assert name in r.out
    r = host.run("setup", "--bogus", input="")
    assert r.code == 2 and "--bogus" in r.err
    r = host.run("setpu")
    assert r.code == 2 and "did you mean setup" in r.err
    assert "clawhost setup" in host.run("--help").out
    assert "clawhost check" in host.run("--help").out


# ---- which file: the user file or ./.env.local ----

def user_env(host, xdg=None):
    return (xdg or host.home / ".config") / "clawhost" / "env"


READ_BACK = """
local secret = require "secret"
local config = require "config"
return { run = function()
  local s = secret.require("THREADS_QUEUE_SECRET")
  return {config.get("THREADS_FASTAPI_BASE_URL"), secret.info(s).source}
end }
"""


@pytest.mark.parametrize("xdg", [None, "xdg"])
def test_setup_user_writes_the_user_file(host, xdg):
    env = {"XDG_CONFIG_HOME": str(host.dir / xdg)} if xdg else {}
    r = run_setup(host, ["THREADS_FASTAPI_BASE_URL=http://127.0.0.1:9",
                         "THREADS_QUEUE_SECRET=" + QUEUE], "--user",
                  env=env)
    assert r.code == 0, r
    path = user_env(host, xdg and host.dir / xdg)
    assert "wrote %s (mode 0600)" % path in r.out
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700      # made by setup (XDG spec)
    assert not env_file(host).exists()
    no_secret_in(r.text, QUEUE)
    # read back from anywhere, / included
    probe = host.recipe(READ_BACK, "back.lua")
    run = host.run("run", probe, "--json", cwd="/", env=env)
    assert run.code == 0, run
    assert run.json() == ["http://127.0.0.1:9", "user-file"]


def test_setup_user_keeps_the_user_file_lines(host):
    path = user_env(host)
    path.parent.mkdir(parents=True)
    path.write_text("# mine\nOTHER=1\nTHETA_ORG_ID=org_old\n")
    os.chmod(path, 0o600)
    r = run_setup(host, ["THETA_ORG_ID=org_new"], "--user")
    assert r.code == 0, r
    assert path.read_text() == "# mine\nOTHER=1\nTHETA_ORG_ID=org_new\n"


def test_setup_from_env_with_user(host):
    r = host.run("setup", "--from-env", "--user", input="",
                 env={"THETA_API_KEY": TOKEN})
    assert r.code == 0, r
    assert user_env(host).read_text().endswith("THETA_API_KEY=" + TOKEN +
                                               "\n")
    assert mode_of(user_env(host)) == 0o600
    no_secret_in(r.text, TOKEN)


def test_setup_project_writes_env_local_even_in_home(host):
    r = host.run("setup", "--project", input="THETA_ORG_ID=org_p\n",
                 cwd=host.home)
    assert r.code == 0, r
    assert (host.home / ".env.local").read_text().endswith(
        "THETA_ORG_ID=org_p\n")
    assert not user_env(host).exists()


def test_user_and_project_do_not_go_together(host):
    r = host.run("setup", "--user", "--project", input="")
    assert r.code == 2, r
    assert "--user and --project do not go together" in r.err


@pytest.mark.parametrize("where,existing,expect", [
    ("scratch", False, "project"),      # any other folder: as before
    ("home", False, "user"),            # $HOME is no project
    ("home", True, "project"),          # ... unless it has a .env.local
    ("root", False, "user"),            # what cron runs from
])
def test_the_default_file(host, where, existing, expect):
    cwd = {"scratch": host.dir, "home": host.home, "root": "/"}[where]
    local = pathlib.Path(cwd) / ".env.local"
    had_root_file = where == "root" and local.exists()
    if where == "root" and had_root_file:
        pytest.skip("/.env.local exists on this machine")
    if existing:
        local.write_text("# here\n")
        os.chmod(local, 0o600)
    try:
        r = host.run("setup", input="THETA_ORG_ID=org_d\n", cwd=cwd)
        assert r.code == 0, r
        written = user_env(host) if expect == "user" else local
        assert "wrote %s (mode 0600)" % (
            written if expect == "user" else ".env.local") in r.out
        assert written.read_text().endswith("THETA_ORG_ID=org_d\n")
        other = local if expect == "user" else user_env(host)
        assert not other.exists()
    finally:
        if where == "root" and not had_root_file and local.exists():
            local.unlink()


def test_interactive_asks_where_and_writes_the_user_file(host):
    """The question comes first, 2 picks the user file, and a value in
    ./.env.local is said to win over it."""
    local = env_file(host)
    local.write_text("THETA_ORG_ID=org_local\n")
    os.chmod(local, 0o600)
    t = Pty(host)
    t.PROMPT = b"(Enter keeps, - removes from ~/.config/clawhost/env): "
    try:
        t.where("x")            # not an answer: asked again
        t.read_until(b"not taken: type 1 or 2")
        t.where("2")
        answers = {"THETA_EC_PROJECT_ID": "prj_user"}
        for name in ORDER:
            t.answer(name, answers.get(name, ""))
        assert t.finish() == 0, t.screen[-800:]
    finally:
        t.close()
    screen = t.screen.decode("utf-8", "replace")
    assert "1  %s" % local in screen
    assert "2  %s" % user_env(host) in screen
    assert "settings go to %s (mode 0600)" % user_env(host) in screen
    assert ("(that wins over ~/.config/clawhost/env; a value entered here "
            "is used only once it is gone)") in screen
    assert user_env(host).read_text().endswith("THETA_EC_PROJECT_ID="
                                               "prj_user\n")
    assert local.read_text() == "THETA_ORG_ID=org_local\n"


# ---- check ----

def test_check_sources_and_never_a_secret(host):
    prov, fold = host.dir / "prov", host.dir / "fold"
    prov.mkdir()
    fold.mkdir()
    (prov / "THREADS_QUEUE_SECRET").write_text(QUEUE + "\n")
    (fold / "THETA_EC_API_KEY").write_text(EC_KEY)
    os.chmod(fold / "THETA_EC_API_KEY", 0o600)
    path = env_file(host)
    path.write_text("THETA_INFERENCE_AUTH_PASS='" + "x" * 3 + PASS.replace(
        "'", "") + "'\nTHETA_INFERENCE_AUTH_USER=alice\n"
        "THETA_INFERENCE_ENDPOINT=https://e.onthetaedgecloud.com/\n")
    os.chmod(path, 0o600)
    env = {"CREDENTIALS_DIRECTORY": str(prov),
           "CLAWHOST_SECRETS_DIR": str(fold),
           "THREADS_FASTAPI_BASE_URL": "http://127.0.0.1:9",
           "THETA_ONDEMAND_API_KEY": TOKEN,
           "THETA_EC_PROJECT_ID": "prj_demo"}
    r = host.run("check", env=env)
    assert r.code == 0, r
    no_secret_in(r.text, QUEUE, EC_KEY, TOKEN, PASS.replace("'", ""))
    lines = {ln.split()[0]: ln for ln in r.out.splitlines()
             if ln.startswith("  T")}
    assert "set (provider" in lines["THREADS_QUEUE_SECRET"]
    assert "value hidden" in lines["THREADS_QUEUE_SECRET"]
    assert "set (folder" in lines["THETA_EC_API_KEY"]
    assert "set as THETA_ONDEMAND_API_KEY (env)" in \
        lines["THETA_ONDEMAND_API_TOKEN"]
    assert "(.env.local), value hidden" in lines["THETA_INFERENCE_AUTH_PASS"]
    # non-secret settings may show their value
    assert "http://127.0.0.1:9" in lines["THREADS_FASTAPI_BASE_URL"]
    assert "alice" in lines["THETA_INFERENCE_AUTH_USER"]
    assert "not set" in lines["THETA_VIDEO_SA_ID"]
    ready = [ln.split("configured", 1)[1].strip()
             for ln in r.out.splitlines() if ln.startswith("  configured")]
    assert ready == ["Threads publishing", "Theta on-demand",
                     "Theta deployments (controller)",
                     "Theta dedicated inference"]
    assert "missing    Theta Video" in r.out
    # plain check calls nothing, so it claims nothing works
    assert " ready " not in r.out
    assert "nothing was called" in r.out and "--online" in r.out


def test_check_flags_problems(host):
    path = env_file(host)
    path.write_text("THREADS_QUEUE_SECRET=sh0rt\n"
                    "THETA_API_KEY=" + TOKEN + "\n")
    os.chmod(path, 0o600)
    fold = host.dir / "fold"
    fold.mkdir()
    (fold / "THETA_VIDEO_SA_SECRET").write_text("video-secret-value-1")
    os.chmod(fold / "THETA_VIDEO_SA_SECRET", 0o644)
    env = {"THREADS_FASTAPI_BASE_URL": "http://u:pw@127.0.0.1:9/",
           "THETA_ONDEMAND_API_TOKEN": TOKEN + "-main",
           "THETA_INFERENCE_ENDPOINT": "http://e.example",
           "THETA_VIDEO_SA_ID": "srvacc_x",
           "CLAWHOST_SECRETS_DIR": str(fold)}
    r = host.run("check", env=env)
    no_secret_in(r.text, "sh0rt", TOKEN, "video-secret-value-1")
    probs = r.out.split("problems:", 1)[1].split("workflows:", 1)[0]
    assert "THREADS_FASTAPI_BASE_URL (env): credentials in the URL" in probs
    assert "THREADS_QUEUE_SECRET is shorter than 8 bytes" in probs
    assert "THETA_API_KEY is set too (.env.local) but " \
           "THETA_ONDEMAND_API_TOKEN wins" in probs
    assert "THETA_INFERENCE_ENDPOINT is not https" in probs
    assert "may be read by others" in probs and "chmod 600" in probs
    assert "missing    Threads publishing: THREADS_FASTAPI_BASE_URL is " \
           "invalid" in r.out
    assert "missing    Theta Video: THETA_VIDEO_SA_SECRET cannot be read" \
        in r.out
    assert "  configured Theta on-demand" in r.out
    assert r.code == 0


def test_check_with_a_dotenv_others_can_read(host):
    path = env_file(host)
    path.write_text("THREADS_QUEUE_SECRET=" + QUEUE + "\n"
                    "THREADS_FASTAPI_BASE_URL=http://127.0.0.1:9\n")
    os.chmod(path, 0o644)
    r = host.run("check")
    assert r.code == 2, r
    no_secret_in(r.text, QUEUE)
    assert "mode 0644" in r.out and "chmod 600 .env.local" in r.out
    assert "nothing is configured yet" in r.out
    os.chmod(path, 0o600)
    r = host.run("check")
    assert r.code == 0, r
    assert "  configured Threads publishing" in r.out


def test_check_nothing_set(host):
    r = host.run("check")
    assert r.code == 2
    assert "nothing is configured yet: run `clawhost setup`" in r.out
    assert host.run("check", "--help").code == 0
    assert host.run("check", "extra").code == 2


def test_check_lists_the_settings_files_with_their_paths(host):
    """The sources header names every file in order with its path, and
    a setting from the user file or --env-file says which file."""
    user = user_env(host)
    user.parent.mkdir(parents=True)
    user.write_text("THREADS_FASTAPI_BASE_URL=http://127.0.0.1:9\n"
                    "THREADS_QUEUE_SECRET=" + QUEUE + "\n")
    os.chmod(user, 0o600)
    extra = host.dir / "extra.env"
    extra.write_text("THETA_EC_PROJECT_ID=prj_extra\n")
    os.chmod(extra, 0o600)
    r = host.run("check", "--env-file", extra, cwd="/")
    assert r.code == 0, r
    no_secret_in(r.text, QUEUE)
    head = r.out.split("\n\n", 1)[0].splitlines()
    assert head[1:] == [
        "  provider    $CREDENTIALS_DIRECTORY (not set)",
        "  folder      $CLAWHOST_SECRETS_DIR (not set)",
        "  env         the environment",
        "  env-file    --env-file %s (mode 0600)" % extra,
        "  .env.local  /.env.local (none)",
        "  user-file   %s (mode 0600)" % user]
    lines = {ln.split()[0]: ln for ln in r.out.splitlines()
             if ln.startswith("  T")}
    assert "set (user-file, %s): http://127.0.0.1:9" % user in \
        lines["THREADS_FASTAPI_BASE_URL"]
    assert "set (user-file, %s), value hidden" % user in \
        lines["THREADS_QUEUE_SECRET"]
    assert "set (env-file, %s): prj_extra" % extra in \
        lines["THETA_EC_PROJECT_ID"]
    r = host.run("check", env={"CLAWHOST_ENV_FILE": str(extra)})
    assert "  env-file    $CLAWHOST_ENV_FILE %s (mode 0600)" % extra in r.out
    r = host.run("check")
    assert ("  env-file    (not given: --env-file or $CLAWHOST_ENV_FILE)"
            in r.out)


def test_check_flags_a_user_file_others_can_read(host):
    user = user_env(host)
    user.parent.mkdir(parents=True)
    user.write_text("THREADS_QUEUE_SECRET=" + QUEUE + "\n")
    os.chmod(user, 0o644)
    r = host.run("check")
    assert r.code == 2, r
    assert ("error: %s can be read or changed by others (mode 0644); it "
            "holds credentials: run chmod 600 %s" % (user, user)) in r.out
    no_secret_in(r.text, QUEUE)


SETTING_KEYS = {"name", "group", "secret", "set", "as", "source", "path",
                "valid", "problem"}


@pytest.mark.parametrize("args", [["check", "--json"], ["--json", "check"]])
def test_check_json(host, args):
    """Every setting with where it came from, the workflows, the
    problems; a value of no kind, least of all a secret's."""
    prov = host.dir / "prov"
    prov.mkdir()
    (prov / "THREADS_QUEUE_SECRET").write_text(QUEUE)
    user = user_env(host)
    user.parent.mkdir(parents=True)
    user.write_text("THETA_EC_API_KEY=" + EC_KEY + "\n"
                    "THETA_EC_PROJECT_ID=prj_json\n")
    os.chmod(user, 0o600)
    path = env_file(host)
    path.write_text("THETA_INFERENCE_AUTH_PASS=sh0rt\n")
    os.chmod(path, 0o600)
    env = {"CREDENTIALS_DIRECTORY": str(prov), "THETA_API_KEY": TOKEN,
           "THREADS_FASTAPI_BASE_URL": "http://127.0.0.1:9"}
    r = host.run(*args, env=env)
    assert r.code == 0, r
    no_secret_in(r.text, QUEUE, EC_KEY, TOKEN, "sh0rt")
    assert "http://127.0.0.1:9" not in r.out and "prj_json" not in r.out
    doc = r.json()
    assert set(doc) == {"sources", "settings", "workflows", "problems",
                        "configured"}
    assert [x["source"] for x in doc["sources"]] == [
        "provider", "folder", "env", "env-file", ".env.local", "user-file"]
    assert doc["sources"][5]["path"] == str(user)
    assert doc["sources"][5]["mode"] == "0600"
    settings = {x["name"]: x for x in doc["settings"]}
    assert list(settings) == ORDER
    assert all(set(x) == SETTING_KEYS for x in doc["settings"])
    assert settings["THREADS_QUEUE_SECRET"] == {
        "name": "THREADS_QUEUE_SECRET", "group": "Threads backend",
        "secret": True, "set": True, "as": "THREADS_QUEUE_SECRET",
        "source": "provider", "path": str(prov / "THREADS_QUEUE_SECRET"),
        "valid": True, "problem": None}
    assert settings["THETA_EC_API_KEY"]["source"] == "user-file"
    assert settings["THETA_EC_API_KEY"]["path"] == str(user)
    assert settings["THETA_ONDEMAND_API_TOKEN"]["as"] == "THETA_API_KEY"
    assert settings["THETA_ONDEMAND_API_TOKEN"]["source"] == "env"
    assert settings["THETA_ONDEMAND_API_TOKEN"]["path"] is None
    assert settings["THREADS_FASTAPI_BASE_URL"]["valid"] is True
    short = settings["THETA_INFERENCE_AUTH_PASS"]
    assert short["source"] == ".env.local" and short["valid"] is True
    assert "shorter than 8 bytes" in short["problem"]
    assert settings["THETA_VIDEO_SA_ID"]["set"] is False
    assert settings["THETA_VIDEO_SA_ID"]["valid"] is False
    flows = {w["name"]: w for w in doc["workflows"]}
    assert flows["Threads publishing"] == {
        "name": "Threads publishing", "configured": True, "missing": None}
    assert flows["Theta Video"]["configured"] is False
    assert "THETA_VIDEO_SA_ID is not set" in flows["Theta Video"]["missing"]
    assert any("shorter than 8 bytes" in p for p in doc["problems"])
    assert doc["configured"] is True


def test_check_json_when_nothing_is_usable(host):
    path = env_file(host)
    path.write_text("THREADS_QUEUE_SECRET=" + QUEUE + "\n")
    os.chmod(path, 0o640)
    r = host.run("check", "--json")
    assert r.code == 2, r
    no_secret_in(r.text, QUEUE)
    doc = r.json()
    assert doc["configured"] is False
    assert doc["sources"][4]["state"] == "refused"
    queue = [x for x in doc["settings"]
             if x["name"] == "THREADS_QUEUE_SECRET"][0]
    assert queue["set"] is False and "chmod 600" in queue["problem"]


def test_check_json_and_online_do_not_mix(host):
    r = host.run("check", "--json", "--online")
    assert r.code == 2, r
    assert "--json and --online do not go together" in r.err
    assert r.out == ""


# ---- the terminal: no echo ----

class Pty:
    """clawhost setup on a pseudo-terminal; what the terminal shows is
    in self.screen."""

    def __init__(self, host, env=None):
        self.master, slave = pty.openpty()
        self.slave = slave
        self.proc = subprocess.Popen(
            [BIN, "setup"], cwd=host.dir, stdin=slave, stdout=slave,
            stderr=slave, env=clean_env(host.home, env or {}),
            start_new_session=True)
        self.screen = b""
        self.answered = 0

    def read_until(self, marker, timeout=15):
        end = time.monotonic() + timeout
        while marker not in self.screen and time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    self.screen += os.read(self.master, 4096)
                except OSError:
                    break
        assert marker in self.screen, self.screen[-600:]
        return self.screen

    PROMPT = b"(Enter keeps, - removes from .env.local): "
    WHERE = b"choose 1 or 2 (Enter: "

    def where(self, text):
        """Answer the first question: which file (Enter: the default)."""
        self.read_until(self.WHERE)
        os.write(self.master, text.encode() + b"\r")

    def answer(self, name, text):
        """Wait for the next prompt, check it asks for `name`, then type
        text and Enter."""
        end = time.monotonic() + 15
        while self.screen.count(self.PROMPT) <= self.answered:
            assert time.monotonic() < end, self.screen[-600:]
            self._pump()
        last = self.screen.rfind(self.PROMPT)
        header = self.screen.rfind(b"\n  T", 0, last)
        assert self.screen[header + 3:].startswith(name.encode() + b" "), \
            (name, self.screen[header:last])
        os.write(self.master, text.encode() + b"\r")
        self.answered += 1

    def _pump(self):
        r, _, _ = select.select([self.master], [], [], 0.1)
        if r:
            self.screen += os.read(self.master, 4096)

    def finish(self, timeout=15):
        code = self.proc.wait(timeout)
        try:
            while True:
                r, _, _ = select.select([self.master], [], [], 0.2)
                if not r:
                    break
                data = os.read(self.master, 4096)
                if not data:
                    break
                self.screen += data
        except OSError:
            pass
        return code

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


ORDER = ["THREADS_FASTAPI_BASE_URL", "THREADS_QUEUE_SECRET",
         "THREADS_TENANT_ID", "THETA_ONDEMAND_API_TOKEN",
         "THETA_ONDEMAND_API_BASE_URL", "THETA_EC_API_KEY",
         "THETA_EC_PROJECT_ID", "THETA_ORG_ID", "THETA_INFERENCE_ENDPOINT",
         "THETA_INFERENCE_AUTH_TOKEN", "THETA_INFERENCE_AUTH_USER",
         "THETA_INFERENCE_AUTH_PASS", "THETA_VIDEO_SA_ID",
         "THETA_VIDEO_SA_SECRET", "THETA_MAX_BUDGET_USD",
         "THETA_EDGECLOUD_RPC_URL", "THETA_CHAIN_RPC_URL",
         "THETA_CLI_RPC_URL", "THETA_CLI_PASSWORD"]


def test_interactive_reads_secrets_without_echo(host):
    old_key = "old-ec-key-on-file-0123456789"
    path = env_file(host)
    path.write_text("# mine\nTHETA_EC_API_KEY=" + old_key +
                    "\nTHETA_ORG_ID=org_old\n")
    os.chmod(path, 0o600)
    t = Pty(host, {"THETA_API_KEY": TOKEN})
    try:
        answers = {"THREADS_FASTAPI_BASE_URL": ["ftp://bad", "http://"
                                                "127.0.0.1:8000/"],
                   "THREADS_QUEUE_SECRET": [QUEUE],
                   "THETA_EC_PROJECT_ID": ["prj_typed"],
                   "THETA_ORG_ID": ["-"],
                   "THETA_VIDEO_SA_SECRET": ["  " + PASS + "  "]}
        t.where("")             # a .env.local is here: the default
        for name in ORDER:
            for text in answers.get(name, [""]):
                t.answer(name, text)
        assert t.finish() == 0, t.screen[-800:]
    finally:
        t.close()
    screen = t.screen.decode("utf-8", "replace")
    assert "choose 1 or 2 (Enter: 1)" in screen
    # typed secrets were never echoed, stored ones never shown
    no_secret_in(screen, QUEUE, PASS, old_key, TOKEN)
    # non-secret input is echoed as usual, and bad input asked again
    assert "http://127.0.0.1:8000/" in screen
    assert "not taken: expected an http:// or https:// URL" in screen
    assert "set as THETA_API_KEY (env" in screen
    assert "set (.env.local), value hidden" in screen
    assert "set (.env.local): org_old" in screen
    text = path.read_text()
    assert text.startswith("# mine\nTHETA_EC_API_KEY=" + old_key + "\n")
    assert "THETA_ORG_ID" not in text
    assert "THREADS_FASTAPI_BASE_URL=http://127.0.0.1:8000\n" in text
    assert "THETA_EC_PROJECT_ID=prj_typed\n" in text
    assert mode_of(path) == 0o600
    assert shell_value(host, "THREADS_QUEUE_SECRET") == QUEUE
    assert shell_value(host, "THETA_VIDEO_SA_SECRET") == PASS


def test_interrupt_at_a_secret_prompt_restores_echo(host):
    t = Pty(host)
    try:
        t.where("1")
        t.answer("THREADS_FASTAPI_BASE_URL", "")
        t.read_until(b"not shown (Enter keeps, - removes from "
                     b".env.local): ")
        os.write(t.master, b"half-typed-secret")
        time.sleep(0.2)
        os.killpg(t.proc.pid, signal.SIGINT)
        assert t.finish() == 130
        attrs = termios.tcgetattr(t.slave)
        assert attrs[3] & termios.ECHO, "echo left off"
    finally:
        t.close()
    assert b"half-typed-secret" not in t.screen
    assert b"nothing written" in t.screen
    assert not env_file(host).exists()
