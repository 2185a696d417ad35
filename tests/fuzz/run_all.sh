#!/bin/sh
# run_all.sh SECONDS -- build every fuzz target and run each briefly;
# one passed test per target that ran without a crash.
secs=${1:-10}
targets=$(sed -n 's/^FUZZ_TARGETS += //p' mk/*.mk)
passed=0 failed=0
for t in $targets; do
    if make -s "build/fuzz/fuzz_$t" >/dev/null 2>&1 &&
       ./tests/fuzz/run.sh "$t" "$secs"; then
        passed=$((passed + 1))
    else
        echo "fuzz $t: FAILED"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
