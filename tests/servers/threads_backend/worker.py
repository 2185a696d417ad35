"""Publishing worker: moves due queue items through the fake Threads Graph
API (threads-api.md 6.3).

Per item: create the container(s) only when due; wait
``container_wait_s``; poll the status every ``poll_s`` for at most
``poll_max_s``; on FINISHED call ``threads_publish`` once.  The publish
mutation is never retried blindly: a definite "not ready" answer
(24/4279009) re-checks the old container and starts over with a new one
after a back-off of 5/25/125 s (at most 3 retries); a lost response is
disambiguated with status checks, and if none proves PUBLISHED the item
ends ``unconfirmed``.  All times are the fake clock's, so a test advances
the clock and calls ``POST /__test__/worker/tick``.
"""
from .fake_graph import GraphTimeout
from .store import PENDING

BACKOFF_S = (5, 25, 125)
MAX_ATTEMPTS = 1 + len(BACKOFF_S)
MAX_STEPS_PER_TICK = 64


def _graph_error(status, body, container_status=None):
    e = (body or {}).get("error") or {}
    return {"code": e.get("code"), "error_subcode": e.get("error_subcode"),
            "status": container_status, "http_status": status,
            "error_message": e.get("message")}


def _classify(g):
    sub, code = g.get("error_subcode"), g.get("code")
    if sub == 2207052:
        return "media_fetch_failed", False
    if code == 190:
        return "token_expired", False
    if sub in (2207051, 4279013):
        return "restricted", False
    if code in (4, 17, 32, 613):
        return "quota_exceeded", True
    if sub == 4279009 or (g.get("http_status") or 0) >= 500:
        return "container_error", True
    return "container_error", False


class Worker:
    def __init__(self, state, graph, settings):
        self.state = state
        self.graph = graph
        self.settings = settings      # callable -> runtime settings dict

    # -- driver ----------------------------------------------------------
    def due(self, item, now):
        if item["status"] in ("queued", "scheduled"):
            return item["_scheduled_ts"] <= now
        if item["status"] == "processing":
            nxt = item["_next_attempt_ts"]
            return nxt is not None and nxt <= now
        return False

    def tick(self):
        now = self.state.clock.now()
        transitions = []
        first_call = len(self.graph.calls)
        items = sorted((i for i in self.state.items.values()
                        if i["status"] in PENDING), key=self.state.work_key)
        for item in items:
            steps = 0
            while self.due(item, now) and steps < MAX_STEPS_PER_TICK:
                before = item["status"]
                self.step(item, now)
                steps += 1
                self.state.touch(item)
                if item["status"] != before:
                    transitions.append({"id": item["id"], "from": before,
                                        "to": item["status"],
                                        "at": self.state.clock.iso(now)})
        return {"ok": True, "now": self.state.clock.iso(now),
                "transitions": transitions,
                "graph_calls": len(self.graph.calls) - first_call}

    def step(self, item, now):
        if item["status"] in ("queued", "scheduled"):
            self.create(item, now)
        elif item["_phase"] == "wait":
            self.poll(item, now)
        elif item["_phase"] == "retry":
            self.retry(item, now)
        elif item["_phase"] == "confirm":
            self.confirm(item, now)
        else:                          # unknown phase: never loop forever
            item["_next_attempt_ts"] = None

    # -- outcomes --------------------------------------------------------
    def fail(self, item, code, message, graph=None, retryable=False):
        item["status"] = "failed"
        item["_next_attempt_ts"] = None
        item["_phase"] = None
        item["error"] = {"code": code, "message": message,
                         "retryable": retryable, "threads": graph}

    def published(self, item, now, media_id):
        item["status"] = "published"
        item["_published_ts"] = now
        item["_next_attempt_ts"] = None
        item["_phase"] = None
        item["error"] = None
        th = item["threads"]
        th["container_status"] = "PUBLISHED"
        th["media_id"] = media_id
        if media_id:
            status, body = self.graph.permalink(item["tenant_id"],
                                                item["id"], media_id)
            if status == 200:
                th["permalink"] = body.get("permalink")

    def again_later(self, item, now, graph):
        """A definite, retryable failure: back off, or give up."""
        if item["attempts"] < MAX_ATTEMPTS:
            item["status"] = "processing"
            item["_phase"] = "retry"
            item["_next_attempt_ts"] = now + BACKOFF_S[item["attempts"] - 1]
            item["error"] = None
            return
        self.fail(item, "container_error",
                  f"gave up after {item['attempts']} attempts", graph)

    # -- steps -----------------------------------------------------------
    def create(self, item, now):
        cfg = self.settings()
        tenant, iid = item["tenant_id"], item["id"]
        item["attempts"] += 1
        urls = [im["public_url"] for im in item["images"]]
        text = item["message"]
        if item["media_type"] == "TEXT":
            params = {"media_type": "TEXT", "text": text}
        elif item["media_type"] == "IMAGE":
            params = {"media_type": "IMAGE", "image_url": urls[0]}
        else:
            children = []
            for url in urls:
                status, body = self.graph.create_container(
                    tenant, iid, {"media_type": "IMAGE", "image_url": url,
                                  "is_carousel_item": True},
                    cfg["fake_in_progress_polls"])
                if status != 200:
                    return self.create_failed(item, now, status, body)
                children.append(body["id"])
            params = {"media_type": "CAROUSEL",
                      "children": ",".join(children)}
        if text and item["media_type"] != "TEXT":
            params["text"] = text
        status, body = self.graph.create_container(
            tenant, iid, params, cfg["fake_in_progress_polls"])
        if status != 200:
            return self.create_failed(item, now, status, body)
        item["status"] = "processing"
        item["_phase"] = "wait"
        item["threads"].update(container_id=body["id"],
                               container_status="IN_PROGRESS")
        item["_next_attempt_ts"] = now + cfg["container_wait_s"]
        item["_poll_deadline"] = item["_next_attempt_ts"] + cfg["poll_max_s"]

    def create_failed(self, item, now, status, body):
        g = _graph_error(status, body)
        code, retryable = _classify(g)
        if retryable:
            return self.again_later(item, now, g)
        message = g["error_message"] or "container creation failed"
        self.fail(item, code, message, g)

    def poll(self, item, now):
        cfg = self.settings()
        cid = item["threads"]["container_id"]
        try:
            status, body = self.graph.container_status(item["tenant_id"],
                                                        item["id"], cid)
        except GraphTimeout:
            status, body = 0, {}
        if status != 200:
            cs = None
        else:
            cs = body.get("status")
            item["threads"]["container_status"] = cs
        if cs == "FINISHED":
            return self.publish(item, now)
        if cs == "PUBLISHED":
            return self.published(item, now,
                                  self.graph.published_media_for(cid))
        if cs == "ERROR":
            return self.fail(item, "container_error",
                             "container processing failed: " +
                             str(body.get("error_message") or "UNKNOWN"),
                             _graph_error(status, {"error": {
                                 "message": body.get("error_message")}},
                                 "ERROR"))
        if cs == "EXPIRED":
            return self.fail(item, "container_expired",
                             "container expired before it was published",
                             _graph_error(status, {}, "EXPIRED"))
        if now >= item["_poll_deadline"]:
            return self.fail(item, "container_error",
                             "container not FINISHED within "
                             f"{cfg['poll_max_s']:g} s",
                             _graph_error(status, body, cs))
        item["_next_attempt_ts"] = now + cfg["poll_s"]

    def publish(self, item, now):
        cfg = self.settings()
        cid = item["threads"]["container_id"]
        try:
            status, body = self.graph.publish(item["tenant_id"], item["id"],
                                              cid)
        except GraphTimeout:
            # Outcome unknown: never publish again, find out instead.
            item["_phase"] = "confirm"
            item["_confirm_checks"] = 0
            item["_publish_ts"] = now
            item["_next_attempt_ts"] = now + cfg["poll_s"]
            return
        if status == 200:
            return self.published(item, now, body["id"])
        g = _graph_error(status, body, "FINISHED")
        code, retryable = _classify(g)
        if retryable:
            return self.again_later(item, now, g)
        self.fail(item, code, g["error_message"] or "publish failed", g)

    def retry(self, item, now):
        cid = item["threads"]["container_id"]
        if cid:
            try:
                status, body = self.graph.container_status(
                    item["tenant_id"], item["id"], cid)
            except GraphTimeout:
                status, body = 0, {}
            if status == 200 and body.get("status") == "PUBLISHED":
                return self.published(item, now,
                                      self.graph.published_media_for(cid))
        self.create(item, now)

    def confirm(self, item, now):
        cfg = self.settings()
        cid = item["threads"]["container_id"]
        try:
            status, body = self.graph.container_status(item["tenant_id"],
                                                       item["id"], cid)
        except GraphTimeout:
            status, body = 0, {}
        if status == 200:
            item["threads"]["container_status"] = body.get("status")
        if status == 200 and body.get("status") == "PUBLISHED":
            # The status call proves the post is live but does not name
            # it; the media id stays unknown (null).
            self.published(item, now, None)
            item["_published_ts"] = item["_publish_ts"]
            return
        item["_confirm_checks"] += 1
        if item["_confirm_checks"] >= cfg["confirm_checks"]:
            item["status"] = "unconfirmed"
            item["_phase"] = None
            item["_next_attempt_ts"] = None
            item["_published_ts"] = item["_publish_ts"]
            item["error"] = {
                "code": "publish_unconfirmed",
                "message": "threads_publish response was lost and "
                           f"{item['_confirm_checks']} status checks could "
                           "not prove the post is live; check Threads "
                           "before posting again",
                "retryable": False,
                "threads": {"code": None, "error_subcode": None,
                            "status": item["threads"]["container_status"],
                            "http_status": None,
                            "error_message": "timeout"}}
            return
        item["_next_attempt_ts"] = now + cfg["poll_s"]
