#!/bin/sh
# title: Theta EdgeCloud: a disposable deployment, created, tried, deleted
#
# Starts the Theta simulator (controller, platform API and dedicated
# endpoints) on a free loopback port, reaches it under the production
# host names (a '.onthetaedgecloud.com' entry maps every deployment's
# endpoint), and runs the deployment recipes with build/clawhost: the
# templates, the validator's plan, a whole validation, then a run killed
# with SIGKILL mid-way and the `clawhost sweep` that deletes what it
# left. The API key is random and never printed; the store lives in a
# temporary folder.
NAME=deployments
SERVER_LOG=sim.log
. "$(dirname "$0")/common.inc"

THETA_SIM_API_KEY=tsk_demo_$(random_secret)
THETA_SIM_TOKEN=tsim_demo_$(random_secret)
export THETA_SIM_API_KEY THETA_SIM_TOKEN
# a warm-up slow enough to watch: 404, 503, 401, then ready
THETA_SIM_CONFIG='{"warmup": {"openai": [[404, 1], [503, 1], [401, 1]]}}' \
    demo_start theta_sim --profile fast --quiet --cert-dir "$tmp/certs"
PORT=$(echo "$READY" | sed -n 's/^READY https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p')
CA=$(echo "$READY" | sed -n 's/.* ca=\([^ ]*\).*/\1/p')
PROJECT=$(echo "$READY" | sed -n 's/.* project=\([^ ]*\).*/\1/p')
ORG=$(echo "$READY" | sed -n 's/.* org=\([^ ]*\).*/\1/p')
[ -n "$PORT" ] && [ -n "$CA" ] && [ -n "$PROJECT" ] ||
    fail "unexpected READY line: $READY"

map=""
for h in controller.thetaedgecloud.com api.thetaedgecloud.com \
         .onthetaedgecloud.com; do
    map="$map${map:+,}$h:443:127.0.0.1:$PORT"
done
export CLAWHOST_CONNECT_TO="$map" CLAWHOST_CA_FILE="$CA"
export THETA_EC_API_KEY="$THETA_SIM_API_KEY" THETA_EC_PROJECT_ID="$PROJECT"
export THETA_ORG_ID="$ORG"
unset THETA_INFERENCE_ENDPOINT THETA_INFERENCE_AUTH_TOKEN \
      THETA_INFERENCE_AUTH_USER THETA_INFERENCE_AUTH_PASS \
      THETA_MAX_BUDGET_USD CLAWHOST_DAILY_BUDGET_USD THETA_DRY_RUN
demo_workdir
export CLAWHOST_STATE_DIR="$tmp/state"
TEMPLATE=img_gf070dbq0kttgz1atmiatyunhdxm

echo "EdgeCloud simulator on 127.0.0.1:$PORT, reached as"
echo "https://controller.thetaedgecloud.com, https://api.thetaedgecloud.com"
echo "and https://*.onthetaedgecloud.com (random key; store in a temporary"
echo "folder)"

show "serving templates named like DeepSeek (every page read)" \
    run templates --search deepseek -q
show "the plan: what would be created and what it may cost (nothing sent)" \
    run validate-disposable --template "$TEMPLATE" -q
show "a whole validation: reserve, create, warm-up, one chat, delete, verify" \
    run validate-disposable --template "$TEMPLATE" --yes --interval-ms 500

printf '\n--- a validation killed with SIGKILL while it waits for the endpoint\n'
"$BIN" run validate-disposable --template "$TEMPLATE" --yes \
    --interval-ms 500 -q >/dev/null 2>&1 &
victim=$!
sleep 1.5
kill -KILL "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
echo "killed; the deployment it created is still running:"
"$BIN" run deployments -q 2>&1 || fail "deployments failed"

show "sweep, listing only" sweep --dry-run -q
show "sweep: delete what the killed run left, verify, close the entry" \
    sweep -q
show "nothing left" run deployments -q
echo
echo "deployments demo: ok"
