"""In-process fake of the Threads Graph API publishing endpoints.

Mimics threads-api.md section 2: ``POST /{user-id}/threads`` creates a
media container (TEXT, IMAGE, CAROUSEL; carousel children with
``is_carousel_item``), ``GET /{container-id}?fields=status,error_message``
reports IN_PROGRESS / FINISHED / ERROR / EXPIRED / PUBLISHED, and
``POST /{user-id}/threads_publish`` turns a FINISHED container into a
post.  Containers expire 24 h after creation.  Errors use the Graph
envelope ``{"error": {...}}``.  Every call is recorded so tests can
assert that a post was published exactly once.

Magic tags in the post text (threads-api.md 6.6):
  #fail-container    container status ERROR, error_message UNKNOWN
  #expire            container status EXPIRED
  #not-ready         first threads_publish -> code 24 / subcode 4279009
  #lost-response     publish succeeds, the caller sees a timeout; a later
                     status check shows PUBLISHED
  #lost-unconfirmed  publish succeeds, the caller sees a timeout and the
                     status checks time out too (-> item 'unconfirmed')
An image on host ``unreachable.test`` (or a local upload that does not
exist) fails container creation with subcode 2207052.
"""
import hashlib
import itertools
import random
import string
from urllib.parse import urlsplit

GRAPH = "/v1.0"
EXPIRY_S = 86400


class GraphTimeout(Exception):
    """The request reached the fake Graph but the response was lost."""


def graph_error(message, code, subcode=None, transient=False, title=None):
    e = {"message": message, "type": "OAuthException", "code": code,
         "is_transient": transient,
         "fbtrace_id": "A" + "".join(random.choices(
             string.ascii_letters + string.digits, k=22))}
    if subcode is not None:
        e["error_subcode"] = subcode
    if title:
        e["error_user_title"] = title
        e["error_user_msg"] = message
    return {"error": e}


def tags_of(text):
    text = (text or "").lower()
    return {t for t in ("#fail-container", "#expire", "#not-ready",
                        "#lost-response", "#lost-unconfirmed")
            if t in text}


class FakeGraph:
    def __init__(self, clock, media_exists):
        """media_exists(url) -> bool|None: None = not ours to judge."""
        self.clock = clock
        self.media_exists = media_exists
        self.reset()

    def reset(self):
        self.calls = []
        self.containers = {}
        self.posts = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._published_tried = set()

    # -- helpers ---------------------------------------------------------
    def user_id(self, tenant):
        h = int(hashlib.sha256(tenant.encode()).hexdigest()[:8], 16)
        return str(17841400000000000 + h % 10**9)

    def _new_id(self, base):
        return str(base + next(self._ids) * 7919 + random.randint(0, 7000))

    def _record(self, tenant, item_id, method, path, params, status, body,
                outcome="ok"):
        self.calls.append({
            "seq": next(self._seq), "at": self.clock.iso(),
            "tenant_id": tenant, "item_id": item_id, "method": method,
            "path": path, "params": params, "status": status,
            "response": body, "outcome": outcome})
        return status, body

    def _status_of(self, c):
        if c["published_media_id"]:
            return "PUBLISHED", None
        if "#fail-container" in c["tags"]:
            return "ERROR", "UNKNOWN"
        if "#expire" in c["tags"] or \
                self.clock.now() - c["created"] > EXPIRY_S:
            return "EXPIRED", None
        if c["polls"] < c["in_progress_polls"]:
            return "IN_PROGRESS", None
        return "FINISHED", None

    # -- endpoints -------------------------------------------------------
    def create_container(self, tenant, item_id, params, in_progress_polls):
        """POST /{user-id}/threads -> (status, body)."""
        uid = self.user_id(tenant)
        path = f"{GRAPH}/{uid}/threads"
        url = params.get("image_url")
        if url:
            host = (urlsplit(url).hostname or "").lower()
            if host == "unreachable.test" or self.media_exists(url) is False:
                return self._record(
                    tenant, item_id, "POST", path, params, 400,
                    graph_error("The media could not be fetched from this "
                                "URI", 1, 2207052, title="Media download "
                                "failed"))
        for child in (params.get("children") or "").split(","):
            if child and child not in self.containers:
                return self._record(
                    tenant, item_id, "POST", path, params, 400,
                    graph_error(f"Invalid children id {child}", 100))
        cid = self._new_id(17890000000000000)
        self.containers[cid] = {
            "id": cid, "tenant": tenant, "params": dict(params),
            "created": self.clock.now(), "polls": 0,
            "in_progress_polls": in_progress_polls,
            "tags": tags_of(params.get("text")), "publish_attempts": 0,
            "published_media_id": None}
        return self._record(tenant, item_id, "POST", path, params, 200,
                            {"id": cid})

    def container_status(self, tenant, item_id, cid):
        """GET /{container-id}?fields=status,error_message."""
        path = f"{GRAPH}/{cid}"
        params = {"fields": "id,status,error_message"}
        c = self.containers.get(cid)
        if c is None:
            return self._record(tenant, item_id, "GET", path, params, 400,
                                graph_error("Unsupported get request", 100,
                                            33))
        status, error_message = self._status_of(c)
        body = {"id": cid, "status": status}
        if error_message:
            body["error_message"] = error_message
        if status == "IN_PROGRESS":
            c["polls"] += 1
        elif c["polls"] < c["in_progress_polls"]:
            c["polls"] = c["in_progress_polls"]
        if "#lost-unconfirmed" in c["tags"] and c["published_media_id"]:
            self._record(tenant, item_id, "GET", path, params, 200, body,
                         outcome="timeout")
            raise GraphTimeout("status request timed out")
        return self._record(tenant, item_id, "GET", path, params, 200, body)

    def publish(self, tenant, item_id, cid):
        """POST /{user-id}/threads_publish creation_id=cid."""
        uid = self.user_id(tenant)
        path = f"{GRAPH}/{uid}/threads_publish"
        params = {"creation_id": cid}
        c = self.containers.get(cid)
        if c is None:
            return self._record(tenant, item_id, "POST", path, params, 400,
                                graph_error("Media Not Found", 24, 4279009,
                                            title="Media Not Found"))
        c["publish_attempts"] += 1
        status, _ = self._status_of(c)
        if status == "PUBLISHED":
            return self._record(tenant, item_id, "POST", path, params, 400,
                                graph_error("The media has already been "
                                            "published", 100, 2207035))
        if status in ("ERROR", "EXPIRED"):
            return self._record(tenant, item_id, "POST", path, params, 400,
                                graph_error(f"Container is {status}", 100,
                                            2207032))
        first_for_item = item_id not in self._published_tried
        self._published_tried.add(item_id)
        if status == "IN_PROGRESS" or (
                "#not-ready" in c["tags"] and first_for_item):
            return self._record(tenant, item_id, "POST", path, params, 400,
                                graph_error("Media Not Found", 24, 4279009,
                                            title="Media Not Found"))
        mid = self._new_id(18070000000000000)
        code = "".join(random.choices(string.ascii_letters + string.digits,
                                      k=11))
        c["published_media_id"] = mid
        self.posts[mid] = {
            "id": mid, "tenant_id": tenant, "item_id": item_id,
            "container_id": cid, "text": c["params"].get("text", ""),
            "media_type": c["params"].get("media_type"),
            "permalink": f"https://www.threads.net/@{tenant}/post/{code}",
            "published_at": self.clock.iso()}
        body = {"id": mid}
        if c["tags"] & {"#lost-response", "#lost-unconfirmed"}:
            self._record(tenant, item_id, "POST", path, params, 200, body,
                         outcome="timeout")
            raise GraphTimeout("publish response lost")
        return self._record(tenant, item_id, "POST", path, params, 200, body)

    def permalink(self, tenant, item_id, mid):
        """GET /{media-id}?fields=permalink (best effort)."""
        path = f"{GRAPH}/{mid}"
        params = {"fields": "id,permalink"}
        post = self.posts.get(mid)
        if post is None:
            return self._record(tenant, item_id, "GET", path, params, 400,
                                graph_error("Unsupported get request", 100,
                                            33))
        return self._record(tenant, item_id, "GET", path, params, 200,
                            {"id": mid, "permalink": post["permalink"]})

    def published_media_for(self, cid):
        c = self.containers.get(cid)
        return c and c["published_media_id"]
