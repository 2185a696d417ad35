#!/bin/sh
# run_all.sh UNIT_BIN... -- what `make test` runs: C unit tests (plain
# and ASan+UBSan), Lua suites through the host (plain, ASan, valgrind),
# the end-to-end pytest suites, and a short run of every fuzz target.
# Each stage's output streams as it comes (tests/stage.sh). The last
# line sums them all: "N passed, N failed".
total_p=0 total_f=0
log=$(mktemp)
trap 'rm -f "$log" "$log.rc"' EXIT

here=$(dirname "$0")
. "$here/count.sh"
. "$here/stage.sh"

all_start=$(date +%s)
stage "C unit tests" ./tests/run_units.sh "$@"
stage "Lua suites" ./tests/run_lua.sh build/clawhost
stage "Lua suites (ASan+UBSan)" ./tests/run_lua.sh build/asan/clawhost
# Debian's Lua has its API checks compiled out and is not instrumented,
# so a C function that overruns its Lua stack slots is only seen here.
stage "Lua suites (valgrind)" ./tests/run_lua.sh build/clawhost \
    valgrind -q --error-exitcode=9 --leak-check=full \
    --errors-for-leak-kinds=definite
stage "end-to-end (pytest)" run_pytest tests/e2e tests/servers
stage "fuzz (short runs)" ./tests/fuzz/run_all.sh 10
echo
echo "all stages: $(($(date +%s) - all_start))s"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
