"""End-to-end tests of the Threads recipes against a backend that is
not ours: tests/servers/foreign_backend.py, whose reply shapes and
behaviours each test switches (threads_test.py covers the reference
backend of the contract).

    /usr/bin/python3 -m pytest tests/e2e/threads_foreign_test.py -q

Real backends answer in their own shapes, ignore or honour
Idempotency-Key, and drop replies. What is checked here: any 2xx of
publish is accepted and its id found where it is; postimg never
claims what the backend did not say; a POST whose outcome is unknown
is repeated only for a backend that has shown it honours the key, so
one run never stores a post twice.
"""
import json
import secrets
import urllib.request

import pytest

from tests.servers import harness

SECRET = "fq-" + secrets.token_hex(16)
PUBLISH = "/api/v1/threads/publish"
CHAT = "/api/v1/assistant/chat"


class Foreign:
    def __init__(self, server):
        self.server = server
        self.url = server.url

    def control(self, what, doc=None):
        req = urllib.request.Request(
            self.url + "/__foreign__/" + what,
            data=json.dumps(doc or {}).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def config(self, **kw):
        return self.control("config", kw)

    def posts(self):
        with urllib.request.urlopen(self.url + "/__foreign__/posts",
                                    timeout=5) as r:
            return json.loads(r.read())["posts"]

    def requests(self):
        with urllib.request.urlopen(self.url + "/__foreign__/requests",
                                    timeout=5) as r:
            return json.loads(r.read())["requests"]


@pytest.fixture(scope="module")
def foreign():
    server = harness.start("foreign_backend")
    try:
        yield Foreign(server)
    finally:
        assert server.stop() == 0


@pytest.fixture(autouse=True)
def _reset(foreign):
    foreign.control("reset")


class Threads:
    def __init__(self, host, base):
        self.host = host
        self.env = {"THREADS_FASTAPI_BASE_URL": base,
                    "THREADS_QUEUE_SECRET": SECRET}

    def run(self, *args, env=None, timeout=90):
        run = self.host.run("run", *args, env={**self.env, **(env or {})},
                            timeout=timeout)
        assert SECRET not in run.out and SECRET not in run.err, run
        assert "stack traceback" not in run.err, run
        assert "Sanitizer" not in run.err, run
        return run


@pytest.fixture
def th(host, foreign):
    return Threads(host, foreign.url)


def reply(status=200, body="", content_type="application/json",
          headers=None):
    return {"status": status, "body": body, "content_type": content_type,
            "headers": headers or {}}


# ---- publish: any 2xx is accepted, the id found where it is ---------------

@pytest.mark.parametrize("status, body, want_id, field", [
    (200, '{"ok":true,"job_id":"{id}"}', "p1", "job_id"),
    (201, '{"data":{"id":"{id}","status":"pending"}}', "p1", "data.id"),
    (202, '{"queue_item":{"id":"{id}"}}', "p1", "queue_item.id"),
    (200, '{"result":{"item":{"queue_id":"{id}"}}}', "p1",
     "result.item.queue_id"),
    (200, '{"ok":true,"data":[{"id":42}]}', "42", "data.id"),
    (202, '{"id":"{id}","status":"queued"}', "p1", None),
])
def test_publish_finds_the_id(th, foreign, status, body, want_id, field):
    foreign.config(publish=reply(status, body))
    run = th.run("publish", "--message", "shape", "--json")
    assert run.code == 0, run
    res = run.json()
    assert res["id"] == want_id
    assert res.get("id_field") == field
    assert res["summary"].startswith("queued " + want_id)
    assert len(foreign.posts()) == 1


@pytest.mark.parametrize("status, body, content_type, shown", [
    (204, "", "application/json", "(an empty reply)"),
    (200, "queued, thanks!", "text/plain", "queued, thanks!"),
    (200, '{"ok":true}', "application/json", '{"ok":true}'),
    (202, '{"accepted":true,"queue":{"position":3}}', "application/json",
     '"position":3'),
])
def test_publish_accepted_without_id(th, foreign, status, body,
                                     content_type, shown):
    foreign.config(publish=reply(status, body, content_type))
    run = th.run("publish", "--message", "no id here", "--json")
    assert run.code == 0, run
    res = run.json()
    assert res["summary"].startswith(
        "accepted, no id returned: the backend answered %d" % status)
    assert shown in res["summary"]
    assert shown in res["reply"]
    assert res.get("id") is None
    assert res["accepted"] is True
    assert len(foreign.posts()) == 1


def test_publish_accepted_without_id_plain_output(th, foreign):
    foreign.config(publish=reply(200, "ok", "text/plain"))
    run = th.run("publish", "--message", "plain")
    assert run.code == 0, run
    assert "summary: accepted, no id returned" in run.out
    assert "without a queue item id" not in run.text


# ---- postimg: no false summary -------------------------------------------

def test_postimg_reply_without_fields_is_not_a_plan(th, foreign):
    foreign.config(chat=reply(200, '{"ok":true,"reply":"Done! Your '
                              'image is on its way."}'))
    run = th.run("postimg", "--prompt", "a fox", "--json")
    assert run.code == 0, run
    res = run.json()
    assert "planned only" not in run.out
    assert "execute_tools is false" not in run.out
    assert res["reply"] == "Done! Your image is on its way."
    assert res["unconfirmed"] is True
    assert res["summary"].startswith("not confirmed")
    assert "clawhost run queue" in res["summary"]


def test_postimg_text_reply_is_shown_as_it_came(th, foreign):
    foreign.config(chat=reply(200, "Image generated and queued.",
                              "text/plain"))
    run = th.run("postimg", "--prompt", "a fox")
    assert run.code == 0, run
    assert "reply: Image generated and queued." in run.out
    assert "summary: not confirmed" in run.out
    assert "planned only" not in run.out


def test_postimg_queue_item_elsewhere_is_found(th, foreign):
    foreign.config(chat=reply(200, '{"reply":"ok","job_id":"{id}"}'))
    run = th.run("postimg", "--prompt", "a fox", "--json")
    assert run.code == 0, run
    res = run.json()
    assert res["id"] == "p1"
    assert res["summary"].startswith("queued p1")
    assert "unconfirmed" not in res


def test_postimg_planned_only_when_the_backend_says_so(th, foreign):
    foreign.config(chat=reply(200, json.dumps({
        "reply": "I would generate it", "tool_calls": [
            {"name": "generate_image", "status": "planned"},
            {"name": "enqueue_threads_post", "status": "planned"}]})))
    run = th.run("postimg", "--prompt", "a fox", "--no-execute-tools",
                 "--json")
    assert run.code == 0, run
    res = run.json()
    assert res["planned"] is True
    assert res["summary"].startswith(
        "planned only (execute_tools is false)")


# ---- an unknown outcome: sent again only to a backend that keeps keys ----

def state_db(host):
    return host.home / "state" / "clawhost" / "clawhost.db"


def test_key_ignored_and_reply_dropped_stores_one_post(th, foreign):
    foreign.config(drop=1)                   # keys ignored (the default)
    run = th.run("--verbose",
                 "publish", "--message", "drop me", "--idempotency-key",
                 "drop-1")
    assert run.code == 1, run
    assert len(foreign.posts()) == 1, "one run, at most one post"
    assert len(foreign.requests()) == 1
    assert "retrying" not in run.err
    err = run.err
    assert "cannot tell whether the post was queued" in err
    assert "has not shown that it honours Idempotency-Key" in err
    assert "Idempotency key: drop-1" in err
    assert "`clawhost run queue`" in err
    assert "repeat the same command with --idempotency-key drop-1" in err


def test_key_ignored_and_500_after_storing_stores_one_post(th, foreign):
    foreign.config(fail=1)
    run = th.run("publish", "--message", "fail me", "--json")
    assert run.code == 1, run
    err = run.json()["error"]
    assert err["code"] == "server_error"
    assert "has not shown that it honours" in err["message"]
    assert len(foreign.posts()) == 1


def test_timeout_after_sending_is_not_repeated(th, foreign):
    # 15 s: the publish timeout of threads-api.md 6.7
    foreign.config(delay_ms=16500)
    run = th.run("--verbose",
                 "publish", "--message", "slow", "--idempotency-key",
                 "slow-1")
    assert run.code == 1, run
    assert "no answer from the backend at " + foreign.url in run.err
    assert "cannot tell whether the post was queued" in run.err
    assert "--idempotency-key slow-1" in run.err
    assert "retrying" not in run.err
    assert len(foreign.requests()) == 1


def test_silent_honouring_backend_is_not_trusted(th, foreign):
    # it would replay, but has never said so: treated as ignoring keys
    foreign.config(keys="honour", drop=1)
    run = th.run("--verbose",
                 "publish", "--message", "quiet", "--idempotency-key",
                 "quiet-1")
    assert run.code == 1, run
    assert "retrying" not in run.err
    assert len(foreign.requests()) == 1


def test_echoed_key_in_an_earlier_run_allows_the_retry(th, foreign, host):
    foreign.config(keys="honour", echo_key=True)
    first = th.run("publish", "--message", "first")
    assert first.code == 0, first
    foreign.config(drop=1)
    run = th.run("--verbose", "publish", "--message", "second", "--json")
    assert run.code == 0, run
    res = run.json()
    assert "confirmed by a retry" not in res["summary"]  # no replay mark
    assert res["id"] == "p2"
    assert "retrying POST" in run.err
    assert "the backend honours it: it echoed the Idempotency-Key " \
        "header (seen 20" in run.err
    posts = foreign.posts()
    assert [p["id"] for p in posts] == ["p1", "p2"], "second stored once"
    assert len(foreign.requests()) == 3
    assert state_db(host).exists(), "remembered in the store"


def test_replay_header_in_an_earlier_run_allows_the_retry(th, foreign):
    foreign.config(keys="honour", replay_header=True)
    for _ in range(2):                       # the second is a replay
        run = th.run("publish", "--message", "same", "--idempotency-key",
                     "same-1")
        assert run.code == 0, run
    assert "summary: already queued" in run.out
    foreign.config(drop=1)
    run = th.run("publish", "--message", "next", "--json")
    assert run.code == 0, run
    assert "confirmed by a retry" in run.json()["summary"]
    assert len(foreign.posts()) == 2


def test_evidence_in_the_failing_reply_itself(th, foreign):
    # first contact: the 500 echoes the key, so it may be sent again
    foreign.config(keys="honour", echo_key=True, replay_body=True, fail=1)
    run = th.run("--verbose", "publish", "--message", "echo on 500", "--json")
    assert run.code == 0, run
    assert "retrying POST" in run.err
    assert len(foreign.posts()) == 1
    assert run.json()["summary"].startswith("queued p1")


def test_dry_run_writes_nothing(th, foreign, host):
    run = th.run("publish", "--message", "plan", "--dry-run")
    assert run.code == 0, run
    assert foreign.requests() == []
    assert not state_db(host).exists()


def test_postimg_key_ignored_and_reply_dropped(th, foreign):
    foreign.config(drop=1)
    run = th.run("--verbose",
                 "postimg", "--prompt", "a fox", "--idempotency-key",
                 "img-1")
    assert run.code == 1, run
    assert len(foreign.posts()) == 1, "generated once"
    assert "retrying" not in run.err
    assert "could generate and queue an image twice" in run.err
    assert "--idempotency-key img-1" in run.err


def test_postimg_retried_for_a_backend_that_echoes(th, foreign):
    foreign.config(keys="honour", echo_key=True,
                   chat=reply(200, '{"queue_item":{"id":"{id}"}}'))
    assert th.run("postimg", "--prompt", "one").code == 0
    foreign.config(drop=1)
    run = th.run("postimg", "--prompt", "two", "--json")
    assert run.code == 0, run
    assert run.json()["id"] == "p2"
    assert len(foreign.posts()) == 2


# ---- the text: the bytes checked are the bytes sent ----------------------

def test_bytes_checked_are_the_bytes_sent(th, foreign):
    text = "a" * 498 + "é"                  # 500 UTF-8 bytes
    run = th.run("publish", "--message", text + " \n\t ")
    assert run.code == 0, run
    (post,) = foreign.posts()
    assert post["body"]["message"] == text
    assert len(post["body"]["message"].encode()) == 500


def test_one_byte_over_is_refused_before_sending(th, foreign):
    run = th.run("publish", "--message", "a" * 499 + "é" + "\n")
    assert run.code == 2, run
    assert "--message is 501 UTF-8 bytes (500 characters)" in run.err
    assert foreign.requests() == []


def test_six_links_refused_before_sending(th, foreign):
    links = " ".join(f"https://site{i}.example/page" for i in range(6))
    run = th.run("publish", "--message", "read " + links)
    assert run.code == 2, run
    assert "--message has 6 different links" in run.err
    assert "Threads allows at most 5 in a post" in run.err
    assert "nothing was sent" in run.err
    assert foreign.requests() == []


# ---- a custom recipe: its own flag names, and validate first ---------------

CUSTOM = """
local threads = require "threads"
local FLAGS = { message = "--text", images = "--picture",
                idempotency_key = "--key" }
return {
  params = {
    text = { type = "list" }, key = { type = "string" },
    first = { type = "boolean", default = false },
  },
  run = function(ctx, args)
    local posts = {}
    for i, t in ipairs(args.text) do
      posts[i] = { message = t, pending_images = 1,
                   idempotency_key = args.key and args.key .. "-" .. i }
    end
    posts[#posts + 1] = { kind = "postimg", prompt = "the cover" }
    if args.first then
      -- everything is checked before the paid step
      local ok, err = threads.validate(posts, { flags = FLAGS })
      if not ok then return nil, err end
    end
    -- the paid step: the backend's assistant makes an image
    local img, ierr = threads.postimg(ctx, { prompt = "the cover",
                                             flags = FLAGS })
    if not img then return nil, ierr end
    local ids = {}
    for i, t in ipairs(args.text) do
      local r, err = threads.publish(ctx, { message = t,
        images = { img.image or "https://img.example/c.png" },
        idempotency_key = posts[i].idempotency_key, flags = FLAGS })
      if not r then return nil, err end
      ids[i] = r.id
    end
    return { ids = ids }
  end,
}
"""

SIX = " ".join(f"https://s{i}.example" for i in range(6))


def test_custom_recipe_flags_in_messages(th, host, foreign):
    recipe = host.recipe(CUSTOM, "custom.lua")
    run = th.run(recipe, "--text", "fine", "--text", SIX)
    assert run.code == 2, run
    assert "--text has 6 different links" in run.err
    assert "--message" not in run.err
    # without validate, the paid step already ran for nothing
    assert [r["path"] for r in foreign.requests()] == [CHAT, PUBLISH]


def test_custom_recipe_flags_after_sending(th, host, foreign):
    recipe = host.recipe(CUSTOM, "custom.lua")
    foreign.config(drop=1)          # the image's reply is dropped
    run = th.run(recipe, "--text", "one", "--key", "k")
    assert run.code == 1, run
    assert "repeat the same command with --key " in run.err
    assert "--idempotency-key" not in run.err


def test_validate_first_reports_everything_and_spends_nothing(th, host,
                                                              foreign):
    recipe = host.recipe(CUSTOM, "custom.lua")
    run = th.run(recipe, "--first", "--text", "fine", "--text", SIX,
                 "--text", "é" * 251, "--text", "", "--key", "same",
                 "--json")
    assert run.code == 2, run
    err = run.json()["error"]
    assert err["code"] == "usage"
    msg = err["message"]
    assert "post 2: --text has 6 different links" in msg
    assert "post 3: --text is 502 UTF-8 bytes (251 characters)" in msg
    assert "post 1:" not in msg and "post 4:" not in msg, \
        "a post whose image is still to come is not empty"
    assert msg.endswith("(nothing was sent)")
    assert foreign.requests() == [], "no paid step, no post"


def test_validate_first_then_everything_runs(th, host, foreign):
    recipe = host.recipe(CUSTOM, "custom.lua")
    run = th.run(recipe, "--first", "--text", "a", "--text", "b",
                 "--json")
    assert run.code == 0, run
    assert run.json()["ids"] == ["p2", "p3"]
    assert [r["path"] for r in foreign.requests()] == [CHAT, PUBLISH,
                                                       PUBLISH]


def test_validate_first_names_missing_settings(host, foreign):
    recipe = host.recipe(CUSTOM, "custom.lua")
    run = Threads(host, foreign.url).run(
        recipe, "--first", "--text", "a",
        env={"THREADS_QUEUE_SECRET": ""})
    assert run.code == 2, run
    assert "THREADS_QUEUE_SECRET" in run.err
    assert foreign.requests() == []
