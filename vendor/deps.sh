#!/bin/sh
# deps.sh GROUP... -- install the Debian packages of vendor/packages.txt
# in the given groups (build, test, bench) that are not installed yet.
# Installed packages are left alone: this never upgrades or removes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- build
missing=""
for group in "$@"; do
    pkgs=$(awk -v g="$group" '$1 == g { print $2 }' "$here/packages.txt")
    for p in $pkgs; do
        st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$st" = installed ] || missing="$missing $p"
    done
done
[ -n "$missing" ] || exit 0
echo "deps: installing$missing" >&2
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: apt-get not found; install by hand:$missing" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null 2>&1 || true
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
