#!/bin/sh
# run.sh NAME SECONDS -- run libFuzzer target build/fuzz/fuzz_NAME for
# SECONDS on one core, seeded from tests/fuzz/corpus/NAME (read only:
# new inputs go to a scratch folder so the tree is left unchanged).
set -eu
name=$1 secs=$2
bin=build/fuzz/fuzz_$name
seed=tests/fuzz/corpus/$name
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set -- -max_total_time="$secs" -rss_limit_mb=1024 -print_final_stats=1
[ -f "tests/fuzz/$name.dict" ] && set -- "$@" -dict="tests/fuzz/$name.dict"
if [ -d "$seed" ]; then
    "$bin" "$@" "$work" "$seed" >"$work.log" 2>&1 || { tail -n 40 "$work.log"; rm -f "$work.log"; exit 1; }
else
    "$bin" "$@" "$work" >"$work.log" 2>&1 || { tail -n 40 "$work.log"; rm -f "$work.log"; exit 1; }
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
rm -f "$work.log"
echo "fuzz $name: ${runs:-?} inputs in ${secs}s, no crash"
