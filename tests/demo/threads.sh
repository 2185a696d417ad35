#!/bin/sh
# title: Threads: queue and publish through the FastAPI backend
#
# Starts the reference ThreadClaw backend (tests/servers/threads_backend:
# a real FastAPI app with a fake Threads Graph API and a fake Replicate)
# on a free loopback port, runs the publish, postimg and queue recipes
# against it with build/clawhost, lets the backend's worker publish the
# posts, and stops the backend again, also when a step fails. Nothing
# leaves this machine. The queue secret is random and never printed.
NAME=threads
SERVER_LOG=backend.log
. "$(dirname "$0")/common.inc"

THREADS_QUEUE_SECRET=demo-$(random_secret)
export THREADS_QUEUE_SECRET

REF_TEST_HOOKS=1 REF_CONTAINER_WAIT_S=0 REF_POLL_S=0 REF_FAKE_GEN_MS=300 \
REF_WORKER_INTERVAL_S=0 REF_STATE_DIR="$tmp/state" \
    demo_start threads_backend
BASE=$(echo "$READY" | cut -d' ' -f2)

export THREADS_FASTAPI_BASE_URL="$BASE"
export THREADS_TENANT_ID=agency_paris
demo_workdir

echo "reference backend at $BASE (fake Threads Graph API and fake Replicate;"
echo "the queue secret is random and stays in the environment)"

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
    run publish --message "Hello Threads, from clawhost" \
    --idempotency-key demo-text-1 -q
show "the same action again (same idempotency key): nothing new" \
    run publish --message "Hello Threads, from clawhost" \
    --idempotency-key demo-text-1 -q
show "queue an image post (the backend re-hosts its own sample image)" \
    run publish --message "A cat, re-hosted by the backend" \
    --image "$BASE/samples/cat.png" --source telegram --chat-id 42 \
    --username alice -q
show "generate an image with the assistant and queue it (/postimg)" \
    run postimg --prompt "a red fox reading a newspaper, watercolor" \
    --chat-id 42 -q
show "the queue before the worker runs" run queue -q

step=$((step + 1))
printf '\n--- %d. let the backend worker publish what is due (test hook)\n' \
    "$step"
tick 3 || fail "the worker did not publish the 3 posts"

show "the queue after: published, with permalinks" run queue -q

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
    run publish --message "only a plan" --dry-run -q

cd "$ROOT" || exit 1
stop
trap - EXIT
echo
echo "threads demo: done; the backend stopped"
