"""Shared helpers for the end-to-end suites: run build/clawhost as a user
would, in a scratch folder, with a clean environment.

CLAWHOST_BIN picks the binary (build/asan/clawhost for the sanitizer
run). Every run gets its own HOME, state folder and working directory,
so no test sees another's .env.local, ledger or journal; XDG_CONFIG_HOME
is dropped, so the user's settings file is HOME/.config/clawhost/env, in
the test's own HOME, never the real one.
"""
import os
import pathlib
import subprocess
import textwrap
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.path.abspath(os.environ.get("CLAWHOST_BIN",
                                     str(ROOT / "build" / "clawhost")))

# Variables of the outer environment that must not leak into a test.
_SCRUB_PREFIXES = ("THETA_", "THREADS_", "CLAWHOST_", "CREDENTIALS_",
                   "SERVICES", "http_proxy", "https_proxy", "HTTP_PROXY",
                   "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY",
                   "no_proxy", "COLUMNS", "LINES", "XDG_CONFIG_HOME")


class Run:
    """The outcome of one clawhost run."""

    def __init__(self, proc, elapsed):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.elapsed = elapsed

    @property
    def text(self):
        return self.out + self.err

    def json(self):
        import json
        return json.loads(self.out)

    def __repr__(self):
        return (f"<Run exit={self.code} {self.elapsed:.2f}s\n"
                f"--- stdout\n{self.out}\n--- stderr\n{self.err}>")


def clean_env(home, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_SCRUB_PREFIXES)}
    env.update({"HOME": str(home), "LANG": "C.UTF-8",
                "XDG_STATE_HOME": str(home / "state")})
    if os.environ.get("CLAWHOST_BIN", "").endswith("asan/clawhost"):
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.update(extra or {})
    return env


class Host:
    """Runs clawhost in one scratch folder."""

    def __init__(self, tmp):
        self.dir = tmp
        self.home = tmp / "home"
        self.home.mkdir(exist_ok=True)
        self.env = {}

    def run(self, *args, env=None, timeout=60, input=None, binary=BIN,
            cwd=None):
        full_env = clean_env(self.home, {**self.env, **(env or {})})
        start = time.monotonic()
        proc = subprocess.run([binary, *map(str, args)],
                              cwd=cwd or self.dir,
                              env=full_env, capture_output=True,
                              text=True, timeout=timeout, input=input)
        return Run(proc, time.monotonic() - start)

    def popen(self, *args, env=None, **kw):
        full_env = clean_env(self.home, {**self.env, **(env or {})})
        return subprocess.Popen([BIN, *map(str, args)], cwd=self.dir,
                                env=full_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)

    def recipe(self, body, name="probe.lua"):
        """Write a recipe file; `body` is Lua source (dedented)."""
        path = self.dir / name
        path.write_text(textwrap.dedent(body))
        return path

    def run_body(self, lua, *args, **kw):
        """Run a recipe whose run() body is `lua`."""
        path = self.recipe("return { run = function(ctx, args)\n" +
                           textwrap.dedent(lua) + "\nend }\n")
        return self.run("run", path, *args, **kw)


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)
