"""The FastAPI application: threads-api.md section 6 on top of the fakes.

``build(static, port)`` returns ``(asgi_app, backend)``; the ASGI app is
the FastAPI app wrapped in ``Outer``, a raw ASGI middleware that adds
``X-Request-Id`` and can drop a connection without any response.
"""
import asyncio
import hashlib
import json
import math
import os
import secrets
import shutil
import socket
import time
import uuid
from urllib.parse import unquote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from . import config as cfgmod
from . import images
from . import validation as V
from .fake_graph import FakeGraph
from .fake_replicate import DELIVERY_PREFIX, FakeReplicate, Throttled
from .fetcher import FetchError, Fetcher
from .store import STATES, Clock, State, decode_cursor, encode_cursor
from .worker import Worker

VERSION = "ref-1"
BODY_LIMIT = 64 * 1024
DRAIN_LIMIT = 16 * 1024 * 1024
PUBLISH_PATH = "/api/v1/threads/publish"
CHAT_PATH = "/api/v1/assistant/chat"
COST_USD = {"black-forest-labs/flux-1.1-pro": 0.04,
            "black-forest-labs/flux-schnell": 0.003}


def _finite(value):
    """JSON-safe copy: NaN/Infinity echoed from input become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class Json(JSONResponse):
    def render(self, content):
        return json.dumps(_finite(content), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")


class DropResponse(Response):
    """Makes ``Outer`` close the connection instead of answering."""

    async def __call__(self, scope, receive, send):
        scope["ref.drop"] = True
        await send({"type": "http.response.start", "status": 500,
                    "headers": []})


class Outer:
    """Raw ASGI wrapper: X-Request-Id on every response; when a handler
    asked for a drop, close the socket through uvicorn's transport (the
    ``send`` callable is a bound method of uvicorn's request cycle) so
    the client sees the connection end with no response bytes at all."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self._nodelay(send)
        rid = None
        for k, v in scope.get("headers", []):
            if k == b"x-request-id":
                rid = v.decode("latin-1")
        if not rid or len(rid) > 128 or not rid.isprintable() or \
                not rid.isascii():
            rid = uuid.uuid4().hex

        async def send_wrapper(message):
            if scope.get("ref.drop"):
                if message["type"] == "http.response.start":
                    await self._drop(send, message)
                return
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [
                    (b"x-request-id", rid.encode("latin-1"))]
            await send(message)
        await self.app(scope, receive, send_wrapper)

    @staticmethod
    def _nodelay(send):
        """uvicorn writes headers and body separately; without
        TCP_NODELAY the body waits ~40 ms for the client's delayed ACK
        on every keep-alive request."""
        transport = getattr(getattr(send, "__self__", None), "transport",
                            None)
        sock = transport.get_extra_info("socket") if transport else None
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    @staticmethod
    async def _drop(send, message):
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is not None and hasattr(cycle, "disconnected"):
            cycle.disconnected = True     # uvicorn must not add a 500
            transport.close()
            return
        # Unknown server: best effort -- headers, then an abort.
        await send(message)
        raise ConnectionAbortedError("injected connection drop")


class _Pending:
    """What a POST handler holds while it runs (settled in finally)."""

    def __init__(self):
        self.scope = None          # idempotency scope held in flight
        self.record = None         # (status, body, headers) to store
        self.stored = False        # an item is stored behind this answer
        self.dedup_key = None
        self.reserved_tenant = None


class Backend:
    def __init__(self, static, port):
        self.static = static
        self.port = port
        self.own_base = f"http://127.0.0.1:{port}"
        self.settings = dict(static.runtime)
        self.clock = Clock()
        self.state = State(self.clock)
        self.state.set_quota_preset(self.settings["quota_preset"])
        self.graph = FakeGraph(self.clock, self.media_exists)
        self.replicate = FakeReplicate(self.clock)
        self.worker = Worker(self.state, self.graph, lambda: self.settings)
        self.fetcher = Fetcher(self.replicate, static.proxy_allow)
        self.fetcher.set_own_port(port)
        self.samples = _Samples()
        self.tick_lock = asyncio.Lock()
        self.stopping = asyncio.Event()
        self.loop_task = None
        os.makedirs(static.uploads_dir, exist_ok=True)

    # -- responses -------------------------------------------------------
    def detail(self, http_status, code, message, headers=None, **extra):
        if self.settings["error_style"] == "string":
            body = {"detail": message}
        else:
            body = {"detail": {"code": code, "message": message, **extra}}
        return Json(body, http_status, headers)

    def invalid(self, errors):
        if self.settings["error_style"] == "string":
            text = "; ".join(".".join(str(p) for p in e["loc"]) + ": " +
                             e["msg"] for e in errors)
            return Json({"detail": text}, 422)
        return Json({"detail": errors}, 422)

    def unavailable(self):
        return self.detail(503, "unavailable",
                           "Service temporarily unavailable (test switch "
                           "REF_FAIL_MODE=unavailable)",
                           {"Retry-After": "2"})

    def auth(self, request):
        given = request.headers.get("x-queue-secret")
        if not given:
            return Json({"detail": "Not authenticated"}, 401,
                        {"WWW-Authenticate": "APIKey"})
        if not secrets.compare_digest(given.encode("latin-1"),
                                      self.static.secret.encode("utf-8")):
            return self.detail(403, "invalid_queue_secret",
                               "Invalid X-Queue-Secret")
        return None

    async def sleep(self, seconds):
        """Sleep, but wake up at once when the server is stopping so a
        SIGTERM never waits for injected delays."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def delay(self):
        ms = self.settings["fault_delay_ms"]
        if ms:
            await self.sleep(ms / 1000)

    def take(self, name):
        if self.settings[name] > 0:
            self.settings[name] -= 1
            return True
        return False

    def before_body_faults(self):
        if self.take("fault_rate_limit"):
            s = self.settings["fault_rate_limit_retry_after_s"]
            return self.detail(429, "rate_limited",
                               "Too many requests (injected fault)",
                               {"Retry-After": str(s)}, retry_after_s=s)
        if self.take("fault_in_use"):
            return self.in_use()
        return None

    def in_use(self):
        return self.detail(409, "idempotency_key_in_use",
                           "A request with this Idempotency-Key is still "
                           "being processed; retry later",
                           {"Retry-After": "1"})

    def after_store_faults(self, response, pending):
        if not pending.stored:
            return response
        if self.take("fault_drop_after_store"):
            return DropResponse()
        if self.take("fault_fail_after_store"):
            return self.detail(500, "internal_error",
                               "Internal error after the item was stored "
                               "(injected fault)")
        return response

    def settle(self, pending):
        if pending.reserved_tenant is not None:
            self.state.reserved[pending.reserved_tenant] -= 1
            pending.reserved_tenant = None
        if pending.dedup_key is not None:
            ev = self.state.dedup_inflight.pop(pending.dedup_key, None)
            if ev:
                ev.set()
        if pending.scope is not None:
            if pending.record is not None:
                self.state.idem_finish(pending.scope, *pending.record)
            else:
                self.state.idem_abandon(pending.scope)

    @staticmethod
    def replay(rec):
        body = dict(rec["body"])
        body["idempotent_replay"] = True
        headers = dict(rec["headers"] or {})
        headers["Idempotency-Replayed"] = "true"
        return Json(body, rec["status"], headers)

    def idempotency(self, scope, body_hash, pending):
        """None to go on, or the response for a known key."""
        rec = self.state.idem_get(scope, self.settings["idempotency_ttl_s"])
        if rec is not None:
            if not rec["done"]:
                return self.in_use()
            if rec["hash"] != body_hash:
                return self.invalid([V.err(
                    "idempotency_key_reused", ["header", "idempotency-key"],
                    "This Idempotency-Key was already used with a "
                    "different request body", scope[-1])])
            pending.stored = True
            return self.replay(rec)
        self.state.idem_begin(scope, body_hash)
        pending.scope = scope
        return None

    # -- request body ----------------------------------------------------
    async def read_body(self, request):
        """bytes, or None when larger than BODY_LIMIT (drained first so
        the client reliably reads the 413 before the socket closes)."""
        length = request.headers.get("content-length", "")
        too_big = length.isdigit() and int(length) > BODY_LIMIT
        buf = bytearray()
        async for chunk in request.stream():
            if too_big or len(buf) + len(chunk) > BODY_LIMIT:
                too_big = True
                if len(buf) > DRAIN_LIMIT:
                    break
                buf += chunk
                continue
            buf += chunk
        return None if too_big else bytes(buf)

    def too_large(self):
        return self.detail(413, "payload_too_large",
                           f"Request body is larger than {BODY_LIMIT} bytes",
                           limit_bytes=BODY_LIMIT)

    # -- storage ---------------------------------------------------------
    def public_base(self, request):
        if self.static.public_base_url:
            return self.static.public_base_url
        return str(request.base_url).rstrip("/")

    def save_upload(self, tenant, name, data):
        folder = os.path.join(self.static.uploads_dir, tenant)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            tmp = path + ".part-" + secrets.token_hex(4)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return f"{self.static.uploads_path}/{tenant}/{name}"

    def media_exists(self, url):
        """For the fake Graph: does an own URL point at something real?"""
        parts = urlsplit(url)
        own = {urlsplit(self.own_base).netloc, f"localhost:{self.port}"}
        if self.static.public_base_url:
            own.add(urlsplit(self.static.public_base_url).netloc)
        if parts.netloc.lower() not in own:
            return None
        path = unquote(parts.path)
        prefix = self.static.uploads_path + "/"
        if path.startswith(prefix):
            root = os.path.realpath(self.static.uploads_dir)
            full = os.path.realpath(os.path.join(root, path[len(prefix):]))
            return full.startswith(root + os.sep) and os.path.isfile(full)
        if path.startswith("/samples/"):
            return self.samples.get(path[len("/samples/"):]) is not None
        if path.startswith(DELIVERY_PREFIX):
            pid = path[len(DELIVERY_PREFIX):].split("/")[0]
            return self.replicate.delivery(pid) is not None
        return None

    async def proxy_images(self, urls, tenant, proxy, base):
        if not proxy:
            return [{"source_url": u, "public_url": u, "proxied": False,
                     "content_type": None, "bytes": None, "width": None,
                     "height": None} for u in urls], []
        timeout = self.settings["image_timeout_s"]
        limit = self.settings["image_max_bytes"]
        results = await asyncio.gather(
            *(self.fetcher.fetch(u, timeout, limit) for u in urls),
            return_exceptions=True)
        errors, out = [], []
        for i, (url, res) in enumerate(zip(urls, results)):
            if isinstance(res, FetchError):
                errors.append(V.err(res.type, ["body", "images", i],
                                    res.msg, url, res.ctx))
            elif isinstance(res, BaseException):
                errors.append(V.err("image_fetch_failed",
                                    ["body", "images", i],
                                    "Could not fetch image", url,
                                    {"reason": type(res).__name__}))
            else:
                ext = "png" if res["content_type"] == "image/png" else "jpg"
                name = hashlib.sha256(res["data"]).hexdigest()[:32] + \
                    "." + ext
                path = self.save_upload(tenant, name, res["data"])
                out.append({"source_url": url, "public_url": base + path,
                            "proxied": True,
                            "content_type": res["content_type"],
                            "bytes": len(res["data"]),
                            "width": res["width"], "height": res["height"]})
        return out, errors

    # -- enqueue ---------------------------------------------------------
    def quota_block(self, tenant):
        used = self.state.quota_used(tenant)
        limit = self.settings["quota_limit"]
        if used < limit:
            return None
        ra = self.state.quota_retry_after(tenant)
        return self.detail(
            429, "threads_quota_exceeded",
            f"Tenant {tenant} reached {limit} posts in the rolling 24 h "
            "window", {"Retry-After": str(ra)}, limit_24h=limit,
            used_24h=used, retry_after_s=ra)

    def enqueue_body(self, item, deduplicated=False, warnings=()):
        return {
            "ok": True, "id": item["id"], "status": item["status"],
            "publish_mode": item["publish_mode"],
            "tenant_id": item["tenant_id"],
            "media_type": item["media_type"],
            "scheduled_at": V.iso(item["_scheduled_ts"]),
            "created_at": V.iso(item["_created_ts"]),
            "position": self.state.position(item),
            "images": json.loads(json.dumps(item["images"])),
            "quota": {"used_24h": self.state.quota_used(item["tenant_id"]),
                      "limit_24h": self.settings["quota_limit"]},
            "idempotent_replay": False, "deduplicated": deduplicated,
            "warnings": list(warnings)}

    def create_item(self, clean, images_out, idem_key, pending, warnings):
        """Synchronous: release the quota reservation and store."""
        tenant = clean["meta"]["tenant_id"]
        now = self.clock.now()
        mode = clean["publish_mode"]
        ts = clean["scheduled_at"]
        status = "queued"
        if mode == "now":
            ts = now
        elif ts is None:
            ts = self.state.next_slot(tenant, self.settings["min_spacing_s"],
                                      now)
        elif ts < now:
            warnings.append("scheduled_at was %d s in the past; queued for "
                            "now" % round(now - ts))
            ts = now
        else:
            status = "scheduled" if ts > now else "queued"
        if pending.reserved_tenant is not None:
            self.state.reserved[pending.reserved_tenant] -= 1
            pending.reserved_tenant = None
        meta = {k: v for k, v in clean["meta"].items()
                if k != "tenant_id" and (v is not None or k in (
                    "source", "chat_id", "user_id", "username"))}
        return self.state.new_item(
            tenant=tenant, message=clean["message"], images=images_out,
            scheduled_ts=ts, mode=mode, meta=meta,
            idempotency_key=idem_key, status=status)

    def reserve(self, tenant, pending):
        self.state.reserved[tenant] += 1
        pending.reserved_tenant = tenant

    # -- POST /api/v1/threads/publish ------------------------------------
    # The front both POST routes share, in the order FastAPI meets it:
    # availability, body size, the secret, injected faults, then the JSON
    # body and the Idempotency-Key, whose problems are reported together.
    # Returns (response, None) to answer at once, else (None, (value,
    # clean, key)).
    async def intake(self, request, validate, need_secret=True):
        if self.settings["fail_mode"] == "unavailable":
            return self.unavailable(), None
        raw = await self.read_body(request)
        if raw is None:
            return self.too_large(), None
        denied = self.auth(request) if need_secret else None
        if denied:
            return denied, None
        fault = self.before_body_faults()
        if fault:
            return fault, None
        value, errors = V.parse_json_body(
            raw, request.headers.get("content-type"))
        key, key_errors = V.check_idempotency_key(
            request.headers.get("idempotency-key"))
        clean = None
        if value is not V.MISSING:
            clean, body_errors = validate(value)
            errors = errors + body_errors
        if key_errors or errors:
            return self.invalid(key_errors + errors), None
        return None, (value, clean, key)

    async def publish(self, request, pending):
        # With a valid Idempotency-Key, a date that has passed since the
        # first request does not stop its replay: the date rules come
        # after the idempotency check (they still apply to new keys).
        keyed = V.check_idempotency_key(
            request.headers.get("idempotency-key"))[0] is not None
        early, got = await self.intake(request, lambda v: V.validate_publish(
            v, self.clock.now(), self.settings["strict_extra"], keyed))
        if early is not None:
            return early
        value, clean, key = got
        tenant = clean["meta"]["tenant_id"]
        body_hash = hashlib.sha256(
            V.canonical_hash_input(value).encode()).hexdigest()
        if key is not None:
            known = self.idempotency((tenant, "publish", key), body_hash,
                                     pending)
            if known is not None:
                return known
        if clean["date_errors"]:
            return self.invalid(clean["date_errors"])

        warnings = []
        dkey = None
        if self.settings["dedup_s"] > 0:
            dkey = (tenant, clean["meta"]["chat_id"], hashlib.sha256(
                V.canonical_hash_input([
                    clean["message"], clean["images"],
                    V.iso(clean["scheduled_at"])]).encode()).hexdigest())
            while dkey in self.state.dedup_inflight:
                await self.state.dedup_inflight[dkey].wait()
            existing = self.state.dedup_find(dkey, self.settings["dedup_s"])
            if existing is not None:
                body = self.enqueue_body(existing, deduplicated=True)
                headers = {"Location": "/api/v1/threads/queue/" +
                           existing["id"]}
                pending.record = (200, body, headers)
                pending.stored = True
                return Json(body, 200, headers)
            self.state.dedup_inflight[dkey] = asyncio.Event()
            pending.dedup_key = dkey

        blocked = self.quota_block(tenant)
        if blocked:
            return blocked
        self.reserve(tenant, pending)
        images_out, img_errors = await self.proxy_images(
            clean["images"], tenant, clean["auto_proxy_images"],
            self.public_base(request))
        if img_errors:
            return self.invalid(img_errors)
        if clean["images"] and not clean["auto_proxy_images"]:
            warnings.append("auto_proxy_images is false: Threads must be "
                            "able to fetch the images from their original "
                            "URLs at publish time")
        item = self.create_item(clean, images_out, key, pending, warnings)
        if dkey is not None:
            self.state.dedup[dkey] = (item["id"], self.clock.now())
        body = self.enqueue_body(item, warnings=warnings)
        headers = {"Location": "/api/v1/threads/queue/" + item["id"]}
        pending.record = (202, body, headers)
        pending.stored = True
        return Json(body, 202, headers)

    # -- POST /api/v1/assistant/chat -------------------------------------
    async def chat(self, request, pending):
        strict = self.settings["strict_extra"]
        early, got = await self.intake(
            request, lambda v: V.validate_chat(v, strict),
            self.settings["assistant_require_secret"])
        if early is not None:
            return early
        value, clean, key = got
        ctx = clean["context"]
        tenant = ctx["tenant_id"]
        prompt = (ctx["prompt"] or "").strip() or \
            (ctx["message"] or "").strip() or clean["message"].strip()
        caption = (ctx["message"] or "").strip() or (
            f"{prompt} #{ctx['campaign']}" if ctx["campaign"] else prompt)
        caption = V.utf8_truncate(caption, V.TEXT_LIMIT).rstrip()
        base = (ctx["api_base_url"] or self.public_base(request)).rstrip("/")
        model = ctx["model"]
        gen_input = {"prompt": prompt, "aspect_ratio": "4:5",
                     "output_format": "jpg", "output_quality": 90,
                     "safety_tolerance": 2}
        meta = {"tenant_id": tenant, "source": ctx["source"],
                "chat_id": None, "user_id": None, "username": None,
                "campaign": ctx["campaign"]}
        # The post is checked like a publish request before any cost.
        probe = {"message": caption,
                 "images": [f"{base}{self.static.uploads_path}/{tenant}/"
                            "pending.jpg"],
                 "scheduled_at": None, "publish_mode": "queue",
                 "auto_proxy_images": False, "meta": meta}
        enqueue_clean, enqueue_errors = V.validate_publish(
            probe, self.clock.now())
        if enqueue_errors:
            return self.enqueue_failed(422, enqueue_errors)
        if not clean["execute_tools"]:
            return Json(self.planned(clean, prompt, caption, gen_input))

        body_hash = hashlib.sha256(
            V.canonical_hash_input(value).encode()).hexdigest()
        idem_key = f"assistant:{clean['session_id']}:{key or body_hash}"
        known = self.idempotency((tenant, "assistant", idem_key), body_hash,
                                 pending)
        if known is not None:
            return known
        blocked = self.quota_block(tenant)
        if blocked:
            return self.enqueue_failed(429, json.loads(blocked.body)[
                "detail"], blocked.headers.get("retry-after"))
        self.reserve(tenant, pending)

        started = time.monotonic()
        pred, failure = await self.generate(model, gen_input, ctx, base)
        if failure is not None:
            return failure
        latency_ms = int((time.monotonic() - started) * 1000)
        try:
            got = await self.fetcher.fetch(
                pred["output"], self.settings["image_timeout_s"],
                self.settings["image_max_bytes"])
        except FetchError as e:
            return self.detail(502, "image_download_failed",
                               "Could not download the generated image: " +
                               e.msg, prediction_id=pred["id"],
                               output_url=pred["output"])
        path = self.save_upload(tenant, pred["id"] + ".jpg", got["data"])
        public_url = base + path
        images_out = [{"source_url": pred["output"], "public_url": public_url,
                       "proxied": True, "content_type": got["content_type"],
                       "bytes": len(got["data"]), "width": got["width"],
                       "height": got["height"]}]
        warnings = []
        item = self.create_item(enqueue_clean, images_out, idem_key,
                                pending, warnings)
        cost = COST_USD[model]
        body = {
            "ok": True, "session_id": clean["session_id"],
            "reply": f"Generated 1 image and queued it for Threads "
                     f"({item['id']}), scheduled "
                     f"{V.iso(item['_scheduled_ts'])}.",
            "tool_calls": [
                {"name": "generate_image", "status": "succeeded",
                 "provider": "replicate", "model": model,
                 "prediction_id": pred["id"],
                 "prediction_status": pred["status"],
                 "statuses": pred["_seen"],
                 "output_url": pred["output"], "public_url": public_url,
                 "latency_ms": latency_ms, "cost_usd": cost},
                {"name": "enqueue_threads_post", "status": "succeeded",
                 "queue_item_id": item["id"]}],
            "queue_item": {"id": item["id"], "status": item["status"],
                           "scheduled_at": V.iso(item["_scheduled_ts"])},
            "campaign": ctx["campaign"],
            "usage": {"images": 1, "cost_usd": cost},
            "idempotent_replay": False}
        pending.record = (200, body, {})
        pending.stored = True
        return Json(body, 200)

    def enqueue_failed(self, status, cause, retry_after=None):
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        if self.settings["error_style"] == "string":
            text = cause if isinstance(cause, str) else (
                cause.get("message") if isinstance(cause, dict) else
                "; ".join(".".join(str(p) for p in e["loc"]) + ": " +
                          e["msg"] for e in cause))
            return Json({"detail": "Could not queue the post: " + text},
                        status, headers)
        return Json({"detail": {"code": "enqueue_failed",
                                "message": "Could not queue the post",
                                "cause": cause}}, status, headers)

    def planned(self, clean, prompt, caption, gen_input):
        ctx = clean["context"]
        return {
            "ok": True, "session_id": clean["session_id"],
            "reply": f"Plan: generate 1 image with {ctx['model']} and queue "
                     "it for Threads. execute_tools is false, so nothing "
                     "was generated or queued.",
            "tool_calls": [
                {"name": "generate_image", "status": "planned",
                 "provider": "replicate", "model": ctx["model"],
                 "input": gen_input},
                {"name": "enqueue_threads_post", "status": "planned",
                 "tenant_id": ctx["tenant_id"], "message": caption}],
            "queue_item": None, "campaign": ctx["campaign"],
            "usage": {"images": 0, "cost_usd": 0.0}}

    async def generate(self, model, gen_input, ctx, base):
        """Run (or resume) a fake prediction, Prefer: wait style.
        -> (prediction, None) or (None, error response)."""
        if ctx["prediction_id"]:
            pred = self.replicate.get(ctx["prediction_id"])
            if pred is None:
                return None, self.detail(
                    404, "prediction_not_found",
                    f"No prediction {ctx['prediction_id']}")
        else:
            try:
                pred = self.replicate.create(
                    model, gen_input, self.settings["fake_gen_ms"],
                    self.settings["gen_timeout_s"], self.own_base)
            except Throttled as t:
                return None, self.detail(
                    429, "upstream_throttled",
                    "Replicate: " + t.body["detail"],
                    {"Retry-After": str(t.retry_after_s)},
                    retry_after_s=t.retry_after_s, upstream=t.body)
        seen = [pred["status"]]
        deadline = time.monotonic() + self.settings["gen_timeout_s"]
        while pred["status"] in ("starting", "processing"):
            if time.monotonic() >= deadline:
                return None, self.detail(
                    504, "image_generation_timeout",
                    f"Prediction {pred['id']} still {pred['status']} after "
                    f"{self.settings['gen_timeout_s']:g} s",
                    prediction_id=pred["id"],
                    prediction_status=pred["status"])
            if self.stopping.is_set():
                return None, self.detail(503, "unavailable",
                                         "Server is shutting down",
                                         {"Retry-After": "2"})
            await asyncio.sleep(0.02)
            pred = self.replicate.get(pred["id"])
            if pred["status"] != seen[-1]:
                seen.append(pred["status"])
        if pred["status"] != "succeeded":
            return None, self.detail(
                502, "image_generation_failed",
                f"Prediction {pred['id']} {pred['status']}: {pred['error']}",
                prediction_id=pred["id"], prediction_status=pred["status"],
                error=pred["error"])
        pred["_seen"] = seen
        return pred, None

    # -- queue endpoints -------------------------------------------------
    async def guard(self, request):
        if self.settings["fail_mode"] == "unavailable":
            return self.unavailable()
        denied = self.auth(request)
        if denied:
            return denied
        await self.delay()
        return None

    def list_queue(self, request):
        q = request.query_params
        errors = []
        statuses = None
        if q.get("status"):
            statuses = [s.strip() for s in q["status"].split(",")]
            bad = [s for s in statuses if s not in STATES]
            if bad:
                expected = ", ".join(f"'{s}'" for s in STATES[:-1]) + \
                    f" or '{STATES[-1]}'"
                errors.append(V.err("literal_error", ["query", "status"],
                                    f"Input should be {expected}", bad[0],
                                    {"expected": expected}))
        limit = 50
        if q.get("limit") is not None:
            try:
                limit = int(q["limit"])
            except ValueError:
                errors.append(V.err(
                    "int_parsing", ["query", "limit"],
                    "Input should be a valid integer, unable to parse "
                    "string as an integer", q["limit"]))
            else:
                if limit < 1:
                    errors.append(V.err(
                        "greater_than_equal", ["query", "limit"],
                        "Input should be greater than or equal to 1",
                        q["limit"], {"ge": 1}))
                elif limit > 200:
                    errors.append(V.err(
                        "less_than_equal", ["query", "limit"],
                        "Input should be less than or equal to 200",
                        q["limit"], {"le": 200}))
        after = None
        if q.get("cursor"):
            after = decode_cursor(q["cursor"])
            if after is None:
                errors.append(V.err("value_error", ["query", "cursor"],
                                    "Value error, invalid cursor",
                                    q["cursor"], {"error": "invalid cursor"}))
        if errors:
            return self.invalid(errors)
        items = [i for i in self.state.items.values()
                 if (not q.get("tenant_id") or
                     i["tenant_id"] == q["tenant_id"])
                 and (statuses is None or i["status"] in statuses)
                 and (not q.get("source") or
                      i["meta"].get("source") == q["source"])]
        items.sort(key=self.state.list_key)
        if after is not None:
            items = [i for i in items if self.state.list_key(i) > after]
        page = items[:limit]
        nxt = (encode_cursor(self.state.list_key(page[-1]))
               if len(items) > limit else None)
        return Json({"ok": True,
                     "items": [self.state.public(i) for i in page],
                     "count": len(page), "next_cursor": nxt})

    def get_item(self, item_id):
        item = self.state.items.get(item_id)
        if item is None:
            return None, self.detail(404, "not_found",
                                     f"Queue item {item_id} not found")
        return item, None

    def item_response(self, item):
        return Json({"ok": True, **self.state.public(item)})

    def cancel(self, item_id):
        item, missing = self.get_item(item_id)
        if missing:
            return missing
        if item["status"] not in ("queued", "scheduled"):
            return self.detail(409, "not_cancelable",
                               f"Item is {item['status']} and can no "
                               "longer be canceled", status=item["status"])
        item["status"] = "canceled"
        self.state.touch(item)
        return self.item_response(item)

    def quota(self, request):
        tenant = request.query_params.get("tenant_id")
        if tenant is None:
            return self.invalid([V.err("missing", ["query", "tenant_id"],
                                       "Field required", None)])
        if not V._TENANT_RE.match(tenant):
            return self.invalid([V.err(
                "string_pattern_mismatch", ["query", "tenant_id"],
                f"String should match pattern '{V.TENANT_PATTERN}'", tenant,
                {"pattern": V.TENANT_PATTERN})])
        used = self.state.quota_used(tenant)
        limit = self.settings["quota_limit"]
        return Json({"ok": True, "tenant_id": tenant, "used_24h": used,
                     "limit_24h": limit, "window_s": 86400,
                     "remaining": max(0, limit - used)})

    # -- test hooks ------------------------------------------------------
    def reset(self):
        self.settings = dict(self.static.runtime)
        self.clock.offset = 0.0
        self.state.reset(self.settings["quota_preset"])
        self.graph.reset()
        self.replicate.reset()
        for name in os.listdir(self.static.uploads_dir):
            path = os.path.join(self.static.uploads_dir, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)

    def set_config(self, updates):
        new, errors = cfgmod.apply_runtime(self.settings, updates)
        if errors:
            return None, errors
        if new["quota_preset"] != self.settings["quota_preset"]:
            self.state.set_quota_preset(new["quota_preset"])
        self.settings = new
        return new, []

    async def tick(self):
        async with self.tick_lock:
            return self.worker.tick()

    async def run_loop(self):
        while True:
            interval = self.settings["worker_interval_s"]
            if interval > 0:
                try:
                    await self.tick()
                except Exception:       # keep the loop alive; log it
                    import logging
                    logging.getLogger("threads_backend").exception(
                        "worker tick failed")
                await self.sleep(interval)
            else:
                await self.sleep(0.2)
            if self.stopping.is_set():
                return


class _Samples:
    """Images generated in code, served under /samples/."""

    def __init__(self):
        self.cache = {}

    SPECS = {
        "cat.png": ("png", 96, 120), "cat.jpg": ("jpg", 320, 400),
        "dog.png": ("png", 120, 120), "dog.jpg": ("jpg", 320, 320),
        "sunset.png": ("png", 160, 96), "sunset.jpg": ("jpg", 480, 272),
    }
    OTHER = {"anim.gif": ("image/gif", images.TINY_GIF),
             "photo.webp": ("image/webp", images.TINY_WEBP),
             "notimage.txt": ("text/plain; charset=utf-8",
                              b"this is not an image\n")}

    def names(self):
        return sorted(list(self.SPECS) + list(self.OTHER) +
                      ["big.png", "slow.png", "redirect.png"])

    def get(self, name):
        """(content type, bytes) or None."""
        if name in self.OTHER:
            return self.OTHER[name]
        spec = self.SPECS.get(name)
        if spec is None:
            return None
        if name not in self.cache:
            kind, w, h = spec
            seed = name.split(".")[0]
            data = (images.sample_png(seed, w, h) if kind == "png"
                    else images.sample_jpeg(seed, w, h))
            self.cache[name] = ("image/png" if kind == "png"
                                else "image/jpeg", data)
        return self.cache[name]


def _exception_handlers(app, backend):
    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc):
        # Safety net for FastAPI-declared parameters: v1 errors in the
        # v2 list shape the rest of the API uses.
        errors = []
        for e in exc.errors():
            t = e.get("type", "value_error")
            t = {"value_error.missing": "missing",
                 "type_error.integer": "int_parsing",
                 "type_error.str": "string_type"}.get(t, t.split(".")[-1])
            errors.append(V.err(t, e.get("loc", []), e.get("msg", ""),
                                None))
        return backend.invalid(errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc):
        headers = getattr(exc, "headers", None)
        return Json({"detail": exc.detail}, exc.status_code, headers)


def build(static, port):
    backend = Backend(static, port)
    app = FastAPI(title="ThreadClaw offline reference backend",
                  version=VERSION)
    _exception_handlers(app, backend)
    b = backend

    @app.on_event("startup")
    async def _startup():
        await b.fetcher.start()
        b.loop_task = asyncio.create_task(b.run_loop())

    @app.on_event("shutdown")
    async def _shutdown():
        if b.loop_task:
            b.loop_task.cancel()
        await b.fetcher.close()

    @app.get("/health")
    async def health():
        if b.settings["fail_mode"] == "unavailable":
            return b.unavailable()
        return Json({"ok": True, "version": VERSION,
                     "storage_provider": b.static.storage_provider,
                     "fake_threads": True, "fake_replicate": True,
                     "uploads_path": b.static.uploads_path,
                     "test_hooks": b.static.test_hooks})

    async def _post(handler, request):
        pending = _Pending()
        try:
            response = await handler(request, pending)
            await b.delay()
        finally:
            b.settle(pending)
        return b.after_store_faults(response, pending)

    @app.post(PUBLISH_PATH)
    async def publish(request: Request):
        return await _post(b.publish, request)

    @app.post(CHAT_PATH)
    async def chat(request: Request):
        return await _post(b.chat, request)

    @app.get("/api/v1/threads/queue")
    async def list_queue(request: Request):
        return await b.guard(request) or b.list_queue(request)

    @app.get("/api/v1/threads/queue/{item_id}")
    async def get_item(item_id: str, request: Request):
        denied = await b.guard(request)
        if denied:
            return denied
        item, missing = b.get_item(item_id)
        return missing or b.item_response(item)

    @app.get("/api/v1/threads/jobs/{item_id}")
    async def get_job(item_id: str, request: Request):
        return await get_item(item_id, request)

    @app.delete("/api/v1/threads/queue/{item_id}")
    async def cancel(item_id: str, request: Request):
        return await b.guard(request) or b.cancel(item_id)

    @app.get("/api/v1/threads/quota")
    async def quota(request: Request):
        return await b.guard(request) or b.quota(request)

    @app.get("/samples/")
    async def samples_index(request: Request):
        base = str(request.base_url).rstrip("/")
        return Json({"ok": True, "samples": [
            f"{base}/samples/{n}" for n in b.samples.names()]})

    @app.get("/samples/{name}")
    async def sample(name: str, request: Request):
        if name == "big.png":
            size = b.settings["image_max_bytes"] + 1
            return Response(images.PNG_SIG + bytes(size - 8),
                            media_type="image/png")
        if name == "slow.png":
            try:
                ms = min(int(request.query_params.get("ms", "1000")), 60000)
            except ValueError:
                ms = 1000
            await b.sleep(max(ms, 0) / 1000)
            if b.stopping.is_set():
                return Json({"detail": "Server is shutting down"}, 503)
            name = "cat.png"
        if name == "redirect.png":
            target = request.query_params.get("to", "/samples/cat.png")
            return Response(status_code=302, headers={"Location": target})
        got = b.samples.get(name)
        if got is None:
            return Json({"detail": "Not Found"}, 404)
        return Response(got[1], media_type=got[0])

    @app.get(DELIVERY_PREFIX + "{pid}/out-0.jpg")
    async def delivery(pid: str):
        data = b.replicate.delivery(pid)
        if data is None:
            return Json({"detail": "Not Found"}, 404)
        return Response(data, media_type="image/jpeg")

    @app.get("/__fake__/replicate/v1/predictions/{pid}")
    async def prediction(pid: str):
        pred = b.replicate.get(pid)
        if pred is None:
            return Json({"detail": "Not found."}, 404)
        return Json(pred)

    if static.test_hooks:
        _hooks(app, b)

    app.mount(static.uploads_path,
              StaticFiles(directory=static.uploads_dir, check_dir=False),
              name="uploads")
    return Outer(app), backend


async def _json_object(request, backend):
    raw = await request.body()
    if not raw:
        return {}, None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        return None, backend.invalid([V.err("json_invalid", ["body"],
                                            "JSON decode error", {},
                                            {"error": str(e)})])
    if not isinstance(value, dict):
        return None, backend.invalid([V.err(
            "model_attributes_type", ["body"],
            "Input should be a valid dictionary or object to extract "
            "fields from", value)])
    return value, None


def _hooks(app, b):
    @app.post("/__test__/reset")
    async def reset():
        async with b.tick_lock:
            b.reset()
        return Json({"ok": True, "now": b.clock.iso()})

    @app.get("/__test__/clock")
    async def clock_get():
        return Json({"ok": True, "now": b.clock.iso(),
                     "offset_s": b.clock.offset})

    @app.post("/__test__/clock")
    async def clock_post(request: Request):
        body, bad = await _json_object(request, b)
        if bad:
            return bad
        adv = body.get("advance_s", 0)
        if isinstance(adv, bool) or not isinstance(adv, (int, float)) or \
                not math.isfinite(adv) or adv < 0:
            return b.invalid([V.err("greater_than_equal",
                                    ["body", "advance_s"],
                                    "Input should be a number greater than "
                                    "or equal to 0", adv, {"ge": 0})])
        b.clock.offset += adv
        return Json({"ok": True, "now": b.clock.iso(),
                     "offset_s": b.clock.offset})

    @app.post("/__test__/worker/tick")
    async def tick(request: Request):
        body, bad = await _json_object(request, b)
        if bad:
            return bad
        adv = body.get("advance_s", 0)
        if isinstance(adv, (int, float)) and not isinstance(adv, bool) \
                and math.isfinite(adv) and adv > 0:
            b.clock.offset += adv
        return Json(await b.tick())

    @app.get("/__test__/threads/calls")
    async def calls(request: Request):
        q = request.query_params
        out = [c for c in b.graph.calls
               if (not q.get("item_id") or c["item_id"] == q["item_id"])
               and (not q.get("tenant_id") or
                    c["tenant_id"] == q["tenant_id"])
               and (not q.get("path_suffix") or
                    c["path"].endswith(q["path_suffix"]))]
        return Json({"ok": True, "calls": out, "count": len(out)})

    @app.get("/__test__/idempotency")
    async def idempotency():
        keys = [{"tenant_id": t, "endpoint": kind, "key": k,
                 "state": "done" if rec["done"] else "in_flight",
                 "status": rec["status"]}
                for (t, kind, k), rec in b.state.idem.items()]
        return Json({"ok": True, "keys": keys, "count": len(keys)})

    @app.get("/__test__/threads/posts")
    async def posts():
        return Json({"ok": True, "posts": list(b.graph.posts.values()),
                     "count": len(b.graph.posts)})

    def _config_body():
        out = dict(b.settings)
        return {"ok": True, "config": out}

    @app.get("/__test__/config")
    async def config_get():
        return Json(_config_body())

    @app.post("/__test__/config")
    async def config_post(request: Request):
        body, bad = await _json_object(request, b)
        if bad:
            return bad
        _, errors = b.set_config(body)
        if errors:
            return Json({"detail": errors}, 422)
        return Json(_config_body())

    def _faults_body():
        return {"ok": True, "faults": {
            k[len("fault_"):]: v for k, v in b.settings.items()
            if k.startswith("fault_")}}

    @app.get("/__test__/faults")
    async def faults_get():
        return Json(_faults_body())

    @app.post("/__test__/faults")
    async def faults_post(request: Request):
        body, bad = await _json_object(request, b)
        if bad:
            return bad
        _, errors = b.set_config({"fault_" + k: v for k, v in body.items()})
        if errors:
            for e in errors:
                e["loc"] = ["body", e["loc"][-1][len("fault_"):]]
            return Json({"detail": errors}, 422)
        return Json(_faults_body())
