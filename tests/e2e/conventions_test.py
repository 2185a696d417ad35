"""What users expect of a command-line tool, made from one set of tables
(host/cli/usage.c): the ENVIRONMENT section of --help and the manual
page clawhost(1) (build/clawhost.1, `make install`)."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from tests.e2e.conftest import ROOT
from tests.e2e.fixtures.util import home  # noqa: F401

MAN = ROOT / "build" / "clawhost.1"


# ---- the environment in --help ----

# What the host reads that is not a clawhost knob: HOME (for ~ in the
# default state folder) and TZ (set and restored around a conversion).
NOT_KNOBS = {"HOME", "TZ"}


def getenv_names():
    names = set()
    for path in (ROOT / "host").rglob("*.c"):
        names |= set(re.findall(r'getenv\("([A-Z_]+)"\)', path.read_text()))
    return names - NOT_KNOBS


def environment_block(text):
    return text.split("\nenvironment:\n", 1)[1].split("\n\n", 1)[0]


def test_help_has_an_environment_section(host):
    r = host.run("--help")
    assert r.code == 0, r
    env = environment_block(r.out)
    for name in sorted(getenv_names()):
        assert name in env, name
    for name in ("CLAWHOST_DAILY_BUDGET_USD", "THETA_MAX_BUDGET_USD",
                 "COLUMNS", "THETA_DRY_RUN"):
        assert name in env, name
    assert all(len(line) <= 79 for line in r.out.splitlines())


def test_help_environment_lists_every_setting(host):
    """The settings `clawhost setup` asks for and the ones config hands
    to recipes (docs/modules.md) are all named, each once."""
    env = environment_block(host.run("--help").out)
    setup = host.run("setup", "--help").out.split("settings:\n", 1)[1]
    names = re.findall(r"^  ([A-Z][A-Z0-9_]+) ", setup, re.M)
    assert len(names) >= 10
    modules = (ROOT / "docs" / "modules.md").read_text()
    names += re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", modules, re.M)
    words = re.findall(r"[A-Z][A-Z0-9_]{2,}", env)
    for name in set(names):
        assert words.count(name) == 1, name


# ---- the manual page ----

@pytest.fixture(scope="module")
def page():
    if not MAN.exists():
        pytest.fail("build/clawhost.1 is missing: run `make`")
    return MAN.read_text()


def rendered(path, width=80):
    if not shutil.which("man"):
        pytest.skip("man is not installed (vendor/packages.txt, test)")
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l",
                        str(path)], capture_output=True, text=True,
                       env={**os.environ, "MANWIDTH": str(width),
                            "MANPAGER": "cat", "PAGER": "cat",
                            "LANG": "C.UTF-8"})
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr           # no roff warning
    return re.sub(r".\x08", "", r.stdout)    # overstrike bold/underline


def test_man_page_is_made_at_build_time_from_the_binary(host, page):
    r = host.run("man")
    assert r.code == 0, r
    assert r.out == page                      # build/clawhost.1 is current
    assert page.startswith(".\\\" clawhost(1)")
    assert '.TH CLAWHOST 1 ""' in page


def test_man_page_renders(page):
    text = rendered(MAN)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS",
                    "GLOBAL OPTIONS", "RECIPE PARAMS", "ENVIRONMENT",
                    "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert re.search(r"^%s$" % section, text, re.M), section
    assert "clawhost - run automation recipes" in text


def test_man_page_with_groff_has_no_warning(page):
    if not shutil.which("groff"):
        pytest.skip("groff is not installed")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                        str(MAN)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_man_page_says_what_help_says(host, page):
    text = rendered(MAN, width=200)
    out = host.run("--help").out
    for cmd in re.findall(r"^  clawhost (\w+)", out, re.M):
        assert "clawhost " + cmd in text, cmd
    for opt in re.findall(r"^  (-[-\w]+(?:, --[\w-]+)?)", out, re.M):
        assert opt in text, opt
    env = text.split("\nENVIRONMENT\n", 1)[1].split("\nFILES\n", 1)[0]
    for name in getenv_names() | {"THETA_MAX_BUDGET_USD", "COLUMNS"}:
        assert re.search(r"^ +%s\b" % name, env, re.M), name
    status = text.split("\nEXIT STATUS\n", 1)[1]
    for code in ("0", "1", "2", "3", "4", "124", "130"):
        assert re.search(r"^ +%s +\w" % code, status, re.M), code


def test_man_page_lists_ledger_since(page):
    text = rendered(MAN, width=200).split("\nCOMMANDS\n", 1)[1]
    ledger = text.split("clawhost ledger", 1)[1].split("clawhost store",
                                                        1)[0]
    assert "--since DATE" in ledger and "UTC day" in ledger


def man_command_options(page):
    """{command: [option, ...]} from the COMMANDS section of the roff."""
    found = {}
    body = page.split(".SH COMMANDS\n", 1)[1].split(".SH ", 1)[0]
    for block in body.split(".TP\n\\fBclawhost ")[1:]:
        name = block.split("\\fR", 1)[0]
        inner = block.split(".RS\n", 1)[1] if ".RS\n" in block else ""
        found[name] = [o.replace("\\-", "-") for o in
                       re.findall(r"^\\fB(\\-[^\\]*(?:\\-[^\\]*)*)\\fR",
                                  inner, re.M)]
    return found


def test_every_command_option_is_in_its_own_help(host, page):
    """The tables and each command's --help agree (they are written in
    two places: usage.c and the command's file)."""
    opts = man_command_options(page)
    assert "--since" in opts["ledger"] and "--all" in opts["list"]
    for cmd, options in opts.items():
        if not options or cmd in ("help",):
            continue
        r = host.run(cmd, "--help")
        assert r.code == 0, (cmd, r)
        for o in options:
            assert o in r.out, (cmd, o)


def test_make_install_puts_the_page_in_man1(tmp_path):
    dest = tmp_path / "stage"
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "install",
                        "PREFIX=/usr", "DESTDIR=%s" % dest],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    installed = dest / "usr" / "share" / "man" / "man1" / "clawhost.1"
    assert installed.read_text() == MAN.read_text()
    assert (installed.stat().st_mode & 0o777) == 0o644
    assert (dest / "usr" / "bin" / "clawhost").exists()
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "uninstall",
                        "PREFIX=/usr", "DESTDIR=%s" % dest],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not installed.exists()


def test_man_takes_no_arguments(host):
    r = host.run("man", "extra")
    assert r.code == 2 and "usage: clawhost man" in r.err, r
