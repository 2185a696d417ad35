"""theta_sim.app -- routing by Host header, the on-demand API, /__sim__.

Reference sections 2.2-2.8.  Order of checks on a create call: Bearer
(401), service (404), body and input validation (400), capacity fault
(409), quota (429), then the job or stream.  Gateway faults (added
latency, forced 5xx) act before any of that; a truncated body after.

The controller and platform hosts live in controller.py (its chatbot
routes in agents.py), dedicated endpoints in dedicated.py, the Video
API in video.py.  In front of the controller and platform
hosts sits the Cloudflare browser check (reference 1.2): a User-Agent
without ``Mozilla/5.0`` gets 403 "Error 1010" before the gateway faults
and before any auth.
"""
import asyncio
import json
import logging
import time

import secrets

from . import (agents, catalog, chat, controller, copywriter, dedicated,
               deployments, files, video)
from .httpio import HttpError
from .replies import STREAMED, Lost, Reject, Response, err, ok
from .state import ConfigError, Job

log = logging.getLogger("theta_sim")

ONDEMAND_HOST = "ondemand.thetaedgecloud.com"
EDGE_HOSTS = (controller.CONTROLLER_HOST, controller.PLATFORM_HOST)
BROWSER_MARK = "Mozilla/5.0"
CF_1010 = """<!DOCTYPE html>
<html><head><title>Error 1010 | %s</title></head>
<body><h1>Error 1010</h1><h2>Access denied</h2>
<p>%s refused this request because its User-Agent does not look like a
web browser (theta_sim imitating Cloudflare's browser check).</p>
<p>Ray ID: %s</p></body></html>
"""


class App:
    def __init__(self, sim):
        self.sim = sim
        self.ctl = controller.Controller(sim)
        self.ded = dedicated.Dedicated(sim)
        self.tva = video.VideoApi(sim)

    # -- entry -------------------------------------------------------------
    async def handle(self, conn, req):
        """Serve one request; return True to keep the connection."""
        if req.path.startswith("/__sim__"):
            resp = self.control(req)
            return await self.write(conn, req, resp)
        entry = self.sim.log_request(req)
        self.sim.prune()
        route, alias = self.classify(req)
        entry["route"], entry["service"] = route, alias
        req.log_entry = entry
        started = time.monotonic()
        try:
            resp = self.edge_check(req)
            if resp is None:
                resp = await self.through_gateway(conn, req, route, alias)
        except Reject as r:
            resp = r.response
        except HttpError as e:
            resp = err(e.status, e.message)
        except (ConnectionError, OSError, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("handler failed")
            resp = err(500, "theta_sim internal error")
        if resp is STREAMED:
            entry["status"] = 200
            keep = conn.last_keep
        elif isinstance(resp, Lost):
            entry["reply_lost"] = True
            if resp.rst:
                conn.abort(rst=True)
            else:
                await conn.close()
            keep = False
        else:
            entry["status"] = resp.status
            trunc = None
            if resp.raw is None:
                t = self.sim.take_fault("truncate_json", route, alias)
                if t:
                    n = len(resp.body())
                    keep_n = min(n - 1, max(1, int(n * float(t["keep"]))))
                    trunc = (t["mode"], keep_n)
            keep = await self.write(conn, req, resp, trunc)
        log.info("%s %s %s -> %s (%.2fs)", req.method, req.host,
                 entry["path"], entry["status"], time.monotonic() - started)
        return keep

    async def through_gateway(self, conn, req, route, alias):
        """Gateway faults (added latency, forced status), then the
        handler."""
        lat = self.sim.take_fault("latency", route, alias)
        if lat:
            await asyncio.sleep(float(lat["seconds"]))
        fail = self.sim.take_fault("http_error", route, alias)
        if fail:
            return self.forced_error(fail)
        return await self.route(conn, req, route, alias)

    async def write(self, conn, req, resp, truncate=None):
        headers = [("Content-Type", resp.ctype)] + resp.headers
        return await conn.send(req, resp.status, headers, resp.body(),
                               truncate=truncate)

    def edge_check(self, req):
        """Cloudflare's 1010 for a non-browser User-Agent on the
        controller and platform hosts (config ``cloudflare_1010``)."""
        if req.host not in EDGE_HOSTS or \
                not self.sim.config["cloudflare_1010"] or \
                BROWSER_MARK in (req.hdr.get("user-agent") or ""):
            return None
        page = CF_1010 % (req.host, req.host, secrets.token_hex(8))
        return Response(403, raw=page.encode(),
                        ctype="text/html; charset=UTF-8")

    def forced_error(self, f):
        status = int(f["status"])
        hdrs = []
        if f.get("retry_after") is not None:
            hdrs.append(("Retry-After", str(f["retry_after"])))
        if f["body"] == "html":
            html = ("<html><head><title>%d %s</title></head><body><center>"
                    "<h1>%d %s</h1></center><hr><center>cloudflare</center>"
                    "</body></html>" % (status, "Error", status, "Error"))
            return Response(status, raw=html.encode(), headers=hdrs,
                            ctype="text/html")
        if f["body"] == "empty":
            return Response(status, raw=b"", headers=hdrs, ctype="text/plain")
        return err(status, f.get("message") or "simulated upstream error",
                   hdrs)

    # -- routing -----------------------------------------------------------
    def classify(self, req):
        """(route name, service alias or None) from method, host and path."""
        host = req.host
        if host == files.STORAGE_HOST:
            return "upload", None
        if host == files.OUTPUTS_HOST:
            return "output", None
        if host in EDGE_HOSTS:
            return controller.route_name(req), None
        if host == video.VIDEO_HOST:
            return video.route_name(req), None
        if host.endswith(dedicated.ZONE):
            d = dedicated.lookup(self.sim, host)
            return dedicated.route_name(req), d.name if d else None
        if host != ONDEMAND_HOST:
            return "other_host", None
        parts = [p for p in req.path.split("/") if p]
        m = req.method
        if parts[:1] == ["service"]:
            if parts == ["service", "list"] and m == "GET":
                return "list", None
            if len(parts) == 2 and m == "GET":
                svc = catalog.lookup(parts[1])
                return "service", svc["alias"] if svc else parts[1]
        if parts[:1] == ["infer_request"] and len(parts) >= 2:
            if m == "POST" and parts[1:] == ["chat", "completions"]:
                try:
                    model = json.loads(req.body or b"{}").get("model")
                except (ValueError, AttributeError):
                    model = None
                return "chat", model if isinstance(model, str) else None
            if m == "POST" and parts[-1] == "input_presigned_urls" \
                    and len(parts) in (3, 4):
                return "presign", parts[1]
            if m == "POST" and len(parts) in (2, 3):
                return "infer", parts[1]
            if m == "GET" and len(parts) == 3 and parts[2] == "list":
                return "project_list", None
            if m in ("GET", "HEAD") and len(parts) == 2:
                job = self.sim.jobs.get(parts[1])
                return "status", job.svc["alias"] if job else None
        return "unknown", None

    async def route(self, conn, req, route, alias):
        parts = [p for p in req.path.split("/") if p]
        if route in ("upload", "output"):
            fn = files.storage_request if route == "upload" else \
                files.outputs_request
            st, ctype, hdrs, body = fn(self.sim, req)
            return Response(st, raw=body, headers=hdrs, ctype=ctype)
        if req.host == controller.CONTROLLER_HOST:
            return self.ctl.controller(req)
        if req.host == controller.PLATFORM_HOST:
            return self.ctl.platform(req)
        if req.host == video.VIDEO_HOST:
            return self.tva.handle(req)
        if req.host.endswith(dedicated.ZONE):
            return await self.ded.handle(conn, req, req.log_entry)
        if route == "other_host":
            return err(421, "theta_sim: no such host %s" % req.host)
        if route == "list":
            self.auth(req, required=False)
            svcs = [catalog.public_view(s) for s in catalog.SERVICES]
            return ok({"services": svcs, "pagination": {
                "page": 0, "number": len(svcs), "total": len(svcs)}})
        if route == "service":
            self.auth(req, required=False)
            svc = catalog.lookup(parts[1])
            if svc is None:
                return err(404, "service not found")
            return ok({"services": [catalog.public_view(svc)]})
        if route == "status":
            self.auth(req)
            job = self.sim.jobs.get(parts[1])
            if job is None:
                return err(404, "infer request not found")
            return ok({"infer_requests": [job.to_json()]})
        if route == "project_list":
            self.auth(req)
            if parts[1] != self.sim.project_id:
                return err(403, "You are not allowed to perform this action")
            jobs = sorted(self.sim.jobs.values(), key=lambda j: -j.created)
            return ok({"infer_requests": [j.to_json() for j in jobs]})
        if route == "presign":
            return self.presign(req, parts)
        if route == "infer":
            return await self.infer(conn, req, parts)
        if route == "chat":
            return await self.chat_completions(conn, req)
        if req.host == ONDEMAND_HOST and parts[:1] in (["service"],
                                                       ["infer_request"]):
            return err(405, "method not allowed")
        return err(404, "not found")

    # -- helpers -------------------------------------------------------------
    def auth(self, req, required=True):
        """Raise Reject(401) unless the request may proceed.  Without
        ``required`` a missing header is fine but a wrong one is not
        (reference 8.7)."""
        token = self.sim.token
        hdr = req.hdr.get("authorization")
        if hdr is None:
            if self.sim.config["lenient_auth"] and \
                    req.hdr.get("x-api-key") == token:
                return
            if required:
                raise Reject(err(401, "missing Authorization: Bearer token"))
            return
        scheme, _, cred = hdr.partition(" ")
        if scheme.lower() != "bearer" or cred.strip() != token:
            raise Reject(err(401, "invalid access token"))

    @staticmethod
    def json_body(req):
        if not req.body.strip():
            return {}
        try:
            body = json.loads(req.body)
        except ValueError:
            raise Reject(err(400, "invalid JSON body"))
        if not isinstance(body, dict):
            raise Reject(err(400, "request body must be a JSON object"))
        return body

    def service(self, alias, chat_only=False):
        svc = catalog.lookup(alias)
        if svc is None or (chat_only and not catalog.is_chat(svc)):
            raise Reject(err(404, "service not found"))
        return svc

    def gate(self, svc, route):
        """Capacity fault, then quota; returns model_quotas."""
        cap = self.sim.take_fault("capacity", route, svc["alias"])
        if cap:
            hdrs = []
            if cap.get("retry_after") is not None:
                hdrs.append(("Retry-After", str(cap["retry_after"])))
            raise Reject(err(409, "No instances available - try again later",
                             hdrs))
        okq, msg, retry, mq = self.sim.quota_take(svc)
        if not okq:
            hdrs = []
            if self.sim.config["quota_retry_after"]:
                hdrs.append(("Retry-After", str(int(retry) + 1)))
            raise Reject(err(429, msg, hdrs))
        return mq

    # -- presigned URLs ------------------------------------------------------
    def presign(self, req, parts):
        self.auth(req)
        svc = self.service(parts[1])
        pred_name = parts[2] if len(parts) == 4 else None
        pred_name, pred = catalog.prediction(svc, pred_name)
        if pred is None:
            return err(400, "unknown prediction %s for service %s"
                       % (pred_name, svc["alias"]))
        body = self.json_body(req)
        fields = body.get("input_fields", body.get("input_field"))
        allowed = catalog.file_fields(pred)
        if fields is None:
            fields = allowed
        elif isinstance(fields, str):
            fields = [fields]
        if not isinstance(fields, list) or not all(
                isinstance(f, str) for f in fields):
            return err(400, "input_fields must be an array of strings")
        for f in fields:
            if f not in allowed:
                return err(400, "invalid input field: %s" % f)
        urls = files.presign(self.sim, svc, fields)
        if self.sim.config["presign_shape"] == "mcp":
            return ok({"urls": {f: {"upload_url": u, "filename": n}
                                for f, (u, n) in urls.items()}})
        return ok({f: {"presigned_url": u, "filename": n}
                   for f, (u, n) in urls.items()})

    # -- inference -----------------------------------------------------------
    def _param(self, req, body, name):
        v = req.q(name)
        return v if v is not None else body.get(name)

    def _wait(self, req, body):
        raw = self._param(req, body, "wait")
        if raw in (None, ""):
            return 0.0
        try:
            w = float(raw)
        except (TypeError, ValueError):
            raise Reject(err(400, "wait must be a number of seconds"))
        if w != w or w < 0:
            raise Reject(err(400, "wait must be a number of seconds"))
        return min(w, float(self.sim.config["max_wait"]))

    def _validate_input(self, svc, pred, inp):
        if not isinstance(inp, dict):
            raise Reject(err(400, "missing input: the body needs an "
                                  "\"input\" object"))
        for name, spec in pred["input_vars"].items():
            if spec.get("required") and inp.get(name) in (None, "", []):
                raise Reject(err(400, "missing required input field: %s"
                                 % name))
        if catalog.is_chat(svc):
            msg = chat.validate_messages(inp.get("messages"))
            if msg:
                raise Reject(err(400, msg))
            mt = inp.get("max_tokens")
            if mt is not None and (not isinstance(mt, int) or
                                   isinstance(mt, bool) or mt < 1):
                raise Reject(err(400, "max_tokens must be a positive "
                                      "integer"))
        for field in catalog.file_fields(pred):
            if field in inp:
                msg = files.check_file_input(self.sim, field, inp[field])
                if msg:
                    raise Reject(err(400, msg))

    async def infer(self, conn, req, parts):
        self.auth(req)
        svc = self.service(parts[1])
        body = self.json_body(req)
        pred_name = parts[2] if len(parts) == 3 else \
            self._param(req, body, "prediction")
        pred_name, pred = catalog.prediction(svc, pred_name)
        if pred is None:
            return err(400, "unknown prediction %s for service %s"
                       % (pred_name, svc["alias"]))
        wait = self._wait(req, body)
        variant = body.get("variant")
        if variant is not None and variant != "default" and \
                variant not in pred["variants"]:
            return err(400, "unknown variant %s for service %s"
                       % (variant, svc["alias"]))
        webhook = body.get("webhook")
        if webhook is not None and not isinstance(webhook, str):
            return err(400, "webhook must be a URL string")
        inp = body.get("input")
        self._validate_input(svc, pred, inp)
        mq = self.gate(svc, "infer")
        variant = variant or "default"
        if catalog.is_chat(svc):
            return await self.chat_job(conn, req, svc, pred_name, variant,
                                       webhook, inp, body, wait, mq)
        q, p = self.sim.job_times(svc)
        jerr = self.sim.take_fault("job_error", None, svc["alias"])
        job = Job(self.sim, svc, pred_name, variant, webhook, inp, q, p,
                  {}, {"input": 0, "output": 1},
                  outcome="error" if jerr else "success",
                  error_message=jerr["message"] if jerr else None)
        self.sim.jobs[job.id] = job
        if not jerr:
            job.output = files.make_output(self.sim, job)
        self.sim.ledger_add(svc, pred_name, "infer", job.id, job.usage,
                            infer_request_id=job.id, job=job)
        return await self.job_response(job, wait, mq)

    async def job_response(self, job, wait, mq):
        if wait > 0:
            left = job.finish_in()
            await asyncio.sleep(min(wait, left + 0.01))
        j = job.to_json()
        j["is_new"] = True
        return ok({"infer_requests": [j], "model_quotas": mq})

    def _max_tokens(self, svc, value):
        if value is None:
            return svc["predictions"]["completions"]["input_vars"][
                "max_tokens"]["default"]
        return value

    def copy_text(self, svc, route, messages):
        """The copywriter's post when the last user message carries
        FACTS, else None (the generic answer)."""
        return copywriter.generate(self.sim, svc["alias"], route,
                                   chat.last_user_text(messages))

    async def chat_job(self, conn, req, svc, pred_name, variant, webhook,
                       inp, body, wait, mq):
        stream = inp.get("stream", body.get("stream", True))
        jerr = None if stream else self.sim.take_fault("job_error", None,
                                                       svc["alias"])
        # A failed job shows no output: it is no generation either.
        text = None if jerr else self.copy_text(svc, "infer",
                                                inp["messages"])
        plan = chat.Plan(self.sim, svc, inp["messages"],
                         self._max_tokens(svc, inp.get("max_tokens")),
                         inp.get("reasoning_effort"),
                         bool(inp.get("enable_thinking")), text)
        usage = {"input": plan.prompt_tokens,
                 "output": plan.completion_tokens}
        if stream:
            job = Job(self.sim, svc, pred_name, variant, webhook, inp, 0, 0,
                      {}, {"input": plan.prompt_tokens, "output": 0},
                      kind="chat_stream")
            job.live_state = "processing"
            self.sim.jobs[job.id] = job
            entry = self.sim.ledger_add(svc, pred_name, "infer", plan.id,
                                        job.usage, stream=True,
                                        infer_request_id=job.id, job=job)
            job.usage = entry["usage"]
            return await self.run_stream(conn, plan, entry, job)
        q = self.sim.first_byte_delay(svc["alias"])
        job = Job(self.sim, svc, pred_name, variant, webhook, inp, q,
                  plan.gen_seconds(self.sim), {}, usage,
                  outcome="error" if jerr else "success",
                  error_message=jerr["message"] if jerr else None,
                  kind="chat")
        job.output = {"message": plan.message_text()}
        if plan.reasoning:
            job.output["reasoning"] = plan.reasoning_text()
        self.sim.jobs[job.id] = job
        self.sim.ledger_add(svc, pred_name, "infer", job.id, usage,
                            infer_request_id=job.id, job=job)
        return await self.job_response(job, wait, mq)

    async def run_stream(self, conn, plan, entry, job=None):
        alias = entry["service"]
        faults = {}
        for name in ("split_sse", "drop_stream", "endless_stream",
                     "stall_stream"):
            f = self.sim.take_fault(name, None, alias)
            if f:
                faults[name] = f
        conn.last_keep = await chat.stream(self.sim, conn, plan, entry, job,
                                           faults)
        return STREAMED

    async def chat_completions(self, conn, req):
        self.auth(req)
        body = self.json_body(req)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return err(400, "model is required")
        svc = self.service(model, chat_only=True)
        msg = chat.validate_messages(body.get("messages"))
        if msg:
            return err(400, msg)
        mt = body.get("max_tokens", body.get("max_completion_tokens"))
        if mt is not None and (not isinstance(mt, int) or
                               isinstance(mt, bool) or mt < 1):
            return err(400, "max_tokens must be a positive integer")
        self.gate(svc, "chat")
        plan = chat.Plan(self.sim, svc, body["messages"],
                         self._max_tokens(svc, mt),
                         body.get("reasoning_effort"),
                         bool(body.get("enable_thinking")),
                         self.copy_text(svc, "chat", body["messages"]))
        if body.get("stream"):
            entry = self.sim.ledger_add(svc, "completions", "chat", plan.id,
                                        {"input": plan.prompt_tokens,
                                         "output": 0}, stream=True)
            return await self.run_stream(conn, plan, entry)
        await asyncio.sleep(self.sim.first_byte_delay(svc["alias"])
                            + plan.gen_seconds(self.sim))
        self.sim.ledger_add(svc, "completions", "chat", plan.id,
                            {"input": plan.prompt_tokens,
                             "output": plan.completion_tokens})
        return Response(200, plan.completion_json())

    # -- /__sim__ control ----------------------------------------------------
    def control(self, req):
        sim = self.sim
        path = req.path.rstrip("/")
        m = req.method
        try:
            if path == "/__sim__/health":
                return Response(200, {"ok": True})
            if path == "/__sim__/reset" and m == "POST":
                sim.reset()
                return Response(200, {"ok": True})
            if path == "/__sim__/config":
                if m == "POST":
                    sim.update_config(self._ctl_body(req))
                return Response(200, {"config": sim.config})
            if path == "/__sim__/faults":
                if m == "POST":
                    sim.set_faults(self._ctl_body(req))
                elif m == "DELETE":
                    sim.faults = {}
                return Response(200, {"faults": sim.faults})
            if path == "/__sim__/ledger" and m == "GET":
                return Response(200, sim.ledger_view())
            if path == "/__sim__/requests" and m == "GET":
                rows = sim.requests
                for key in ("host", "method", "route", "service"):
                    want = req.q(key)
                    if want is not None:
                        rows = [r for r in rows
                                if str(r[key]).lower() == want.lower()]
                return Response(200, {"requests": sim.requests_view(rows),
                                      "count": len(rows)})
            if path == "/__sim__/uploads" and m == "GET":
                ups = [{k: v for k, v in u.items()
                        if k not in ("data", "signature")}
                       for u in sim.uploads.values()]
                return Response(200, {"uploads": ups})
            if path == "/__sim__/deployments" and m == "GET":
                return Response(200, {"deployments": [
                    d.control_view() for d in sim.deployments.values()]})
            if path == "/__sim__/deployments" and m == "POST":
                d = self.inject_deployment(self._ctl_body(req))
                return Response(200, d.control_view())
            if path == "/__sim__/copy" and m == "GET":
                return Response(200, {"generations": sim.copy_generations})
            if path == "/__sim__/chatbots" and m == "GET":
                return Response(200, agents.control_view(sim))
            if path == "/__sim__/videos" and m == "GET":
                return Response(200, video.control_videos(sim))
            if path == "/__sim__/streams" and m == "GET":
                return Response(200, video.control_streams(sim))
            if path == "/__sim__/jobs" and m == "GET":
                return Response(200, {"infer_requests": [
                    j.to_json() for j in sim.jobs.values()]})
        except ConfigError as e:
            return Response(400, {"error": str(e)})
        return Response(404, {"error": "unknown control route %s %s"
                              % (m, path)})

    INJECT_KEYS = ("template_id", "container_image", "vm_id", "nickname",
                   "auth_username", "auth_password", "min_replicas",
                   "max_replicas", "annotations", "env_vars",
                   "project_id", "ready")

    def inject_deployment(self, body):
        """A deployment made "from the dashboard": not through the
        controller API, so not the client's."""
        if not isinstance(body, dict):
            raise ConfigError("deployment must be a JSON object")
        unknown = set(body) - set(self.INJECT_KEYS)
        if unknown:
            raise ConfigError("deployment: unknown keys %s"
                              % sorted(unknown))
        spec_body = dict(body)
        spec_body["deployment_template_id"] = body.get("template_id")
        notes = dict(body.get("annotations") or {})
        if body.get("nickname"):
            notes["nickname"] = body["nickname"]
        spec_body["annotations"] = notes
        try:
            spec = controller.create_spec(self.sim, spec_body, "dashboard")
        except Reject as r:
            raise ConfigError(r.response.obj["message"])
        project = body.get("project_id")
        if project is not None:
            if not isinstance(project, str) or not project:
                raise ConfigError("project_id must be a string")
            spec["project_id"] = project
        d = deployments.add(self.sim, spec)
        if body.get("ready"):
            d.skip_warmup()
        return d

    @staticmethod
    def _ctl_body(req):
        try:
            return json.loads(req.body or b"{}")
        except ValueError:
            raise ConfigError("control body must be JSON")
