#!/bin/sh
# title: clawhost mcp: the recipes as tools for an AI agent
#
# Starts the reference Threads backend on a free loopback port and
# `clawhost mcp` as an agent host would (a child process speaking
# JSON-RPC on stdin/stdout), then plays the agent with a few lines of
# Python: initialize, list the tools, publish a post through the tool,
# and try a tool that creates a billed deployment, which is refused
# because this client cannot ask the user. The queue secret is random,
# stays in the environment, and is checked absent from every byte the
# server wrote.
NAME=mcp
SERVER_LOG=backend.log
. "$(dirname "$0")/common.inc"

THREADS_QUEUE_SECRET=demo-$(random_secret)
export THREADS_QUEUE_SECRET
REF_TEST_HOOKS=0 REF_STATE_DIR="$tmp/state" demo_start threads_backend
export THREADS_FASTAPI_BASE_URL=$(echo "$READY" | cut -d' ' -f2)
export THREADS_TENANT_ID=agency_paris
demo_workdir
export CLAWHOST_STATE_DIR="$tmp/clawhost-state"

echo "reference backend at $THREADS_FASTAPI_BASE_URL; the agent below"
echo "talks to: clawhost mcp --budget 1.00"

"$PY" - "$BIN" <<'PYEOF' || fail "the MCP session failed"
import json, os, subprocess, sys

server = subprocess.Popen([sys.argv[1], "mcp", "--budget", "1.00"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
raw = []


def ask(n, method, params):
    msg = {"jsonrpc": "2.0", "id": n, "method": method, "params": params}
    print("agent  -> %s %s" % (method, json.dumps(params)[:100]))
    server.stdin.write((json.dumps(msg) + "\n").encode())
    server.stdin.flush()
    line = server.stdout.readline()
    raw.append(line)
    return json.loads(line)


r = ask(1, "initialize", {"protocolVersion": "2025-11-25",
                          "capabilities": {},
                          "clientInfo": {"name": "demo", "version": "1"}})
print("server <- protocol %s, server %s" % (
    r["result"]["protocolVersion"], r["result"]["serverInfo"]["name"]))
server.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
tools = ask(2, "tools/list", {})["result"]["tools"]
pub = [t for t in tools if t["name"] == "publish"][0]
print("server <- %d tools; publish takes %s" % (
    len(tools), ", ".join(sorted(pub["inputSchema"]["properties"]))))
r = ask(3, "tools/call", {"name": "publish", "arguments": {
    "message": "Hello from an agent, through clawhost"}})["result"]
print("server <- %s" % json.dumps(r["structuredContent"])[:240])
assert not r.get("isError"), r
r = ask(4, "tools/call", {"name": "validate-disposable",
                          "arguments": {"template": "img_demo"}})["result"]
print("server <- isError=%s: %s" % (r["isError"],
                                    r["structuredContent"]["error"]["code"]))
print("          " + r["structuredContent"]["error"]["message"][:200])
assert r["isError"]
server.stdin.close()
err = server.stderr.read()
server.wait(timeout=60)
secret = os.environ["THREADS_QUEUE_SECRET"].encode()
seen = b"".join(raw) + server.stdout.read() + err
assert secret not in seen, "the queue secret reached the agent"
print("server exited %d; the queue secret is in none of the %d bytes it "
      "wrote" % (server.returncode, len(seen)))
sys.exit(server.returncode)
PYEOF

cd "$ROOT" || exit 1
stop
trap - EXIT
echo
echo "mcp demo: done; the backend stopped"
