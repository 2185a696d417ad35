#!/bin/sh
# title: Campaign: facts to copy to claim check to image to scheduled posts
#
# Starts the Theta simulator (its copywriter mode writes posts from the
# facts it is given) and the Threads reference backend on free loopback
# ports, and runs the campaign recipe on a three-item file: the plan,
# the run, and a rerun that does nothing. The simulator is told to
# invent "direct beach access" for the villa, whose facts say nothing
# of the kind: the claim check refuses that draft, the model writes it
# again, and the invented claim never reaches the queue. Secrets are
# random and never printed; the store lives in a temporary folder.
NAME=campaign
SERVER_LOG=servers.log
. "$(dirname "$0")/common.inc"

THETA_SIM_TOKEN=tsim_demo_$(random_secret)
QUEUE_SECRET=qs_demo_$(random_secret)
export THETA_SIM_TOKEN
THETA_SIM_CONFIG='{"copy_hallucinations": [{"when": "Villa Azur", "add": "with direct beach access", "times": 1}]}' \
    demo_start theta_sim --profile fast --quiet --cert-dir "$tmp/certs"
SIM_PID=$pid SIM_READY=$READY
PORT=$(echo "$SIM_READY" | sed -n 's/^READY https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p')
CA=$(echo "$SIM_READY" | sed -n 's/.* ca=\([^ ]*\).*/\1/p')
[ -n "$PORT" ] && [ -n "$CA" ] || fail "unexpected READY line: $SIM_READY"

# the backend: a second server, stopped by this part's own trap
THREADS_QUEUE_SECRET=$QUEUE_SECRET REF_TEST_HOOKS=0 REF_LOG_LEVEL=warning \
PYTHONPATH="$ROOT" "$PY" -u -m tests.servers.threads_backend --port 0 \
    >"$tmp/ready2" 2>>"$tmp/$SERVER_LOG" &
backend=$!
trap 'kill -TERM "$backend" 2>/dev/null; wait "$backend" 2>/dev/null; stop' EXIT
i=0
until grep -q '^READY ' "$tmp/ready2" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "the Threads backend was not ready after 30 s"
    kill -0 "$backend" 2>/dev/null || fail "the Threads backend exited"
    sleep 0.1
done
BASE=$(sed -n 's/^READY \(http:[^ ]*\).*/\1/p' "$tmp/ready2")

export CLAWHOST_CONNECT_TO="ondemand.thetaedgecloud.com:443:127.0.0.1:$PORT,ondemand-outputs.thetaedgecloud.com:443:127.0.0.1:$PORT"
export CLAWHOST_CA_FILE="$CA" THETA_ONDEMAND_API_TOKEN="$THETA_SIM_TOKEN"
export THREADS_FASTAPI_BASE_URL="$BASE" THREADS_QUEUE_SECRET="$QUEUE_SECRET"
unset THETA_ONDEMAND_API_KEY THETA_API_KEY THETA_ONDEMAND_API_BASE_URL \
      THETA_API_BASE_URL THETA_MAX_BUDGET_USD CLAWHOST_DAILY_BUDGET_USD \
      THETA_DRY_RUN THREADS_TENANT_ID
demo_workdir
export CLAWHOST_STATE_DIR="$tmp/state"

# the example campaign, starting a week from today (the backend takes
# slots up to 90 days ahead)
START=$("$PY" -c 'import datetime; print(datetime.date.today() + datetime.timedelta(days=7))')
sed "s/\"start\": \"[0-9-]*\"/\"start\": \"$START\"/" \
    "$ROOT/examples/campaign.json" > campaign.json ||
    fail "cannot write the campaign file"

echo "Theta simulator on 127.0.0.1:$PORT, Threads backend at $BASE;"
echo "campaign file: examples/campaign.json, starting $START"

show "the plan: each item's slot and worst case against budget_usd" \
    run campaign --file campaign.json --dry-run -q
show "the run: the villa's first draft invents beach access and is refused" \
    run campaign --file campaign.json
show "a rerun: every step is checkpointed, nothing is paid or queued twice" \
    run campaign --file campaign.json -q
echo
echo "what the backend holds (no post claims beach access):"
curl -s -H "X-Queue-Secret: $QUEUE_SECRET" "$BASE/api/v1/threads/queue" |
    "$PY" -c 'import json, sys
for q in json.load(sys.stdin)["items"]:
    print("  %s  %s" % (q["scheduled_at"], q["message"].splitlines()[0][:100]))'
echo
echo "campaign demo: ok"
