#!/bin/sh
# title: Threads: queue and publish through the FastAPI backend
#
# Starts the reference ThreadClaw backend (tests/servers/threads_backend:
# a real FastAPI app with a fake Threads Graph API and a fake Replicate)
# on a free loopback port, runs the publish, postimg and queue recipes
# against it with build/clawhost, lets the backend's worker publish the
# posts, and stops the backend again, also when a step fails. Nothing
# leaves this machine. The queue secret is random and never printed.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-/usr/bin/python3}
BIN="$ROOT/build/clawhost"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clawhost-demo-threads.XXXXXX") || exit 1
pid=
stop() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    pid=
    rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

fail() {
    echo "threads demo: $*" >&2
    if [ -s "$tmp/backend.log" ]; then
        echo "--- backend log (last lines)" >&2
        tail -n 20 "$tmp/backend.log" >&2
    fi
    exit 1
}

[ -x "$BIN" ] || fail "$BIN is missing: run make build/clawhost first"

# A fresh random secret, shared by the backend and clawhost through the
# environment only; it is never echoed.
THREADS_QUEUE_SECRET=demo-$("$PY" -c \
    'import secrets; print(secrets.token_hex(16))') ||
    fail "cannot make a random secret"
export THREADS_QUEUE_SECRET

REF_TEST_HOOKS=1 REF_CONTAINER_WAIT_S=0 REF_POLL_S=0 REF_FAKE_GEN_MS=300 \
REF_WORKER_INTERVAL_S=0 REF_STATE_DIR="$tmp/state" PYTHONPATH="$ROOT" \
    "$PY" -u -m tests.servers.threads_backend --port 0 \
    >"$tmp/ready" 2>"$tmp/backend.log" &
pid=$!

BASE=
i=0
while [ $i -lt 300 ]; do
    line=$(head -n 1 "$tmp/ready" 2>/dev/null)
    case $line in
    "READY "*) BASE=$(echo "$line" | cut -d' ' -f2); break ;;
    esac
    kill -0 "$pid" 2>/dev/null || fail "the backend exited before it was ready"
    sleep 0.1
    i=$((i + 1))
done
[ -n "$BASE" ] || fail "the backend was not ready after 30 s"

export THREADS_FASTAPI_BASE_URL="$BASE"
export THREADS_TENANT_ID=agency_paris
# clawhost reads .env.local from its working folder: use an empty one
mkdir -p "$tmp/work" "$tmp/home"
cd "$tmp/work" || fail "cannot enter $tmp/work"
export HOME="$tmp/home" XDG_STATE_HOME="$tmp/home/state"

echo "reference backend at $BASE (fake Threads Graph API and fake Replicate;"
echo "the queue secret is random and stays in the environment)"

step=0
# show TITLE -- ARGS...: run `clawhost run ARGS...`, print what happened;
# a failure stops the demo.
show() {
    step=$((step + 1))
    printf '\n--- %d. %s\n$ clawhost run' "$step" "$1"
    shift
    for a in "$@"; do
        case $a in
        *" "*|*"'"*) printf " '%s'" "$a" ;;
        *) printf ' %s' "$a" ;;
        esac
    done
    printf '\n'
    "$BIN" run "$@" -q 2>&1
    rc=$?
    [ $rc -eq 0 ] || fail "step $step failed (exit $rc)"
}

# tick N: run the backend's worker once through its test hook
# (REF_TEST_HOOKS=1); fails unless N posts were published.
tick() {
    "$PY" - "$BASE" "$1" <<'EOF'
import json, sys, urllib.request
base, want = sys.argv[1], int(sys.argv[2])
path = "/__test__/worker/tick"
req = urllib.request.Request(base + path, data=b"{}", method="POST",
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=30) as r:
    doc = json.load(r)
done = [t for t in doc.get("transitions", []) if t["to"] == "published"]
print("worker tick: %d transition(s), %d post(s) published" %
      (len(doc.get("transitions", [])), len(done)))
sys.exit(0 if len(done) == want else 1)
EOF
}

show "queue a text post" \
    publish --message "Hello Threads, from clawhost" \
    --idempotency-key demo-text-1
show "the same action again (same idempotency key): nothing new" \
    publish --message "Hello Threads, from clawhost" \
    --idempotency-key demo-text-1
show "queue an image post (the backend re-hosts its own sample image)" \
    publish --message "A cat, re-hosted by the backend" \
    --image "$BASE/samples/cat.png" --source telegram --chat-id 42 \
    --username alice
show "generate an image with the assistant and queue it (/postimg)" \
    postimg --prompt "a red fox reading a newspaper, watercolor" \
    --chat-id 42
show "the queue before the worker runs" queue

step=$((step + 1))
printf '\n--- %d. let the backend worker publish what is due (test hook)\n' \
    "$step"
tick 3 || fail "the worker did not publish the 3 posts"

show "the queue after: published, with permalinks" queue

step=$((step + 1))
printf '\n--- %d. %s\n' "$step" \
    "a post Threads can never accept is refused before sending"
long=$("$PY" -c 'print("é" * 260)')
printf '$ clawhost run publish --message "é x 260"\n'
"$BIN" run publish --message "$long" -q 2>&1
rc=$?
[ $rc -eq 2 ] || fail "expected exit 2 for a 520-byte message, got $rc"
echo "(exit $rc)"

show "a dry run shows the request, with the secret masked" \
    publish --message "only a plan" --dry-run

cd "$ROOT" || exit 1
stop
trap - EXIT
echo
echo "threads demo: done; the backend stopped"
