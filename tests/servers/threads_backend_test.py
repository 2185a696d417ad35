"""Tests of the offline ThreadClaw backend (tests/servers/threads_backend).

Run from the repository root:
    /usr/bin/python3 -m pytest tests/servers/threads_backend_test.py -q

The server is started through tests/servers/harness.py and exercised over
real HTTP on loopback only.
"""
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.servers import harness

SECRET = "tb-secret-7f3a9c"
TENANT = "agency_paris"
PUBLISH = "/api/v1/threads/publish"
CHAT = "/api/v1/assistant/chat"
BASE_ENV = {
    "THREADS_QUEUE_SECRET": SECRET,
    "REF_TEST_HOOKS": "1",
    "REF_CONTAINER_WAIT_S": "0",
    "REF_POLL_S": "0",
    "REF_FAKE_GEN_MS": "300",
    "REF_GEN_TIMEOUT_S": "5",
    "REF_LOG_LEVEL": "warning",
}


def _clean_env(extra):
    """Start from the environment without REF_*/storage switches."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REF_") and k not in (
               "STORAGE_PROVIDER", "UPLOADS_DIR", "UPLOADS_PATH",
               "THREADS_QUEUE_SECRET")}
    env.update(extra)
    return env


def start_server(extra=None):
    # harness.start merges os.environ; pass every key we care about.
    env = _clean_env(dict(BASE_ENV, **(extra or {})))
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return harness.start("threads_backend")
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Api:
    def __init__(self, server):
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, trust_env=False,
                                 timeout=20)

    def publish(self, body, key=None, secret=SECRET, headers=None,
                **kw):
        h = {} if secret is None else {"X-Queue-Secret": secret}
        if key is not None:
            h["Idempotency-Key"] = key
        h.update(headers or {})
        return self.http.post(PUBLISH, json=body, headers=h, **kw)

    def get(self, path, secret=SECRET, **kw):
        h = {} if secret is None else {"X-Queue-Secret": secret}
        return self.http.get(path, headers=h, **kw)

    def hook(self, path, payload=None):
        r = self.http.post("/__test__/" + path, json=payload or {})
        assert r.status_code == 200, r.text
        return r.json()

    def config(self, **kw):
        return self.hook("config", kw)

    def faults(self, **kw):
        return self.hook("faults", kw)

    def tick(self, advance_s=0):
        return self.hook("worker/tick", {"advance_s": advance_s})

    def item(self, item_id):
        r = self.get("/api/v1/threads/queue/" + item_id)
        assert r.status_code == 200, r.text
        return r.json()

    def items(self, **params):
        r = self.get("/api/v1/threads/queue", params=params)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def calls(self, **params):
        return self.http.get("/__test__/threads/calls",
                             params=params).json()["calls"]

    def publish_calls(self, item_id):
        return [c for c in self.calls(item_id=item_id)
                if c["path"].endswith("/threads_publish")]

    def sample(self, name):
        return f"{self.url}/samples/{name}"


def post_body(message="hello threads", images=(), **kw):
    body = {"message": message, "images": list(images),
            "scheduled_at": None, "publish_mode": "queue",
            "auto_proxy_images": True,
            "meta": {"tenant_id": TENANT, "source": "telegram",
                     "chat_id": "-1001234567890", "user_id": "42",
                     "username": "alice"}}
    meta = kw.pop("meta", None)
    if meta:
        body["meta"].update(meta)
    body.update(kw)
    return body


def chat_body(prompt="a cat on a bike", execute=True, **ctx):
    context = {"tenant_id": TENANT, "prompt": prompt, "message": prompt,
               "provider": "replicate",
               "model": "black-forest-labs/flux-1.1-pro",
               "source": "telegram", "campaign": "remote_demo",
               "api_base_url": None}
    context.update(ctx)
    return {"session_id": "tg_123456789", "execute_tools": execute,
            "message": "Generate and enqueue one image post",
            "context": context}


def iso_in(seconds):
    t = time.time() + seconds
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@pytest.fixture(scope="module")
def server():
    srv = start_server()
    yield srv
    srv.stop()


@pytest.fixture
def api(server):
    a = Api(server)
    a.hook("reset")
    yield a
    a.http.close()


# --- basics ----------------------------------------------------------------

def test_health_and_request_id(api):
    r = api.http.get("/health")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "version": "ref-1",
                        "storage_provider": "local", "fake_threads": True,
                        "fake_replicate": True, "uploads_path": "/uploads",
                        "test_hooks": True}
    assert len(r.headers["x-request-id"]) >= 16
    r = api.http.get("/health", headers={"X-Request-Id": "req-123"})
    assert r.headers["x-request-id"] == "req-123"


def test_ready_line_and_host_port(server):
    parts = urlsplit(server.url)
    assert parts.scheme == "http" and parts.hostname == "127.0.0.1"
    assert parts.port and parts.port > 0
    assert os.path.isdir(server.info["uploads_dir"])


@pytest.mark.parametrize("path,method", [
    (PUBLISH, "POST"), ("/api/v1/threads/queue", "GET"),
    ("/api/v1/threads/queue/thq_x", "GET"),
    ("/api/v1/threads/jobs/thq_x", "GET"),
    ("/api/v1/threads/queue/thq_x", "DELETE"),
    ("/api/v1/threads/quota?tenant_id=a", "GET")])
def test_auth_missing_empty_wrong(api, path, method):
    for headers in ({}, {"X-Queue-Secret": ""}):
        r = api.http.request(method, path, headers=headers,
                             json=post_body() if method == "POST" else None)
        assert r.status_code == 401
        assert r.json() == {"detail": "Not authenticated"}
        assert r.headers["www-authenticate"] == "APIKey"
    r = api.http.request(method, path, headers={"X-Queue-Secret": "nope"},
                         json=post_body() if method == "POST" else None)
    assert r.status_code == 403
    assert r.json() == {"detail": {"code": "invalid_queue_secret",
                                   "message": "Invalid X-Queue-Secret"}}
    assert SECRET not in r.text


def test_publish_text_202(api):
    r = api.publish(post_body("Bonjour Threads"))
    assert r.status_code == 202, r.text
    b = r.json()
    assert b["ok"] is True and b["id"].startswith("thq_")
    assert len(b["id"]) == 30
    assert r.headers["location"] == "/api/v1/threads/queue/" + b["id"]
    assert b["status"] == "queued" and b["publish_mode"] == "queue"
    assert b["tenant_id"] == TENANT and b["media_type"] == "TEXT"
    assert b["scheduled_at"].endswith("Z") and b["created_at"].endswith("Z")
    assert b["position"] == 1 and b["images"] == []
    assert b["quota"] == {"used_24h": 1, "limit_24h": 250}
    assert b["idempotent_replay"] is False and b["deduplicated"] is False
    assert b["warnings"] == []
    item = api.item(b["id"])
    assert item["ok"] is True and item["status"] == "queued"
    assert item["message"] == "Bonjour Threads"
    assert item["meta"] == {"source": "telegram",
                            "chat_id": "-1001234567890", "user_id": "42",
                            "username": "alice"}
    assert item["threads"]["container_id"] is None
    # The second item of the tenant is behind the first.
    r2 = api.publish(post_body("second post"))
    assert r2.json()["position"] == 2


def test_publish_variants(api):
    # Integer Telegram ids are accepted and stored as strings; trailing
    # whitespace is trimmed; the README's minimal meta works.
    r = api.publish(post_body("ids as ints   \n",
                              meta={"chat_id": -100987, "user_id": 42}))
    assert r.status_code == 202, r.text
    item = api.item(r.json()["id"])
    assert item["message"] == "ids as ints"
    assert item["meta"]["chat_id"] == "-100987"
    r = api.publish({"message": "minimal",
                     "meta": {"tenant_id": "t1", "source": "openclaw"}})
    assert r.status_code == 202, r.text
    assert r.json()["publish_mode"] == "queue"
    # Future date -> scheduled; offset is converted to UTC Z.
    r = api.publish(post_body("later", scheduled_at="2099-01-01T00:00:00Z"))
    assert r.status_code == 422          # > 90 days ahead
    utc = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + \
        dt.timedelta(hours=1)
    when = utc.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    r = api.publish(post_body("in an hour", scheduled_at=when))
    assert r.status_code == 202, r.text
    b = r.json()
    assert b["status"] == "scheduled"
    assert b["scheduled_at"] == utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Slightly in the past (within the 60 s grace) -> queued now.
    r = api.publish(post_body("just now", scheduled_at=iso_in(-30)))
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert r.json()["warnings"]
    # publish_mode now
    r = api.publish(post_body("right away", publish_mode="now"))
    assert r.status_code == 202
    assert r.json()["publish_mode"] == "now"
    assert r.json()["status"] == "queued"


def _only_error(r):
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    for e in detail:
        assert set(e) <= {"type", "loc", "msg", "input", "ctx"}
        assert {"type", "loc", "msg", "input"} <= set(e)
    return detail


def test_validation_rules(api):
    long_text = "😀" * 128                              # 512 UTF-8 bytes
    d = _only_error(api.publish(post_body(long_text)))
    assert d[0]["type"] == "threads_text_too_long"
    assert d[0]["loc"] == ["body", "message"]
    assert d[0]["ctx"] == {"bytes": 512, "limit": 500}
    assert d[0]["msg"] == ("Text is 512 UTF-8 bytes; Threads allows at "
                           "most 500")
    # 500 ASCII characters are fine, 498 chars with 3 curly quotes are not
    assert api.publish(post_body("a" * 500)).status_code == 202
    d = _only_error(api.publish(post_body("a" * 495 + "’’’")))
    assert d[0]["ctx"]["bytes"] == 504

    d = _only_error(api.publish(post_body("")))
    assert d[0]["type"] == "threads_empty_post" and d[0]["loc"] == ["body"]
    d = _only_error(api.publish(post_body("   ")))
    assert d[0]["type"] == "threads_empty_post"

    links = " ".join(f"https://ex{i}.org/p" for i in range(6))
    d = _only_error(api.publish(post_body(links)))
    assert d[0]["type"] == "threads_link_limit"
    assert d[0]["ctx"] == {"links": 6, "limit": 5}
    five = " ".join(f"https://ex{i}.org/p" for i in range(5)) + \
        " https://ex0.org/p"
    assert api.publish(post_body(five)).status_code == 202

    imgs = [api.sample("cat.png") + f"?v={i}" for i in range(21)]
    d = _only_error(api.publish(post_body("x", imgs)))
    assert [e["type"] for e in d] == ["too_long"]
    assert d[0]["loc"] == ["body", "images"]
    assert d[0]["ctx"]["max_length"] == 20

    d = _only_error(api.publish(post_body("x", [
        api.sample("cat.png"), "ftp://h/x.png", "/relative.png",
        api.sample("cat.png"), 7])))
    by_loc = {tuple(e["loc"]): e["type"] for e in d}
    assert by_loc == {("body", "images", 1): "url_scheme",
                      ("body", "images", 2): "url_parsing",
                      ("body", "images", 3): "threads_duplicate_image",
                      ("body", "images", 4): "string_type"}

    for value, typ in [("2026-05-12T06:00:00", "timezone_aware"),
                       (iso_in(-3600), "scheduled_in_past"),
                       (iso_in(91 * 86400), "scheduled_too_far"),
                       ("tomorrow", "datetime_parsing")]:
        d = _only_error(api.publish(post_body("x", scheduled_at=value)))
        assert d[0]["type"] == typ, (value, d)
        assert d[0]["loc"] == ["body", "scheduled_at"]
    d = _only_error(api.publish(post_body("x", scheduled_at=iso_in(-3600))))
    assert d[0]["ctx"]["now"].endswith("Z")

    d = _only_error(api.publish(post_body("x", publish_mode="later")))
    assert d[0] == {"type": "literal_error", "loc": ["body", "publish_mode"],
                    "msg": "Input should be 'queue' or 'now'",
                    "input": "later", "ctx": {"expected": "'queue' or 'now'"}}
    d = _only_error(api.publish(post_body("x", publish_mode="now",
                                          scheduled_at=iso_in(600))))
    assert d[0]["loc"] == ["body", "scheduled_at"]


def test_schema_errors_stock_shape(api):
    d = _only_error(api.publish({"message": "x", "meta": {"source": "t"}}))
    assert d == [{"type": "missing", "loc": ["body", "meta", "tenant_id"],
                  "msg": "Field required", "input": {"source": "t"}}]
    d = _only_error(api.publish(post_body("x", meta={"tenant_id": "Bad!"})))
    assert d[0]["type"] == "string_pattern_mismatch"
    d = _only_error(api.publish(post_body("x", meta={"chat_id": 1.5})))
    assert [e["loc"][-1] for e in d] == ["str", "int"]
    d = _only_error(api.publish(post_body(42)))
    assert d[0]["type"] == "string_type"
    d = _only_error(api.publish(post_body("x", auto_proxy_images="maybe")))
    assert d[0]["type"] == "bool_parsing"
    bad = post_body("x")
    bad["images"] = "http://a/b.png"
    d = _only_error(api.publish(bad))
    assert d[0]["type"] == "list_type"
    d = _only_error(api.publish([1, 2]))
    assert d[0]["type"] == "model_attributes_type" and d[0]["loc"] == ["body"]
    h = {"X-Queue-Secret": SECRET}
    r = api.http.post(PUBLISH, content=b'{"message": ', headers=dict(
        h, **{"Content-Type": "application/json"}))
    d = _only_error(r)
    assert d[0]["type"] == "json_invalid" and d[0]["loc"][0] == "body"
    assert d[0]["msg"] == "JSON decode error"
    # No / wrong content type -> 422 model_attributes_type (not 415)
    raw = json.dumps(post_body("x")).encode()
    for ct in (None, "text/plain"):
        hh = dict(h)
        if ct:
            hh["Content-Type"] = ct
        d = _only_error(api.http.post(PUBLISH, content=raw, headers=hh))
        assert d[0]["type"] == "model_attributes_type"
    # application/*+json is JSON
    r = api.http.post(PUBLISH, content=raw, headers=dict(
        h, **{"Content-Type": "application/vnd.api+json"}))
    assert r.status_code == 202
    d = _only_error(api.http.post(PUBLISH, content=b"", headers=dict(
        h, **{"Content-Type": "application/json"})))
    assert d[0]["type"] == "missing" and d[0]["loc"] == ["body"]
    d = _only_error(api.publish(post_body("x"), key="k" * 256))
    assert d[0]["loc"] == ["header", "idempotency-key"]
    # strict_extra switch
    assert api.publish(post_body("extra ok", bogus=1)).status_code == 202
    api.config(strict_extra=True)
    d = _only_error(api.publish(post_body("extra bad", bogus=1)))
    assert d[0]["type"] == "extra_forbidden" and d[0]["loc"] == [
        "body", "bogus"]


def test_stock_routes(api):
    r = api.http.post(PUBLISH + "/", json=post_body(),
                      headers={"X-Queue-Secret": SECRET})
    assert r.status_code == 307
    assert urlsplit(r.headers["location"]).path == PUBLISH
    r = api.get(PUBLISH)
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    r = api.http.get("/nope")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = api.http.post("/" + PUBLISH, json=post_body(),
                      headers={"X-Queue-Secret": SECRET})
    assert r.status_code == 404


def test_payload_too_large(api):
    body = post_body("x")
    body["meta"]["username"] = "u" * (70 * 1024)
    r = api.publish(body)
    assert r.status_code == 413
    assert r.json()["detail"]["code"] == "payload_too_large"
    assert r.json()["detail"]["limit_bytes"] == 65536
    raw = json.dumps(body).encode()

    def chunks():                       # no Content-Length: chunked
        for i in range(0, len(raw), 8192):
            yield raw[i:i + 8192]
    r = api.http.post(PUBLISH, content=chunks(), headers={
        "X-Queue-Secret": SECRET, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert api.items() == []


def test_error_style_string_and_unavailable(api):
    api.config(error_style="string")
    r = api.publish(post_body("😀" * 200))
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str)
    assert "body.message" in r.json()["detail"]
    r = api.publish(post_body("x"), secret="wrong")
    assert r.status_code == 403
    assert r.json() == {"detail": "Invalid X-Queue-Secret"}
    api.config(error_style="object", fail_mode="unavailable")
    for resp in (api.publish(post_body("x")), api.http.get("/health"),
                 api.get("/api/v1/threads/queue"),
                 api.http.post(CHAT, json=chat_body())):
        assert resp.status_code == 503
        assert resp.json()["detail"]["code"] == "unavailable"
        assert resp.headers["retry-after"] == "2"
    api.config(fail_mode="")
    assert api.publish(post_body("back")).status_code == 202


# --- idempotency and dedup --------------------------------------------------

def test_idempotency_replay_and_reuse(api):
    body = post_body("idempotent post")
    r1 = api.publish(body, key="tg-42-1")
    assert r1.status_code == 202
    r2 = api.publish(body, key="tg-42-1")
    assert r2.status_code == 202
    assert r2.headers["idempotency-replayed"] == "true"
    b1, b2 = r1.json(), r2.json()
    assert b2["idempotent_replay"] is True and b2["id"] == b1["id"]
    assert r2.headers["location"] == r1.headers["location"]
    assert "idempotency-replayed" not in r1.headers
    # Same key, different body -> 422 idempotency_key_reused
    r3 = api.publish(post_body("another text"), key="tg-42-1")
    d = _only_error(r3)
    assert d[0]["type"] == "idempotency_key_reused"
    # Keys are per tenant
    other = post_body("idempotent post", meta={"tenant_id": "other"})
    r4 = api.publish(other, key="tg-42-1")
    assert r4.status_code == 202 and r4.json()["id"] != b1["id"]
    assert len(api.items(tenant_id=TENANT)) == 1
    # Replay keeps the original status code for a dedup (200) answer too.
    r5 = api.publish(body, key="tg-42-2")
    assert r5.status_code == 200 and r5.json()["deduplicated"] is True
    r6 = api.publish(body, key="tg-42-2")
    assert r6.status_code == 200 and r6.json()["idempotent_replay"] is True
    # Validation failures are not stored: fixing the body with the same
    # key works.
    assert api.publish(post_body(""), key="tg-42-3").status_code == 422
    assert api.publish(post_body("fixed"), key="tg-42-3").status_code == 202


def test_idempotency_in_flight_409(api):
    api.faults(delay_ms=1500)
    body = post_body("slow post")
    results = {}

    def first():
        results["first"] = api.publish(body, key="inflight-1")
    t = threading.Thread(target=first)
    t.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:     # wait: stored, answer pending
        keys = api.http.get("/__test__/idempotency").json()["keys"]
        if keys and keys[0]["state"] == "in_flight":
            break
        time.sleep(0.02)
    assert keys == [{"tenant_id": TENANT, "endpoint": "publish",
                     "key": "inflight-1", "state": "in_flight",
                     "status": None}]
    with httpx.Client(base_url=api.url, trust_env=False, timeout=10) as c:
        r = c.post(PUBLISH, json=body, headers={
            "X-Queue-Secret": SECRET, "Idempotency-Key": "inflight-1"})
    t.join()
    assert r.status_code == 409
    assert r.json()["detail"]["code"] == "idempotency_key_in_use"
    assert r.headers["retry-after"] == "1"
    assert results["first"].status_code == 202
    api.faults(delay_ms=0)
    r = api.publish(body, key="inflight-1")
    assert r.status_code == 202 and r.json()["idempotent_replay"] is True
    assert len(api.items()) == 1


def test_content_dedup(api):
    body = post_body("double send from telegram")
    r1 = api.publish(body)
    r2 = api.publish(body)
    assert r1.status_code == 202
    assert r2.status_code == 200
    assert r2.json()["deduplicated"] is True
    assert r2.json()["id"] == r1.json()["id"]
    # Another chat is not a duplicate
    r3 = api.publish(post_body("double send from telegram",
                               meta={"chat_id": "999"}))
    assert r3.status_code == 202
    # After the window (fake clock) it is a new post
    api.hook("clock", {"advance_s": 121})
    r4 = api.publish(body)
    assert r4.status_code == 202 and r4.json()["id"] != r1.json()["id"]
    api.config(dedup_s=0)
    r5 = api.publish(body)
    assert r5.status_code == 202 and r5.json()["id"] != r4.json()["id"]


def test_quota(api):
    def quota(tenant):
        r = api.get("/api/v1/threads/quota", params={"tenant_id": tenant})
        assert r.status_code == 200
        return r.json()
    assert quota("quota_test") == {"ok": True, "tenant_id": "quota_test",
                                   "used_24h": 249, "limit_24h": 250,
                                   "window_s": 86400, "remaining": 1}
    qt = {"tenant_id": "quota_test"}
    r = api.publish(post_body("post 250", meta=qt))
    assert r.status_code == 202
    assert r.json()["quota"] == {"used_24h": 250, "limit_24h": 250}
    r = api.publish(post_body("post 251", meta=qt))
    assert r.status_code == 429
    d = r.json()["detail"]
    assert d["code"] == "threads_quota_exceeded" and d["limit_24h"] == 250
    assert int(r.headers["retry-after"]) == d["retry_after_s"] > 0
    # Other tenants are not affected
    assert api.publish(post_body("fine")).status_code == 202
    # Canceling a pending item frees its slot
    api.http.delete("/api/v1/threads/queue/" + api.items(
        tenant_id="quota_test")[0]["id"], headers={"X-Queue-Secret": SECRET})
    assert quota("quota_test")["used_24h"] == 249
    # A day later the window has rolled over
    api.hook("clock", {"advance_s": 86400})
    assert quota("quota_test")["used_24h"] == 0
    assert api.publish(post_body("post next day", meta=qt)).status_code \
        == 202
    r = api.get("/api/v1/threads/quota")
    assert _only_error(r)[0]["loc"] == ["query", "tenant_id"]


# --- fault switches ---------------------------------------------------------

def test_fault_fail_after_store_then_retry(api):
    api.faults(fail_after_store=1)
    body = post_body("retry me")
    r1 = api.publish(body, key="tg-1-500")
    assert r1.status_code == 500
    assert r1.json()["detail"]["code"] == "internal_error"
    assert len(api.items()) == 1                  # stored anyway
    r2 = api.publish(body, key="tg-1-500")
    assert r2.status_code == 202
    assert r2.json()["idempotent_replay"] is True
    assert r2.json()["id"] == api.items()[0]["id"]
    assert len(api.items()) == 1
    assert api.hook("faults")["faults"]["fail_after_store"] == 0
    # N counts requests: with 2, the first retry fails too.
    api.faults(fail_after_store=2)
    body2 = post_body("retry twice")
    codes = [api.publish(body2, key="tg-1-500b").status_code
             for _ in range(3)]
    assert codes == [500, 500, 202]
    assert len(api.items()) == 2


def test_fault_drop_connection(api):
    api.faults(drop_after_store=1)
    body = post_body("dropped")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.publish(body, key="tg-drop-1")
    assert len(api.items()) == 1                  # stored before the drop
    # The same at the socket level: the peer closes, zero bytes arrive.
    api.faults(drop_after_store=1)
    raw = json.dumps(post_body("dropped raw")).encode()
    host, port = urlsplit(api.url).hostname, urlsplit(api.url).port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST " + PUBLISH.encode() + b" HTTP/1.1\r\n"
                  b"Host: x\r\nContent-Type: application/json\r\n"
                  b"X-Queue-Secret: " + SECRET.encode() + b"\r\n"
                  b"Content-Length: " + str(len(raw)).encode() +
                  b"\r\n\r\n" + raw)
        assert s.recv(65536) == b""
    # A retry with the same key gets the stored answer; still one item.
    r = api.publish(body, key="tg-drop-1")
    assert r.status_code == 202 and r.json()["idempotent_replay"] is True
    assert len(api.items(source="telegram")) == 2
    assert api.http.get("/health").status_code == 200


def test_fault_in_use_rate_limit_delay(api):
    api.faults(in_use=1, rate_limit=2, rate_limit_retry_after_s=3)
    body = post_body("faulty")
    r = api.publish(body, key="k-faults")
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert r.json()["detail"]["code"] == "rate_limited"
    assert api.publish(body, key="k-faults").status_code == 429
    r = api.publish(body, key="k-faults")
    assert r.status_code == 409 and r.headers["retry-after"] == "1"
    assert r.json()["detail"]["code"] == "idempotency_key_in_use"
    assert api.items() == []                      # nothing stored
    assert api.publish(body, key="k-faults").status_code == 202
    # Delay: a client with a short timeout gives up; the item is stored
    # and a retry with the same key replays it once the delay is over.
    api.faults(delay_ms=800)
    with pytest.raises(httpx.ReadTimeout):
        api.publish(post_body("delayed"), key="k-delay", timeout=0.2)
    api.faults(delay_ms=0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = api.publish(post_body("delayed"), key="k-delay")
        if r.status_code != 409:
            break
        time.sleep(float(r.headers["retry-after"]) / 4)
    assert r.status_code == 202 and r.json()["idempotent_replay"] is True
    assert len(api.items()) == 2
    r = api.http.post("/__test__/faults", json={"bogus": 1})
    assert r.status_code == 422


# --- image proxying ---------------------------------------------------------

def test_proxy_local_images(api, server):
    r = api.publish(post_body("with images", [api.sample("cat.png"),
                                              api.sample("dog.jpg")]))
    assert r.status_code == 202, r.text
    b = r.json()
    assert b["media_type"] == "CAROUSEL"
    png, jpg = b["images"]
    assert png["proxied"] and png["content_type"] == "image/png"
    assert (png["width"], png["height"]) == (96, 120)
    assert jpg["content_type"] == "image/jpeg"
    assert (jpg["width"], jpg["height"]) == (320, 320)
    assert png["public_url"].startswith(api.url + "/uploads/agency_paris/")
    served = api.http.get(png["public_url"])
    assert served.status_code == 200
    assert served.content == api.http.get(api.sample("cat.png")).content
    assert served.headers["content-type"] == "image/png"
    assert api.http.get(jpg["public_url"]).content[:3] == b"\xff\xd8\xff"
    path = urlsplit(png["public_url"]).path[len("/uploads/"):]
    assert os.path.isfile(os.path.join(server.info["uploads_dir"], path))
    # a local redirect is followed
    r = api.publish(post_body("redirected", [
        api.sample("redirect.png") + "?to=/samples/sunset.jpg"]))
    assert r.status_code == 202 and r.json()["media_type"] == "IMAGE"
    assert r.json()["images"][0]["width"] == 480


def test_proxy_failures(api):
    api.config(image_timeout_s=0.3)
    cases = [
        ("https://unreachable.test/cat.jpg", "image_fetch_failed",
         {"reason": "unreachable"}),
        ("https://example.org/cat.jpg", "image_fetch_failed",
         {"reason": "offline test backend: only local images can be "
                    "proxied"}),
        ("http://127.0.0.1:9/cat.png", "image_fetch_failed",
         {"reason": "offline test backend: only local images can be "
                    "proxied"}),
        (api.sample("missing.png"), "image_fetch_failed", {"status": 404}),
        (api.sample("slow.png") + "?ms=2000", "image_fetch_failed",
         {"reason": "timeout"}),
        (api.sample("redirect.png") + "?to=https://example.org/x.png",
         "image_fetch_failed",
         {"reason": "offline test backend: only local images can be "
                    "proxied"}),
    ]
    for url, typ, ctx in cases:
        d = _only_error(api.publish(post_body("x", [api.sample("cat.png"),
                                                    url])))
        assert len(d) == 1, d
        assert d[0]["type"] == typ and d[0]["loc"] == ["body", "images", 1]
        assert d[0]["ctx"] == ctx, (url, d)
        assert d[0]["input"] == url
    for name in ("anim.gif", "photo.webp", "notimage.txt"):
        d = _only_error(api.publish(post_body("x", [api.sample(name)])))
        assert d[0]["type"] == "image_unsupported_type"
    d = _only_error(api.publish(post_body("x", [api.sample("big.png")])))
    assert d[0]["type"] == "image_too_large"
    assert d[0]["ctx"]["limit"] == 8 * 1024 * 1024
    assert api.items() == []


def test_no_proxy_keeps_urls(api):
    url = "https://cdn.example.org/photo.jpg"
    r = api.publish(post_body("as given", [url], auto_proxy_images=False))
    assert r.status_code == 202
    img = r.json()["images"][0]
    assert img["public_url"] == url and img["proxied"] is False
    assert r.json()["warnings"]


# --- worker and fake Graph --------------------------------------------------

def test_worker_publishes_exactly_once(api):
    ids = {
        "TEXT": api.publish(post_body("text post")).json()["id"],
        "IMAGE": api.publish(post_body("one image", [
            api.sample("cat.jpg")])).json()["id"],
        "CAROUSEL": api.publish(post_body("three images", [
            api.sample("cat.png"), api.sample("dog.png"),
            api.sample("sunset.jpg")])).json()["id"],
    }
    later = api.publish(post_body("in ten minutes",
                                  scheduled_at=iso_in(600))).json()["id"]
    assert api.calls() == []                     # nothing before a tick
    t = api.tick()
    moved = {(x["id"], x["from"], x["to"]) for x in t["transitions"]}
    for kind, iid in ids.items():
        assert (iid, "queued", "processing") in moved
        assert (iid, "processing", "published") in moved
        item = api.item(iid)
        assert item["status"] == "published" and item["attempts"] == 1
        assert item["threads"]["container_status"] == "PUBLISHED"
        assert item["threads"]["media_id"]
        assert item["threads"]["permalink"].startswith(
            "https://www.threads.net/@agency_paris/post/")
        assert len(api.publish_calls(iid)) == 1
        creates = [c for c in api.calls(item_id=iid)
                   if c["path"].endswith("/threads")]
        assert creates[-1]["params"]["media_type"] == kind
    car = [c for c in api.calls(item_id=ids["CAROUSEL"])
           if c["path"].endswith("/threads")]
    assert len(car) == 4
    assert all(c["params"]["is_carousel_item"] for c in car[:3])
    assert car[3]["params"]["children"].count(",") == 2
    statuses = [c["response"]["status"] for c in api.calls(
        item_id=ids["TEXT"]) if c["method"] == "GET" and
        "status" in c["response"]]
    assert statuses == ["IN_PROGRESS", "FINISHED"]
    assert api.item(later)["status"] == "scheduled"
    assert api.tick()["transitions"] == []        # nothing due, no repeat
    assert sum(len(api.publish_calls(i)) for i in ids.values()) == 3
    t = api.tick(advance_s=601)
    assert api.item(later)["status"] == "published"
    posts = api.http.get("/__test__/threads/posts").json()
    assert posts["count"] == 4
    # quota counts published posts
    q = api.get("/api/v1/threads/quota", params={"tenant_id": TENANT})
    assert q.json()["used_24h"] == 4


def test_worker_meta_timing(api):
    api.config(container_wait_s=30, poll_s=60)
    iid = api.publish(post_body("paced")).json()["id"]
    api.tick()
    item = api.item(iid)
    assert item["status"] == "processing"
    assert item["threads"]["container_status"] == "IN_PROGRESS"
    assert item["next_attempt_at"] is not None
    assert len(api.calls(item_id=iid)) == 1      # container only
    api.tick(advance_s=30)                       # first poll: IN_PROGRESS
    assert api.item(iid)["status"] == "processing"
    api.tick(advance_s=59)
    assert len(api.calls(item_id=iid)) == 2
    api.tick(advance_s=1)                        # FINISHED -> publish
    assert api.item(iid)["status"] == "published"
    assert len(api.publish_calls(iid)) == 1


def test_magic_tags(api):
    def run(text, **kw):
        iid = api.publish(post_body(text, **kw)).json()["id"]
        api.tick()
        return iid, api.item(iid)

    iid, item = run("broken #fail-container")
    assert item["status"] == "failed"
    assert item["error"]["code"] == "container_error"
    assert item["threads"]["container_status"] == "ERROR"
    assert api.publish_calls(iid) == []

    iid, item = run("old #expire")
    assert item["status"] == "failed"
    assert item["error"]["code"] == "container_expired"
    assert api.publish_calls(iid) == []

    iid, item = run("slowpoke #not-ready")
    assert item["status"] == "processing" and item["next_attempt_at"]
    calls = api.publish_calls(iid)
    assert len(calls) == 1
    assert calls[0]["response"]["error"]["error_subcode"] == 4279009
    api.tick(advance_s=4)
    assert api.item(iid)["status"] == "processing"
    api.tick(advance_s=1)
    item = api.item(iid)
    assert item["status"] == "published" and item["attempts"] == 2
    ok = [c for c in api.publish_calls(iid) if c["status"] == 200]
    assert len(ok) == 1

    iid, item = run("lost #lost-response")
    assert item["status"] == "published"
    calls = api.publish_calls(iid)
    assert len(calls) == 1 and calls[0]["outcome"] == "timeout"

    iid, item = run("lost forever #lost-unconfirmed")
    assert item["status"] == "unconfirmed"
    assert item["error"]["code"] == "publish_unconfirmed"
    assert len(api.publish_calls(iid)) == 1
    assert api.tick(advance_s=3600)["transitions"] == []
    assert len(api.publish_calls(iid)) == 1

    iid, item = run("unfetchable", images=[
        "https://unreachable.test/a.jpg"], auto_proxy_images=False)
    assert item["status"] == "failed"
    assert item["error"]["code"] == "media_fetch_failed"
    assert item["error"]["threads"]["error_subcode"] == 2207052


def test_container_expires_after_24h(api):
    api.config(container_wait_s=30)
    iid = api.publish(post_body("forgotten")).json()["id"]
    api.tick()
    api.tick(advance_s=86401)
    item = api.item(iid)
    assert item["status"] == "failed"
    assert item["error"]["code"] == "container_expired"


def test_background_worker(api):
    iid = api.publish(post_body("auto")).json()["id"]
    api.config(worker_interval_s=0.05)
    deadline = time.monotonic() + 10
    while api.item(iid)["status"] != "published" and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.item(iid)["status"] == "published"
    assert len(api.publish_calls(iid)) == 1


# --- queue endpoints --------------------------------------------------------

def test_queue_endpoints(api):
    ids = []
    for i in range(5):
        meta = {"source": "openclaw"} if i == 4 else None
        r = api.publish(post_body(f"item {i}", meta=meta,
                                  scheduled_at=iso_in(300 * (5 - i))))
        ids.append(r.json()["id"])
    api.publish(post_body("other tenant", meta={"tenant_id": "t2"}))
    listed = api.items(tenant_id=TENANT)
    assert [i["id"] for i in listed] == ids[::-1]   # by scheduled_at
    assert [i["id"] for i in api.items(source="openclaw")] == [ids[4]]
    assert len(api.items(status="scheduled")) == 5
    assert len(api.items(status="queued,scheduled")) == 6
    # cursor pagination
    seen, cursor = [], None
    while True:
        params = {"tenant_id": TENANT, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/threads/queue", params=params).json()
        assert page["count"] == len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    for params, loc in [({"limit": 0}, "limit"), ({"limit": "x"}, "limit"),
                        ({"limit": 201}, "limit"),
                        ({"status": "done"}, "status"),
                        ({"cursor": "%%%"}, "cursor")]:
        d = _only_error(api.get("/api/v1/threads/queue", params=params))
        assert d[0]["loc"] == ["query", loc]
    # get / alias / 404
    assert api.get("/api/v1/threads/jobs/" + ids[0]).json()["id"] == ids[0]
    r = api.get("/api/v1/threads/queue/thq_missing")
    assert r.status_code == 404
    assert r.json()["detail"]["code"] == "not_found"
    # cancel
    r = api.http.delete("/api/v1/threads/queue/" + ids[0],
                        headers={"X-Queue-Secret": SECRET})
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    r = api.http.delete("/api/v1/threads/queue/" + ids[0],
                        headers={"X-Queue-Secret": SECRET})
    assert r.status_code == 409
    assert r.json()["detail"] == {"code": "not_cancelable", "status":
                                  "canceled", "message": r.json()[
                                      "detail"]["message"]}
    api.tick(advance_s=3600)
    r = api.http.delete("/api/v1/threads/queue/" + ids[1],
                        headers={"X-Queue-Secret": SECRET})
    assert r.status_code == 409
    assert r.json()["detail"]["status"] == "published"
    assert api.item(ids[0])["status"] == "canceled"
    assert api.publish_calls(ids[0]) == []
    r = api.http.delete("/api/v1/threads/queue/nope",
                        headers={"X-Queue-Secret": SECRET})
    assert r.status_code == 404


# --- campaigns: posts at scheduled slots ------------------------------------

def _slot(days, hour, offset_min, minute=0, frac=""):
    """(RFC 3339 text of hour:minute local time with that UTC offset,
    `days` days from now, and the same instant as UTC Z)."""
    tz = dt.timezone(dt.timedelta(minutes=offset_min))
    day = (dt.datetime.now(tz) + dt.timedelta(days=days)).date()
    local = dt.datetime(day.year, day.month, day.day, hour, minute,
                        tzinfo=tz)
    text = local.isoformat()
    if frac:
        text = text[:19] + frac + text[19:]
    utc = local.astimezone(dt.timezone.utc)
    return text, utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_scheduled_at_any_offset_is_normalized(api):
    cases = [_slot(10, 9, 60), _slot(10, 9, -330), _slot(10, 9, 0),
             _slot(10, 9, 345), _slot(10, 9, -720), _slot(10, 9, 840),
             _slot(11, 9, 60, frac=".750"),
             _slot(11, 10, 60, frac=".123456789")]
    t, utc = _slot(12, 9, 0)
    cases.append((t.replace("T", "t").replace("+00:00", "z"), utc))
    cases.append((t.replace("T", " "), utc))
    t, utc = _slot(12, 10, 0)
    cases.append((t.replace("+00:00", "Z"), utc))
    cases.append((t.replace("+00:00", "-00:00"), utc))
    ids = {}
    for i, (text, utc) in enumerate(cases):
        r = api.publish(post_body(f"slot {i}", scheduled_at=text))
        assert r.status_code == 202, (text, r.text)
        b = r.json()
        assert b["status"] == "scheduled", text
        assert b["scheduled_at"] == utc, text        # fractions dropped
        assert api.item(b["id"])["scheduled_at"] == utc
        ids[b["id"]] = utc
    listed = api.items(limit=200)
    assert {i["id"]: i["scheduled_at"] for i in listed} == ids
    # ordered by the instant, not by the text as sent
    assert [i["scheduled_at"] for i in listed] == sorted(ids.values())
    # 10:00+02:00 comes before 09:00Z of the same day
    early, _ = _slot(20, 10, 120)
    late, _ = _slot(20, 9, 0)
    a = api.publish(post_body("early", scheduled_at=early)).json()["id"]
    b = api.publish(post_body("late", scheduled_at=late)).json()["id"]
    order = [i["id"] for i in api.items(limit=200)]
    assert order.index(a) < order.index(b)
    # no offset is still refused
    d = _only_error(api.publish(post_body("naive", scheduled_at=early[:19])))
    assert d[0]["type"] == "timezone_aware"


def test_same_instant_in_another_offset(api):
    paris, utc = _slot(5, 9, 60)
    body = post_body("Spring open day", scheduled_at=paris)
    first = api.publish(body).json()
    # the same post at the same instant written in UTC: content dedup
    again = api.publish(dict(body, scheduled_at=utc))
    assert again.status_code == 200 and again.json()["deduplicated"]
    assert again.json()["id"] == first["id"]
    assert again.json()["scheduled_at"] == utc
    # with a key, the body is compared as sent: another spelling of the
    # instant is another body (422), and nothing is queued
    r1 = api.publish(post_body("keyed", scheduled_at=paris), key="camp-a")
    assert r1.status_code == 202
    d = _only_error(api.publish(post_body("keyed", scheduled_at=utc),
                                key="camp-a"))
    assert d[0]["type"] == "idempotency_key_reused"
    assert len(api.items()) == 2


def test_campaign_keys_queue_each_post_once(api):
    posts = []
    for n, (offset, hour) in enumerate([(60, 9), (60, 18), (-300, 8)]):
        when, utc = _slot(3 + n, hour, offset)
        body = post_body(f"Listing {n}: bright flat, pool #RealEstate",
                         [api.sample("cat.png"), api.sample("dog.jpg")]
                         if n == 0 else [api.sample("sunset.jpg")],
                         scheduled_at=when,
                         meta={"source": "clawhost", "campaign": "spring"})
        posts.append((body, f"campaign-spring-{n}", utc))
    first = [api.publish(b, key=k) for b, k, _ in posts]
    assert [r.status_code for r in first] == [202, 202, 202]
    # the whole campaign again (a resumed run): replays, nothing new
    for (body, key, utc), r1 in zip(posts, first):
        r2 = api.publish(body, key=key)
        assert r2.status_code == 202
        assert r2.headers["idempotency-replayed"] == "true"
        b1, b2 = r1.json(), r2.json()
        assert b2.pop("idempotent_replay") is True
        assert b1.pop("idempotent_replay") is False
        assert b2 == b1 and b2["scheduled_at"] == utc
    items = api.items(source="clawhost")
    assert len(items) == 3
    keys = api.http.get("/__test__/idempotency").json()["keys"]
    assert sorted(k["key"] for k in keys) == [k for _, k, _ in posts]
    assert {k["state"] for k in keys} == {"done"}


def test_replay_after_the_slot_has_passed(api):
    t = dt.datetime.now(dt.timezone(dt.timedelta(hours=1))).replace(
        microsecond=0) + dt.timedelta(minutes=10)
    body = post_body("Open day at noon", scheduled_at=t.isoformat())
    r1 = api.publish(body, key="camp-noon")
    assert r1.status_code == 202 and r1.json()["status"] == "scheduled"
    iid = r1.json()["id"]
    api.tick(advance_s=3600)
    assert api.item(iid)["status"] == "published"
    # Same key, same body: the stored answer, although the date is now
    # in the past; still one item, published once.
    r2 = api.publish(body, key="camp-noon")
    assert r2.status_code == 202, r2.text
    assert r2.json()["idempotent_replay"] is True
    assert r2.json()["id"] == iid and r2.json()["status"] == "scheduled"
    assert len(api.items()) == 1 and len(api.publish_calls(iid)) == 1
    # Same key, another body: 422 reused, even with the date past
    d = _only_error(api.publish(dict(body, message="Other"),
                                key="camp-noon"))
    assert [e["type"] for e in d] == ["idempotency_key_reused"]
    # Without a key, or with a new one, the date rules apply as before,
    # and a refused key is not kept.
    d = _only_error(api.publish(body))
    assert d[0]["type"] == "scheduled_in_past"
    d = _only_error(api.publish(body, key="camp-late"))
    assert d[0]["type"] == "scheduled_in_past"
    assert "camp-late" not in [
        k["key"] for k in api.http.get("/__test__/idempotency").json()[
            "keys"]]
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)
    r = api.publish(dict(body, scheduled_at=later.isoformat()),
                    key="camp-late")
    assert r.status_code == 202
    # another error beside the date: every error in one list
    d = _only_error(api.publish(dict(body, message="", images=[]),
                                key="camp-new"))
    assert {e["type"] for e in d} == {"scheduled_in_past",
                                      "threads_empty_post"}


def test_idempotency_key_lifetime(api):
    when, _ = _slot(30, 9, 60)
    body = post_body("Kept a day", scheduled_at=when)
    first = api.publish(body, key="camp-ttl").json()["id"]
    api.hook("clock", {"advance_s": 86400 - 60})
    r = api.publish(body, key="camp-ttl")
    assert r.json()["idempotent_replay"] is True and r.json()["id"] == first
    # 24 h after the answer (6.2) the key is forgotten: a new item
    api.hook("clock", {"advance_s": 120})
    r = api.publish(body, key="camp-ttl")
    assert r.status_code == 202 and r.json()["idempotent_replay"] is False
    assert r.json()["id"] != first and len(api.items()) == 2
    # idempotency_ttl_s 0 keeps keys for ever
    assert api.config(idempotency_ttl_s=0)["config"][
        "idempotency_ttl_s"] == 0
    body = post_body("Kept for ever", scheduled_at=_slot(80, 9, 60)[0])
    first = api.publish(body, key="camp-forever").json()["id"]
    api.hook("clock", {"advance_s": 40 * 86400})
    r = api.publish(body, key="camp-forever")
    assert r.json()["idempotent_replay"] is True and r.json()["id"] == first
    assert len(api.items()) == 3
    r = api.http.post("/__test__/config", json={"idempotency_ttl_s": -1})
    assert r.status_code == 422
    api.hook("reset")
    assert api.http.get("/__test__/config").json()["config"][
        "idempotency_ttl_s"] == 86400


def test_queue_listing_shows_every_item(api):
    want = {}
    for n in range(7):
        when, utc = _slot(2, 8 + n, 60 * (n % 3))
        tenant = TENANT if n % 2 else "agency_nice"
        images = [api.sample("cat.png") + f"?n={n}"] if n % 3 == 0 else []
        key = f"camp-{n}" if n != 4 else None
        r = api.publish(post_body(f"post {n}", images, scheduled_at=when,
                                  auto_proxy_images=n != 3,
                                  meta={"tenant_id": tenant}), key=key)
        assert r.status_code == 202, r.text
        want[r.json()["id"]] = (tenant, utc, f"post {n}", key, images)
    seen, cursor = [], None
    while True:
        params = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/threads/queue", params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and {i["id"] for i in seen} == set(want)
    assert [i["scheduled_at"] for i in seen] == \
        sorted(i["scheduled_at"] for i in seen)
    for item in seen:
        tenant, utc, text, key, images = want[item["id"]]
        assert item["tenant_id"] == tenant and item["status"] == "scheduled"
        assert (item["scheduled_at"], item["message"],
                item["idempotency_key"]) == (utc, text, key)
        assert [i["source_url"] for i in item["images"]] == images
        for img in item["images"]:
            if img["proxied"]:
                assert img["public_url"].startswith(api.url + "/uploads/")
                assert api.http.get(img["public_url"]).status_code == 200
            else:
                assert img["public_url"] == img["source_url"]


# --- assistant/chat ---------------------------------------------------------

def test_assistant_chat_success(api):
    r = api.http.post(CHAT, json=chat_body("a red fox #cute"))
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["ok"] is True and b["session_id"] == "tg_123456789"
    gen, enq = b["tool_calls"]
    assert gen["name"] == "generate_image" and gen["status"] == "succeeded"
    assert gen["statuses"] == ["starting", "processing", "succeeded"]
    assert gen["model"] == "black-forest-labs/flux-1.1-pro"
    assert gen["cost_usd"] == 0.04 and b["usage"] == {"images": 1,
                                                      "cost_usd": 0.04}
    assert "/__fake__/replicate.delivery/xezq/" in gen["output_url"]
    assert gen["public_url"] == (f"{api.url}/uploads/agency_paris/"
                                 f"{gen['prediction_id']}.jpg")
    img = api.http.get(gen["public_url"])
    assert img.status_code == 200 and img.content[:3] == b"\xff\xd8\xff"
    assert enq == {"name": "enqueue_threads_post", "status": "succeeded",
                   "queue_item_id": b["queue_item"]["id"]}
    assert b["campaign"] == "remote_demo"
    item = api.item(b["queue_item"]["id"])
    assert item["media_type"] == "IMAGE"
    assert item["message"] == "a red fox #cute"
    assert item["meta"]["campaign"] == "remote_demo"
    assert item["idempotency_key"].startswith("assistant:tg_123456789:")
    # The same request again (no key) replays; nothing new is generated.
    r2 = api.http.post(CHAT, json=chat_body("a red fox #cute"))
    assert r2.status_code == 200 and r2.json()["idempotent_replay"] is True
    assert r2.headers["idempotency-replayed"] == "true"
    assert len(api.items()) == 1
    # Worker publishes it with the re-hosted image.
    api.tick()
    item = api.item(b["queue_item"]["id"])
    assert item["status"] == "published"
    create = [c for c in api.calls(item_id=item["id"])
              if c["path"].endswith("/threads")][0]
    assert create["params"]["image_url"] == gen["public_url"]
    # The replicate.delivery host is answered in-process by the fake.
    pid = gen["prediction_id"]
    r = api.publish(post_body("re-proxied", [
        f"https://replicate.delivery/xezq/{pid}/out-0.jpg"]))
    assert r.status_code == 202, r.text
    assert r.json()["images"][0]["content_type"] == "image/jpeg"
    d = _only_error(api.publish(post_body("gone", [
        "https://replicate.delivery/xezq/nope/out-0.jpg"])))
    assert d[0]["ctx"] == {"status": 404}
    # api_base_url drives the public URL; caption templating.
    r = api.http.post(CHAT, json=chat_body(
        "sunset", message=None, api_base_url="https://pub.example/base/",
        model="black-forest-labs/flux-schnell"))
    assert r.status_code == 200, r.text
    gen = r.json()["tool_calls"][0]
    assert gen["public_url"].startswith(
        "https://pub.example/base/uploads/agency_paris/")
    assert api.item(r.json()["queue_item"]["id"])["message"] == \
        "sunset #remote_demo"


def test_assistant_chat_modes_and_failures(api):
    r = api.http.post(CHAT, json=chat_body("plan only", execute=False))
    assert r.status_code == 200
    assert [t["status"] for t in r.json()["tool_calls"]] == ["planned"] * 2
    assert r.json()["queue_item"] is None and api.items() == []

    r = api.http.post(CHAT, json=chat_body("bad #nsfw"))
    assert r.status_code == 502
    d = r.json()["detail"]
    assert d["code"] == "image_generation_failed"
    assert d["prediction_status"] == "failed" and d["prediction_id"]

    r = api.http.post(CHAT, json=chat_body("busy #throttle"))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["detail"]["code"] == "upstream_throttled"

    api.config(gen_timeout_s=0.4)
    r = api.http.post(CHAT, json=chat_body("big one #slow"))
    assert r.status_code == 504
    d = r.json()["detail"]
    assert d["code"] == "image_generation_timeout"
    assert d["prediction_status"] in ("starting", "processing")
    # resume the same prediction later
    time.sleep(0.8)
    r = api.http.post(CHAT, json=chat_body(
        "big one #slow", prediction_id=d["prediction_id"]))
    assert r.status_code == 200, r.text
    assert r.json()["tool_calls"][0]["prediction_id"] == d["prediction_id"]
    api.config(gen_timeout_s=5)

    for ctx, loc in [({"prompt": "", "message": ""}, "prompt"),
                     ({"provider": "openai"}, "provider"),
                     ({"model": "flux-dev"}, "model"),
                     ({"api_base_url": "ftp://x"}, "api_base_url")]:
        body = chat_body(**ctx)
        if loc == "prompt":
            body["message"] = ""
        d = _only_error(api.http.post(CHAT, json=body))
        assert d[0]["loc"] == ["body", "context", loc], d
    d = _only_error(api.http.post(CHAT, json={"context": {}}))
    assert {tuple(e["loc"]) for e in d} >= {("body", "session_id"),
                                            ("body", "context", "tenant_id")}
    # quota is checked before anything is generated
    r = api.http.post(CHAT, json=chat_body("q", tenant_id="quota_test"))
    assert r.status_code == 200
    r = api.http.post(CHAT, json=chat_body("q2", tenant_id="quota_test"))
    assert r.status_code == 429
    assert r.json()["detail"]["code"] == "enqueue_failed"
    assert r.json()["detail"]["cause"]["code"] == "threads_quota_exceeded"
    assert r.headers["retry-after"]
    # optional secret
    api.config(assistant_require_secret=True)
    assert api.http.post(CHAT, json=chat_body("s")).status_code == 401
    r = api.http.post(CHAT, json=chat_body("s"),
                      headers={"X-Queue-Secret": SECRET})
    assert r.status_code == 200


def test_assistant_fault_after_store(api):
    api.faults(fail_after_store=1)
    r = api.http.post(CHAT, json=chat_body("retry chat"),
                      headers={"Idempotency-Key": "chat-1"})
    assert r.status_code == 500
    r = api.http.post(CHAT, json=chat_body("retry chat"),
                      headers={"Idempotency-Key": "chat-1"})
    assert r.status_code == 200 and r.json()["idempotent_replay"] is True
    assert len(api.items()) == 1


# --- process-level behaviour ------------------------------------------------

def test_env_switches_at_start_and_sigterm(tmp_path, capfd):
    up = tmp_path / "up"
    srv = start_server({
        "REF_TEST_HOOKS": "0", "REF_ERROR_STYLE": "string",
        "REF_FAULT_RATE_LIMIT": "1",
        "REF_FAULT_RATE_LIMIT_RETRY_AFTER_S": "7",
        "UPLOADS_DIR": str(up), "UPLOADS_PATH": "/media",
        "REF_LOG_LEVEL": "info"})
    try:
        with httpx.Client(base_url=srv.url, trust_env=False,
                          timeout=10) as c:
            h = {"X-Queue-Secret": SECRET}
            assert c.post("/__test__/reset").status_code == 404
            r = c.post(PUBLISH, json=post_body("x"), headers=h)
            assert r.status_code == 429 and r.headers["retry-after"] == "7"
            assert r.json() == {"detail": "Too many requests (injected "
                                          "fault)"}
            r = c.post(PUBLISH, json=post_body("x"),
                       headers={"X-Queue-Secret": "wrong"})
            assert r.json() == {"detail": "Invalid X-Queue-Secret"}
            r = c.post(PUBLISH, json=post_body("x", [
                srv.url + "/samples/cat.png"]), headers=h)
            assert r.status_code == 202, r.text
            public = r.json()["images"][0]["public_url"]
            assert urlsplit(public).path.startswith("/media/agency_paris/")
            assert c.get(public).status_code == 200
            assert list((up / "agency_paris").iterdir())
            assert srv.info["uploads_dir"] == str(up)
            # SIGTERM while a request is in flight: exit 0 promptly.
            box = {}

            def slow():
                try:
                    box["r"] = httpx.get(srv.url + "/samples/slow.png"
                                         "?ms=20000", timeout=30,
                                         trust_env=False)
                except httpx.HTTPError as e:
                    box["e"] = e
            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.3)
            srv.proc.send_signal(signal.SIGTERM)
            assert srv.proc.wait(timeout=5) == 0
            t.join(5)
            assert "e" in box or box["r"].status_code == 503
        rest = srv.proc.stdout.read()
        assert rest == ""                 # nothing after READY
    finally:
        srv.stop()
    out, err = capfd.readouterr()
    assert SECRET not in out and SECRET not in err


def test_refuses_to_start_without_secret():
    env = _clean_env({"PYTHONPATH": harness.ROOT})
    p = subprocess.run([sys.executable, "-m", "tests.servers.threads_backend",
                        "--port", "0"], cwd=harness.ROOT, env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert p.stdout == ""
    assert "THREADS_QUEUE_SECRET" in p.stderr
    env["THREADS_QUEUE_SECRET"] = SECRET
    env["STORAGE_PROVIDER"] = "s3"
    p = subprocess.run([sys.executable, "-m", "tests.servers.threads_backend",
                        "--port", "0"], cwd=harness.ROOT, env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "STORAGE_PROVIDER" in p.stderr
    assert SECRET not in p.stderr
    p = subprocess.run([sys.executable, "-m", "tests.servers.threads_backend",
                        "--port", "0", "--host", "0.0.0.0"],
                       cwd=harness.ROOT, env=dict(env, STORAGE_PROVIDER=""),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "loopback" in p.stderr


def test_plain_sigterm_exit(server):
    srv = start_server()
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=5) == 0
    uploads = srv.info["uploads_dir"]
    assert not os.path.exists(os.path.dirname(uploads))  # temp state gone
    srv.stop()
