"""`make test` (tests/run_all.sh): the closing line adds up every
stage's counts (the count() helper, on each runner's closing line), and
each stage's output streams as it comes (tests/stage.sh)."""
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT


def count(line, word):
    r = subprocess.run(["sh", "-c", '. "$0"; count "$1" "$2"',
                        str(ROOT / "tests" / "count.sh"), line, word],
                       capture_output=True, text=True, check=True)
    return int(r.stdout)


@pytest.mark.parametrize("line,passed,failed,errors", [
    ("1268 passed, 1 xfailed in 150.35s (0:02:30)", 1268, 0, 0),
    ("3 failed, 1265 passed, 1 xfailed, 2 errors in 1.0s", 1265, 3, 2),
    ("===== 1 failed, 2 passed, 1 error in 2.00s =====", 2, 1, 1),
    ("lua: 213 passed, 0 failed", 213, 0, 0),
    ("netpolicy: 136 passed, 4 failed   [build/tests/x]", 136, 4, 0),
    ("1 passed, 3 xfailed", 1, 0, 0),
    ("no counts here", 0, 0, 0),
])
def test_count_reads_each_runners_closing_line(line, passed, failed,
                                               errors):
    assert count(line, "passed") == passed
    assert count(line, "failed") == failed
    assert count(line, "errors?") == errors


# ---- `make test` shows progress as it goes ----

STAGE = """
log=$(mktemp)
. "$0/count.sh"
. "$0/stage.sh"
stage "$@"
echo "total: $total_p passed, $total_f failed"
"""

WAITER = '''
import os, time
print("first line", flush=True)
for _ in range(200):                    # up to 20 s
    if os.path.exists("go"):
        print("saw go")
        break
    time.sleep(0.1)
else:
    print("nobody said go")
print("waiter: 1 passed, 0 failed")
'''


def run_stage(tmp_path, *cmd):
    """Run one stage of tests/run_all.sh (tests/stage.sh); yields its
    output line by line as it comes."""
    return subprocess.Popen(["sh", "-c", STAGE, str(ROOT / "tests"),
                             *cmd], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ,
                                 "PYTHON": sys.executable})


def test_a_stage_streams_its_output(tmp_path):
    """The stage's first line arrives while the command still runs: the
    command waits for a file the test writes only after reading it."""
    (tmp_path / "waiter.py").write_text(WAITER)
    p = run_stage(tmp_path, "waiting", sys.executable, "-u", "waiter.py")
    assert p.stdout.readline() == "== waiting\n"
    assert p.stdout.readline() == "first line\n"
    (tmp_path / "go").write_text("")
    rest = p.stdout.read()
    assert p.wait(timeout=60) == 0
    assert "saw go" in rest and "nobody said go" not in rest
    assert "-- waiting: " in rest
    assert rest.rstrip().endswith("total: 1 passed, 0 failed")


def test_a_stage_that_fails_counts(tmp_path):
    p = run_stage(tmp_path, "failing", "sh", "-c", "echo no count; exit 3")
    out = p.stdout.read()
    p.wait(timeout=60)
    assert "no count" in out
    assert out.rstrip().endswith("total: 0 passed, 1 failed")


PYTESTS = '''
import os, time

def test_quick():
    pass

def test_waits_for_go():
    for _ in range(200):
        if os.path.exists("go"):
            return
        time.sleep(0.1)
    raise AssertionError("nobody said go")
'''


def test_pytest_dots_stream_through_the_stage(tmp_path):
    """pytest's dot for the first test shows before the second ends, as
    `make test` runs it (run_pytest: its output is a pipe to tee)."""
    (tmp_path / "two_test.py").write_text(PYTESTS)
    p = run_stage(tmp_path, "pytest", "run_pytest", "two_test.py")
    assert p.stdout.readline() == "== pytest\n"
    seen = ""
    while "." not in seen:
        ch = p.stdout.read(1)
        assert ch, seen
        seen += ch
    (tmp_path / "go").write_text("")
    rest = p.stdout.read()
    assert p.wait(timeout=60) == 0, seen + rest
    assert "2 passed" in rest and "total: 2 passed, 0 failed" in rest
