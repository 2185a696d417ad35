"""What users expect of a command-line tool, made from one set of tables
(host/cli/usage.c): the ENVIRONMENT section of --help, the manual page
clawhost(1) (build/clawhost.1, `make install`) and the bash and zsh
completion scripts made from the recipes' params."""
import os
import pathlib
import pty
import re
import select
import shutil
import subprocess
import textwrap
import time

import pytest

from tests.e2e.conftest import BIN, ROOT, clean_env
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


# ---- bash completion ----

def bash_complete(host, *words, script=None):
    """Load the bash script and call its function with COMP_WORDS set to
    words (the last one is being typed); returns the candidates."""
    script = script or host.run("completion", "bash").out
    (host.dir / "clawhost.bash").write_text(script)
    prog = textwrap.dedent("""\
        source ./clawhost.bash || exit 9
        COMP_WORDS=("$@")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMPREPLY=()
        _clawhost
        printf '%s\\n' "${COMPREPLY[@]}"
    """)
    r = subprocess.run(["bash", "-c", prog, "bash", *words], cwd=host.dir,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(line for line in r.stdout.splitlines() if line)


def test_bash_script_loads_and_registers(host):
    r = host.run("completion", "bash")
    assert r.code == 0, r
    (host.dir / "c.bash").write_text(r.out)
    p = subprocess.run(["bash", "-c", "source ./c.bash && complete -p "
                        "clawhost"], cwd=host.dir, capture_output=True,
                       text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout.strip() == "complete -F _clawhost clawhost"


def test_bash_completes_commands(host):
    assert bash_complete(host, "clawhost", "l") == ["ledger", "list"]
    words = bash_complete(host, "clawhost", "")
    for cmd in ("run", "list", "help", "ledger", "completion", "man"):
        assert cmd in words


def test_bash_completes_recipe_names(host):
    assert bash_complete(host, "clawhost", "run", "pub") == ["publish"]
    assert bash_complete(host, "clawhost", "help", "dep") == [
        "deploy", "deployment-delete", "deployment-start",
        "deployment-stop", "deployments"]
    # after global options, and their values
    assert bash_complete(host, "clawhost", "run", "--json", "--timeout",
                         "30", "hel") == ["hello"]


def test_bash_completes_a_recipes_flags(host):
    assert bash_complete(host, "clawhost", "run", "hello", "--") == sorted(
        ["--name", "--times", "--env-file", "--json", "--dry-run",
         "--timeout", "--memory-mb", "--budget", "--allow-host",
         "--cleanup-timeout", "--log-json", "--quiet", "--verbose",
         "--help"])
    assert bash_complete(host, "clawhost", "run", "publish", "--me") == [
        "--memory-mb", "--message"]
    assert bash_complete(host, "clawhost", "run", "chat", "--no-") == [
        "--no-stream"]                        # a boolean that is on


def test_bash_completes_enum_values(host):
    assert bash_complete(host, "clawhost", "run", "publish", "--mode",
                         "") == ["now", "queue"]
    assert bash_complete(host, "clawhost", "run", "chat",
                         "--reasoning-effort", "h") == ["high"]


def test_bash_completes_files_for_file_params(host):
    (host.dir / "campaign.json").write_text("{}")
    (host.dir / "notes.txt").write_text("x")
    assert bash_complete(host, "clawhost", "run", "campaign", "--file",
                         "camp") == ["campaign.json"]
    # a text param: files after @, nothing otherwise
    assert bash_complete(host, "clawhost", "run", "publish", "--message",
                         "@no") == ["@notes.txt"]
    assert bash_complete(host, "clawhost", "run", "publish", "--message",
                         "no") == []


def test_bash_completes_nothing_for_a_value(host):
    assert bash_complete(host, "clawhost", "run", "hello", "--times",
                         "") == []
    assert bash_complete(host, "clawhost", "run", "hello", "--timeout",
                         "") == []


def test_bash_completes_command_options(host):
    assert bash_complete(host, "clawhost", "list", "--") == [
        "--all", "--help", "--json"]
    assert "--since" in bash_complete(host, "clawhost", "ledger", "--s")
    assert bash_complete(host, "clawhost", "completion", "") == [
        "--help", "bash", "zsh"]
    assert bash_complete(host, "clawhost", "help", "hello", "") == [
        "--json"]
    assert "--force" in bash_complete(host, "clawhost", "sweep", "--")


def test_bash_completes_recipe_files(host):
    (host.dir / "mine.lua").write_text("return {}")
    assert bash_complete(host, "clawhost", "run", "./mi") == ["./mine.lua"]


def test_completion_is_made_from_the_recipes_params(host, tmp_path):
    root = tmp_path / "inst"
    (root / "recipes").mkdir(parents=True)
    (root / "lua").mkdir()
    (root / "recipes" / "mine.lua").write_text(textwrap.dedent("""\
        return { description = "mine", params = {
          colour = { type = "list", of = "enum",
                     values = { "teal", "ochre", "has space" } },
          report = { type = "output" },
          dry_level = { type = "integer" },
        }, run = function() end }
    """))
    (root / "recipes" / "broken.lua").write_text("not lua")
    host.env["CLAWHOST_HOME"] = str(root)
    r = host.run("completion", "bash")
    assert r.code == 0, r
    assert "_clawhost_recipes='mine'" in r.out      # broken.lua left out
    assert bash_complete(host, "clawhost", "run", "mine", "--",
                         script=r.out)[:3] == ["--allow-host", "--budget",
                                               "--cleanup-timeout"]
    flags = bash_complete(host, "clawhost", "run", "mine", "--",
                          script=r.out)
    assert {"--colour", "--report", "--dry-level"} <= set(flags)
    assert bash_complete(host, "clawhost", "run", "mine", "--colour", "",
                         script=r.out) == ["ochre", "teal"]
    (host.dir / "out.md").write_text("")
    assert bash_complete(host, "clawhost", "run", "mine", "--report", "o",
                         script=r.out) == ["out.md"]


def test_completion_arguments(host):
    r = host.run("completion")
    assert r.code == 2 and "bash or zsh" in r.err, r
    r = host.run("completion", "fish")
    assert r.code == 2, r
    r = host.run("completion", "--help")
    assert r.code == 0 and "source <(clawhost completion bash)" in r.out


# ---- zsh completion ----

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x08\r]")


class Zsh:
    """An interactive zsh on a pty that loaded the script: type a line
    and a TAB, read what the line became."""

    def __init__(self, cwd, script):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execvpe("zsh", ["zsh", "-f", "-i"],
                       {"PATH": os.environ["PATH"], "TERM": "dumb",
                        "HOME": str(cwd), "LANG": "C.UTF-8"})
        self.send("PS1='> '; autoload -U compinit; compinit -u -D; "
                  "source %s; print READY-$((6*7))\n" % script)
        self.read_until("READY-42")

    def send(self, text):
        os.write(self.fd, text.encode())

    def read_until(self, want, limit=20):
        seen, end = "", time.monotonic() + limit
        while want not in ANSI.sub("", seen) and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    break
        return ANSI.sub("", seen)

    def complete(self, line, want):
        self.send("\x15" + line + "\t")       # ^U clears the line
        return want in self.read_until(want)

    def close(self):
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture(scope="module")
def zsh(tmp_path_factory):
    """One shell for the module: compinit takes a second."""
    if not shutil.which("zsh"):
        pytest.skip("zsh is not installed (vendor/packages.txt, test)")
    cwd = tmp_path_factory.mktemp("zsh")
    r = subprocess.run([BIN, "completion", "zsh"], capture_output=True,
                       text=True, env=clean_env(cwd, {"CLAWHOST_HOME":
                                                      str(ROOT)}))
    assert r.returncode == 0, r.stderr
    (cwd / "clawhost.zsh").write_text(r.stdout)
    (cwd / "post-draft.txt").write_text("x")
    z = Zsh(cwd, cwd / "clawhost.zsh")
    yield z
    z.close()


def test_zsh_script_parses(host):
    if not shutil.which("zsh"):
        pytest.skip("zsh is not installed")
    (host.dir / "c.zsh").write_text(host.run("completion", "zsh").out)
    r = subprocess.run(["zsh", "-n", "c.zsh"], cwd=host.dir,
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = subprocess.run(["zsh", "-f", "-c", "autoload -U compinit; "
                        "compinit -u -D; source ./c.zsh; "
                        "print $_comps[clawhost]"], cwd=host.dir,
                       capture_output=True, text=True)
    assert r.stdout.strip() == "_clawhost", r


@pytest.mark.parametrize("line,want", [
    ("clawhost lis", "clawhost list"),
    ("clawhost run pub", "clawhost run publish"),
    ("clawhost run --json hel", "clawhost run --json hello"),
    ("clawhost run publish --mo", "clawhost run publish --mode"),
    ("clawhost run publish --mode q", "clawhost run publish --mode queue"),
    ("clawhost run chat --reasoning-effort h",
     "clawhost run chat --reasoning-effort high"),
    ("clawhost list --a", "clawhost list --all"),
    ("clawhost completion z", "clawhost completion zsh"),
])
def test_zsh_completes(zsh, line, want):
    assert zsh.complete(line, want), (line, want)


def test_zsh_completes_a_file_after_at(zsh):
    assert zsh.complete("clawhost run publish --message @post-d",
                        "--message @post-draft.txt")
