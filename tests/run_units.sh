#!/bin/sh
# run_units.sh BIN... -- run C unit test binaries; sum their closing
# lines ("NAME: N passed, N failed") into one line of the same form.
passed=0 failed=0 broken=0
for bin in "$@"; do
    out=$("$bin" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
        printf '%s\n' "$out" | tail -n 20
        echo "$bin: crashed or printed no count (exit $rc)"
        broken=$((broken + 1))
        continue
    fi
    [ "$f" -gt 0 ] && printf '%s\n' "$out" | grep -v '^ok ' | tail -n 40
    echo "$line   [$bin]"
    passed=$((passed + p)); failed=$((failed + f))
done
failed=$((failed + broken))
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
