"""Tests of the Theta EdgeCloud simulator (tests/servers/theta_sim).

The simulator is started through harness.py exactly as other suites start
it; every call goes over real TLS to 127.0.0.1 with the production host
name as SNI and Host header, verified against the simulator's test CA.

    /usr/bin/python3 -m pytest tests/servers/theta_sim_test.py -q
"""
import hashlib
import http.client
import json
import math
import os
import re
import socket
import ssl
import time
from decimal import Decimal

import pytest

from tests.servers import harness

OD = "ondemand.thetaedgecloud.com"
OUT = "ondemand-outputs.thetaedgecloud.com"
GCS = "storage.googleapis.com"
LIVE = ["qwen3", "gpt_oss_120b", "llama_3_1_70b", "flux",
        "stable_diffusion_xl_turbo", "grounding_dino", "blip", "llava",
        "whisper"]
TEST_CONFIG = {"first_byte_delay": 0.05, "token_interval": 0.001,
               "reasoning_token_interval": 0.0005, "time_scale": 0.02}


class MappedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a production name, connected to 127.0.0.1:port (what
    curl's --connect-to does)."""

    def __init__(self, name, port, ctx, timeout):
        super().__init__(name, 443, context=ctx, timeout=timeout)
        self._target = ("127.0.0.1", port)

    def connect(self):
        sock = socket.create_connection(self._target, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Client:
    def __init__(self, server):
        self.server = server
        self.port = int(server.url.rsplit(":", 1)[1])
        self.ca = server.info["ca"]
        self.token = server.info["token"]
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def conn(self, host=OD, timeout=15):
        return MappedHTTPS(host, self.port, self.ctx, timeout)

    def call(self, method, path, body=None, host=OD, auth=True,
             headers=None, timeout=15, raw_body=None):
        hdrs = {"Accept": "application/json"}
        if auth is True:
            hdrs["Authorization"] = "Bearer " + self.token
        elif isinstance(auth, str):
            hdrs["Authorization"] = auth
        if body is not None:
            raw_body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        c = self.conn(host, timeout)
        try:
            c.request(method, path, body=raw_body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def j(self, method, path, body=None, **kw):
        status, hdrs, data = self.call(method, path, body, **kw)
        return status, json.loads(data)

    def ctl(self, method, path, body=None):
        status, data = self.j(method, "/__sim__/" + path, body, auth=False)
        assert status == 200, data
        return data

    def raw(self, host, request, timeout=15):
        """Send raw bytes over TLS; return (bytes read, error or None)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout)
        s = self.ctx.wrap_socket(sock, server_hostname=host)
        s.sendall(request)
        data, error = b"", None
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
                if data.endswith(b"\r\n0\r\n\r\n"):
                    break
        except (OSError, ssl.SSLError) as e:
            error = e
        finally:
            s.close()
        return data, error

    def raw_post(self, path, body, host=OD):
        payload = json.dumps(body).encode()
        req = ("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n"
               "Connection: close\r\n\r\n" % (path, host, self.token,
                                              len(payload))).encode()
        return self.raw(host, req + payload)


def split_http(data):
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def dechunk(body):
    """(list of chunk payloads, saw the terminating chunk)."""
    chunks, i = [], 0
    while True:
        j = body.find(b"\r\n", i)
        if j < 0:
            return chunks, False
        size = int(body[i:j], 16)
        if size == 0:
            return chunks, True
        if len(body) < j + 2 + size + 2:
            return chunks, False
        chunks.append(body[j + 2:j + 2 + size])
        i = j + 2 + size + 2


def sse_events(stream):
    """``data`` payloads of an SSE byte stream (any line ending)."""
    text = stream.decode("utf-8")
    events, cur = [], []
    for line in re.split(r"\r\n|\r|\n", text):
        if line == "":
            if cur:
                events.append("\n".join(cur))
                cur = []
        elif line.startswith("data:"):
            cur.append(line[5:].lstrip(" "))
    return events


def tok(s):
    return math.ceil(len(s.encode()) / 4) if s else 0


def prompt_tokens(messages):
    total = 3
    for m in messages:
        c = m.get("content")
        if isinstance(c, list):
            c = "\n".join(p["text"] for p in c if "text" in p)
        total += 4 + tok(c or "")
    return total


def usd(usage, cost, div):
    return (Decimal(usage["input"]) * cost["input"]
            + Decimal(usage["output"]) * cost["output"]) / div / 100


MSGS = [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello to the café crowd ☕"}]


@pytest.fixture(scope="module")
def sim():
    with harness.start("theta_sim", env={
            "THETA_SIM_CONFIG": json.dumps(TEST_CONFIG),
            "THETA_SIM_LOG": "quiet"}) as server:
        yield Client(server)


@pytest.fixture(autouse=True)
def clean(request):
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").ctl("POST", "reset")
    yield


def poll(sim, rid, until=("success", "error"), limit=15):
    seen = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        st, data = sim.j("GET", "/infer_request/" + rid)
        assert st == 200, data
        job = data["body"]["infer_requests"][0]
        if not seen or seen[-1] != job["state"]:
            seen.append(job["state"])
        if job["state"] in until:
            return job, seen
        time.sleep(0.02)
    raise AssertionError("job %s stuck in %s" % (rid, seen))


# -- launch, TLS, host names ----------------------------------------------
def test_ready_line_and_tls_for_every_production_name(sim):
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", sim.server.url)
    assert set(sim.server.info) == {"ca", "token", "api_key", "project",
                                    "org", "video_sa", "video_secret"}
    assert os.path.isfile(sim.ca) and sim.token
    names = [OD, "controller.thetaedgecloud.com", "api.thetaedgecloud.com",
             "x1.onthetaedgecloud.com", OUT, GCS, "api.thetavideoapi.com",
             "llama38bize483jb30-5ace32af5f2c5f78.tec-s1.onthetaedgecloud.com",
             "abc-0123456789abcdef.tec-s31.onthetaedgecloud.com"]
    for name in names:
        st, data = sim.j("GET", "/__sim__/health", host=name, auth=False)
        assert st == 200 and data == {"ok": True}, name
    with pytest.raises(ssl.SSLCertVerificationError):
        sim.call("GET", "/__sim__/health", host="evil.example.com")


def test_sni_and_host_are_recorded(sim):
    sim.call("GET", "/service/list", auth=False)
    row = sim.ctl("GET", "requests")["requests"][-1]
    assert row["host"] == OD and row["sni"] == OD
    assert row["route"] == "list" and row["status"] == 200


def test_unknown_host_and_the_other_theta_hosts(sim):
    # controller, platform and dedicated hosts are simulated now (see
    # theta_sim_controller_test.py); here only that they answer
    st, hdrs, raw = sim.call("GET", "/deployment/list",
                             host="controller.thetaedgecloud.com")
    assert st == 403 and b"Error 1010" in raw
    st, data = sim.j("GET", "/deployment/list",
                     host="controller.thetaedgecloud.com",
                     headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert st == 401 and data["status"] == "error"
    st, hdrs, raw = sim.call("GET", "/", host="x1.onthetaedgecloud.com")
    assert st == 404 and raw == b"404 page not found"
    st, data = sim.j("GET", "/service/list",
                     headers={"Host": "other.example"})
    assert st == 421


# -- catalog ------------------------------------------------------------------
def test_service_list_is_public_with_prices_variants_and_inputs(sim):
    st, data = sim.j("GET", "/service/list?expand=template_id", auth=False)
    assert st == 200 and data["status"] == "success"
    svcs = {s["alias"]: s for s in data["body"]["services"]}
    assert set(LIVE) <= set(svcs)
    assert "minimax_m2_5" not in svcs and "step_video" not in svcs
    q = svcs["qwen3"]
    assert q["default_prediction"] == "completions"
    comp = q["predictions"]["completions"]
    assert comp["cost"] == {"input": 20, "output": 40}
    assert comp["cost_divisor"] == 1000000
    assert "parallax_32b_fp8" in comp["variants"]
    assert "parallax_32b_fp8" in q["variant_templates"]
    assert comp["input_vars"]["messages"]["required"] is True
    assert comp["input_vars"]["messages"]["type"] == "chat_array"
    assert svcs["gpt_oss_120b"]["predictions"]["completions"]["cost"] == \
        {"input": 4, "output": 20}
    assert svcs["llama_3_1_70b"]["predictions"]["completions"]["cost"] == \
        {"input": 20, "output": 40}
    for alias in LIVE[3:]:
        svc = svcs[alias]
        pred = svc["predictions"][svc["default_prediction"]]
        assert pred["cost"] == {"input": 0, "output": 1}, alias
        assert pred["cost_divisor"] == 1, alias
        assert any(v.get("required") for v in pred["input_vars"].values())
        assert svc["category"] in ("image", "vision", "audio")
        assert svc["id"].startswith("srvc_") and svc["state"] == "public"
    assert svcs["whisper"]["predictions"]["stt"]["input_vars"][
        "audio_filename"]["type"] == "filename"
    assert set(svcs["grounding_dino"]["predictions"]["0"]["input_vars"]) >= \
        {"input_img", "detection_prompt"}
    assert data["body"]["pagination"]["total"] == len(svcs)
    # a valid token is fine, a bad one is not (reference 8.7)
    assert sim.j("GET", "/service/list")[0] == 200
    st, data = sim.j("GET", "/service/list", auth="Bearer wrong")
    assert st == 401 and data["status"] == "error" and data["message"]


def test_service_by_alias_and_id(sim):
    st, data = sim.j("GET", "/service/qwen3", auth=False)
    assert st == 200
    svc = data["body"]["services"][0]
    assert svc["alias"] == "qwen3"
    st, data = sim.j("GET", "/service/" + svc["id"])
    assert st == 200 and data["body"]["services"][0]["alias"] == "qwen3"
    st, data = sim.j("GET", "/service/qwen")
    assert (st, data) == (404, {"status": "error",
                                "message": "service not found"})


# -- auth and validation ------------------------------------------------------
def test_auth_is_required_for_infer_status_and_presign(sim):
    body = {"input": {"prompt": "x"}}
    for auth in (False, "Bearer nope", "Basic " + sim.token,
                 "bearer " + sim.token + "x"):
        st, data = sim.j("POST", "/infer_request/flux", body, auth=auth)
        assert st == 401 and data["status"] == "error", auth
    assert sim.j("GET", "/infer_request/infr_rqst_x", auth=False)[0] == 401
    assert sim.j("POST", "/infer_request/flux/input_presigned_urls", {},
                 auth=False)[0] == 401
    assert sim.j("POST", "/infer_request/chat/completions",
                 {"model": "qwen3", "messages": MSGS}, auth=False)[0] == 401
    assert sim.ctl("GET", "ledger")["count"] == 0


def test_input_validation_and_unknown_things(sim):
    cases = [
        ("/infer_request/flux", {"input": {"width": 5}},
         400, "missing required input field: prompt"),
        ("/infer_request/flux", {"prompt": "flat"}, 400, None),
        ("/infer_request/grounding_dino",
         {"input": {"input_img": "https://example.com/a.png"}},
         400, "missing required input field: detection_prompt"),
        ("/infer_request/qwen3", {"input": {"messages": []}}, 400, None),
        ("/infer_request/qwen3", {"input": {"messages": [{"content": "x"}]}},
         400, None),
        ("/infer_request/flux?prediction=bogus", {"input": {"prompt": "x"}},
         400, None),
        ("/infer_request/flux", {"input": {"prompt": "x"},
                                 "variant": "nope"}, 400, None),
        ("/infer_request/flux?wait=soon", {"input": {"prompt": "x"}},
         400, None),
        ("/infer_request/qwen", {"input": {"messages": MSGS}},
         404, "service not found"),
        ("/infer_request/minimax_m2_5", {"input": {"messages": MSGS}},
         404, "service not found"),
    ]
    for path, body, status, message in cases:
        st, data = sim.j("POST", path, body)
        assert st == status and data["status"] == "error", (path, data)
        if message:
            assert data["message"] == message
    st, _, raw = sim.call("POST", "/infer_request/flux", raw_body=b"{nope",
                          headers={"Content-Type": "application/json"})
    assert st == 400 and b"invalid JSON" in raw
    st, data = sim.j("GET", "/infer_request/infr_rqst_doesnotexist0000000")
    assert st == 404 and data["status"] == "error"
    assert sim.ctl("GET", "ledger")["count"] == 0


# -- jobs ------------------------------------------------------------------
def test_async_job_progresses_and_output_is_served(sim):
    sim.ctl("POST", "config", {"job_times": {"flux": [0.3, 0.6]}})
    st, data = sim.j("POST", "/infer_request/flux?wait=0",
                     {"input": {"prompt": "a lighthouse", "seed": 7}})
    assert st == 200 and data["status"] == "success"
    job = data["body"]["infer_requests"][0]
    assert job["state"] == "pending" and job["id"].startswith("infr_rqst_")
    assert len(job["id"]) == len("infr_rqst_") + 22
    assert job["output"] == {}
    mq = data["body"]["model_quotas"][0]
    assert mq["ten_min_quota"] == 50 and mq["ten_min_remaining"] == 49
    assert mq["daily_quota"] == 1000 and mq["daily_remaining"] == 999
    done, seen = poll(sim, job["id"])
    order = ["pending", "processing", "success"]
    assert seen == sorted(seen, key=order.index) and seen[-1] == "success"
    assert done["usage"] == {"input": 0, "output": 1}
    assert done["prediction_cost"] == {"input": 0, "output": 1}
    assert done["prediction_cost_divisor"] == 1
    assert done["cost_usd"] == {"input": 0, "output": 0.01}
    assert done["output"]["used_seed"] == "7"
    assert done["success_time"] and done["assigned_time"]
    url = done["output"]["image_url"]
    m = re.fullmatch(r"https://%s(/srvc_\w+/prj_\w+/%s_image_url\.png)"
                     % (re.escape(OUT), done["id"]), url)
    assert m, url
    st, hdrs, png = sim.call("GET", m.group(1), host=OUT, auth=False)
    assert st == 200 and hdrs["content-type"] == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert sim.call("GET", "/srvc_x/nothing.png", host=OUT)[0] == 404


def test_wait_window_query_and_body(sim):
    sim.ctl("POST", "config", {"job_times": {
        "flux": [0.02, 0.05], "stable_diffusion_xl_turbo": [0.02, 60]}})
    st, data = sim.j("POST", "/infer_request/flux?wait=10",
                     {"input": {"prompt": "quick"}})
    assert data["body"]["infer_requests"][0]["state"] == "success"
    st, data = sim.j("POST", "/infer_request/flux",
                     {"input": {"prompt": "quick"}, "wait": 10})
    assert data["body"]["infer_requests"][0]["state"] == "success"
    st, data = sim.j("POST", "/infer_request/stable_diffusion_xl_turbo"
                     "?wait=0.2", {"input": {"prompt": "slow"}})
    job = data["body"]["infer_requests"][0]
    assert job["state"] == "processing" and job["output"] == {}
    assert job["cost_usd"] == {"input": 0, "output": 0}
    sim.ctl("POST", "config", {"job_times": {"flux": [5, 5]}})
    st, data = sim.j("POST", "/infer_request/flux?wait=0",
                     {"input": {"prompt": "q"}, "wait": 60})
    assert data["body"]["infer_requests"][0]["state"] == "pending"


def test_prediction_variant_and_webhook_placement(sim):
    body = {"input": {"prompt": "p"}, "variant": "quantized",
            "webhook": "https://example.com/hook"}
    for path in ("/infer_request/flux?prediction=generate_image&wait=10",
                 "/infer_request/flux/generate_image?wait=10"):
        st, data = sim.j("POST", path, body)
        job = data["body"]["infer_requests"][0]
        assert st == 200 and job["prediction"] == "generate_image"
        assert job["variant"] == "quantized"
        assert job["webhook"] == "https://example.com/hook"
    st, data = sim.j("POST", "/infer_request/flux",
                     dict(body, prediction="generate_image"))
    assert st == 200
    st, data = sim.j("POST", "/infer_request/flux/upscale", body)
    assert st == 400
    st, data = sim.j("GET", "/infer_request/%s/list" % job["project_id"])
    assert st == 200 and len(data["body"]["infer_requests"]) == 3
    assert sim.j("GET", "/infer_request/prj_other/list")[0] == 403
    jobs = sim.ctl("GET", "jobs")["infer_requests"]
    assert {j["id"] for j in jobs} == {
        j["id"] for j in data["body"]["infer_requests"]}


def test_job_error_fault(sim):
    sim.ctl("POST", "faults", {"job_error": {"service": "blip"}})
    st, data = sim.j("POST", "/infer_request/flux?wait=10",
                     {"input": {"prompt": "fine"}})
    assert data["body"]["infer_requests"][0]["state"] == "success"
    st, data = sim.j("POST", "/infer_request/blip?wait=10",
                     {"input": {"input_img": "https://example.com/x.png"}})
    job = data["body"]["infer_requests"][0]
    assert job["state"] == "error" and job["error_message"]
    assert job["usage"] == {"input": 0, "output": 0}
    ledger = sim.ctl("GET", "ledger")
    assert [e["service"] for e in ledger["entries"]] == ["flux"]


# -- chat: job path -----------------------------------------------------------
def _check_stream(raw_body, model):
    events = sse_events(raw_body)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["model"] == model for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    body = chunks[1:-1]
    finishes = [c["choices"][0]["finish_reason"] for c in body]
    assert all(f is None for f in finishes[:-1]) and finishes[-1]
    content = "".join(c["choices"][0]["delta"].get("content", "")
                      for c in body)
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning", "")
                        for c in body)
    n_tokens = sum(1 for c in body if c["choices"][0]["delta"])
    assert usage["completion_tokens"] == n_tokens
    assert usage["total_tokens"] == usage["prompt_tokens"] + n_tokens
    return content, reasoning, usage, finishes[-1]


def test_qwen3_job_path_streams_sse(sim):
    body = {"input": {"messages": MSGS, "stream": True, "max_tokens": 500},
            "variant": "parallax_32b_fp8"}
    st, hdrs, raw = sim.call("POST", "/infer_request/qwen3?wait=60"
                             "&prediction=completions", body)
    assert st == 200
    assert hdrs["content-type"].startswith("text/event-stream")
    assert hdrs["transfer-encoding"] == "chunked"
    assert raw.startswith(b'data: {"id"')
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")
    assert b"\r" not in raw
    for block in raw.split(b"\n\n")[:-1]:
        assert block.startswith(b"data: ") and b"\n" not in block
    content, reasoning, usage, finish = _check_stream(raw, "qwen3")
    assert finish == "stop" and reasoning == ""
    assert content.startswith("Simulated qwen3 answer to \u201cSay hello")
    assert "\U0001F600" in content and "\u2615" in content
    assert usage["prompt_tokens"] == prompt_tokens(MSGS)
    assert usage["completion_tokens"] == 24
    entry = sim.ctl("GET", "ledger")["entries"][0]
    assert entry["stream"] and entry["stream_completed"]
    assert entry["state"] == "success" and entry["service"] == "qwen3"
    assert entry["usage"] == {"input": usage["prompt_tokens"],
                              "output": usage["completion_tokens"]}
    job, _ = poll(sim, entry["infer_request_id"])
    assert job["state"] == "success" and job["output"]["message"] == content
    assert job["variant"] == "parallax_32b_fp8"


def test_qwen3_stream_omitted_means_sse_and_reasoning(sim):
    st, hdrs, raw = sim.call(
        "POST", "/infer_request/qwen3/completions",
        {"input": {"messages": MSGS, "enable_thinking": True}})
    assert hdrs["content-type"].startswith("text/event-stream")
    content, reasoning, usage, finish = _check_stream(raw, "qwen3")
    assert reasoning.startswith("Let me think")
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 24
    assert usage["completion_tokens"] == 48 and finish == "stop"
    st, hdrs, raw = sim.call(
        "POST", "/infer_request/qwen3/completions",
        {"input": {"messages": MSGS, "enable_thinking": True,
                   "max_tokens": 30}})
    content, reasoning, usage, finish = _check_stream(raw, "qwen3")
    assert usage["completion_tokens"] == 30 and finish == "length"
    assert len(content) > 0


def test_qwen3_non_stream_job_and_wrong_cost_usd(sim):
    st, data = sim.j("POST", "/infer_request/qwen3?wait=30"
                     "&prediction=completions",
                     {"input": {"messages": MSGS, "stream": False},
                      "variant": "parallax_32b_fp8"})
    assert st == 200 and data["status"] == "success"
    job = data["body"]["infer_requests"][0]
    assert job["state"] == "success"
    assert job["output"]["message"].startswith("Simulated qwen3 answer")
    assert job["usage"] == {"input": prompt_tokens(MSGS), "output": 24}
    assert job["prediction_cost"] == {"input": 20, "output": 40}
    assert job["prediction_cost_divisor"] == 1000000
    # constant, usage-independent and wrong: cost**2 / 100 / divisor
    assert job["cost_usd"] == {"input": 20 ** 2 / 100 / 1e6,
                               "output": 40 ** 2 / 100 / 1e6}
    right = usd(job["usage"], job["prediction_cost"],
                job["prediction_cost_divisor"])
    assert right == Decimal("0.0000") + Decimal(
        job["usage"]["input"] * 20 + 24 * 40) / 10 ** 8
    assert abs(float(right) - sum(job["cost_usd"].values())) > 1e-6
    entry = sim.ctl("GET", "ledger")["entries"][0]
    assert entry["request_id"] == job["id"]
    assert Decimal(entry["usd_decimal"]) == right
    assert entry["cost_usd_field"] == job["cost_usd"]
    # async: wait=0 then poll
    st, data = sim.j("POST", "/infer_request/llama_3_1_70b?wait=0",
                     {"input": {"messages": MSGS, "stream": False}})
    job = data["body"]["infer_requests"][0]
    assert job["state"] == "pending"
    done, _ = poll(sim, job["id"])
    assert done["output"]["message"].startswith("Simulated llama_3_1_70b")


# -- chat: OpenAI-compatible path ---------------------------------------------
def test_gpt_oss_chat_completions_json(sim):
    body = {"model": "gpt_oss_120b", "messages": MSGS, "max_tokens": 1800,
            "temperature": 0.5, "top_p": 0.7, "stream": False,
            "reasoning_effort": "low"}
    st, hdrs, raw = sim.call("POST", "/infer_request/chat/completions", body)
    assert st == 200 and hdrs["content-type"].startswith("application/json")
    data = json.loads(raw)
    assert "status" not in data and data["object"] == "chat.completion"
    ch = data["choices"][0]
    assert ch["finish_reason"] == "stop"
    assert ch["message"]["content"].startswith("Simulated gpt_oss_120b")
    assert ch["message"]["reasoning"].startswith("Let me think")
    u = data["usage"]
    assert u["prompt_tokens"] == prompt_tokens(MSGS)
    assert u["completion_tokens"] == 200 + 24
    assert u["completion_tokens_details"]["reasoning_tokens"] == 200
    # reasoning eats a small budget
    st, data = sim.j("POST", "/infer_request/chat/completions",
                     dict(body, max_tokens=150))
    ch = data["choices"][0]
    assert ch["finish_reason"] == "length" and not ch["message"]["content"]
    assert data["usage"]["completion_tokens"] == 150
    # partial content
    st, data = sim.j("POST", "/infer_request/chat/completions",
                     dict(body, max_tokens=210))
    ch = data["choices"][0]
    assert ch["finish_reason"] == "length" and ch["message"]["content"]
    ledger = sim.ctl("GET", "ledger")
    assert [e["usage"]["output"] for e in ledger["entries"]] == \
        [224, 150, 210]
    for e in ledger["entries"]:
        assert e["route"] == "chat" and e["prediction_cost"] == \
            {"input": 4, "output": 20}
        assert Decimal(e["usd_decimal"]) == usd(e["usage"], {
            "input": 4, "output": 20}, 1000000)
    assert Decimal(ledger["total_usd_decimal"]) == sum(
        Decimal(e["usd_decimal"]) for e in ledger["entries"])


def test_gpt_oss_chat_completions_stream_and_errors(sim):
    body = {"model": "gpt_oss_120b", "messages": MSGS, "max_tokens": 1800,
            "reasoning_effort": "low", "stream": True}
    st, hdrs, raw = sim.call("POST", "/infer_request/chat/completions", body)
    assert hdrs["content-type"].startswith("text/event-stream")
    content, reasoning, usage, finish = _check_stream(raw, "gpt-oss-120b")
    assert reasoning and content and finish == "stop"
    assert usage["completion_tokens"] == 224
    for model, status in (("qwen", 404), ("flux", 404), ("", 400)):
        st, data = sim.j("POST", "/infer_request/chat/completions",
                         dict(body, model=model))
        assert st == status and data["status"] == "error", model
    st, data = sim.j("POST", "/infer_request/chat/completions",
                     dict(body, model="qwen"))
    assert data["message"] == "service not found"
    st, data = sim.j("POST", "/infer_request/chat/completions",
                     dict(body, messages="hi"))
    assert st == 400
    st, data = sim.j("POST", "/infer_request/chat/completions",
                     {"model": "qwen3", "messages": MSGS})
    assert st == 200 and data["model"] == "qwen3"


def test_token_formula_with_content_parts():
    from tests.servers.theta_sim import chat
    msgs = [{"role": "user", "content": [
        {"type": "text", "text": "héllo"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "text", "text": "wörld 😀"}]}, {"role": "assistant",
                                                 "content": None}]
    assert chat.prompt_tokens(msgs) == prompt_tokens(msgs) == \
        3 + (4 + math.ceil(len("héllo\nwörld 😀".encode()) / 4)) + 4


# -- presigned uploads --------------------------------------------------------
def _presign(sim, alias, fields=None, pred=None):
    path = "/infer_request/%s%s/input_presigned_urls" % (
        alias, "/" + pred if pred else "")
    body = None if fields is None else {"input_fields": fields}
    st, hdrs, raw = sim.call("POST", path, body)
    return st, json.loads(raw)


def _put(sim, url, data, auth=None):
    m = re.fullmatch(r"https://storage\.googleapis\.com(/.*)", url)
    assert m, url
    hdrs = {"Content-Type": "application/octet-stream"}
    if auth:
        hdrs["Authorization"] = auth
    return sim.call("PUT", m.group(1), host=GCS, auth=False, headers=hdrs,
                    raw_body=data)


def test_presigned_upload_round_trip_whisper(sim):
    st, data = _presign(sim, "whisper")
    assert st == 200 and data["status"] == "success"
    slot = data["body"]["audio_filename"]
    url, name = slot["presigned_url"], slot["filename"]
    assert url.startswith("https://storage.googleapis.com/")
    assert "X-Goog-Signature=" in url and "X-Goog-Expires=" in url
    audio = "Hello from the simulator. Second sentence!".encode()
    st, hdrs, raw = _put(sim, url, audio)
    assert st == 200 and hdrs["etag"]
    st, data = sim.j("POST", "/infer_request/whisper?wait=10",
                     {"input": {"audio_filename": name}})
    job = data["body"]["infer_requests"][0]
    assert job["state"] == "success"
    assert job["output"]["text"] == audio.decode()
    assert len(job["output"]["segments"]) == 2
    ups = sim.ctl("GET", "uploads")["uploads"]
    assert ups[0]["filename"] == name and ups[0]["size"] == len(audio)
    assert ups[0]["sha256"] == hashlib.sha256(audio).hexdigest()
    assert ups[0]["authorization_sent"] is False
    puts = sim.ctl("GET", "requests?host=%s" % GCS)["requests"]
    assert len(puts) == 1 and puts[0]["method"] == "PUT"
    assert puts[0]["authorization_present"] is False
    # binary audio gets a generic transcript
    st, data = _presign(sim, "whisper", ["audio_filename"])
    slot = data["body"]["audio_filename"]
    assert _put(sim, slot["presigned_url"], b"RIFF\x00\x01\xff")[0] == 200
    st, data = sim.j("POST", "/infer_request/whisper?wait=10",
                     {"input": {"audio_filename": slot["filename"]}})
    assert data["body"]["infer_requests"][0]["output"]["text"].startswith(
        "Simulated transcript")


def test_presign_shapes_fields_and_errors(sim):
    st, data = _presign(sim, "flux")          # skill's token probe
    assert st == 200 and data["body"] == {}
    st, data = _presign(sim, "blip", ["input_img"], pred="predict")
    assert set(data["body"]) == {"input_img"}
    assert _presign(sim, "blip", ["prompt"])[0] == 400
    assert _presign(sim, "blip", None, pred="bogus")[0] == 400
    assert _presign(sim, "nope")[0] == 404
    sim.ctl("POST", "config", {"presign_shape": "mcp"})
    st, data = _presign(sim, "grounding_dino", "input_img")
    slot = data["body"]["urls"]["input_img"]
    assert slot["upload_url"].startswith("https://storage.googleapis.com/")
    assert slot["filename"].startswith("upload_")


def test_upload_rejects_bad_signature_and_leaked_authorization(sim):
    st, data = _presign(sim, "blip")
    slot = data["body"]["input_img"]
    url = slot["presigned_url"]
    bad = re.sub(r"X-Goog-Signature=\w+", "X-Goog-Signature=deadbeef", url)
    assert bad != url
    st, _, raw = _put(sim, bad, b"x")
    assert st == 403 and b"SignatureDoesNotMatch" in raw
    st, _, raw = _put(sim, url, b"img", auth="Bearer " + sim.token)
    assert st == 400 and b"InvalidArgument" in raw
    # not uploaded yet -> unusable as input
    st, data = sim.j("POST", "/infer_request/blip",
                     {"input": {"input_img": slot["filename"]}})
    assert st == 400 and "not uploaded" in data["message"]
    st, data = sim.j("POST", "/infer_request/blip",
                     {"input": {"input_img": "upload_missing"}})
    assert st == 400 and data["message"] == "input file not found: input_img"
    sim.ctl("POST", "config", {"upload_auth_policy": "accept"})
    assert _put(sim, url, b"a red bicycle",
                auth="Bearer " + sim.token)[0] == 200
    ups = sim.ctl("GET", "uploads")["uploads"]
    assert ups[0]["authorization_sent"] is True
    leaks = [r for r in sim.ctl("GET", "requests")["requests"]
             if r["host"] == GCS and r["authorization_present"]]
    assert len(leaks) == 2 and all(r["token_valid"] for r in leaks)
    st, data = sim.j("POST", "/infer_request/blip?wait=10",
                     {"input": {"input_img": slot["filename"]}})
    assert data["body"]["infer_requests"][0]["output"] == {
        "caption": "a photo of a red bicycle"}


def test_vision_outputs(sim):
    st, data = _presign(sim, "grounding_dino")
    slot = data["body"]["input_img"]
    assert _put(sim, slot["presigned_url"], b"\x89PNG fake")[0] == 200
    st, data = sim.j("POST", "/infer_request/grounding_dino?wait=10",
                     {"input": {"input_img": slot["filename"],
                                "detection_prompt": "cat . dog"}})
    out = data["body"]["infer_requests"][0]["output"]
    assert out["labels"] == ["cat", "dog"] and len(out["boxes"]) == 2
    assert all(len(b) == 4 for b in out["boxes"])
    st, data = sim.j("POST", "/infer_request/llava?wait=10",
                     {"input": {"input_img": "https://example.com/a.jpg",
                                "question": "What is it?"}})
    assert "What is it?" in data["body"]["infer_requests"][0]["output"][
        "text"]


# -- errors: capacity, quota, 5xx, latency, truncation ------------------------
def test_capacity_409_per_service(sim):
    sim.ctl("POST", "faults", {"capacity": {"count": 2, "service": "qwen3",
                                            "retry_after": 2}})
    body = {"input": {"messages": MSGS, "stream": False}}
    assert sim.j("POST", "/infer_request/flux?wait=1",
                  {"input": {"prompt": "x"}})[0] == 200
    st, hdrs, raw = sim.call("POST", "/infer_request/qwen3", body)
    assert st == 409 and hdrs["retry-after"] == "2"
    assert json.loads(raw) == {"status": "error", "message":
                               "No instances available - try again later"}
    st, data = sim.j("POST", "/infer_request/chat/completions",
                     {"model": "qwen3", "messages": MSGS})
    assert st == 409
    assert sim.j("POST", "/infer_request/qwen3", body)[0] == 200
    assert sim.ctl("GET", "faults")["faults"] == {}
    assert [e["service"] for e in sim.ctl("GET", "ledger")["entries"]] == \
        ["flux", "qwen3"]


def test_quota_429(sim):
    sim.ctl("POST", "config", {"quotas": {"flux": {"ten_min": 2},
                                          "blip": {"daily": 1}},
                               "quota_retry_after": True})
    body = {"input": {"prompt": "x"}}
    rem = [sim.j("POST", "/infer_request/flux", body)[1]["body"][
        "model_quotas"][0]["ten_min_remaining"] for _ in range(2)]
    assert rem == [1, 0]
    st, hdrs, raw = sim.call("POST", "/infer_request/flux", body)
    assert st == 429 and int(hdrs["retry-after"]) > 0
    assert json.loads(raw) == {"status": "error",
                               "message": "10 minute quota reached"}
    img = {"input": {"input_img": "https://example.com/a.png"}}
    assert sim.j("POST", "/infer_request/blip", img)[0] == 200
    st, data = sim.j("POST", "/infer_request/blip", img)
    assert (st, data["message"]) == (429, "daily quota reached")
    assert sim.ctl("GET", "ledger")["count"] == 3


def test_forced_5xx_with_route_filter(sim):
    sim.ctl("POST", "faults", {"http_error": {"count": 2, "status": 503}})
    st, data = sim.j("GET", "/service/list")
    assert st == 503 and data["status"] == "error"
    assert sim.j("POST", "/infer_request/flux",
                 {"input": {"prompt": "x"}})[0] == 503
    assert sim.j("GET", "/service/list")[0] == 200
    sim.ctl("POST", "faults", {"http_error": {
        "count": -1, "status": 502, "body": "html", "routes": ["status"]}})
    assert sim.j("GET", "/service/list")[0] == 200
    st, hdrs, raw = sim.call("GET", "/infer_request/infr_rqst_x")
    assert st == 502 and hdrs["content-type"] == "text/html"
    assert sim.call("GET", "/infer_request/infr_rqst_x")[0] == 502
    assert sim.ctl("GET", "faults")["faults"]["http_error"]["fired"] == 2
    sim.ctl("DELETE", "faults")
    assert sim.call("GET", "/infer_request/infr_rqst_x")[0] == 404
    assert sim.ctl("GET", "ledger")["count"] == 0


def test_added_latency(sim):
    sim.ctl("POST", "faults", {"latency": {"seconds": 3, "routes": ["list"]}})
    with pytest.raises(socket.timeout):
        sim.call("GET", "/service/list", timeout=0.3)
    assert sim.call("GET", "/service/qwen3", timeout=5)[0] == 200


def test_truncated_json_bodies(sim):
    sim.ctl("POST", "faults", {"truncate_json": {"routes": ["list"]}})
    st, hdrs, raw = sim.call("GET", "/service/list")
    assert st == 200 and int(hdrs["content-length"]) == len(raw)
    with pytest.raises(ValueError):
        json.loads(raw)
    sim.ctl("POST", "faults", {"truncate_json": {"mode": "close",
                                                 "keep": 0.3}})
    with pytest.raises(http.client.IncompleteRead):
        sim.call("GET", "/service/list")
    assert json.loads(sim.call("GET", "/service/list")[2])


# -- stream faults ------------------------------------------------------------
QWEN_STREAM = {"input": {"messages": MSGS, "stream": True},
               "variant": "parallax_32b_fp8"}


def test_drop_connection_mid_stream(sim):
    sim.ctl("POST", "faults", {"drop_stream": {"after_events": 4,
                                               "service": "qwen3"}})
    data, error = sim.raw_post("/infer_request/qwen3?prediction=completions",
                               QWEN_STREAM)
    head, body = split_http(data)
    assert head.startswith("HTTP/1.1 200")
    chunks, complete = dechunk(body)
    assert not complete
    events = sse_events(b"".join(chunks))
    assert len(events) == 4 and "[DONE]" not in events
    entry = sim.ctl("GET", "ledger")["entries"][0]
    assert entry["stream_completed"] is False
    assert entry["state"] == "interrupted"
    assert entry["usage"] == {"input": prompt_tokens(MSGS), "output": 3}
    job, _ = poll(sim, entry["infer_request_id"])
    assert job["state"] == "error"
    # the next stream is whole again
    data, error = sim.raw_post("/infer_request/qwen3?prediction=completions",
                               QWEN_STREAM)
    assert dechunk(split_http(data)[1])[1]


def test_split_sse_frames_at_awkward_bytes(sim):
    sim.ctl("POST", "faults", {"split_sse": {"piece_delay": 0.001}})
    data, error = sim.raw_post("/infer_request/qwen3?prediction=completions",
                               QWEN_STREAM)
    assert error is None
    chunks, complete = dechunk(split_http(data)[1])
    assert complete
    stream = b"".join(chunks)
    assert stream.startswith(b"data: {") and b"\r\n\r\n" in stream
    assert stream.count(b"\n") == stream.count(b"\r\n")
    assert any(c.endswith(b"da") for c in chunks)            # inside data:
    assert any(c.endswith(b"\r") for c in chunks)            # CR | LF
    assert any(c.startswith(b"\nda") for c in chunks)        # spans events

    def broken_utf8(c):
        try:
            c.decode("utf-8")
            return False
        except UnicodeDecodeError:
            return True
    assert any(broken_utf8(c) for c in chunks)               # inside a char
    content, reasoning, usage, finish = _check_stream(stream, "qwen3")
    assert finish == "stop" and usage["completion_tokens"] == 24
    st, hdrs, raw = sim.call("POST", "/infer_request/qwen3", QWEN_STREAM)
    assert b"\r" not in raw                                  # count was 1


def test_endless_stream_until_client_leaves(sim):
    sim.ctl("POST", "faults", {"endless_stream": {"interval": 0.001}})
    c = sim.conn(timeout=10)
    c.request("POST", "/infer_request/qwen3", json.dumps(QWEN_STREAM),
              {"Authorization": "Bearer " + sim.token})
    r = c.getresponse()
    n = 0
    while n < 300:
        line = r.readline()
        assert line, "stream ended"
        if line.startswith(b"data: "):
            assert line != b"data: [DONE]\n"
            n += 1
    c.close()
    entry = sim.ctl("GET", "ledger")["entries"][0]
    assert entry["usage"]["output"] >= 299 and not entry["stream_completed"]
    sim.ctl("POST", "faults", {"endless_stream": {"mode": "comments",
                                                  "interval": 0.001}})
    c = sim.conn(timeout=10)
    c.request("POST", "/infer_request/qwen3", json.dumps(QWEN_STREAM),
              {"Authorization": "Bearer " + sim.token})
    r = c.getresponse()
    comments = 0
    while comments < 20:
        line = r.readline()
        assert line
        comments += line.startswith(b": keep-alive")
    c.close()
    assert sim.call("GET", "/service/list")[0] == 200


def test_stalled_stream_and_first_byte_delay(sim):
    sim.ctl("POST", "faults", {"stall_stream": {}})
    c = sim.conn(timeout=0.5)
    c.request("POST", "/infer_request/qwen3", json.dumps(QWEN_STREAM),
              {"Authorization": "Bearer " + sim.token})
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("content-type").startswith("text/event-stream")
    with pytest.raises(socket.timeout):
        r.read1(100)
    c.close()
    sim.ctl("POST", "config", {"first_byte_delay": 5})
    with pytest.raises(socket.timeout):
        sim.call("POST", "/infer_request/qwen3", QWEN_STREAM, timeout=0.4)
    sim.ctl("POST", "config", {"first_byte_delay": 5,
                               "first_byte_mode": "after_headers"})
    c = sim.conn(timeout=0.4)
    c.request("POST", "/infer_request/chat/completions",
              json.dumps({"model": "qwen3", "messages": MSGS,
                          "stream": True}),
              {"Authorization": "Bearer " + sim.token})
    r = c.getresponse()
    assert r.status == 200
    with pytest.raises(socket.timeout):
        r.read1(100)
    c.close()


def test_sse_close_framing_and_crlf_option(sim):
    sim.ctl("POST", "config", {"sse_framing": "close",
                               "sse_line_ending": "crlf"})
    data, error = sim.raw_post("/infer_request/qwen3", QWEN_STREAM)
    head, body = split_http(data)
    assert "Transfer-Encoding" not in head and "Connection: close" in head
    assert body.endswith(b"data: [DONE]\r\n\r\n")
    _check_stream(body, "qwen3")


# -- observability and control ------------------------------------------------
def test_request_log_never_contains_the_token(sim):
    sim.call("GET", "/service/list", auth=False)
    sim.call("POST", "/infer_request/flux?wait=0",
             {"input": {"prompt": "leak " + sim.token}})
    sim.call("GET", "/service/list?key=" + sim.token,
             headers={"X-Api-Key": sim.token})
    st, hdrs, raw = sim.call("GET", "/__sim__/requests", auth=False)
    assert sim.token.encode() not in raw
    rows = json.loads(raw)["requests"]
    assert [r["authorization_present"] for r in rows] == [False, True, True]
    assert rows[1]["token_in_body"] and "[REDACTED]" in rows[1]["body"]
    assert rows[1]["token_valid"] is True and rows[1]["auth_scheme"] == \
        "Bearer"
    assert rows[2]["token_in_url"] and rows[2]["token_in_headers"] == \
        ["X-Api-Key"]
    assert all(not r["path"].startswith("/__sim__") for r in rows)
    assert sim.ctl("GET", "requests?method=POST")["count"] == 1


def test_control_validation_and_reset(sim):
    for path, body in (("faults", {"nope": {}}),
                       ("faults", {"capacity": {"countt": 1}}),
                       ("config", {"nope": 1}),
                       ("config", {"time_scale": "fast"}),
                       ("config", {"presign_shape": "urls"}),
                       ("config", {"profile": "slowest"})):
        st, data = sim.j("POST", "/__sim__/" + path, body, auth=False)
        assert st == 400 and data["error"], path
    sim.ctl("POST", "config", {"answer_tokens": 5, "profile": "realistic"})
    cfg = sim.ctl("GET", "config")["config"]
    assert cfg["first_byte_delay_by_service"]["qwen3"] > 10
    sim.ctl("POST", "faults", {"capacity": {"count": -1}})
    sim.call("GET", "/service/list")
    sim.ctl("POST", "reset")
    assert sim.ctl("GET", "faults")["faults"] == {}
    assert sim.ctl("GET", "requests")["count"] == 0
    assert sim.ctl("GET", "ledger")["count"] == 0
    cfg = sim.ctl("GET", "config")["config"]
    assert cfg["answer_tokens"] == 24 and cfg["first_byte_delay"] == 0.05
    assert sim.j("GET", "/__sim__/nothing", auth=False)[0] == 404


def test_keep_alive_connection_reuse(sim):
    c = sim.conn()
    hdrs = {"Authorization": "Bearer " + sim.token}
    for _ in range(3):
        c.request("GET", "/service/qwen3", headers=hdrs)
        assert c.getresponse().read()
    c.request("POST", "/infer_request/qwen3", json.dumps(QWEN_STREAM), hdrs)
    assert c.getresponse().read().endswith(b"data: [DONE]\n\n")
    c.request("GET", "/service/list", headers=hdrs)
    assert c.getresponse().status == 200
    c.close()


# -- start-up switches and shutdown -------------------------------------------
def test_env_token_faults_and_sigterm_during_stream(tmp_path):
    server = harness.start("theta_sim", env={
        "THETA_SIM_TOKEN": "fixed-token-123",
        "THETA_SIM_FAULTS": json.dumps({"capacity": {"count": 1},
                                        "stall_stream": {"count": -1}}),
        "THETA_SIM_FIRST_BYTE_DELAY": "0.01",
        "THETA_SIM_LOG": "quiet"})
    try:
        cli = Client(server)
        assert cli.token == "fixed-token-123"
        body = {"input": {"prompt": "x"}}
        assert cli.j("POST", "/infer_request/flux", body)[0] == 409
        assert cli.j("POST", "/infer_request/flux", body)[0] == 200
        cert_dir = os.path.dirname(cli.ca)
        # a stalled stream is open while the server is told to stop
        c = cli.conn(timeout=5)
        c.request("POST", "/infer_request/qwen3", json.dumps(QWEN_STREAM),
                  {"Authorization": "Bearer fixed-token-123"})
        assert c.getresponse().status == 200
        assert server.stop(timeout=5) == 0    # SIGTERM, not the kill
        assert not os.path.exists(cert_dir)
        assert server.proc.stdout.read() == ""
        c.close()
    finally:
        server.stop()
