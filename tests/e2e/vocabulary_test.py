"""One error vocabulary, end to end: the same status from the Threads
reference backend and from the Theta simulator ends a clawhost run with
the same err.code (shown by --json) and the same exit status.

    /usr/bin/python3 -m pytest tests/e2e/vocabulary_test.py -q

Both servers run as real processes; their fault switches make them
answer the status under test (the backend's rate_limit fault and
fail_mode, the simulator's http_error fault). lua/client/codes.lua is
the table; tests/lua/vocabulary_test.lua checks the same without the
network.
"""
import http.client
import json
import secrets
import ssl
import urllib.request

import pytest

from tests.servers import harness

QUEUE_SECRET = "qs-" + secrets.token_hex(16)
TOKEN = "tsim_" + secrets.token_urlsafe(24)
OD = "ondemand.thetaedgecloud.com"


@pytest.fixture(scope="module")
def backend():
    server = harness.start("threads_backend", env={
        "THREADS_QUEUE_SECRET": QUEUE_SECRET, "REF_TEST_HOOKS": "1",
        "REF_WORKER_INTERVAL_S": "0", "REF_LOG_LEVEL": "warning"})
    try:
        yield server
    finally:
        assert server.stop() == 0


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_TOKEN": TOKEN})
    try:
        yield server
    finally:
        assert server.stop() == 0


def backend_hook(backend, path, body):
    req = urllib.request.Request(
        backend.url + "/__test__/" + path, method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 "X-Queue-Secret": QUEUE_SECRET})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def sim_call(sim, path, body):
    port = int(sim.url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=sim.info["ca"])
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                    timeout=15)
    try:
        c.request("POST", path, body=json.dumps(body).encode(),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        assert r.status == 200
    finally:
        c.close()


def run_threads(host, backend, *args):
    return host.run("run", *args, "--json", env={
        "THREADS_FASTAPI_BASE_URL": backend.url,
        "THREADS_QUEUE_SECRET": QUEUE_SECRET,
        "THETA_HTTP_MAX_RETRIES": "0"})


def run_theta(host, sim, tmp_path, *args):
    port = int(sim.url.rsplit(":", 1)[1])
    return host.run("run", *args, "--json", env={
        "CLAWHOST_CONNECT_TO": f"{OD}:443:127.0.0.1:{port}",
        "CLAWHOST_CA_FILE": sim.info["ca"], "THETA_API_KEY": TOKEN,
        "CLAWHOST_STATE_DIR": str(tmp_path / "state"),
        "THETA_HTTP_MAX_RETRIES": "0"})


def error_of(run):
    assert QUEUE_SECRET not in run.text and TOKEN not in run.text
    assert "stack traceback" not in run.err, run
    return json.loads(run.out)["error"]


@pytest.fixture(autouse=True)
def _reset(backend, sim):
    backend_hook(backend, "reset", {})
    sim_call(sim, "/__sim__/reset", {})


def test_429_is_rate_limited_from_both(host, backend, sim, tmp_path):
    # a wait far longer than the call's deadline: reported, not waited
    backend_hook(backend, "faults", {"rate_limit": 1,
                                     "rate_limit_retry_after_s": 3600})
    threads = run_threads(host, backend, "publish", "--message", "hi")
    sim_call(sim, "/__sim__/faults", {"http_error": {
        "status": 429, "routes": ["infer"], "count": -1,
        "message": "10 minute quota reached", "retry_after": 3600}})
    theta = run_theta(host, sim, tmp_path, "infer", "--service", "flux",
                      "--prompt", "x")
    assert threads.code == theta.code == 1, (threads, theta)
    a, b = error_of(threads), error_of(theta)
    assert a["code"] == b["code"] == "rate_limited", (a, b)
    assert "try again after" in a["message"]
    assert "quota reached" in b["message"]      # a word, not the code


def test_503_is_unavailable_from_both(host, backend, sim, tmp_path):
    backend_hook(backend, "config", {"fail_mode": "unavailable"})
    threads = run_threads(host, backend, "queue")
    sim_call(sim, "/__sim__/faults", {"http_error": {
        "status": 503, "routes": ["status"], "count": -1}})
    theta = run_theta(host, sim, tmp_path, "status", "--request-id",
                      "infr_rqst_x")
    assert threads.code == theta.code == 1, (threads, theta)
    a, b = error_of(threads), error_of(theta)
    assert a["code"] == b["code"] == "unavailable", (a, b)
