"""End-to-end tests of the Threads recipes (publish, postimg, queue) and
lua/threads/, against the reference backend in
tests/servers/threads_backend running as a real process.

Run from the repository root:
    /usr/bin/python3 -m pytest tests/e2e/threads_test.py -q
    CLAWHOST_BIN=build/asan/clawhost /usr/bin/python3 -m pytest ...

The backend is started once for the module and reset before every test
(POST /__test__/reset). Error paths use its fault switches and test
hooks. A few cases need answers the reference backend never gives (a
307 on the publish path, a backend without queue endpoints) or must see
the exact bytes on the wire; they use `Stub`, a tiny recording HTTP
server in this file.

Every clawhost run of this module goes through `Threads.run`, which
checks that the queue secret appears nowhere in stdout or stderr; the
last test checks the collection once more.
"""
import datetime as dt
import http.server
import json
import secrets
import shutil
import subprocess
import socket
import threading
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import BIN, clean_env
from tests.servers import harness

SECRET = "qs-" + secrets.token_hex(16)
PUBLISH = "/api/v1/threads/publish"
CHAT = "/api/v1/assistant/chat"
QUEUE = "/api/v1/threads/queue"
BACKEND_ENV = {
    "THREADS_QUEUE_SECRET": SECRET,
    "REF_TEST_HOOKS": "1",
    "REF_CONTAINER_WAIT_S": "0",
    "REF_POLL_S": "0",
    "REF_FAKE_GEN_MS": "60",
    "REF_GEN_TIMEOUT_S": "5",
    "REF_WORKER_INTERVAL_S": "0",
    "REF_LOG_LEVEL": "warning",
}

# stdout and stderr of every clawhost run in this module
OUTPUTS = []


# ---- the reference backend -----------------------------------------------

class Backend:
    def __init__(self, server):
        self.server = server
        self.url = server.url

    def call(self, method, path, body=None, secret=True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if secret:
            req.add_header("X-Queue-Secret", SECRET)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def hook(self, path, body=None):
        status, doc = self.call("POST", "/__test__/" + path, body or {})
        assert status == 200, doc
        return doc

    def items(self, **query):
        q = "&".join(f"{k}={v}" for k, v in query.items())
        status, doc = self.call("GET", QUEUE + ("?" + q if q else ""))
        assert status == 200, doc
        return doc["items"]

    def idempotency_keys(self):
        return self.call("GET", "/__test__/idempotency")[1]["keys"]

    def faults(self, **kw):
        return self.hook("faults", kw)

    def config(self, **kw):
        return self.hook("config", kw)


@pytest.fixture(scope="module")
def backend():
    server = harness.start("threads_backend", env=BACKEND_ENV)
    try:
        yield Backend(server)
    finally:
        assert server.stop() == 0


@pytest.fixture(autouse=True)
def _reset(backend):
    backend.hook("reset")


# ---- a recording stub for what the backend never does --------------------

class Stub:
    """Answers every request from `routes` ((method, path) -> (status,
    headers, body)) and records (method, path, headers, body)."""

    def __init__(self):
        self.requests = []
        self.routes = {}
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path = self.path.split("?")[0]
                stub.requests.append((self.command, self.path,
                                      dict(self.headers), body))
                status, headers, out = stub.routes.get(
                    (self.command, path),
                    (404, {}, {"detail": "Not Found"}))
                data = json.dumps(out).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


ACCEPTED = {"ok": True, "id": "thq_STUB", "status": "queued",
            "publish_mode": "queue", "tenant_id": "agency_paris",
            "media_type": "TEXT", "scheduled_at": "2026-05-12T06:00:00Z",
            "created_at": "2026-05-12T06:00:00Z", "position": 1,
            "images": [], "idempotent_replay": False,
            "deduplicated": False, "warnings": []}


@pytest.fixture
def stub():
    s = Stub()
    s.routes[("POST", PUBLISH)] = (202, {}, ACCEPTED)
    try:
        yield s
    finally:
        s.close()


# ---- running clawhost ----------------------------------------------------

class Threads:
    """clawhost with the Threads settings pointing at `base`."""

    def __init__(self, host, base):
        self.host = host
        self.env = {"THREADS_FASTAPI_BASE_URL": base,
                    "THREADS_QUEUE_SECRET": SECRET}

    def run(self, *args, env=None, drop=(), timeout=90):
        full = {**self.env, **(env or {})}
        for k in drop:
            full.pop(k, None)
        run = self.host.run("run", *args, env=full, timeout=timeout)
        OUTPUTS.append(run.out + run.err)
        assert SECRET not in run.out and SECRET not in run.err, run
        assert "stack traceback" not in run.err, run
        assert "Sanitizer" not in run.err, run
        assert "runtime error:" not in run.err, run
        return run


@pytest.fixture
def th(host, backend):
    return Threads(host, backend.url)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- publish: success ----------------------------------------------------

def test_publish_text_uses_default_tenant_and_empty_images(th, backend):
    run = th.run("publish", "--message", "Hello from clawhost", "--json")
    assert run.code == 0, run
    res = run.json()
    assert res["id"].startswith("thq_")
    assert res["status"] == "queued"
    assert res["scheduled_at"].endswith("Z")
    assert res["already_queued"] is False
    assert res["summary"].startswith("queued " + res["id"])
    assert res["images"] == []
    items = backend.items()
    assert [i["id"] for i in items] == [res["id"]]
    item = items[0]
    assert item["tenant_id"] == "agency_paris"
    assert item["images"] == []
    assert item["media_type"] == "TEXT"
    assert item["meta"]["source"] == "cli"
    # the key clawhost made is the one the backend stored
    assert item["idempotency_key"] == res["idempotency_key"]
    assert res["idempotency_key"] in run.err, "printed for a safe repeat"


def test_publish_plain_output_is_readable(th):
    run = th.run("publish", "--message", "plain output")
    assert run.code == 0, run
    assert "summary: queued thq_" in run.out
    assert "status: queued" in run.out
    assert "scheduled_at: 20" in run.out


def test_wire_body_is_the_seeds_body(host, stub):
    t = Threads(host, stub.url)
    run = t.run("publish", "--message", "wire", "--chat-id", "-100123",
                "--user-id", "42", "--username", "alice",
                "--idempotency-key", "tg-42-1")
    assert run.code == 0, run
    (method, path, headers, body), = stub.requests
    assert (method, path) == ("POST", PUBLISH)
    assert headers["X-Queue-Secret"] == SECRET
    assert headers["Idempotency-Key"] == "tg-42-1"
    assert headers["Content-Type"] == "application/json"
    assert b'"images":[]' in body
    assert json.loads(body) == {
        "message": "wire", "images": [], "scheduled_at": None,
        "publish_mode": "queue", "auto_proxy_images": True,
        "meta": {"tenant_id": "agency_paris", "source": "cli",
                 "chat_id": "-100123", "user_id": "42",
                 "username": "alice"}}


def test_wire_body_with_everything(host, stub):
    t = Threads(host, stub.url + "/")
    run = t.run("publish", "--message", "m", "--image",
                "https://img.example/a.png", "--image",
                "https://img.example/b.png", "--at",
                "2099-01-01T10:00:00+02:00", "--no-proxy-images",
                "--tenant", "t_1", "--source", "telegram",
                env={"THREADS_TENANT_ID": "ignored_here"})
    assert run.code == 0, run
    (_, path, _, body), = stub.requests
    assert path == PUBLISH, "trailing slash of the base URL stripped"
    doc = json.loads(body)
    assert doc["images"] == ["https://img.example/a.png",
                             "https://img.example/b.png"]
    assert doc["scheduled_at"] == "2099-01-01T08:00:00Z"
    assert doc["auto_proxy_images"] is False
    assert doc["meta"]["tenant_id"] == "t_1"
    assert doc["meta"]["source"] == "telegram"


def test_tenant_from_environment(th, backend):
    run = th.run("publish", "--message", "tenant env", "--json",
                 env={"THREADS_TENANT_ID": "agency_lyon"})
    assert run.code == 0, run
    assert run.json()["tenant_id"] == "agency_lyon"
    assert backend.items(tenant_id="agency_lyon")[0]["id"] == \
        run.json()["id"]


def test_publish_image_served_by_the_backend(th, backend):
    run = th.run("publish", "--message", "a cat", "--image",
                 backend.url + "/samples/cat.png", "--json")
    assert run.code == 0, run
    res = run.json()
    assert res["media_type"] == "IMAGE"
    assert res["images"][0].startswith(backend.url + "/uploads/")
    item = backend.items()[0]
    assert item["images"][0]["proxied"] is True


def test_same_key_twice_says_already_queued(th, backend):
    first = th.run("publish", "--message", "once", "--idempotency-key",
                   "user-action-1", "--json")
    again = th.run("publish", "--message", "once", "--idempotency-key",
                   "user-action-1", "--json")
    assert first.code == again.code == 0, (first, again)
    assert first.json()["already_queued"] is False
    assert again.json()["already_queued"] is True
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["summary"].startswith("already queued")
    assert len(backend.items()) == 1


def test_double_send_is_deduplicated(th, backend):
    first = th.run("publish", "--message", "double tap", "--chat-id", "7")
    again = th.run("publish", "--message", "double tap", "--chat-id", "7")
    assert first.code == again.code == 0, (first, again)
    assert "summary: already queued" in again.out
    assert len(backend.items()) == 1


# ---- publish: failures after the item was stored -------------------------

def teach(th):
    """One post whose answer shows that the backend keeps idempotency
    keys (its idempotent_replay field); clawhost remembers it in its
    store, so later runs may repeat a POST whose outcome is unknown."""
    run = th.run("publish", "--message", "teach " + secrets.token_hex(4))
    assert run.code == 0, run


@pytest.mark.parametrize("fault", ["fail_after_store", "drop_after_store"])
def test_lost_answer_still_one_item(th, backend, fault):
    teach(th)
    backend.faults(**{fault: 1})
    run = th.run("--verbose",
                 "publish", "--message", "lost answer " + fault, "--json")
    assert run.code == 0, run
    res = run.json()
    assert res["already_queued"] is False
    assert "confirmed by a retry" in res["summary"]
    assert "retrying POST" in run.err
    assert "the backend honours it: its reply carries " \
        "idempotent_replay" in run.err
    items = backend.items()
    assert len(items) == 2
    assert res["id"] in [i["id"] for i in items]


@pytest.mark.parametrize("fault", ["fail_after_store", "drop_after_store"])
def test_lost_answer_of_an_unknown_backend_is_not_repeated(th, backend,
                                                            fault):
    # nothing shows yet that this backend keeps keys: one attempt only
    backend.faults(**{fault: 1})
    run = th.run("--verbose", "publish", "--message", "unknown " + fault,
                 "--idempotency-key", "unknown-1")
    assert run.code == 1, run
    assert "retrying" not in run.err
    assert "cannot tell whether the post was queued" in run.err \
        or "may already be queued" in run.err
    assert "clawhost run queue" in run.err
    assert "--idempotency-key unknown-1" in run.err
    assert len(backend.items()) == 1
    # the safe repeat: the reference backend replays its answer
    again = th.run("publish", "--message", "unknown " + fault,
                   "--idempotency-key", "unknown-1", "--json")
    assert again.code == 0, again
    assert again.json()["already_queued"] is True
    assert len(backend.items()) == 1


def test_5xx_exhausted_then_safe_repeat(th, backend):
    teach(th)
    backend.faults(fail_after_store=4)      # every attempt of one run
    run = th.run("publish", "--message", "stubborn", "--idempotency-key",
                 "repeat-me")
    assert run.code == 1, run
    msg = run.err
    assert "500 internal_error" in msg
    assert backend.url in msg
    assert "after 4 attempts" in msg
    assert "--idempotency-key repeat-me" in msg
    # the item was stored; repeating the same action does not add one
    again = th.run("publish", "--message", "stubborn", "--idempotency-key",
                   "repeat-me", "--json")
    assert again.code == 0, again
    assert again.json()["already_queued"] is True
    assert len(backend.items()) == 2      # the teaching post and this


def test_backend_down_names_the_base_url(host):
    base = "http://127.0.0.1:%d" % free_port()
    run = Threads(host, base).run("publish", "--message", "nobody home")
    assert run.code == 1, run
    assert "cannot reach the backend at " + base in run.err
    assert "THREADS_FASTAPI_BASE_URL" in run.err
    assert "--idempotency-key clawhost-" in run.err


# ---- publish: answers that are retried or reported -----------------------

def test_409_in_flight_is_retried_with_the_same_key(th, backend):
    backend.faults(in_use=2)
    run = th.run("publish", "--message", "busy key", "--json")
    assert run.code == 0, run
    # lua/threads retries the 409 itself, with the same key
    assert run.err.count("(409) with the same idempotency key") == 2
    assert len(backend.items()) == 1
    assert backend.idempotency_keys()[0]["key"] == \
        run.json()["idempotency_key"]


def test_409_in_flight_that_stays_is_reported(th, backend):
    backend.faults(in_use=10)
    run = th.run("publish", "--message", "still busy",
                 "--idempotency-key", "busy-1")
    assert run.code == 1, run
    assert "still processing an earlier request" in run.err
    assert "--idempotency-key busy-1" in run.err
    assert backend.items() == []


def test_429_short_retry_after_is_waited(th, backend):
    backend.faults(rate_limit=1, rate_limit_retry_after_s=1)
    run = th.run("publish", "--message", "slow down a bit")
    assert run.code == 0, run
    assert len(backend.items()) == 1


def test_429_long_retry_after_is_reported_with_the_time(th, backend):
    backend.faults(rate_limit=1, rate_limit_retry_after_s=3600)
    run = th.run("publish", "--message", "slow down a lot")
    assert run.code == 1, run
    assert "429 rate_limited" in run.err
    assert "try again after 20" in run.err
    assert "(in 60 min)" in run.err
    assert backend.items() == []


def test_quota_exceeded(th, backend):
    first = th.run("publish", "--message", "post 250", "--tenant",
                   "quota_test")
    assert first.code == 0, first
    run = th.run("publish", "--message", "post 251", "--tenant",
                 "quota_test")
    assert run.code == 1, run
    assert "429 threads_quota_exceeded" in run.err
    assert "reached 250 posts" in run.err
    assert "(in 24 h)" in run.err


def test_wrong_secret_403(th, backend):
    run = th.run("publish", "--message", "who am I",
                 env={"THREADS_QUEUE_SECRET": "not-the-secret-xyz"})
    assert run.code == 2, run
    assert "403 invalid_queue_secret" in run.err
    assert "THREADS_QUEUE_SECRET" in run.err
    assert "not-the-secret-xyz" not in run.text
    assert backend.items() == []


def test_assistant_requiring_the_secret_401(th, backend):
    backend.config(assistant_require_secret=True)
    run = th.run("postimg", "--prompt", "a cat")
    assert run.code == 2, run
    assert "401" in run.err and "Not authenticated" in run.err
    assert "/api/v1/assistant/chat" in run.err


def test_422_list_shape(th, backend):
    run = th.run("publish", "--message", "x", "--tenant", "Bad Tenant")
    assert run.code == 1, run
    assert "rejected the post (422): meta.tenant_id: String should " \
        "match pattern" in run.err
    assert backend.items() == []


def test_422_string_shape(th, backend):
    backend.config(error_style="string")
    run = th.run("publish", "--message", "x", "--tenant", "Bad Tenant")
    assert run.code == 1, run
    assert "(422): body.meta.tenant_id: String should match" in run.err


def test_six_links_refused_before_sending(th, backend):
    links = " ".join(f"https://l{i}.example" for i in range(5))
    # the same link again (scheme, case and trailing / aside) is one
    run = th.run("publish", "--message", links + " HTTP://L0.example/",
                 "--json")
    assert run.code == 0, run
    run = th.run("publish", "--message", links + " www.l5.example")
    assert run.code == 2, run
    assert "--message has 6 different links (l0.example, l1.example, " \
        "l2.example, l3.example, l4.example, www.l5.example); Threads " \
        "allows at most 5 in a post" in run.err
    assert len(backend.items()) == 1
    assert len(backend.idempotency_keys()) == 1, "nothing sent"


def test_422_object_shape_from_the_assistant(th, backend):
    links = " ".join(f"https://l{i}.example" for i in range(6))
    run = th.run("postimg", "--prompt", "a cat", "--caption", links)
    assert run.code == 1, run
    assert "(422): Could not queue the post: message: Text has 6 links" \
        in run.err


def test_422_each_problem_with_its_path(th, backend):
    run = th.run("publish", "--message", "far away", "--at",
                 "2099-01-01T00:00:00Z", "--image",
                 "http://unreachable.test/a.png")
    assert run.code == 1, run
    assert "scheduled_at: scheduled_at is more than 90 days ahead" \
        in run.err


def test_422_image_fetch_failed_has_a_hint(th, backend):
    run = th.run("publish", "--message", "x", "--image",
                 "http://unreachable.test/a.png")
    assert run.code == 1, run
    assert "images.0: " in run.err
    assert "--no-proxy-images" in run.err


def test_422_key_reused_with_another_body(th, backend):
    assert th.run("publish", "--message", "A", "--idempotency-key",
                  "k-reuse").code == 0
    run = th.run("publish", "--message", "B", "--idempotency-key",
                 "k-reuse")
    assert run.code == 1, run
    assert "header.idempotency-key: This Idempotency-Key was already " \
        "used with a different request body" in run.err
    assert "use a new --idempotency-key" in run.err


def test_413_payload_too_large(th, backend):
    images = []
    for i in range(20):
        images += ["--image", f"https://img.example/{i}/" + "p" * 3400]
    run = th.run("publish", "--message", "big", *images)
    assert run.code == 1, run
    assert "(413)" in run.err
    assert "65536 bytes" in run.err


def test_307_is_a_base_url_problem(host, stub):
    stub.routes[("POST", PUBLISH)] = (
        307, {"Location": "https://elsewhere.example" + PUBLISH}, {})
    run = Threads(host, stub.url).run("publish", "--message", "redirect")
    assert run.code == 2, run
    assert "307 redirect to https://elsewhere.example" + PUBLISH in run.err
    assert "THREADS_FASTAPI_BASE_URL" in run.err
    assert "does not follow redirects" in run.err
    assert len(stub.requests) == 1, "not followed"


# ---- checks before sending -----------------------------------------------

@pytest.mark.parametrize("args, says", [
    (["--message", "é" * 251], "--message is 502 UTF-8 bytes (251 "
                               "characters)"),
    ([], "nothing to post"),
    (["--message", "   "], "nothing to post"),
    (["--message", "x", "--image", "ftp://example.com/a.png"],
     "--image #1 'ftp://example.com/a.png' is not an http(s) URL"),
    (["--message", "x", *sum([["--image", f"https://e.x/{i}.png"]
                               for i in range(21)], [])],
     "21 --image given"),
    (["--message", "x", "--at", "2020-01-01T00:00:00Z"], "is in the past"),
    (["--message", "x", "--at", "2030-01-01T00:00:00"],
     "the UTC offset is missing"),
    (["--message", "x", "--mode", "now", "--at", "2099-01-01T00:00:00Z"],
     "--mode now publishes at once"),
])
def test_refused_before_sending(th, backend, args, says):
    run = th.run("publish", *args)
    assert run.code == 2, run
    assert says in run.err
    assert backend.items() == []
    assert backend.idempotency_keys() == []


def test_missing_settings_are_named(th, stub):
    run = th.run("publish", "--message", "x",
                 drop=("THREADS_FASTAPI_BASE_URL", "THREADS_QUEUE_SECRET"))
    assert run.code == 2, run
    assert "THREADS_FASTAPI_BASE_URL" in run.err
    assert "THREADS_QUEUE_SECRET" in run.err
    assert "clawhost setup" in run.err
    only = th.run("publish", "--message", "x",
                  drop=("THREADS_QUEUE_SECRET",))
    assert only.code == 2, only
    assert "missing setting: THREADS_QUEUE_SECRET" in only.err
    base = th.run("queue", drop=("THREADS_FASTAPI_BASE_URL",))
    assert base.code == 2, base
    assert "missing setting: THREADS_FASTAPI_BASE_URL" in base.err
    chat = th.run("postimg", "--prompt", "x",
                  drop=("THREADS_FASTAPI_BASE_URL",))
    assert chat.code == 2, chat
    assert "THREADS_FASTAPI_BASE_URL" in chat.err
    assert "THREADS_QUEUE_SECRET" not in chat.err, "not needed there"


def test_settings_from_env_local(host, backend):
    (host.dir / ".env.local").write_text(
        f"THREADS_FASTAPI_BASE_URL={backend.url}\n"
        f"THREADS_QUEUE_SECRET={SECRET}\n")
    (host.dir / ".env.local").chmod(0o600)
    run = Threads(host, backend.url).run(
        "publish", "--message", "from .env.local",
        drop=("THREADS_FASTAPI_BASE_URL", "THREADS_QUEUE_SECRET"))
    assert run.code == 0, run
    assert len(backend.items()) == 1


@pytest.mark.parametrize("base, says", [
    ("ftp://127.0.0.1:{port}", "only http:// and https://"),
    ("127.0.0.1:{port}", "has no scheme"),
    ("localhost:{port}/api", "has no scheme"),
    ("http://user:pw@127.0.0.1:{port}", "user name or password"),
])
def test_bad_base_url_exits_2_before_any_request(host, stub, base, says):
    port = stub.url.rsplit(":", 1)[1]
    run = Threads(host, base.format(port=port)).run("publish",
                                                    "--message", "x")
    assert run.code == 2, run
    assert "THREADS_FASTAPI_BASE_URL" in run.err
    assert says in run.err
    assert "pw@" not in run.text
    assert stub.requests == []


# ---- dry run -------------------------------------------------------------

def test_dry_run_sends_nothing_and_masks_the_secret(host, stub):
    run = Threads(host, stub.url).run("publish", "--message", "plan only",
                                      "--dry-run", "--json")
    assert run.code == 0, run
    assert stub.requests == []
    plan = run.json()
    assert plan["dry_run"] is True
    req = plan["request"]
    assert req["method"] == "POST"
    assert req["url"] == stub.url + PUBLISH
    assert req["headers"]["X-Queue-Secret"] == \
        "<secret THREADS_QUEUE_SECRET>"
    assert req["headers"]["Idempotency-Key"] == plan["idempotency_key"]
    assert json.loads(req["body"])["images"] == []


def test_dry_run_against_the_backend(th, backend):
    run = th.run("publish", "--message", "plan", "--dry-run")
    assert run.code == 0, run
    assert "<secret THREADS_QUEUE_SECRET>" in run.out
    assert "nothing was sent" in run.out
    assert backend.items() == []
    assert backend.idempotency_keys() == []
    chat = th.run("postimg", "--prompt", "plan", "--dry-run", "--json")
    assert chat.code == 0, chat
    assert "X-Queue-Secret" not in chat.json()["request"]["headers"]
    assert backend.items() == []


# ---- postimg -------------------------------------------------------------

def test_postimg_generates_and_queues(th, backend):
    run = th.run("postimg", "--prompt", "a cat on a sofa", "--chat-id",
                 "123456789", "--json", drop=("THREADS_QUEUE_SECRET",))
    assert run.code == 0, run
    res = run.json()
    assert res["session_id"] == "tg_123456789"
    assert res["id"].startswith("thq_")
    assert res["image"].startswith(backend.url + "/uploads/agency_paris/")
    assert res["summary"].startswith("generated 1 image and queued")
    item = backend.items()[0]
    assert item["id"] == res["id"]
    assert item["message"] == "a cat on a sofa"
    assert item["media_type"] == "IMAGE"


def test_postimg_wire_has_no_secret(host, stub):
    stub.routes[("POST", CHAT)] = (200, {}, {
        "ok": True, "session_id": "cli_agency_paris", "reply": "ok",
        "tool_calls": [], "queue_item": {"id": "thq_S", "status": "queued",
                                         "scheduled_at": None}})
    run = Threads(host, stub.url).run("postimg", "--prompt", "p")
    assert run.code == 0, run
    (method, path, headers, body), = stub.requests
    assert (method, path) == ("POST", CHAT)
    assert "X-Queue-Secret" not in headers
    assert headers["Idempotency-Key"].startswith("clawhost-img-")
    assert json.loads(body) == {
        "session_id": "cli_agency_paris", "execute_tools": True,
        "message": "Generate and enqueue one image post",
        "context": {"tenant_id": "agency_paris", "prompt": "p",
                    "message": "p", "provider": "replicate",
                    "model": "black-forest-labs/flux-1.1-pro",
                    "source": "cli", "campaign": None,
                    "api_base_url": stub.url}}


def test_postimg_generation_failure_is_not_retried(th, backend):
    run = th.run("--verbose", "postimg", "--prompt", "something #nsfw")
    assert run.code == 1, run
    assert "image generation failed" in run.err
    assert "retrying" not in run.err
    assert backend.items() == []


def test_postimg_throttled_upstream_is_retried_then_reported(th, backend):
    run = th.run("--verbose", "postimg", "--prompt", "busy model #throttle")
    assert run.code == 1, run
    assert run.err.count("retrying POST") == 2
    assert "429 upstream_throttled" in run.err
    assert "try again after" in run.err
    assert backend.items() == []


def test_postimg_generation_timeout(th, backend):
    backend.config(gen_timeout_s=0.5)
    run = th.run("--verbose", "postimg", "--prompt", "takes forever #slow")
    assert run.code == 1, run
    assert "image generation took too long" in run.err
    assert "retrying" not in run.err
    assert backend.items() == []


def test_postimg_lost_answer_is_replayed(th, backend):
    first = th.run("postimg", "--prompt", "a cat")   # shows it keeps keys
    assert first.code == 0, first
    backend.hook("reset")
    backend.faults(drop_after_store=1)
    run = th.run("--verbose", "postimg", "--prompt", "a dog", "--json")
    assert run.code == 0, run
    assert "retrying POST" in run.err
    assert [i["id"] for i in backend.items()] == [run.json()["id"]]


# ---- queue ---------------------------------------------------------------

def test_queue_list_tick_publish_show_cancel(th, backend):
    a = th.run("publish", "--message", "first", "--json").json()
    now = dt.datetime.strptime(backend.hook("clock")["now"],
                               "%Y-%m-%dT%H:%M:%SZ")
    tomorrow = (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    b = th.run("publish", "--message", "later", "--at", tomorrow, "--json")
    assert b.code == 0, b
    assert b.json()["status"] == "scheduled"
    run = th.run("queue")
    assert run.code == 0, run
    assert a["id"] in run.out and "queued" in run.out
    assert b.json()["id"] in run.out and "scheduled" in run.out
    tick = backend.hook("worker/tick")
    assert any(t["to"] == "published" for t in tick["transitions"])
    listed = th.run("queue", "--json").json()
    by_id = {i["id"]: i for i in listed["items"]}
    assert by_id[a["id"]]["status"] == "published"
    assert by_id[a["id"]]["permalink"].startswith("https://www.threads.net")
    assert by_id[b.json()["id"]]["status"] == "scheduled"
    shown = th.run("queue", "--id", a["id"])
    assert shown.code == 0, shown
    assert "permalink: https://www.threads.net/" in shown.out
    busy = th.run("queue", "--cancel", a["id"])
    assert busy.code == 1, busy
    assert "is published and can no longer be canceled" in busy.err
    cancel = th.run("queue", "--cancel", b.json()["id"])
    assert cancel.code == 0, cancel
    assert "status: canceled" in cancel.out
    assert "summary: canceled " + b.json()["id"] in cancel.out


def test_queue_unknown_item(th, backend):
    run = th.run("queue", "--id", "thq_missing")
    assert run.code == 1, run
    assert "no queue item thq_missing" in run.err


def test_queue_filters_and_empty(th, backend):
    run = th.run("queue", "--status", "failed")
    assert run.code == 0, run
    assert "the queue is empty for status failed" in run.out
    bad = th.run("queue", "--status", "lost")
    assert bad.code == 1, bad
    assert "query.status: Input should be" in bad.err


def test_backend_without_queue_endpoints(host, stub):
    run = Threads(host, stub.url).run("queue")
    assert run.code == 1, run
    assert "has no queue endpoints" in run.err
    assert "publishing still works" in run.err
    cancel = Threads(host, stub.url).run("queue", "--cancel", "thq_x")
    assert cancel.code == 1, cancel
    assert "no queue" in cancel.err


def test_queue_wrong_secret(th, backend):
    run = th.run("queue", env={"THREADS_QUEUE_SECRET": "wrong-one-abc"})
    assert run.code == 2, run
    assert "403 invalid_queue_secret" in run.err


# ---- host issues ---------------------------------------------------------

RANDOM_PROBE = """
local clock = require "clock"
return { run = function()
  return { second = math.floor(clock.now()),
           draw = math.random(0, 0x7fffffff) }
end }
"""


@pytest.mark.skipif(not shutil.which("setarch"), reason="needs setarch")
def test_host_math_random_differs_between_runs(host):
    probe = host.recipe(RANDOM_PROBE, "random_probe.lua")
    for _ in range(5):
        runs = [host.run("-R", BIN, "run", probe, "--json",
                         binary="setarch") for _ in range(2)]
        assert all(r.code == 0 for r in runs), runs
        a, b = (r.json() for r in runs)
        if a["second"] == b["second"]:
            break
    else:
        pytest.skip("never got two runs in the same second")
    assert a["draw"] != b["draw"]


CELL_PROBE = """
return { run = function()
  return { items = { { text = string.rep("\\195\\169", 40), n = 1 } } }
end }
"""


def test_host_table_cells_stay_utf8(host):
    probe = host.recipe(CELL_PROBE, "cell_probe.lua")
    proc = subprocess.run([BIN, "run", probe], cwd=host.dir,
                          env=clean_env(host.home), capture_output=True)
    assert proc.returncode == 0, proc
    proc.stdout.decode("utf-8")


def test_idempotency_keys_differ_in_the_same_second(host, stub):
    keys = set()
    t = Threads(host, stub.url)
    for _ in range(3):
        run = t.run("publish", "--message", "k", "--dry-run", "--json")
        assert run.code == 0, run
        keys.add(run.json()["idempotency_key"])
    assert len(keys) == 3


# ---- the secret ----------------------------------------------------------

def test_zz_secret_in_no_output():
    assert len(OUTPUTS) > 40, "the other tests ran through Threads.run"
    for text in OUTPUTS:
        assert SECRET not in text


# ---- links are counted as the reference backend counts them --------------

LINK_TEXTS = [
    "see https://a.com and http://A.com/ and www.a.com.",
    "x https://a.com,https://b.com y",
    "\u201chttps://q.com\u201d and \u00abwww.r.com\u00bb",
    "\u00e9https://x.com",
    "https:// nothing here",
    "WWW.Example.ORG/path?q=1) end",
    "ahttp://x.y _www.z.com 1www.n.com",
    "(https://p.com) [www.p.com] {http://p.com/}",
    "https://a.com\u00a0b https://a.com\u3000c",
    "<https://t.com>\"https://u.com\"",
    "https://v.com/\u00e9t\u00e9 https://v.com/\u00c9T\u00c9",
    "\u00bfhttps://w.com? \u2014www.w2.com",
    "",
]


def test_links_counted_like_the_reference(host):
    from tests.servers.threads_backend.validation import count_links
    probe = host.recipe("""
        local json = require "json"
        local threads = require "threads"
        return { run = function(ctx, args)
          local out = {}
          for i, t in ipairs(json.decode(args.texts)) do
            out[i] = #threads.links(t)
          end
          return { counts = json.array(out) }
        end, params = { texts = { type = "string" } } }
        """, "links_probe.lua")
    run = host.run("run", probe, "--texts", json.dumps(LINK_TEXTS),
                   "--json")
    assert run.code == 0, run
    want = [count_links(t) for t in LINK_TEXTS]
    assert run.json()["counts"] == want
