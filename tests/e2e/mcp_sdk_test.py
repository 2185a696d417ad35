"""`clawhost mcp` driven by the official MCP TypeScript SDK client
(tests/mcp/client.mjs on @modelcontextprotocol/sdk, installed by
`vendor/deps.sh test`), against the local servers: the Threads reference
backend and the Theta simulator (TLS, production host names).

    /usr/bin/python3 -m pytest tests/e2e/mcp_sdk_test.py -q

Each test runs the driver once or a few times: it spawns `build/clawhost
mcp ...` through the SDK's StdioClientTransport (the server's stdout
copied byte for byte to a file by tee, its stderr piped), runs a
scenario and prints a JSON report. Every session's raw stdout, its
stderr and the report are searched for the queue secret, the Theta
keys and their usual encodings (`Session`); the last test checks the
whole collection once more.

Skipped only when node is not installed; a missing tests/mcp/node_modules
is a failure that says to run `./vendor/deps.sh test`.
"""
import base64
import json
import pathlib
import random
import secrets
import shutil
import subprocess
import textwrap
import time
import urllib.parse

import pytest

from tests.e2e.conftest import BIN, ROOT, clean_env
from tests.e2e.fixtures.theta_sim import Sim
from tests.servers import harness

NODE = shutil.which("node")
CLIENT = ROOT / "tests" / "mcp" / "client.mjs"
SDK = ROOT / "tests" / "mcp" / "node_modules" / "@modelcontextprotocol" / \
    "sdk" / "package.json"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not "
                                "installed (vendor/deps.sh test installs "
                                "it)")

QUEUE_SECRET = "qs-" + secrets.token_hex(16)
TOKEN = "tsim_" + secrets.token_urlsafe(24)
API_KEY = "tsk_" + secrets.token_urlsafe(24)
_ID = "abcdefghijkmnpqrstuvwxyz0123456789"
PROJECT = "prj_" + "".join(random.choice(_ID) for _ in range(28))
ORG = "org_" + "".join(random.choice(_ID) for _ in range(28))
SECRETS = (QUEUE_SECRET, TOKEN, API_KEY)

DEEPSEEK = "img_gf070dbq0kttgz1atmiatyunhdxm"       # openai flavour
FAST_WARMUP = {"openai": [[404, 0.15], [503, 0.15], [401, 0.15]],
               "gradio": [[404, 0.15], [502, 0.15]],
               "html": [[404, 0.1]]}

BACKEND_ENV = {
    "THREADS_QUEUE_SECRET": QUEUE_SECRET, "REF_TEST_HOOKS": "1",
    "REF_CONTAINER_WAIT_S": "0", "REF_POLL_S": "0",
    "REF_FAKE_GEN_MS": "60", "REF_GEN_TIMEOUT_S": "5",
    "REF_WORKER_INTERVAL_S": "0", "REF_LOG_LEVEL": "warning",
}
QUEUE = "/api/v1/threads/queue"

SESSIONS = []           # every session's (raw stdout, report text)


# ---- secrets in bytes ----------------------------------------------------

def forms(value):
    """The secret and the encodings a leak would most likely take."""
    raw = value.encode()
    return {raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw),
            urllib.parse.quote(value, safe="").encode(),
            json.dumps(value).encode()[1:-1], raw.hex().encode()}


def leaks(data):
    """Each secret form (or a 12-byte window of it) found in data."""
    found = []
    for s in SECRETS:
        for f in forms(s):
            cuts = [f] if len(f) <= 12 else \
                [f[i:i + 12] for i in range(len(f) - 11)]
            if any(c in data for c in cuts):
                found.append(f[:6] + b"...")
    return found


# ---- the servers ---------------------------------------------------------

class Backend:
    def __init__(self, server):
        self.server = server
        self.url = server.url

    def call(self, method, path, body=None):
        import urllib.request
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("X-Queue-Secret", QUEUE_SECRET)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def reset(self):
        self.call("POST", "/__test__/reset", {})

    def items(self):
        return self.call("GET", QUEUE)["items"]


SIM_HOSTS = ("ondemand.thetaedgecloud.com", "controller.thetaedgecloud.com",
             "api.thetaedgecloud.com", "storage.googleapis.com",
             "ondemand-outputs.thetaedgecloud.com", ".onthetaedgecloud.com")


@pytest.fixture(scope="module")
def backend():
    server = harness.start("threads_backend", env=BACKEND_ENV)
    try:
        yield Backend(server)
    finally:
        assert server.stop() == 0


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_TOKEN": TOKEN,
                                "THETA_SIM_API_KEY": API_KEY,
                                "THETA_SIM_PROJECT_ID": PROJECT,
                                "THETA_SIM_ORG_ID": ORG})
    try:
        yield Sim(server, SIM_HOSTS, reset_config={"warmup": FAST_WARMUP})
    finally:
        assert server.stop() == 0


# ---- a session: one server process, one SDK client ------------------------

class Report:
    def __init__(self, doc, raw):
        self.doc = doc
        self.raw = raw

    def __getitem__(self, k):
        return self.doc[k]

    def get(self, k, default=None):
        return self.doc.get(k, default)

    @property
    def tools(self):
        return {t["name"]: t for t in self.doc["tools"]}

    def call(self, cid):
        [c] = [c for c in self.doc["calls"] if c["id"] == cid]
        return c

    def sent(self, method):
        return [m["msg"] for m in self.doc["messages"]
                if m["dir"] == "out" and m["msg"].get("method") == method]

    def __repr__(self):
        d = {k: v for k, v in self.doc.items() if k not in
             ("messages", "tools", "schemas")}
        return json.dumps(d, indent=1)[:20000]


class Mcp:
    """Runs tests/mcp/client.mjs against `clawhost mcp` with the settings
    of both local servers and a state folder of its own."""

    def __init__(self, tmp, backend, sim):
        self.tmp = tmp
        self.home = tmp / "home"
        self.home.mkdir(exist_ok=True)
        self.sim = sim
        self.env = clean_env(self.home, {
            **sim.env(),
            "THREADS_FASTAPI_BASE_URL": backend.url,
            "THREADS_QUEUE_SECRET": QUEUE_SECRET,
            "THETA_API_KEY": TOKEN, "THETA_EC_API_KEY": API_KEY,
            "THETA_EC_PROJECT_ID": PROJECT, "THETA_ORG_ID": ORG,
            "CLAWHOST_STATE_DIR": str(tmp / "state")})
        self.n = 0

    def scenario(self, args=(), **kw):
        self.n += 1
        raw = self.tmp / f"stdout-{self.n}.bin"
        sc = {"command": BIN, "args": ["mcp", *map(str, args)],
              "env": self.env, "cwd": str(self.tmp),
              "raw_stdout": str(raw), **kw}
        path = self.tmp / f"scenario-{self.n}.json"
        path.write_text(json.dumps(sc))
        return path, raw

    def start(self, args=(), **kw):
        path, raw = self.scenario(args, **kw)
        proc = subprocess.Popen([NODE, str(CLIENT), str(path)],
                                cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        return proc, raw

    def finish(self, proc, raw, timeout=120):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the MCP client did not finish in {timeout}s: "
                        f"{err.decode(errors='replace')[-2000:]}")
        assert proc.returncode == 0, err.decode(errors="replace")
        data = raw.read_bytes()
        SESSIONS.append((data, out))
        # no secret in any byte the server wrote, nor in the report
        # (which holds its stderr and every message it sent)
        assert leaks(data) == [], leaks(data)
        assert leaks(out) == [], leaks(out)
        doc = json.loads(out)
        rep = Report(doc, data)
        assert "fatal" not in doc, rep
        for mark in ("stack traceback", "Sanitizer", "runtime error:"):
            assert mark not in doc["stderr"], doc["stderr"]
        # the server's stdout held JSON-RPC messages and nothing else
        for line in data.splitlines():
            msg = json.loads(line)
            assert msg.get("jsonrpc") == "2.0", line[:200]
        rc = raw.with_name(raw.name + ".rc")
        rep.exit_code = int(rc.read_text()) if rc.exists() else None
        # the server left by itself when the client closed its stdin
        assert rep.exit_code == 0, (rep.exit_code, doc["stderr"][-2000:])
        return rep

    def run(self, args=(), timeout=120, **kw):
        proc, raw = self.start(args, **kw)
        return self.finish(proc, raw, timeout)


@pytest.fixture
def mcp(tmp_path, backend, sim):
    if not SDK.exists():
        pytest.fail("the MCP SDK is not installed in tests/mcp/node_modules:"
                    " run ./vendor/deps.sh test (or make deps-test)")
    backend.reset()
    sim.reset()
    m = Mcp(tmp_path, backend, sim)
    yield m
    # no test leaves a deployment alive
    assert wait_for(lambda: sim.live() == [], 30), sim.live()


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def text_of(result):
    return "\n".join(c.get("text", "") for c in result.get("content", [])
                     if c.get("type") == "text")


def error_code(result):
    """The stable error code an isError result carries."""
    sc = result.get("structuredContent") or {}
    if isinstance(sc.get("error"), dict) and "code" in sc["error"]:
        return sc["error"]["code"]
    return sc.get("code")


def ok(call):
    assert "error" not in call, call
    r = call["result"]
    assert not r.get("isError"), r
    return r


def failed(call):
    assert "error" not in call, call
    r = call["result"]
    assert r.get("isError") is True, r
    return r


def shipped():
    r = subprocess.run([BIN, "list", "--all", "--json"], capture_output=True,
                       text=True, timeout=30,
                       env=clean_env(pathlib.Path("/nonexistent")))
    assert r.returncode == 0, r.stderr
    return {x["name"] for x in json.loads(r.stdout)}


# ---- tools and their schemas ------------------------------------------------

def test_every_shipped_recipe_is_a_tool_with_a_valid_schema(mcp):
    rep = mcp.run(schemas=True)
    assert rep["protocol_version"] == "2025-11-25"
    assert rep["server"]["name"]
    assert "tools" in rep["capabilities"]
    tools = rep.tools
    assert set(tools) == shipped()
    for name, tool in tools.items():
        assert tool.get("description"), name
        schema = tool["inputSchema"]
        assert schema["type"] == "object", name
        verdict = rep["schemas"][name]
        for part in ("input", "output"):
            v = verdict[part]
            if v is None:
                continue
            # a valid draft 2020-12 schema (MCP 2025-11-25's default
            # dialect) that Ajv compiles
            assert v["meta_valid"] and v["compiles"], (name, part, v)
            # and nothing Ajv's strict mode would flag (unknown keywords,
            # keywords that do not fit the type)
            assert v["strict_warnings"] == [], (name, part, v)
            assert v["declares_schema"] in (
                None, "https://json-schema.org/draft/2020-12/schema"), v
    # the protocol revision the client asked for was answered as is
    [init] = rep.sent("initialize")
    assert init["params"]["protocolVersion"] == "2025-11-25"


@pytest.mark.parametrize("version", ["2025-06-18", "2025-03-26"])
def test_older_protocol_revisions_are_negotiated(mcp, version):
    rep = mcp.run(protocol_version=version,
                  batches=[[{"id": "h", "name": "hello",
                             "arguments": {"name": version}}]])
    assert rep["protocol_version"] == version
    r = ok(rep.call("h"))
    assert f"hello, {version}" in text_of(r)


INSTANCES = [
    ("hello", {}, True),
    ("hello", {"name": "Ann", "times": 3}, True),
    ("hello", {"times": 11}, False),
    ("hello", {"times": 0}, False),
    ("hello", {"times": 2.5}, False),
    ("hello", {"times": "3"}, False),
    ("hello", {"name": 7}, False),
    ("publish", {"message": "hi", "mode": "now"}, True),
    ("publish", {"message": "hi", "mode": "later"}, False),
    ("publish", {"message": "hi", "image": ["https://example.com/a.png",
                                            "https://example.com/b.png"]},
     True),
    ("publish", {"message": "hi", "image": "https://example.com/a.png"},
     False),
    ("publish", {"message": "hi", "image": [3]}, False),
    ("publish", {"message": "hi", "at": "2030-01-02T03:04:05+01:00"}, True),
    ("publish", {"message": "hi", "proxy_images": "yes"}, False),
    ("publish", {"message": "hi", "no_such_param": 1}, False),
    ("chat", {"message": "hi", "max_tokens": 0}, False),
    ("validate-disposable", {"probe": "ssh"}, False),
]


def test_schemas_say_what_the_params_say(mcp):
    rep = mcp.run(instances=[{"tool": t, "value": v}
                             for t, v, _ in INSTANCES])
    for (tool, value, want), got in zip(INSTANCES, rep["instances"]):
        assert got["valid"] is want, (tool, value, got)
    hello = rep.tools["hello"]["inputSchema"]["properties"]
    assert hello["times"]["type"] == "integer"
    assert (hello["times"]["minimum"], hello["times"]["maximum"],
            hello["times"]["default"]) == (1, 10, 1)
    assert hello["name"]["type"] == "string"
    assert hello["name"]["default"] == "world"
    pub = rep.tools["publish"]["inputSchema"]
    props = pub["properties"]
    assert props["mode"]["enum"] == ["queue", "now"]
    assert props["mode"]["default"] == "queue"
    assert props["image"]["type"] == "array"
    assert props["image"]["items"]["type"] == "string"
    assert props["at"]["type"] == "string"
    assert "pattern" in props["at"] or props["at"].get("format") == \
        "date-time", props["at"]
    assert props["proxy_images"]["type"] == "boolean"
    for p in props.values():
        assert p.get("description"), props
    chat = rep.tools["chat"]["inputSchema"]
    assert "message" in chat.get("required", []), chat
    assert chat["properties"]["max_tokens"]["maximum"] == 5000


# ---- calls ---------------------------------------------------------------

def test_hello_structured_and_text(mcp):
    rep = mcp.run(batches=[[{"id": "h", "name": "hello",
                             "arguments": {"name": "Ann", "times": 2}}]])
    r = ok(rep.call("h"))
    sc = r["structuredContent"]
    assert sc["greeting"] == "hello, Ann"
    assert sc["greetings"] == ["hello, Ann", "hello, Ann"]
    assert "hello, Ann" in text_of(r)


def test_invalid_arguments_are_an_error_not_a_run(mcp):
    rep = mcp.run(batches=[[{"id": "bad", "name": "hello",
                             "arguments": {"times": 99}},
                            {"id": "nope", "name": "no-such-recipe"}]])
    bad = rep.call("bad")
    # a tool error the model can read, or a JSON-RPC invalid params
    if "error" in bad:
        assert bad["error"]["code"] == -32602, bad
    else:
        assert bad["result"]["isError"] is True
        assert "times" in text_of(bad["result"])
    nope = rep.call("nope")
    if "error" in nope:
        assert nope["error"]["code"] == -32602, nope
    else:
        assert nope["result"]["isError"] is True


def test_publish_lands_in_the_backend(mcp, backend):
    msg = "from the MCP SDK client " + secrets.token_hex(4)
    rep = mcp.run(batches=[[{"id": "p", "name": "publish",
                             "arguments": {"message": msg}}]])
    r = ok(rep.call("p"))
    sc = r["structuredContent"]
    assert sc["id"].startswith("thq_") and sc["status"] == "queued"
    [item] = backend.items()
    assert item["id"] == sc["id"]
    assert item["message"] == msg
    assert sc["id"] in text_of(r)


def test_publish_refused_by_the_backend_is_an_error_with_a_code(mcp):
    rep = mcp.run(batches=[[{"id": "p", "name": "publish",
                             "arguments": {"message": "x" * 600}}]])
    r = failed(rep.call("p"))
    assert error_code(r), r
    assert text_of(r)


def test_streamed_chat_reports_progress(mcp, sim):
    rep = mcp.run(batches=[[{"id": "c", "name": "chat", "progress": True,
                             "arguments": {"message": "Name three rivers",
                                           "max_tokens": 200}}]])
    call = rep.call("c")
    r = ok(call)
    assert text_of(r).strip()
    prog = call["progress"]
    assert prog and all(p.get("message") for p in prog), call
    assert any("qwen3" in p["message"] for p in prog), prog
    values = [p["progress"] for p in prog]
    assert values == sorted(values) and len(set(values)) == len(values)
    # the call carried a progress token and every notification used it
    [req] = [m for m in rep.sent("tools/call")]
    token = req["params"]["_meta"]["progressToken"]
    notes = [m["msg"] for m in rep["messages"] if m["dir"] == "in" and
             m["msg"].get("method") == "notifications/progress"]
    assert notes and all(n["params"]["progressToken"] == token
                         for n in notes)
    assert [p for p in sim.requests() if p.get("route") == "chat" or
            "infer_request" in p.get("path", "")], "the simulator served it"


def test_ten_concurrent_calls_one_past_its_deadline(mcp, sim):
    # one chat answer held 30 s by the simulator; the server's per-run
    # deadline is 3 s
    sim.faults(latency={"seconds": 30, "count": 1,
                        "routes": ["infer", "chat"]})
    calls = [{"id": f"h{i}", "name": "hello",
              "arguments": {"name": f"n{i}", "times": 1 + i % 3}}
             for i in range(9)]
    calls.append({"id": "slow", "name": "chat",
                  "arguments": {"message": "slow one", "stream": False}})
    rep = mcp.run(["--timeout", "3"], batches=[calls], timeout=90)
    assert len(rep["calls"]) == 10
    for i in range(9):
        r = ok(rep.call(f"h{i}"))
        assert r["structuredContent"]["greeting"] == f"hello, n{i}"
        assert len(r["structuredContent"]["greetings"]) == 1 + i % 3
    slow = failed(rep.call("slow"))
    assert error_code(slow) == "deadline", slow
    # the nine did not wait for the slow one
    assert max(rep.call(f"h{i}")["ended_ms"] for i in range(9)) < \
        rep.call("slow")["ended_ms"]


# ---- spending: approval and cleanup ------------------------------------------

def disposable_args(**kw):
    return {"template": DEEPSEEK, "interval_ms": 500, "yes": True, **kw}


def test_spending_tool_refused_without_elicitation_or_approval(mcp, sim):
    rep = mcp.run(batches=[[{"id": "v", "name": "validate-disposable",
                             "arguments": disposable_args()},
                            {"id": "d", "name": "deploy",
                             "arguments": {"template": DEEPSEEK,
                                           "yes": True}},
                            {"id": "h", "name": "hello"}]])
    for cid in ("v", "d"):
        r = failed(rep.call(cid))
        assert "--approve-spend" in text_of(r), r
        assert error_code(r) == "approval_required", r
    ok(rep.call("h"))
    assert rep["elicitations"] == []
    assert sim.mutating() == [] and sim.deployments() == []


def test_spending_tool_runs_with_approve_spend(mcp, sim):
    rep = mcp.run(["--approve-spend"],
                  batches=[[{"id": "v", "name": "validate-disposable",
                             "arguments": disposable_args()}]])
    sc = ok(rep.call("v"))["structuredContent"]
    assert sc["cleanup"]["verified"] is True
    [d] = sim.deployments()
    assert d["deleted"]


@pytest.mark.parametrize("answer", [
    {"action": "decline"}, {"action": "cancel"},
    {"action": "accept", "content": {"approve": False}}],
    ids=["decline", "cancel", "accept-false"])
def test_spending_tool_asks_the_user_and_a_no_refuses(mcp, sim, answer):
    rep = mcp.run(elicitation=answer,
                  batches=[[{"id": "v", "name": "validate-disposable",
                             "arguments": disposable_args()}]])
    r = failed(rep.call("v"))
    assert error_code(r) == "declined", r
    [asked] = rep["elicitations"]
    assert asked["params"]["requestedSchema"]["properties"]["approve"][
        "type"] == "boolean"
    assert asked["params"]["message"]
    assert "validate-disposable" in asked["params"]["message"] or \
        "deploy" in asked["params"]["message"].lower(), asked
    assert text_of(r)
    assert sim.mutating() == [] and sim.deployments() == []


def test_spending_tool_asks_the_user_and_an_accept_runs(mcp, sim):
    rep = mcp.run(elicitation={"action": "accept"},
                  batches=[[{"id": "v", "name": "validate-disposable",
                             "arguments": disposable_args()}]])
    assert len(rep["elicitations"]) == 1
    sc = ok(rep.call("v"))["structuredContent"]
    assert sc["cleanup"]["verified"] is True
    [d] = sim.deployments()
    assert d["deleted"]


def test_cancelling_a_long_call_runs_its_cleanup(mcp, sim, tmp_path):
    # the endpoint never gets ready: the run waits until cancelled
    sim.config(warmup_override=[[503, 120]])
    go = tmp_path / "cancel-now"
    proc, raw = mcp.start(["--approve-spend"], wait_after_ms=500,
                          batches=[[{"id": "v", "name": "validate-disposable",
                                     "progress": True,
                                     "arguments": disposable_args(
                                         ready_timeout_ms=110000),
                                     "cancel": {"when_file": str(go)}}]])
    try:
        assert wait_for(lambda: len(sim.live()) == 1, 60), \
            "the deployment was never created"
        go.touch()
        # the run's cleanup deletes the deployment and checks it is gone
        assert wait_for(lambda: sim.live() == [], 60), sim.live()
    finally:
        go.touch()
        rep = mcp.finish(proc, raw)
    call = rep.call("v")
    assert call["cancelled_by"] == "when_file"
    [note] = rep.sent("notifications/cancelled")
    [req] = rep.sent("tools/call")
    assert note["params"]["requestId"] == req["id"]
    [d] = sim.deployments()
    assert d["deleted"]
    deletes = [q for q in sim.requests() if q["method"] == "DELETE"]
    assert deletes, "deleted through the API"


# ---- secrets -------------------------------------------------------------

PROBE = r"""
local secret = require "secret"
local log = require "log"
return {
  description = "Probe the queue secret through every output",
  params = { result = { type = "boolean", default = false,
                        help = "return the secret itself" } },
  run = function(ctx, args)
    local s = secret.require("THREADS_QUEUE_SECRET")
    local k = secret.require("THETA_EC_API_KEY")
    local rows = {}
    local probes = {
      tostring = function() return tostring(s) end,
      print = function() print(s, k); return "printed" end,
      warn = function() warn(tostring(k)); return "warned" end,
      log = function() log.info("probe", {s = s, k = k}); return "logged" end,
      concat = function() return "x" .. s end,
      error = function() error(s) end,
    }
    local names = {}
    for name in pairs(probes) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local ok, v = pcall(probes[name])
      rows[#rows + 1] = {probe = name, ok = ok, got = tostring(v)}
    end
    if args.result then
      return {probes = rows, secret = s, nested = {deep = {k}}}
    end
    return {probes = rows}
  end,
}
"""


def test_no_secret_byte_over_an_mcp_connection_that_publishes(mcp,
                                                              backend):
    recipes = mcp.tmp / "recipes"
    recipes.mkdir()
    (recipes / "probe.lua").write_text(textwrap.dedent(PROBE))
    rep = mcp.run(["--recipes", recipes, "--only", "probe,publish,hello"],
                  list_tools=True,
                  batches=[[{"id": "p", "name": "publish",
                             "arguments": {"message": "secret probe"}},
                            {"id": "probe", "name": "probe"},
                            {"id": "result", "name": "probe",
                             "arguments": {"result": True}}],
                           [{"id": "p2", "name": "publish",
                             "arguments": {"message": "x" * 600}}]])
    assert set(rep.tools) == {"probe", "publish", "hello"}
    ok(rep.call("p"))
    assert len(backend.items()) == 1
    failed(rep.call("p2"))
    rows = {r["probe"]: r for r in
            ok(rep.call("probe"))["structuredContent"]["probes"]}
    assert rows["tostring"] == {"probe": "tostring", "ok": True,
                                "got": "<secret THREADS_QUEUE_SECRET>"}
    assert rows["print"]["ok"] and rows["log"]["ok"]
    assert not rows["concat"]["ok"] and not rows["error"]["ok"]
    # a result cannot carry a secret: a clean tool error, as with --json
    r = failed(rep.call("result"))
    assert "cannot encode a clawhost.Secret" in text_of(r), r
    assert "<secret THETA_EC_API_KEY>" in rep["stderr"] or \
        "<secret THREADS_QUEUE_SECRET>" in rep["stderr"], rep["stderr"]
    # Mcp.finish checked every byte of stdout, stderr and the report


def test_no_secret_in_any_session():
    if not SESSIONS:
        pytest.skip("no session ran in this selection")
    for raw, report in SESSIONS:
        assert leaks(raw) == [] and leaks(report) == []
