"""`clawhost mcp` end to end with a raw line-based JSON-RPC client:
spawn the server, write one JSON message per line to its stdin, read
lines from its stdout (docs/mcp.md).

Run from the repository root:
    /usr/bin/python3 -m pytest tests/e2e/mcp_test.py -q

Every read has a deadline; every server is closed (stdin EOF) and must
exit by itself. Every byte of stdout must be a JSON-RPC message.
"""
import json
import os
import pathlib
import queue
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from tests.e2e.deployments_test import (API_KEY, DEEPSEEK, ORG, PROJECT,
                                        TOKEN, sim)  # noqa: F401
from tests.e2e.threads_test import SECRET, backend  # noqa: F401

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "mcp"
LATEST = "2025-11-25"


class Mcp:
    """One server and a client that reads its stdout line by line."""

    def __init__(self, host, *args, env=None):
        self.p = host.popen("mcp", *args, env=env, stdin=subprocess.PIPE)
        self.lines = queue.Queue()
        self.out, self.err = [], []
        self.next_id = 0
        threading.Thread(target=self._read, args=(self.p.stdout,
                         self.out, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.p.stderr,
                         self.err, None), daemon=True).start()

    @staticmethod
    def _read(stream, keep, q):
        for line in stream:
            keep.append(line)
            if q is not None:
                q.put(line)
        if q is not None:
            q.put(None)

    def send(self, obj):
        self.p.stdin.write(json.dumps(obj) + "\n")
        self.p.stdin.flush()

    def raw(self, text):
        self.p.stdin.write(text)
        self.p.stdin.flush()

    def request(self, method, params=None, **extra):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        msg.update(extra)
        self.send(msg)
        return self.next_id

    def recv(self, timeout=60):
        line = self.lines.get(timeout=timeout)
        assert line is not None, "server closed stdout:\n" + "".join(
            self.err)
        return json.loads(line)

    def wait(self, rid, timeout=60, seen=None):
        """The response to rid; other messages go to `seen`."""
        while True:
            msg = self.recv(timeout)
            if msg.get("id") == rid and "method" not in msg:
                return msg
            if seen is not None:
                seen.append(msg)

    def call(self, method, params=None, timeout=60):
        return self.wait(self.request(method, params), timeout)

    def initialize(self, version=LATEST, capabilities=None):
        r = self.call("initialize", {
            "protocolVersion": version,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "mcp_test", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return r

    def tool(self, name, args=None, meta=None, timeout=60):
        params = {"name": name, "arguments": args or {}}
        if meta:
            params["_meta"] = meta
        return self.call("tools/call", params, timeout)

    def close(self, timeout=60):
        self.p.stdin.close()
        code = self.p.wait(timeout=timeout)
        stdout, stderr = "".join(self.out), "".join(self.err)
        for line in self.out:
            assert json.loads(line)["jsonrpc"] == "2.0"
        assert "Sanitizer" not in stderr and "runtime error" not in stderr
        return code, stdout, stderr


@pytest.fixture
def mcp(host):
    servers = []

    def start(*args, env=None):
        s = Mcp(host, "--recipes", FIXTURES, *args, env=env)
        servers.append(s)
        return s
    yield start
    for s in servers:
        if s.p.poll() is None:
            s.p.kill()
            s.p.wait(timeout=30)


@pytest.mark.parametrize("asked,agreed", [
    ("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"),
    ("2025-03-26", "2025-03-26"), ("2024-11-05", LATEST),
    ("1999-01-01", LATEST)])
def test_initialize_negotiates_the_version(mcp, asked, agreed):
    s = mcp()
    r = s.initialize(asked)["result"]
    assert r["protocolVersion"] == agreed
    assert r["capabilities"]["tools"] == {"listChanged": False}
    assert r["serverInfo"]["name"] == "clawhost"
    assert s.call("ping")["result"] == {}
    assert s.close()[0] == 0


def test_tools_list_serves_every_recipe_with_a_schema(mcp, host):
    s = mcp()
    s.initialize()
    tools = {t["name"]: t for t in s.call("tools/list")["result"]["tools"]}
    shipped = host.run("list", "--all", "--json").json()
    assert {r["name"] for r in shipped} | {"sleepy", "lives", "spender", "hog"} == set(tools)
    for t in tools.values():
        sch = t["inputSchema"]
        assert sch["type"] == "object" and "properties" in sch
        assert isinstance(t["description"], str)
        assert set(t["annotations"]) >= {"readOnlyHint", "openWorldHint"}
    hello = tools["hello"]["inputSchema"]["properties"]
    assert hello["times"] == {"type": "integer", "minimum": 1,
                              "maximum": 10, "default": 1,
                              "description": "how many greetings"}
    assert tools["hello"]["annotations"]["readOnlyHint"] is True
    assert tools["deployment-delete"]["annotations"]["destructiveHint"]
    assert tools["agent-doc-add"]["inputSchema"]["required"] == ["agent"]
    assert "required" not in tools["hello"]["inputSchema"]
    pub = tools["publish"]["inputSchema"]
    assert pub["properties"]["image"]["type"] == "array"
    at = pub["properties"]["at"]
    assert at["format"] == "date-time" and at["pattern"].startswith("^")
    assert "--allow-file-dir" in \
        tools["video-upload"]["inputSchema"]["properties"]["file"][
            "description"]
    assert "approve" in tools["deploy"]["description"]
    assert s.close()[0] == 0


def test_only_and_exclude_choose_the_tools(mcp):
    s = mcp("--only", "hello,sleepy", "--exclude", "sleepy")
    s.initialize()
    names = [t["name"] for t in s.call("tools/list")["result"]["tools"]]
    assert names == ["hello"]
    s.close()


def test_hello_call_and_recipe_error(mcp):
    s = mcp()
    s.initialize()
    r = s.tool("hello", {"name": "@bob", "times": 2})["result"]
    assert not r.get("isError")
    assert r["structuredContent"]["greetings"] == ["hello, @bob"] * 2
    assert json.loads(r["content"][0]["text"])["greeting"] == "hello, @bob"
    r = s.tool("sleepy", {"fail": True})["result"]
    assert r["isError"] is True
    assert r["structuredContent"]["error"]["code"] == "not_found"
    assert "asked to fail" in r["content"][0]["text"]
    r = s.tool("hello", {"times": 99})["result"]
    assert r["isError"] and r["structuredContent"]["error"]["code"] == \
        "usage"
    r = s.tool("hello", {"nope": 1})["result"]
    assert r["isError"] and "unknown argument nope" in \
        r["content"][0]["text"]
    bad = s.call("tools/call", {"name": "no-such-tool"})
    assert bad["error"]["code"] == -32602
    assert s.close()[0] == 0


def test_ten_concurrent_calls_one_past_its_deadline(mcp):
    s = mcp("--timeout", "3", "--max-calls", "10")
    s.initialize()
    late = s.request("tools/call", {"name": "sleepy",
                                    "arguments": {"seconds": 60}})
    ids = [s.request("tools/call", {"name": "sleepy",
                                    "arguments": {"seconds": 0.5}})
           for _ in range(9)]
    got = {}
    while len(got) < 10:
        m = s.recv(timeout=60)
        got[m["id"]] = m["result"]
    for i in ids:
        assert got[i]["structuredContent"] == {"slept": 0.5}
    assert got[late]["isError"] is True
    assert got[late]["structuredContent"]["error"]["code"] == "deadline"
    assert s.call("ping")["result"] == {}
    code, _, err = s.close()
    assert code == 0 and err.count("sleepy cleanup ran") == 10


def test_cancel_stops_the_run_and_its_cleanup_runs(mcp):
    s = mcp()
    s.initialize()
    rid = s.request("tools/call", {"name": "sleepy",
                                   "arguments": {"seconds": 60},
                                   "_meta": {"progressToken": "c1"}})
    # cancel once the run is under way (its cleanup is registered); a
    # run cancelled before it started has nothing to clean up
    started = s.recv()
    assert started["method"] == "notifications/progress"
    assert started["params"]["progressToken"] == "c1"
    s.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": rid, "reason": "test"}})
    seen = []
    assert s.call("ping")["result"] == {}
    hello = s.request("tools/call", {"name": "hello"})
    assert s.wait(hello, seen=seen)["result"]["structuredContent"]
    code, out, err = s.close()
    assert code == 0
    assert all(m.get("id") != rid for m in seen)
    assert f'"id":{rid},' not in out.replace(" ", "")
    assert "sleepy cleanup ran" in err


def test_progress_notifications_carry_the_token(mcp):
    s = mcp()
    s.initialize()
    seen = []
    rid = s.request("tools/call", {"name": "sleepy", "arguments": {},
                                   "_meta": {"progressToken": "tok-1"}})
    assert not s.wait(rid, seen=seen)["result"].get("isError")
    prog = [m["params"] for m in seen
            if m.get("method") == "notifications/progress"]
    assert [p["progressToken"] for p in prog] == ["tok-1", "tok-1"]
    assert prog[0]["progress"] < prog[1]["progress"]
    assert prog[0]["message"] == "sleepy: started"
    rid = s.request("tools/call", {"name": "sleepy", "arguments": {}})
    seen = []
    s.wait(rid, seen=seen)
    assert seen == []
    s.close()


def test_approval_refused_without_elicitation(mcp):
    s = mcp()
    s.initialize()
    r = s.tool("validate-disposable", {"template": DEEPSEEK})["result"]
    assert r["isError"] is True
    assert r["structuredContent"]["error"]["code"] == "approval_required"
    assert "--approve-spend" in r["content"][0]["text"]
    r = s.tool("lives")["result"]
    assert r["structuredContent"]["error"]["code"] == "approval_required"
    s.close()


def test_approve_spend_runs_validate_disposable_in_dry_run(mcp, sim,
                                                          tmp_path):
    env = {**sim.env(), "THETA_EC_API_KEY": API_KEY,
           "THETA_EC_PROJECT_ID": PROJECT, "THETA_ORG_ID": ORG,
           "THETA_API_KEY": TOKEN,
           "CLAWHOST_STATE_DIR": str(tmp_path / "state")}
    s = mcp("--approve-spend", "--dry-run", env=env)
    s.initialize()
    r = s.tool("validate-disposable", {"template": DEEPSEEK},
               timeout=120)["result"]
    assert not r.get("isError"), r
    assert isinstance(r["structuredContent"], dict)
    code, out, err = s.close()
    for needle in (API_KEY, TOKEN):
        assert needle not in out and needle not in err


@pytest.mark.parametrize("answer,ok", [
    ({"action": "accept", "content": {"approve": True}}, True),
    ({"action": "accept", "content": {"approve": False}}, False),
    ({"action": "decline"}, False), ({"action": "cancel"}, False)])
def test_elicitation_asks_the_user(mcp, answer, ok):
    s = mcp()
    s.initialize(capabilities={"elicitation": {}})
    rid = s.request("tools/call", {"name": "lives",
                                   "arguments": {"name": "vm1"}})
    ask = s.recv()
    assert ask["method"] == "elicitation/create"
    assert "lives" in ask["params"]["message"]
    schema = ask["params"]["requestedSchema"]
    assert schema["properties"]["approve"]["type"] == "boolean"
    s.send({"jsonrpc": "2.0", "id": ask["id"], "result": answer})
    r = s.wait(rid)["result"]
    if ok:
        assert r["structuredContent"] == {"created": "vm1"}
    else:
        assert r["isError"] and \
            r["structuredContent"]["error"]["code"] == "declined"
    s.close()


def test_confirm_above_caps_a_call_nobody_can_approve(mcp, tmp_path):
    """Without elicitation a spending call runs with --confirm-above as
    its own cap: 0.40 of a 0.50 threshold passes, 0.80 is refused by the
    budget; with --approve-spend the server's budget is the limit."""
    env = {"CLAWHOST_STATE_DIR": str(tmp_path / "state")}
    s = mcp("--budget", "5", "--confirm-above", "0.50", env=env)
    s.initialize()
    tools = {t["name"]: t for t in s.call("tools/list")["result"]["tools"]}
    assert "at most 0.50 USD" in tools["spender"]["description"]
    r = s.tool("spender", {"usd": 0.4})["result"]
    assert not r.get("isError"), r
    assert r["structuredContent"] == {"spent": 0.4, "cap": 0.5}
    r = s.tool("spender", {"usd": 0.8})["result"]
    assert r["isError"] is True
    assert r["structuredContent"]["error"]["code"] == "budget_exceeded"
    s.close()
    s = mcp("--budget", "5", "--confirm-above", "0.50", "--approve-spend",
            env=env)
    s.initialize()
    r = s.tool("spender", {"usd": 0.8})["result"]
    assert not r.get("isError"), r
    assert r["structuredContent"]["spent"] == 0.8
    s.close()


def test_confirm_above_asks_a_client_that_can(mcp, tmp_path):
    env = {"CLAWHOST_STATE_DIR": str(tmp_path / "state")}
    s = mcp("--budget", "5", "--confirm-above", "0.50", env=env)
    s.initialize(capabilities={"elicitation": {}})
    rid = s.request("tools/call", {"name": "spender",
                                   "arguments": {"usd": 0.8}})
    ask = s.recv()
    assert ask["method"] == "elicitation/create"
    assert "0.50" in ask["params"]["message"]
    s.send({"jsonrpc": "2.0", "id": ask["id"],
            "result": {"action": "accept", "content": {"approve": True}}})
    r = s.wait(rid)["result"]
    assert not r.get("isError"), r
    assert r["structuredContent"]["spent"] == 0.8
    s.close()


def test_budget_default_comes_from_the_settings_file(mcp, tmp_path):
    settings = tmp_path / "env"
    settings.write_text("THETA_MAX_BUDGET_USD=0.30\n")
    settings.chmod(0o600)
    env = {"CLAWHOST_STATE_DIR": str(tmp_path / "state"),
           "THETA_MAX_BUDGET_USD": ""}
    s = mcp("--env-file", str(settings), "--confirm-above", "0.10",
            env=env)
    s.initialize(capabilities={"elicitation": {}})
    rid = s.request("tools/call", {"name": "spender",
                                   "arguments": {"usd": 0.2}})
    ask = s.recv()
    assert "up to 0.30 USD" in ask["params"]["message"]
    s.send({"jsonrpc": "2.0", "id": ask["id"],
            "result": {"action": "decline"}})
    assert s.wait(rid)["result"]["isError"] is True
    s.close()


def test_long_texts_a_dash_and_nul_reach_the_run_intact(mcp):
    """A text argument longer than a command line may carry (the kernel
    caps one argv item at 128 KiB) goes to the run as a file; so do a
    lone '-' and a NUL, which the run then refuses as the CLI does."""
    s = mcp()
    s.initialize()
    for name in ("x" * 200_000, "-", "@" + "y" * 40_000, "é" * 30_000):
        r = s.tool("hello", {"name": name})["result"]
        assert not r.get("isError"), r
        assert r["structuredContent"]["greeting"] == "hello, " + name
    r = s.tool("hello", {"name": "a\0b"})["result"]
    assert r["isError"] and "NUL" in r["content"][0]["text"], r
    r = s.tool("hello", {"name": "x" * (1 << 20 + 1)})["result"]
    assert r["isError"] and \
        r["structuredContent"]["error"]["code"] == "usage", r
    s.close()


def test_a_memory_breach_and_a_crash_end_their_call_only(mcp):
    """One call over --memory-mb and one whose process dies of SIGSEGV
    are isError results; a call running beside them and the server go
    on."""
    # under ASan the SIGSEGV must kill the run as it would a plain build
    asan = os.environ.get("ASAN_OPTIONS") or \
        "detect_leaks=1:abort_on_error=0"
    s = mcp("--memory-mb", "32",
            env={"ASAN_OPTIONS": asan + ":handle_segv=0"})
    s.initialize()
    hog = s.request("tools/call", {"name": "hog", "arguments": {}})
    victim = s.request("tools/call", {"name": "sleepy",
                                      "arguments": {"seconds": 30},
                                      "_meta": {"progressToken": "v"}})
    calm = s.request("tools/call", {"name": "sleepy",
                                    "arguments": {"seconds": 2},
                                    "_meta": {"progressToken": "c"}})
    started = set()
    while started != {"v", "c"}:
        msg = s.recv()
        if msg.get("method") == "notifications/progress":
            started.add(msg["params"]["progressToken"])
    pids = subprocess.run(["pgrep", "-P", str(s.p.pid), "-f",
                           "sleepy.lua --seconds=30"],
                          capture_output=True, text=True).stdout.split()
    assert len(pids) == 1, pids
    os.kill(int(pids[0]), signal.SIGSEGV)
    results = {}
    while len(results) < 3:
        msg = s.recv()
        if "method" not in msg:
            results[msg["id"]] = msg["result"]
    assert results[hog]["structuredContent"]["error"]["code"] == "memory"
    assert results[victim]["structuredContent"]["error"]["code"] == \
        "crashed"
    assert "died of SIGSEGV" in \
        results[victim]["structuredContent"]["error"]["message"]
    assert results[calm]["structuredContent"] == {"slept": 2}
    assert s.call("ping")["result"] == {}
    assert s.tool("hello")["result"]["structuredContent"]["greeting"]
    assert s.close()[0] == 0


def test_a_killed_server_cancels_its_runs_with_their_cleanup(mcp,
                                                            tmp_path):
    """SIGKILL of the server (a host that gives up on it) still ends
    every run it started, each with its deferred cleanup (which here
    stores a key: the server's stdout and stderr are gone)."""
    state = tmp_path / "state"
    s = mcp(env={"CLAWHOST_STATE_DIR": str(state)})
    s.initialize()
    s.request("tools/call", {"name": "sleepy",
                             "arguments": {"seconds": 60, "mark": "k1"},
                             "_meta": {"progressToken": "k"}})
    assert s.recv()["method"] == "notifications/progress"
    pids = subprocess.run(["pgrep", "-P", str(s.p.pid), "-f",
                           "sleepy.lua .*--seconds=60"],
                          capture_output=True, text=True).stdout.split()
    assert len(pids) == 1, pids
    child = int(pids[0])
    s.p.kill()
    s.p.wait(timeout=30)
    for _ in range(300):                # the run ends within 30 s
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the run outlived its killed server")
    db = sqlite3.connect(state / "clawhost.db")
    keys = [k for (k,) in db.execute(
        "SELECT key FROM clawhost_state WHERE ns = 'recipe:sleepy'")]
    db.close()
    assert keys == ["cleanup:k1"], keys


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_and_cancels_its_runs(mcp, tmp_path,
                                                         sig):
    """SIGTERM or SIGINT, idle or with a call running: the server ends
    (exit 0) once the run's cleanup has run."""
    state = tmp_path / "state"
    s = mcp(env={"CLAWHOST_STATE_DIR": str(state)})
    s.initialize()
    s.request("tools/call", {"name": "sleepy",
                             "arguments": {"seconds": 60, "mark": "sig"},
                             "_meta": {"progressToken": "s"}})
    assert s.recv()["method"] == "notifications/progress"
    s.p.send_signal(sig)
    assert s.p.wait(timeout=30) == 0
    db = sqlite3.connect(state / "clawhost.db")
    keys = [k for (k,) in db.execute(
        "SELECT key FROM clawhost_state WHERE ns = 'recipe:sleepy'")]
    db.close()
    assert keys == ["cleanup:sig"], keys
    idle = mcp()
    idle.initialize()
    idle.p.send_signal(sig)
    assert idle.p.wait(timeout=30) == 0


def test_publish_leaks_no_secret(mcp, backend):  # noqa: F811
    s = mcp(env={"THREADS_FASTAPI_BASE_URL": backend.url,
                 "THREADS_QUEUE_SECRET": SECRET})
    s.initialize()
    r = s.tool("publish", {"message": "from mcp " + SECRET[:6]},
               timeout=90)["result"]
    assert not r.get("isError"), r
    r = s.tool("hello", {"name": SECRET})["result"]
    code, out, err = s.close()
    assert code == 0
    assert SECRET not in out and SECRET not in err
    assert SECRET.encode().hex() not in out


def test_garbage_and_an_over_long_line(mcp):
    s = mcp()
    s.raw("not json\n")
    assert s.recv()["error"]["code"] == -32700
    s.raw("[1,2]\n")
    assert s.recv()["error"]["code"] == -32600
    s.raw('{"jsonrpc":"2.0","id":7}\n')
    assert s.recv()["error"]["code"] == -32600
    s.raw("x" * (5 * 1024 * 1024) + "\n")
    m = s.recv()
    assert m["error"]["code"] == -32700 and m["id"] is None
    assert s.call("nope/nope")["error"]["code"] == -32601
    assert s.initialize()["result"]["protocolVersion"] == LATEST
    assert s.close()[0] == 0


def test_file_params_only_under_allowed_folders(mcp, tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "doc.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("no")
    (allowed / "link.txt").symlink_to(tmp_path / "secret.txt")
    s = mcp("--allow-file-dir", allowed, "--dry-run")
    s.initialize()
    for bad in (str(tmp_path / "secret.txt"), str(allowed / "link.txt"),
                str(allowed / ".." / "secret.txt"), "/etc/passwd"):
        r = s.tool("agent-doc-add", {"agent": "a", "file": bad})["result"]
        assert r["isError"] and "--allow-file-dir" in \
            r["content"][0]["text"], bad
    s.close()
    s = mcp()
    s.initialize()
    r = s.tool("agent-doc-add", {"agent": "a",
                                 "file": str(allowed / "doc.txt")})
    assert "--allow-file-dir" in r["result"]["content"][0]["text"]
    s.close()
