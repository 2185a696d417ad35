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
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-/usr/bin/python3}
BIN="$ROOT/build/clawhost"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clawhost-demo-theta.XXXXXX") || exit 1
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
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

fail() {
    echo "theta demo: $*" >&2
    if [ -s "$tmp/sim.log" ]; then
        echo "--- simulator log (last lines)" >&2
        tail -n 20 "$tmp/sim.log" >&2
    fi
    exit 1
}

[ -x "$BIN" ] || fail "$BIN is missing: run make build/clawhost first"

# A fresh random token, shared by the simulator and clawhost through the
# environment only; it is never echoed.
THETA_SIM_TOKEN=tsim_demo_$("$PY" -c \
    'import secrets; print(secrets.token_hex(16))') ||
    fail "cannot make a random token"
export THETA_SIM_TOKEN

# tokens 40 ms apart, so the streaming is visible
THETA_SIM_TOKEN_INTERVAL=0.04 PYTHONPATH="$ROOT" \
    "$PY" -u -m tests.servers.theta_sim --port 0 --profile fast --quiet \
    --cert-dir "$tmp/certs" >"$tmp/ready" 2>"$tmp/sim.log" &
pid=$!

PORT= CA=
i=0
while [ $i -lt 300 ]; do
    line=$(head -n 1 "$tmp/ready" 2>/dev/null)
    case $line in
    "READY "*)
        PORT=$(echo "$line" | sed -n 's/^READY https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p')
        CA=$(echo "$line" | sed -n 's/.* ca=\([^ ]*\).*/\1/p')
        break ;;
    esac
    kill -0 "$pid" 2>/dev/null || fail "the simulator exited before it was ready"
    sleep 0.1
    i=$((i + 1))
done
[ -n "$PORT" ] && [ -n "$CA" ] || fail "the simulator was not ready after 30 s"

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
# clawhost reads .env.local from its working folder: use an empty one;
# the spend ledger goes to a temporary state folder
mkdir -p "$tmp/work" "$tmp/home"
cd "$tmp/work" || fail "cannot enter $tmp/work"
export HOME="$tmp/home" XDG_STATE_HOME="$tmp/home/state"
export CLAWHOST_STATE_DIR="$tmp/state"

echo "Theta on-demand simulator on 127.0.0.1:$PORT, reached as"
echo "https://ondemand.thetaedgecloud.com (random token, kept in the"
echo "environment; spend ledger in a temporary folder)"

step=0
# show TITLE -- CMD ARGS...: run `clawhost CMD ARGS...`, print what
# happened; a failure stops the demo.
show() {
    step=$((step + 1))
    printf '\n--- %d. %s\n$ clawhost' "$step" "$1"
    shift
    for a in "$@"; do
        case $a in
        *" "*|*"'"*) printf " '%s'" "$a" ;;
        *) printf ' %s' "$a" ;;
        esac
    done
    printf '\n'
    "$BIN" "$@" 2>&1
    rc=$?
    [ $rc -eq 0 ] || fail "step $step failed (exit $rc)"
}

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
