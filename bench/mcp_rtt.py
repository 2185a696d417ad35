"""mcp_rtt.py BIN RUNS -- `make bench` section 8: how long `clawhost
mcp` takes to answer initialize and tools/list from its start, and a
`hello` tools/call round trip, next to `clawhost run hello --json` run
directly (what each call starts as a child). Prints one line of JSON.

Standard library only; the server and its children stay on this
machine and read no settings (bench/run.sh runs this in a clean
environment).
"""
import json
import statistics
import subprocess
import sys
import time


def line(obj):
    return (json.dumps(obj) + "\n").encode()


INIT = line({"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "bench", "version": "1"}}})
LIST = line({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
CALL = line({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "hello", "arguments": {}}})


def one_server(binary):
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "mcp"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.stdin.write(INIT + LIST)
    p.stdin.flush()
    p.stdout.readline()
    tools = json.loads(p.stdout.readline())["result"]["tools"]
    t1 = time.perf_counter()
    p.stdin.write(CALL)
    p.stdin.flush()
    reply = json.loads(p.stdout.readline())
    t2 = time.perf_counter()
    p.stdin.close()
    p.wait(timeout=30)
    if reply["result"].get("isError"):
        raise SystemExit("hello over MCP failed: %r" % reply)
    return t1 - t0, t2 - t1, len(tools)


def direct(binary):
    t0 = time.perf_counter()
    subprocess.run([binary, "run", "hello", "--json"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30)
    return time.perf_counter() - t0


def main():
    binary, runs = sys.argv[1], int(sys.argv[2])
    lists, calls, runs_direct, ntools = [], [], [], 0
    for _ in range(runs):
        a, b, ntools = one_server(binary)
        lists.append(a)
        calls.append(b)
        runs_direct.append(direct(binary))
    ms = lambda xs: round(statistics.median(xs) * 1000, 2)  # noqa: E731
    print(json.dumps({"tools": ntools, "list_ms": ms(lists),
                      "call_ms": ms(calls), "direct_ms": ms(runs_direct)}))


main()
