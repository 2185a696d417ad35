#!/bin/sh
# with_pg.sh CMD [ARG...] -- run CMD with a throwaway PostgreSQL cluster
# (tests/pg.sh) whose store URL is in CLAWHOST_TEST_PG_URL; the cluster
# is stopped and removed afterwards, whatever CMD's outcome. When the
# server cannot start, CMD does not run and the exit status is 1.
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/clawhost-pg.XXXXXX") || exit 1
chmod 755 "$dir"
trap '"$here/pg.sh" stop "$dir"' EXIT
trap 'exit 130' INT TERM
url=$("$here/pg.sh" start "$dir") || {
    echo "with_pg: PostgreSQL could not start (see above); the store" \
         "tests need it" >&2
    exit 1
}
CLAWHOST_TEST_PG_URL=$url "$@"
