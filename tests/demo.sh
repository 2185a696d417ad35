#!/bin/sh
# demo.sh -- what `make demo` runs: every part in tests/demo/*.sh, each
# of which starts its local server on a free port, runs real recipes
# against it with build/clawhost, shows what happened and stops the
# server. Nothing leaves this machine.
set -u
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-/usr/bin/python3}
status=0
found=0
for part in tests/demo/*.sh; do
    [ -f "$part" ] || continue
    found=1
    printf '\n=== %s\n' "$(sed -n 's/^# title: //p' "$part")"
    if ! sh "$part"; then
        echo "demo part $part failed"
        status=1
    fi
done
if [ $found -eq 0 ]; then
    echo "no demo parts in tests/demo"
    exit 1
fi
exit $status
