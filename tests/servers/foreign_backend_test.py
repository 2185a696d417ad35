"""Tests of tests/servers/foreign_backend.py, the configurable backend
that is not ours.

    /usr/bin/python3 -m pytest tests/servers/foreign_backend_test.py -q
"""
import http.client
import json
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.servers import harness

PUBLISH = "/api/v1/threads/publish"


@pytest.fixture(scope="module")
def server():
    s = harness.start("foreign_backend")
    try:
        yield s
    finally:
        assert s.stop() == 0


def call(server, method, path, body=None, headers=None):
    u = urlsplit(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def control(server, what, doc=None):
    status, _, body = call(server, "POST", "/__foreign__/" + what,
                           doc or {})
    assert status == 200, body
    return json.loads(body)


def posts(server):
    req = urllib.request.urlopen(server.url + "/__foreign__/posts")
    return json.loads(req.read())["posts"]


@pytest.fixture(autouse=True)
def _reset(server):
    control(server, "reset")


def test_default_reply_and_recording(server):
    status, _, body = call(server, "POST", PUBLISH, {"message": "a"},
                           {"Idempotency-Key": "k1"})
    assert status == 200
    assert json.loads(body) == {"ok": True, "id": "p1"}
    assert posts(server) == [{"id": "p1", "path": PUBLISH, "key": "k1",
                              "body": {"message": "a"}}]


def test_shapes(server):
    control(server, "config", {"publish": {
        "status": 202, "body": '{"ok":true,"job_id":"{id}"}'}})
    status, _, body = call(server, "POST", PUBLISH, {})
    assert (status, json.loads(body)) == (202, {"ok": True, "job_id": "p1"})
    control(server, "config", {"publish": {"status": 204, "body": ""}})
    status, _, body = call(server, "POST", PUBLISH, {})
    assert (status, body) == (204, b"")
    control(server, "config", {"publish": {
        "body": "queued {id}", "content_type": "text/plain"}})
    status, headers, body = call(server, "POST", PUBLISH, {})
    assert (status, body) == (200, b"queued p3")
    assert headers["Content-Type"] == "text/plain"


def test_ignoring_keys_stores_every_post(server):
    for _ in range(2):
        call(server, "POST", PUBLISH, {}, {"Idempotency-Key": "same"})
    assert [p["id"] for p in posts(server)] == ["p1", "p2"]


def test_honouring_keys_replays(server):
    control(server, "config", {"keys": "honour", "replay_header": True,
                               "replay_body": True, "echo_key": True})
    s1, h1, b1 = call(server, "POST", PUBLISH, {}, {"Idempotency-Key": "k"})
    s2, h2, b2 = call(server, "POST", PUBLISH, {}, {"Idempotency-Key": "k"})
    assert s1 == s2 == 200
    assert h1["Idempotency-Key"] == "k"
    assert "Idempotency-Replayed" not in h1
    assert h2["Idempotency-Replayed"] == "true"
    assert json.loads(b2) == {"ok": True, "id": "p1",
                              "idempotent_replay": True}
    assert len(posts(server)) == 1


def test_drop_after_store(server):
    control(server, "config", {"drop": 1})
    with pytest.raises((http.client.RemoteDisconnected,
                        ConnectionResetError)):
        call(server, "POST", PUBLISH, {})
    assert len(posts(server)) == 1
    status, _, _ = call(server, "POST", PUBLISH, {})
    assert status == 200
    assert len(posts(server)) == 2


def test_fail_after_store(server):
    control(server, "config", {"fail": 1})
    status, _, body = call(server, "POST", PUBLISH, {})
    assert (status, body) == (500, b"Internal Server Error")
    assert len(posts(server)) == 1


def test_delay(server):
    control(server, "config", {"delay_ms": 300})
    import time
    start = time.monotonic()
    status, _, _ = call(server, "POST", PUBLISH, {})
    assert status == 200
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    call(server, "POST", PUBLISH, {})
    assert time.monotonic() - start < 0.3, "only the next one"
