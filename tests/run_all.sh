#!/bin/sh
# run_all.sh UNIT_BIN... -- what `make test` runs: C unit tests (plain
# and ASan+UBSan), Lua suites through the host (plain, ASan, valgrind),
# the end-to-end pytest suites, and a short run of every fuzz target. The
# last line sums them all: "N passed, N failed".
py=${PYTHON:-/usr/bin/python3}
total_p=0 total_f=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

. "$(dirname "$0")/count.sh"

# Add the counts of a stage's closing line "...: N passed, N failed".
tally() {
    line=$(grep -E '[0-9]+ passed' "$log" | tail -n 1)
    p=$(count "$line" passed)
    f=$(count "$line" failed)
    e=$(count "$line" 'errors?')
    if [ "$1" -ne 0 ] && [ "$f" -eq 0 ] && [ "$e" -eq 0 ]; then
        f=1     # a stage that failed without counting a failure
    fi
    total_p=$((total_p + p)); total_f=$((total_f + f + e))
}

stage() {
    echo "== $1"
    shift
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    tally $rc
}

stage "C unit tests" ./tests/run_units.sh "$@"
stage "Lua suites" ./tests/run_lua.sh build/clawhost
stage "Lua suites (ASan+UBSan)" ./tests/run_lua.sh build/asan/clawhost
# Debian's Lua has its API checks compiled out and is not instrumented,
# so a C function that overruns its Lua stack slots is only seen here.
stage "Lua suites (valgrind)" ./tests/run_lua.sh build/clawhost \
    valgrind -q --error-exitcode=9 --leak-check=full \
    --errors-for-leak-kinds=definite
stage "end-to-end (pytest)" "$py" -m pytest -q -p no:cacheprovider \
    tests/e2e tests/servers
stage "fuzz (short runs)" ./tests/fuzz/run_all.sh 10
echo
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
