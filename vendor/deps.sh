#!/bin/sh
# deps.sh GROUP... -- install the Debian packages of vendor/packages.txt
# in the given groups (build, test, bench) that are not installed yet.
# Installed packages are left alone: this never upgrades or removes.
#
# The test group also brings the MCP client tests' npm packages
# (tests/mcp: the official MCP TypeScript SDK and Ajv, exact versions in
# its package-lock.json) into tests/mcp/node_modules with `npm ci`,
# again only when they are missing or the lock changed. nodejs and npm
# are test packages of vendor/packages.txt like the others.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- build
missing=""
for group in "$@"; do
    pkgs=$(awk -v g="$group" '$1 == g { print $2 }' "$here/packages.txt")
    for p in $pkgs; do
        # a nodejs that bundles npm (NodeSource's) conflicts with
        # Debian's npm package: an npm on PATH is enough
        if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
            continue
        fi
        st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$st" = installed ] || missing="$missing $p"
    done
done
wants_node=false
for group in "$@"; do
    [ "$group" != test ] || wants_node=true
done

# npm ci into tests/mcp/node_modules unless the lock it was made from is
# the committed one; the copy of the lock is written last, so an
# interrupted install is redone.
npm_deps() {
    dir="$here/../tests/mcp"
    stamp="$dir/node_modules/.clawhost-lock.json"
    if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
        return 0
    fi
    echo "deps: npm ci in tests/mcp" >&2
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund \
        --loglevel=error >&2)
    cp "$dir/package-lock.json" "$stamp"
}

if [ -z "$missing" ]; then
    if $wants_node; then npm_deps; fi
    exit 0
fi
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
if $wants_node; then npm_deps; fi
