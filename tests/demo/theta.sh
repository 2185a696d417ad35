#!/bin/sh
# title: Theta EdgeCloud: chat, infer and a budget-guarded smoke run
#
# Starts the Theta on-demand simulator (tests/servers/theta_sim, fast
# profile) on a free loopback port, reaches it under the production host
# names through CLAWHOST_CONNECT_TO and its test CA, and runs the
# services, chat (streamed), infer and smoke recipes and `clawhost
# ledger` against it with build/clawhost. The simulator is stopped again
# also when a step fails. Nothing leaves this machine; the access token
# is random and never printed; the spend ledger lives in a temporary
# folder (CLAWHOST_STATE_DIR), never in the user's real one.
NAME=theta
SERVER_LOG=sim.log
. "$(dirname "$0")/common.inc"

THETA_SIM_TOKEN=tsim_demo_$(random_secret)
export THETA_SIM_TOKEN

# tokens 40 ms apart, so the streaming is visible
THETA_SIM_TOKEN_INTERVAL=0.04 \
    demo_start theta_sim --profile fast --quiet --cert-dir "$tmp/certs"
PORT=$(echo "$READY" | sed -n 's/^READY https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p')
CA=$(echo "$READY" | sed -n 's/.* ca=\([^ ]*\).*/\1/p')
[ -n "$PORT" ] && [ -n "$CA" ] || fail "unexpected READY line: $READY"

map=""
for h in ondemand.thetaedgecloud.com storage.googleapis.com \
         ondemand-outputs.thetaedgecloud.com; do
    map="$map${map:+,}$h:443:127.0.0.1:$PORT"
done
export CLAWHOST_CONNECT_TO="$map" CLAWHOST_CA_FILE="$CA"
export THETA_ONDEMAND_API_TOKEN="$THETA_SIM_TOKEN"
unset THETA_ONDEMAND_API_KEY THETA_API_KEY THETA_ONDEMAND_API_BASE_URL \
      THETA_API_BASE_URL THETA_MAX_BUDGET_USD CLAWHOST_DAILY_BUDGET_USD \
      THETA_DRY_RUN SERVICES
demo_workdir
export CLAWHOST_STATE_DIR="$tmp/state"

echo "Theta on-demand simulator on 127.0.0.1:$PORT, reached as"
echo "https://ondemand.thetaedgecloud.com (random token, kept in the"
echo "environment; spend ledger in a temporary folder)"

show "the live catalog, vision models only (GET, no token needed)" \
    run services --category vision -q
show "a streamed chat with qwen3: tokens appear as they arrive" \
    run chat --message "Say hello to the demo" -q
show "one image from flux (worst case reserved first, then settled)" \
    run infer --service flux --prompt "a lighthouse at dusk" -q
show "the smoke run's plan: worst case against the cap, nothing sent" \
    run smoke --dry-run -q
show "the smoke run: five services at once, under the default 2.00 cap" \
    run smoke
show "what the ledger recorded" \
    ledger
echo
echo "theta demo: ok"
