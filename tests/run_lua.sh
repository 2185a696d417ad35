#!/bin/sh
# run_lua.sh CLAWHOST [WRAPPER...] -- run every tests/lua/*_test.lua
# through the host itself (each is a recipe returning {suite, passed,
# failed, failures}) and print one closing line "lua: N passed, N failed".
# A wrapper (valgrind ...) runs each suite under it.
bin=${1:-build/clawhost}
shift 2>/dev/null
wrap="$*"
py=${PYTHON:-/usr/bin/python3}
passed=0 failed=0
for suite in tests/lua/*_test.lua; do
    # shellcheck disable=SC2086
    out=$($wrap "$bin" run "$suite" --json 2>/tmp/clawhost-lua-err.$$)
    rc=$?
    counts=$(printf '%s' "$out" | "$py" -c '
import json, sys
try:
    r = json.load(sys.stdin)
    for f in r.get("failures", []):
        print("  FAIL " + f, file=sys.stderr)
    print(r["passed"], r["failed"])
except Exception:
    print("x x")')
    p=${counts% *} f=${counts#* }
    if [ "$p" = x ] || { [ $rc -ne 0 ] && [ "$f" = 0 ]; }; then
        tail -n 20 /tmp/clawhost-lua-err.$$
        echo "$suite: the suite did not run to the end (exit $rc)"
        failed=$((failed + 1))
        continue
    fi
    echo "$(basename "$suite" .lua): $p passed, $f failed   [$bin]"
    passed=$((passed + p)); failed=$((failed + f))
done
rm -f /tmp/clawhost-lua-err.$$
echo "lua: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
