"""Every shipped recipe (`clawhost list --all --json`, aliases and
examples included) called as an MCP tool through the official MCP
TypeScript SDK client (tests/mcp/client.mjs), against the local servers:
the Threads reference backend, the Theta simulator (on-demand,
controller, platform, dedicated endpoints and Video API, TLS under the
production names) and the JSON-RPC simulator (tests/servers/theta_rpc).

    /usr/bin/python3 -m pytest tests/e2e/mcp_sdk_all_test.py -q

plan() below is the whole table, one row per recipe: the server it is
called on, its phase, its arguments (a dict, or a function of the
results of earlier phases, for ids an earlier call made) and a cheap
check of its structuredContent. The calls of one phase run concurrently
in one SDK session; phases run one after another, each in a session of
its own (a new `clawhost mcp` process with the same settings and state
folder; from phase 2 on, THETA_INFERENCE_ENDPOINT is the endpoint
deploy made, the one host its credentials may go to). The "main" server
runs with --approve-spend, so the recipes that make a deployment run
against the simulator; the test ends with nothing left alive there
(a failure part way deletes what deploy made before it fails). The four mutating JSON-RPC recipes are called
with yes=true on a second server started with --dry-run, and their
result is the plan of what would have been sent.

A row must exist for every listed recipe and for nothing else, so a new
recipe without a call fails test_the_plan_covers_every_shipped_recipe.
"""
import json
import secrets
import shutil
import time
from collections import namedtuple

import pytest

from tests.e2e import mcp_sdk_test as sdk
from tests.e2e.fixtures.theta_sim import Sim
from tests.e2e.mcp_sdk_test import (API_KEY, DEEPSEEK, FAST_WARMUP, ORG,
                                    PROJECT, SDK, TOKEN, Mcp,
                                    backend, shipped,  # noqa: F401
                                    wait_for)
from tests.servers import harness

pytestmark = pytest.mark.skipif(shutil.which("node") is None,
                                reason="node is not installed "
                                "(vendor/deps.sh test installs it)")

VIDEO_SECRET = "vsec" + secrets.token_hex(14)
CLI_PASSWORD = "cli-" + secrets.token_hex(10)
ENDPOINT_PASS = "endpoint-pass-" + secrets.token_hex(8)
# secrets Mcp.finish does not know about: checked here in every session
MORE_SECRETS = [VIDEO_SECRET, CLI_PASSWORD, ENDPOINT_PASS]

CALL_TIMEOUT_MS = 60000         # the SDK's request timeout, per call
SESSION_TIMEOUT_S = 90          # one driver run (one phase)

CAMPAIGN = {
    "campaign": "mcp-all", "budget_usd": 0.50,
    "copy": {"service": "gpt_oss_120b", "max_attempts": 3},
    "image": {"mode": "generate"},
    "schedule": {"start": None, "slots": ["09:00"],
                 "time_zone": "Europe/Paris"},
    "threads": {"proxy_images": False},
    "items": [{"id": "villa-azur", "title": "Villa Azur",
               "link": "https://example.com/villa-azur",
               "facts": {"text": "Detached villa with a garden.",
                         "fields": {"type": "villa", "location": "Antibes",
                                    "price": 1250000, "currency": "EUR",
                                    "bedrooms": 4,
                                    "amenities": ["pool", "garden"]}}}],
}


# ---- the plan: one row per recipe -------------------------------------------

Call = namedtuple("Call", "server phase args check")
MAIN, DRY = "main", "dry"


def call(phase, args, check, server=MAIN):
    return Call(server, phase, args, check)


def agent(R):
    return R["agent-create"]["id"]


def deployment(R):
    d = R["deploy"]
    return {"shard": d["shard"], "suffix": d["suffix"]}


# F: the files the test writes under the --allow-file-dir folder;
# X: the JSON-RPC simulator's identities (wallet, cli_key).
def plan(F, X):
    return {
        # examples
        "hello": call(1, {"name": "sdk", "times": 2},
                      lambda sc, R: sc["greetings"] == ["hello, sdk"] * 2),
        "parallel": call(1, {"jobs": 2, "seconds": 0.1},
                         lambda sc, R: len(sc["finished"]) == 2),

        # Threads, through the reference backend
        "publish": call(1, {"message": "every recipe, over MCP"},
                        lambda sc, R: sc["id"].startswith("thq_")
                        and sc["status"] == "queued"),
        "postimg": call(1, {"prompt": "a cat on a sofa"},
                        lambda sc, R: sc["id"].startswith("thq_")
                        and sc["status"] == "queued"),
        "queue": call(2, lambda R: {"id": R["publish"]["id"]},
                      lambda sc, R: sc["id"] == R["publish"]["id"]
                      and sc["message"] == "every recipe, over MCP"),
        "campaign": call(1, {"file": F["campaign"]},
                         lambda sc, R: [(i["item"], i["check"])
                                        for i in sc["items"]] ==
                         [("villa-azur", "ok")]
                         and sc["items"][0]["queue_id"].startswith("thq_")),

        # Theta on-demand
        "services": call(1, {"category": "vision"},
                         lambda sc, R: sorted(s["alias"] for s in
                                              sc["services"]) ==
                         ["blip", "grounding_dino", "llava"]),
        "list_services": call(1, {},
                              lambda sc, R: sc["source"] == "live"),
        "infer": call(1, {"service": "flux", "prompt": "a lighthouse",
                          "poll_interval": 0.2},
                      lambda sc, R: sc["state"] == "success"),
        "status": call(2, lambda R: {"request_id":
                                     R["infer"]["request_id"]},
                       lambda sc, R: sc["state"] == "success"),
        "get_request_status": call(2, lambda R: {
            "request_id": R["infer"]["request_id"]},
            lambda sc, R: sc["state"] == "success"),
        "upload-url": call(1, {"service": "blip", "file": F["png"]},
                           lambda sc, R: sc["bytes"] == 14
                           and sc["filename"].startswith("upload_")),
        "get_upload_url": call(1, {"service": "blip"},
                               lambda sc, R: sc["uploads"]["input_img"][
                                   "presigned_url"].startswith(
                                   "https://storage.googleapis.com/")),
        "chat": call(1, {"message": "Name three rivers", "max_tokens": 200},
                     lambda sc, R: sc["finish_reason"] == "stop"
                     and sc["answer_chars"] > 0 and sc["streamed"]),
        "smoke": call(1, {"services": "qwen3,flux,blip"},
                      lambda sc, R: [(s["service"], s["state"])
                                     for s in sc["services"]] ==
                      [("qwen3", "success"), ("flux", "success"),
                       ("blip", "success")]),

        # Theta AI agents
        "agent-create": call(1, {"name": "MCP helper",
                                 "system_prompt": "Answer from the docs"},
                             lambda sc, R: sc["id"].startswith("chatbot_")),
        "agent-update": call(2, lambda R: {"id": agent(R),
                                           "temperature": 0.2},
                             lambda sc, R: sc["temperature"] == 0.2),
        "agent-doc-add": call(2, lambda R: {
            "agent": agent(R), "text": "item,price\nvilla,1250000\n",
            "filename": "prices.csv", "content_type": "text/csv"},
            lambda sc, R: sc["id"]),
        "agent-get": call(3, lambda R: {"id": agent(R)},
                          lambda sc, R: sc["temperature"] == 0.2),
        "agents": call(3, {}, lambda sc, R: [a["id"] for a in sc["agents"]]
                       == [agent(R)]),
        "agent-docs": call(3, lambda R: {"agent": agent(R)},
                           lambda sc, R: sc["total"] == 1),
        "agent-doc-update": call(3, lambda R: {
            "agent": agent(R), "doc": R["agent-doc-add"]["id"],
            "text": "item,price\nvilla,1200000\n", "filename": "prices.csv"},
            lambda sc, R: sc["id"] == R["agent-doc-add"]["id"]),
        "agent-doc-get": call(4, lambda R: {
            "agent": agent(R), "doc": R["agent-doc-add"]["id"]},
            lambda sc, R: sc["content"] == "item,price\nvilla,1200000\n"),

        # Theta deployments (main server: --approve-spend)
        "balance": call(1, {}, lambda sc, R: sc["balance"] > 0),
        "capabilities": call(1, {}, lambda sc, R: all(
            c["verified"] for c in sc["capabilities"] if c["configured"])),
        "health": call(1, {}, lambda sc, R: sc["auth_verified"] is True),
        "vms": call(1, {}, lambda sc, R: sc["count"] >= 6),
        "templates": call(1, {}, lambda sc, R: DEEPSEEK in
                          [t["id"] for t in sc["templates"]]),
        "route-probe": call(1, {}, lambda sc, R: sc["ok"] is True),
        "validate-disposable": call(1, {"template": DEEPSEEK,
                                        "interval_ms": 500, "yes": True,
                                        "ready_timeout_ms": 20000},
                                    lambda sc, R: sc["cleanup"]["verified"]
                                    is True),
        "deploy": call(1, {"template": DEEPSEEK, "nickname": "mcp-all",
                           "yes": True},
                       lambda sc, R: sc["endpoint"].endswith(
                           ".onthetaedgecloud.com")),
        "deployments": call(2, {}, lambda sc, R: sc["count"] == 1),
        "ready": call(2, lambda R: {"endpoint": R["deploy"]["endpoint"],
                                    "interval_ms": 500, "timeout_ms": 20000},
                      lambda sc, R: sc["ready"] is True),
        "dedicated-chat": call(3, lambda R: {
            "endpoint": R["deploy"]["endpoint"], "message": "hello there",
            "stream": False},
            lambda sc, R: "hello there" in sc["answer"]),
        "deployment-stop": call(4, deployment,
                                lambda sc, R: sc["action"] == "stop"),
        "deployment-start": call(5, lambda R: {**deployment(R),
                                               "yes": True},
                                 lambda sc, R: sc["action"] == "start"),
        "sweep": call(5, {}, lambda sc, R: sc["count"] == 0),
        "deployment-delete": call(6, lambda R: {**deployment(R),
                                                "yes": True},
                                  lambda sc, R: sc["verified"] is True),

        # Theta Video
        "stream-create": call(1, {"name": "live"},
                              lambda sc, R: sc["id"]),
        "ingestors": call(1, {}, lambda sc, R: sc["ingestors"]),
        "ingestor-select": call(2, lambda R: {
            "id": R["ingestors"]["ingestors"][0]["id"],
            "stream": R["stream-create"]["id"]},
            lambda sc, R: sc["stream_key"] == "***"),
        "stream-get": call(2, lambda R: {"id": R["stream-create"]["id"]},
                           lambda sc, R: sc["id"] ==
                           R["stream-create"]["id"]),
        "video-create": call(1, {"url": "https://example.com/v.mp4",
                                 "name": "from-url"},
                             lambda sc, R: sc["id"].startswith("video_")),
        "video-get": call(2, lambda R: {"id": R["video-create"]["id"],
                                        "wait": True},
                          lambda sc, R: sc["state"] == "success"),
        "video-upload": call(1, {"file": F["clip"], "name": "teaser"},
                             lambda sc, R: sc["state"] == "success"),
        "videos": call(2, {"where": ["name=teaser"]},
                       lambda sc, R: [v["id"] for v in sc["videos"]] ==
                       [R["video-upload"]["video_id"]]),

        # JSON-RPC: reads
        "node-status": call(1, {}, lambda sc, R: sc["connection_status"]
                            == "connected"),
        "node-deployments": call(1, {}, lambda sc, R: sc["deployments"]),
        "node-jobs": call(1, {"size": 5},
                          lambda sc, R: len(sc["jobs"]) == 5),
        "node-rewards": call(1, {}, lambda sc, R: "total_reward" in sc),
        "chain-version": call(1, {}, lambda sc, R: sc["version"]),
        "keys": call(1, {}, lambda sc, R: X["cli_key"].lower() in
                     [a.lower() for a in sc["addresses"]]),
        "chain-account": call(1, {"address": X["wallet"]},
                              lambda sc, R: "coins" in sc),
        "chain-tx": call(1, {"hash": "0x" + "ab" * 32},
                         lambda sc, R: sc["status"] == "not_found"),

        # JSON-RPC: mutating, yes=true on the --dry-run server
        "node-set-price": call(1, {"price_hr": "2500", "yes": True},
                               dry_plan("edgecloud.SetPrice"), DRY),
        "key-new": call(1, {"yes": True}, dry_plan("thetacli.NewKey"), DRY),
        "key-unlock": call(1, {"address": X["cli_key"], "yes": True},
                           dry_plan("thetacli.UnlockKey"), DRY),
        "chain-broadcast": call(1, {"tx": F["tx"], "yes": True},
                                dry_plan("theta.BroadcastRawTransaction"),
                                DRY),
    }


def dry_plan(method):
    """What a --dry-run server answers a mutating JSON-RPC call with: the
    plan of the one request it did not send."""
    return lambda sc, R: (sc["sent"] is False and "dry run" in sc["note"]
                          and sc["request"]["method"] == method)


# ---- the servers ---------------------------------------------------------

SIM_HOSTS = ("ondemand.thetaedgecloud.com", "controller.thetaedgecloud.com",
             "api.thetaedgecloud.com", "storage.googleapis.com",
             "ondemand-outputs.thetaedgecloud.com", "api.thetavideoapi.com",
             ".onthetaedgecloud.com")


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_TOKEN": TOKEN,
                                "THETA_SIM_API_KEY": API_KEY,
                                "THETA_SIM_PROJECT_ID": PROJECT,
                                "THETA_SIM_ORG_ID": ORG,
                                "THETA_SIM_VIDEO_SA_SECRET": VIDEO_SECRET})
    try:
        yield Sim(server, SIM_HOSTS,
                  reset_config={"warmup": FAST_WARMUP,
                                "video_times": [0.2, 0.5]})
    finally:
        assert server.stop() == 0


@pytest.fixture(scope="module")
def rpc():
    server = harness.start("theta_rpc", ["--quiet"], env={
        "THETA_RPC_CLI_PASSWORD": CLI_PASSWORD})
    try:
        yield server
    finally:
        assert server.stop() == 0


@pytest.fixture
def mcp(tmp_path, backend, sim, rpc):
    if not SDK.exists():
        pytest.fail("the MCP SDK is not installed in tests/mcp/node_modules:"
                    " run ./vendor/deps.sh test (or make deps-test)")
    backend.reset()
    sim.reset()
    m = Mcp(tmp_path, backend, sim)
    m.env.update({
        "THETA_VIDEO_SA_ID": sim.server.info["video_sa"],
        "THETA_VIDEO_SA_SECRET": VIDEO_SECRET,
        "THETA_EDGECLOUD_RPC_URL": rpc.info["edgecloud"],
        "THETA_CHAIN_RPC_URL": rpc.info["chain"],
        "THETA_CLI_RPC_URL": rpc.info["cli"],
        "THETA_CLI_PASSWORD": CLI_PASSWORD,
        "THETA_INFERENCE_AUTH_USER": "mcp_user",
        "THETA_INFERENCE_AUTH_PASS": ENDPOINT_PASS,
        "THETA_POLL_INTERVAL_SECONDS": "0.2"})
    yield m
    # nothing the run made is left alive on the simulator
    assert wait_for(lambda: sim.live() == [], 30), sim.live()


def files(tmp):
    d = tmp / "files"
    d.mkdir()
    doc = dict(CAMPAIGN)
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    doc["schedule"] = {**CAMPAIGN["schedule"], "start": start}
    (d / "campaign.json").write_text(json.dumps(doc))
    (d / "in.png").write_bytes(b"a cat on a mat")
    (d / "clip.mp4").write_bytes(secrets.token_bytes(64 * 1024))
    (d / "tx.hex").write_text("0x" + "ab" * 120 + "\n")
    return d, {"campaign": str(d / "campaign.json"),
               "png": str(d / "in.png"), "clip": str(d / "clip.mp4"),
               "tx": str(d / "tx.hex")}


# ---- the tests -------------------------------------------------------------

def test_the_plan_covers_every_shipped_recipe():
    names = set(plan({"campaign": "", "png": "", "clip": "", "tx": ""},
                     {"wallet": "", "cli_key": ""}))
    listed = shipped()
    assert names - listed == set(), "rows for recipes that are not listed"
    assert listed - names == set(), \
        "shipped recipes with no call in plan(): add a row"


def test_every_shipped_recipe_succeeds_through_the_sdk(mcp, backend, sim,
                                                       rpc, tmp_path):
    folder, F = files(tmp_path)
    table = plan(F, rpc.info)
    assert set(table) == shipped()
    R = {}                      # recipe -> its structuredContent
    first = len(sdk.SESSIONS)   # this test's sessions are the ones after
    rpc_before = len(rpc_calls(rpc))
    # (the server's default per-call deadline, 600 s: validate-disposable
    # refuses to start when the run could end before its cleanup would;
    # CALL_TIMEOUT_MS and SESSION_TIMEOUT_S bound every call and session)
    main_args = ["--approve-spend", "--budget", "5",
                 "--allow-file-dir", folder]
    dry_args = ["--dry-run", "--allow-file-dir", folder]

    def batch(server, phase):
        rows = sorted(n for n, c in table.items()
                      if c.server == server and c.phase == phase)
        calls = []
        for name in rows:
            args = table[name].args
            args = args(R) if callable(args) else args
            calls.append({"id": name, "name": name, "arguments": args,
                          "timeout_ms": CALL_TIMEOUT_MS})
        return rows, calls

    def settle(rep, rows):
        for name in rows:
            c = rep.call(name)
            assert "error" not in c, \
                f"{name}: JSON-RPC error {json.dumps(c['error'])}"
            r = c["result"]
            assert not r.get("isError"), \
                f"{name}: the tool failed: {sdk.text_of(r)[:2000]}"
            sc = r.get("structuredContent")
            assert isinstance(sc, dict), \
                f"{name}: no structuredContent object: {json.dumps(r)[:800]}"
            R[name] = sc
            try:
                why = None if table[name].check(sc, R) else "false"
            except (KeyError, IndexError, TypeError, AttributeError) as e:
                why = f"{type(e).__name__}: {e}"
            assert why is None, \
                f"{name}: check failed ({why}) on {json.dumps(sc)[:1500]}"

    t0 = time.monotonic()
    dry = None
    try:
        # the dry-run server's calls run beside the first phase
        dry_rows, dry_calls = batch(DRY, 1)
        dry = mcp.start(dry_args, batches=[dry_calls])
        for phase in sorted({c.phase for c in table.values()
                             if c.server == MAIN}):
            rows, calls = batch(MAIN, phase)
            rep = mcp.run(main_args, timeout=SESSION_TIMEOUT_S,
                          list_tools=phase == 1, batches=[calls])
            if phase == 1:
                # the tools the SDK listed are the rows of the plan
                assert set(rep.tools) == set(table)
            settle(rep, rows)
            if phase == 1:
                rep_dry, dry = mcp.finish(*dry, timeout=SESSION_TIMEOUT_S), \
                    None
                settle(rep_dry, dry_rows)
                # the endpoint credentials go only to the host of
                # THETA_INFERENCE_ENDPOINT (docs/secrets.md): the later
                # sessions are configured with the endpoint deploy made,
                # as its user would
                mcp.env["THETA_INFERENCE_ENDPOINT"] = R["deploy"]["endpoint"]
    finally:
        if dry is not None:
            dry[0].kill()
            dry[0].communicate()
        if "deploy" in R and "deployment-delete" not in R:
            # a failure left the deployment alive: delete it, then fail
            mcp.run(main_args, timeout=SESSION_TIMEOUT_S, batches=[[{
                "id": "d", "name": "deployment-delete", "arguments": {
                    "shard": R["deploy"]["shard"],
                    "suffix": R["deploy"]["suffix"], "yes": True}}]])
    elapsed = time.monotonic() - t0
    assert set(R) == set(table)

    # the dry-run server sent no mutating JSON-RPC call
    sent = {c["method"] for c in rpc_calls(rpc)[rpc_before:]}
    assert not {"edgecloud.SetPrice", "thetacli.NewKey",
                "thetacli.UnlockKey", "theta.BroadcastRawTransaction",
                "theta.BroadcastRawTransactionAsync"} & sent, sent
    # what publish, postimg and campaign queued is in the backend
    queued = {i["id"] for i in backend.items()}
    assert queued == {R["publish"]["id"], R["postimg"]["id"],
                      R["campaign"]["items"][0]["queue_id"]}, queued
    # the deployments of validate-disposable and deploy are both deleted
    deps = [d for d in sim.deployments() if d.get("source", "api") == "api"]
    assert len(deps) == 2 and all(d["deleted"] for d in deps), deps
    # no secret Mcp.finish does not know, nor the stream key, in any byte
    # of this test's sessions (stdout, stderr, report)
    keys = {v["stream_key_sha256"] for v in
            sim.call("GET", "/__sim__/streams")["streams"]
            if v.get("stream_key_sha256")}
    assert keys, "ingestor-select issued a stream key"
    for raw, report in sdk.SESSIONS[first:]:
        for text in (raw, report):
            for secret in MORE_SECRETS:
                assert secret.encode() not in text
            assert not keys & sha256_of_words(text, 32)
    assert elapsed < 90, elapsed


def sha256_of_words(data, n):
    """The SHA-256 of every n-byte window of every [0-9A-Za-z] run."""
    import hashlib
    import re
    out = set()
    for m in re.finditer(rb"[0-9A-Za-z]{%d,}" % n, data):
        w = m.group(0)
        out.update(hashlib.sha256(w[i:i + n]).hexdigest()
                   for i in range(len(w) - n + 1))
    return out


def rpc_calls(rpc):
    import urllib.request
    base = rpc.info["edgecloud"].rsplit("/", 1)[0]
    with urllib.request.urlopen(base + "/__rpc__/calls", timeout=10) as r:
        return json.loads(r.read())["calls"]
