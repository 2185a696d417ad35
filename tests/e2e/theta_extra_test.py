"""End-to-end tests of the rest of the Theta skill: AI agents and their
documents (docs/agents.md), the Video API (docs/video.md) and the local
JSON-RPC nodes (docs/rpc.md), against tests/servers/theta_sim (TLS,
production names) and tests/servers/theta_rpc (plain loopback), both
real processes.

    /usr/bin/python3 -m pytest tests/e2e/theta_extra_test.py -q

Every clawhost run's output is checked for the API key, the video
service account secret, the thetacli password and every stream key the
simulator issued (their SHA-256 come from its control routes where it
hides them).
"""
import hashlib
import json
import re
import secrets
import urllib.request

import pytest

from tests.e2e.fixtures.theta_sim import Sim
from tests.servers import harness

API_KEY = "tsk_" + secrets.token_urlsafe(24)
VIDEO_SECRET = "vsec" + secrets.token_hex(14)
CLI_PASSWORD = "cli-" + secrets.token_hex(10)
OUTPUTS = []
SECRETS = [API_KEY, VIDEO_SECRET, CLI_PASSWORD]


class Rpc:
    def __init__(self, server):
        self.server = server
        self.info = server.info

    def call(self, path, body=None):
        base = self.info["edgecloud"].rsplit("/", 1)[0]
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(base + path, data=data,
                                     method="POST" if data else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def calls(self):
        # every surface's calls are kept by the one process
        return self.call("/__rpc__/calls")["calls"]


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_API_KEY": API_KEY,
                                "THETA_SIM_VIDEO_SA_SECRET": VIDEO_SECRET,
                                "THETA_SIM_CONFIG": json.dumps(
                                    {"video_times": [0.3, 2.5]})})
    try:
        yield Sim(server)
    finally:
        assert server.stop() == 0


@pytest.fixture(scope="module")
def rpc():
    server = harness.start("theta_rpc", env={
        "THETA_RPC_CLI_PASSWORD": CLI_PASSWORD})
    try:
        yield Rpc(server)
    finally:
        assert server.stop() == 0


def check_output(out, err):
    OUTPUTS.append(out + err)
    for s in SECRETS:
        assert s not in out and s not in err, s


class Run:
    def __init__(self, host, sim, rpc, tmp):
        self.host = host
        maps = ",".join(f"{h}:443:127.0.0.1:{sim.port}" for h in (
            "controller.thetaedgecloud.com", "api.thetaedgecloud.com",
            "api.thetavideoapi.com", "storage.googleapis.com"))
        self.env = {
            "CLAWHOST_CONNECT_TO": maps, "CLAWHOST_CA_FILE": sim.ca,
            "THETA_EC_API_KEY": API_KEY,
            "THETA_EC_PROJECT_ID": sim.info["project"],
            "THETA_VIDEO_SA_ID": sim.info["video_sa"],
            "THETA_VIDEO_SA_SECRET": VIDEO_SECRET,
            "THETA_EDGECLOUD_RPC_URL": rpc.info["edgecloud"],
            "THETA_CHAIN_RPC_URL": rpc.info["chain"],
            "THETA_CLI_RPC_URL": rpc.info["cli"],
            "THETA_CLI_PASSWORD": CLI_PASSWORD,
            "CLAWHOST_STATE_DIR": str(tmp / "state")}

    def __call__(self, *args, env=None, timeout=120):
        r = self.host.run("run", *args, env={**self.env, **(env or {})},
                          timeout=timeout)
        check_output(r.out, r.err)
        return r


@pytest.fixture
def run(host, sim, rpc, tmp_path):
    return Run(host, sim, rpc, tmp_path)


def js(r):
    assert r.code == 0, r
    return json.loads(r.out)


# ---- agents ----------------------------------------------------------------

def test_agent_with_two_documents_from_named_files(run, sim, host):
    a = js(run("agent-create", "--name", "Listings helper",
               "--system-prompt", "Answer from the documents", "--json"))
    aid = a["id"]
    assert aid.startswith("chatbot_")
    faq = host.dir / "faq.md"
    faq.write_text("# FAQ\nCafé: yes.\n" + "é" * 50000)
    prices = host.dir / "prices.csv"
    prices.write_text("item,price\nvilla,1250000\n")
    d1 = js(run("agent-doc-add", "--agent", aid, "--file", faq,
                "--content-type", "text/markdown", "--metadata",
                '{"description": "FAQ"}', "--json"))
    d2 = js(run("agent-doc-add", "--agent", aid, "--file", prices,
                "--content-type", "text/csv", "--json"))
    docs = js(run("agent-docs", "--agent", aid, "--json"))
    assert {d["id"] for d in docs["documents"]} == {d1["id"], d2["id"]}
    assert docs["total"] == 2
    js(run("agent-doc-update", "--agent", aid, "--doc", d2["id"],
           "--text", "item,price\nvilla,1200000\n", "--filename",
           "prices.csv", "--json"))
    got = js(run("agent-doc-get", "--agent", aid, "--doc", d2["id"],
                 "--json"))
    assert got["content"] == "item,price\nvilla,1200000\n"
    assert got["metadata"]["filename"] == "prices.csv"
    # the simulator holds exactly the bytes of the named file
    view = sim.call("GET", "/__sim__/chatbots")
    text = json.dumps(view)
    assert hashlib.sha256(faq.read_bytes()).hexdigest() in text
    # a missing document is created, as the reference client does
    c = js(run("agent-doc-update", "--agent", aid, "--doc", "doc_nothere",
               "--text", "new", "--json"))
    assert c["created"] is True
    listed = js(run("agents", "--json"))
    assert [x["id"] for x in listed["agents"]] == [aid]
    js(run("agent-update", "--id", aid, "--temperature", "0.2", "--json"))
    assert js(run("agent-get", "--id", aid, "--json"))["temperature"] == \
        0.2


def test_agent_document_dry_run_shows_size_and_hash(run, sim, host):
    f = host.dir / "secret-plan.md"
    f.write_text("DO-NOT-SHOW-" + "x" * 1000)
    before = len(sim.mutating())
    r = run("agent-doc-add", "--agent", "chatbot_abc", "--file", f,
            "--dry-run", "--json")
    plan = js(r)["plan"]
    part = [p for p in plan["form"] if p["name"] == "file"][0]
    assert part["bytes"] == 1012
    assert part["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert "DO-NOT-SHOW" not in r.out + r.err
    assert len(sim.mutating()) == before


def test_agent_errors_read_well(run):
    r = run("agent-get", "--id", "chatbot_nope")
    assert r.code == 1 and "404" in r.err
    r = run("agent-create", "--name", "x", "--project-id", "prj_other")
    assert r.code == 1 and "THETA_EC_PROJECT_ID" in r.err
    r = run("agent-doc-add", "--agent", "chatbot_x")
    assert r.code == 2 and "--file PATH or --text TEXT" in r.err


# ---- video -----------------------------------------------------------------

def test_upload_50_mb_with_progress_and_play(run, sim, host):
    clip = host.dir / "clip.mp4"
    clip.write_bytes(secrets.token_bytes(50 * 1024 * 1024))
    r = run("video-upload", "--file", clip, "--name", "teaser", "--json",
            timeout=300)
    v = js(r)
    assert v["state"] == "success" and v["bytes"] == 50 * 1024 * 1024
    assert v["playback_uri"].endswith("/master.m3u8")
    lines = r.err.splitlines()
    assert any(re.match(r"upload: sending [\d.]+ (B|kB|MB) of 52\.4 MB",
                        ln) for ln in lines), r.err
    assert any(re.match(r"video: processing(/transcoding)? \d+% \(\d+ s\)",
                        ln) for ln in lines), r.err
    # the file reached storage whole, and no credential went there
    ups = sim.uploads()
    up = [u for u in ups if u.get("service") == "video"][-1]
    assert up["size"] == 50 * 1024 * 1024
    assert up["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    storage = [q for q in sim.requests()
               if q["host"] == "storage.googleapis.com"]
    assert storage and not any(q["authorization_present"] or
                               q.get("video_secret_in_headers")
                               for q in storage)
    found = js(run("videos", "--where", "name=teaser", "--json"))
    assert [x["id"] for x in found["videos"]] == [v["video_id"]]


def test_streams_ingestors_and_a_masked_key(run, sim, host):
    s = js(run("stream-create", "--name", "live", "--json"))
    ing = js(run("ingestors", "--json"))["ingestors"]
    assert ing
    keyfile = host.dir / "key.txt"
    r = run("ingestor-select", "--id", ing[0]["id"], "--stream", s["id"],
            "--key-file", keyfile, "--json")
    sel = js(r)
    assert sel["stream_key"] == "***"
    text = keyfile.read_text()
    key = re.search(r"key=(\S+)", text).group(1)
    assert key not in r.out + r.err and len(key) > 8
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    SECRETS.append(key)
    got = js(run("stream-get", "--id", s["id"], "--json"))
    assert got["id"] == s["id"]
    for i in range(2):
        js(run("stream-create", "--name", "more%d" % i, "--json"))
    r = run("stream-create", "--name", "one too many")
    assert r.code == 1 and "400" in r.err


def test_video_dry_runs_send_nothing(run, sim, host):
    clip = host.dir / "c.mp4"
    clip.write_bytes(b"0" * 1000)
    before = len(sim.mutating())
    for args in (("video-upload", "--file", clip),
                 ("video-create", "--url", "https://example.com/v.mp4"),
                 ("stream-create", "--name", "x"),
                 ("ingestor-select", "--id", "ingestor_x", "--stream",
                  "stream_y")):
        r = run(*args, "--dry-run", "--json")
        assert r.code == 0, r
        assert js(r)["dry_run"] is True
    assert len(sim.mutating()) == before


# ---- JSON-RPC ---------------------------------------------------------------

READS = [("node-status",), ("node-deployments",), ("node-jobs", "--size",
                                                     "5"),
         ("node-rewards",), ("chain-version",), ("keys",)]


@pytest.mark.parametrize("args", READS, ids=[a[0] for a in READS])
def test_each_read_recipe(run, rpc, args):
    out = js(run(*args, "--json"))
    assert out
    last = rpc.calls()[-1]
    assert last["params_form"] in ("array", "absent")


def test_chain_account_and_transaction(run, rpc):
    wallet = rpc.info["wallet"]
    acc = js(run("chain-account", "--address", wallet, "--json"))
    assert "coins" in acc
    r = run("chain-account", "--address", "0x12")
    assert r.code == 2 and "40 hex digits" in r.err
    tx = js(run("chain-tx", "--hash", "0x" + "ab" * 32, "--json"))
    assert tx["status"] == "not_found"
    r = run("chain-tx", "--hash", "ab" * 32)
    assert r.code == 2 and "64 hex digits" in r.err


MUTATING = [
    ("node-set-price", "--price-hr", "2500"),
    ("key-new",),
    ("key-unlock", "--address", None),
    ("chain-broadcast", "--tx", None),
]


def mutating_args(rpc, host, args):
    out = []
    for a in args:
        if a is None and args[0] == "key-unlock":
            a = rpc.info["cli_key"]
        elif a is None:
            p = host.dir / "tx.hex"
            p.write_text("0x" + "ab" * 120 + "\n")
            a = str(p)
        out.append(a)
    return out


@pytest.mark.parametrize("args", MUTATING, ids=[a[0] for a in MUTATING])
def test_mutating_rpc_needs_yes_and_dry_run_sends_nothing(run, rpc, host,
                                                          args):
    args = mutating_args(rpc, host, args)
    n = len(rpc.calls())
    plan = js(run(*args, "--json"))
    assert plan["sent"] is False and "--yes" in plan["note"]
    plan = js(run(*args, "--yes", "--dry-run", "--json"))
    assert plan["sent"] is False and "dry run" in plan["note"]
    assert len(rpc.calls()) == n
    text = json.dumps(plan)
    assert "ab" * 120 not in text
    done = js(run(*args, "--yes", "--json"))
    assert done
    calls = rpc.calls()
    assert len(calls) == n + 1
    assert calls[-1]["params_form"] == "array"


def test_the_password_goes_only_in_the_body(run, rpc):
    js(run("key-unlock", "--address", rpc.info["cli_key"], "--yes",
           "--json"))
    r = run("key-unlock", "--address", rpc.info["cli_key"], "--yes",
            env={"THETA_CLI_PASSWORD": "wrong-password-123"})
    assert r.code == 1 and "JSON-RPC error" in r.err
    r = run("key-new", "--yes", env={"THETA_CLI_PASSWORD": ""})
    assert r.code == 2 and "THETA_CLI_PASSWORD is not set" in r.err


def test_no_secret_in_any_output():
    assert len(OUTPUTS) > 20
    for text in OUTPUTS:
        for s in SECRETS:
            assert s not in text
