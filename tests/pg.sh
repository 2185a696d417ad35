#!/bin/sh
# pg.sh start DIR | stop DIR -- a throwaway PostgreSQL cluster for the
# tests and benchmarks, from Debian's postgresql package.
#
# start: initdb into DIR/data, listening on a Unix socket in DIR and on
# no TCP address at all, trust authentication for the one role
# `clawhost`, a database `clawhost`; prints the store URL on stdout.
# Run as root it runs the server as the `postgres` system user (initdb
# refuses root). Fails, saying why, when it cannot start: the PostgreSQL
# tests never skip silently.
# stop: fast shutdown, then DIR is removed.
set -eu
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
    echo "usage: pg.sh start|stop DIR" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "pg.sh: PostgreSQL is not installed (Debian package postgresql;" \
         "vendor/deps.sh test installs it)" >&2
    exit 1
fi
as=""
if [ "$(id -u)" = 0 ]; then
    as="runuser -u postgres --"
fi

case $cmd in
start)
    mkdir -p "$dir"
    [ -z "$as" ] || chown postgres "$dir"
    if ! $as "$bin/initdb" -D "$dir/data" -U clawhost --auth=trust \
            -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
        echo "pg.sh: initdb failed:" >&2
        tail -n 20 "$dir/initdb.log" >&2
        exit 1
    fi
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 200
CONF
    if ! $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
            -t 60 start >/dev/null 2>&1; then
        echo "pg.sh: the server did not start:" >&2
        tail -n 20 "$dir/server.log" >&2
        exit 1
    fi
    $as "$bin/createdb" -h "$dir" -U clawhost clawhost
    echo "postgresql://clawhost@/clawhost?host=$dir"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        $as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 \
            || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: pg.sh start|stop DIR" >&2
    exit 2
    ;;
esac
