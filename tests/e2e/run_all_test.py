"""The closing line of `make test` adds up every stage's counts: the
count() helper of tests/run_all.sh, on each runner's closing line."""
import subprocess

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
