"""theta_sim.dedicated -- the endpoints of dedicated deployments.

Reference 3.3 and 3.6.  Every deployment gets a host name
``<label>.tec-s<Shard>.onthetaedgecloud.com``; the request's Host picks
the deployment.  What answers depends on the template's flavour:

* ``openai`` (vLLM): ``GET /v1/models``, ``POST /v1/chat/completions``
  (JSON or SSE, the same framing as the on-demand chat), ``GET /health``;
* ``gradio``: ``GET /config``, ``POST /api/predict``, ``GET /``;
* ``html`` (Jupyter, GPU node): ``GET /`` only.

Before that the endpoint goes through its warm-up phases (a 401 phase
answers 401 whatever the credentials), a stopped one answers 503 and an
unknown or deleted host the router's plain ``404 page not found``.  A
ready endpoint with auth_username/auth_password wants
``Authorization: Basic`` with them; a Bearer token equal to the password
is accepted too (ASSUMPTION, reference 1.2).
"""
import asyncio
import base64
import json

from . import chat, deployments
from .replies import STREAMED, Response, text
from .state import dumps

ZONE = ".onthetaedgecloud.com"
STREAM_FAULTS = ("split_sse", "drop_stream", "endless_stream",
                 "stall_stream")
DEFAULT_MAX_TOKENS = 512


def route_name(req):
    path = req.path.rstrip("/") or "/"
    if path in ("/v1/models", "/config"):
        return "ded_probe"
    if path == "/v1/chat/completions":
        return "ded_chat"
    if path == "/api/predict":
        return "ded_predict"
    return "ded_other"


def lookup(sim, host):
    """The live deployment of ``host``, else a deleted one, else None."""
    return (deployments.find(sim, host=host)
            or deployments.find(sim, host=host, live=False))


# -- canned replies ---------------------------------------------------------
def page_not_found():
    return text(404, "404 page not found")


def detail(status, message):
    return Response(status, {"detail": message})


def unauthorized():
    return Response(401, {"detail": "Unauthorized"},
                    [("WWW-Authenticate", 'Basic realm="deployment"')])


def gateway(status):
    words = {502: "Bad Gateway", 503: "Service Unavailable",
             504: "Gateway Timeout"}.get(status, "Error")
    page = ("<html><head><title>%d %s</title></head><body>"
            "<h1>%d %s</h1><p>The deployment is not ready to take "
            "requests yet (theta_sim).</p></body></html>"
            % (status, words, status, words))
    return text(status, page, "text/html; charset=utf-8")


def warmup_reply(status):
    if status == 404:
        return page_not_found()
    if status == 401:
        return unauthorized()
    if status in (502, 503, 504):
        return gateway(status)
    return text(status, "upstream answered %d (warming up)" % status)


def openai_error(status, message, kind):
    return Response(status, {"error": {"message": message, "type": kind,
                                       "code": status}})


def credentials_ok(d, req):
    """True/False for the Authorization header against the deployment's
    credentials; None when the deployment has none or none was sent."""
    hdr = req.hdr.get("authorization")
    if not d.auth_username or hdr is None:
        return None
    scheme, _, cred = hdr.partition(" ")
    cred = cred.strip()
    if scheme.lower() == "bearer":
        return cred == d.auth_password
    if scheme.lower() != "basic":
        return False
    try:
        pair = base64.b64decode(cred, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return pair == "%s:%s" % (d.auth_username, d.auth_password)


def gradio_config(d):
    return {
        "version": "4.44.1",
        "mode": "blocks",
        "title": d.template_name,
        "is_space": False,
        "enable_queue": True,
        "show_api": True,
        "components": [
            {"id": 1, "type": "image", "props": {"label": "Input image"}},
            {"id": 2, "type": "textbox", "props": {"label": "Prompt"}},
            {"id": 3, "type": "json", "props": {"label": "Result"}},
        ],
        "dependencies": [{"id": 0, "api_name": "predict", "inputs": [1, 2],
                          "outputs": [3], "backend_fn": True}],
        "layout": {"id": 0, "children": [{"id": 1}, {"id": 2},
                                         {"id": 3}]},
    }


def html_page(d):
    page = ("<!DOCTYPE html><html><head><title>%s</title></head><body>"
            "<h1>%s</h1><p>Deployment %s is running (theta_sim).</p>"
            "</body></html>" % (d.template_name, d.template_name, d.name))
    return text(200, page, "text/html; charset=utf-8")


def unprocessable(loc, msg):
    return Response(422, {"detail": [{"loc": loc, "msg": msg,
                                      "type": "value_error"}]})


class Dedicated:
    def __init__(self, sim):
        self.sim = sim

    async def handle(self, conn, req, entry):
        d = lookup(self.sim, req.host)
        if d is None:
            return page_not_found()
        key = self.sim.redact(req.path)
        d.endpoint_requests[key] = d.endpoint_requests.get(key, 0) + 1
        valid = credentials_ok(d, req)
        entry["endpoint_auth_valid"] = valid
        if d.deleted is not None:
            return page_not_found()
        if d.stopped_since is not None:
            return gateway(503)
        status = d.warmup_status()
        if status is not None:
            return warmup_reply(status)
        if d.auth_username and not valid:
            return unauthorized()
        if d.flavour == "openai":
            return await self.openai(conn, req, d)
        if d.flavour == "gradio":
            return self.gradio(req, d)
        if req.path == "/" and req.method in ("GET", "HEAD"):
            return html_page(d)
        return page_not_found()

    # -- vLLM ---------------------------------------------------------------
    async def openai(self, conn, req, d):
        path, m = req.path.rstrip("/") or "/", req.method
        if path == "/v1/models":
            if m not in ("GET", "HEAD"):
                return detail(405, "Method Not Allowed")
            return Response(200, {"object": "list", "data": [{
                "id": d.model, "object": "model", "owned_by": "vllm",
                "created": int(d.created), "root": d.model}]})
        if path == "/health" and m in ("GET", "HEAD"):
            return text(200, "")
        if path == "/v1/chat/completions":
            if m != "POST":
                return detail(405, "Method Not Allowed")
            return await self.chat(conn, req, d)
        return detail(404, "Not Found")

    async def chat(self, conn, req, d):
        try:
            body = json.loads(req.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return openai_error(400, "the body must be a JSON object",
                                "BadRequestError")
        model = body.get("model", d.model)
        if model != d.model:
            return openai_error(404, "The model `%s` does not exist."
                                % (model,), "NotFoundError")
        msg = chat.validate_messages(body.get("messages"))
        if msg:
            return openai_error(400, msg, "BadRequestError")
        mt = body.get("max_tokens", body.get("max_completion_tokens"))
        if mt is not None and (not isinstance(mt, int) or
                               isinstance(mt, bool) or mt < 1):
            return openai_error(400, "max_tokens must be a positive "
                                "integer", "BadRequestError")
        svc = {"alias": d.model, "model_display": d.model}
        plan = chat.Plan(self.sim, svc, body["messages"],
                         mt or DEFAULT_MAX_TOKENS)
        if body.get("stream"):
            faults = {}
            for name in STREAM_FAULTS:
                f = self.sim.take_fault(name, None, d.name)
                if f:
                    faults[name] = f
            sink = {"service": d.name, "usage": {"input": 0, "output": 0}}
            conn.last_keep = await chat.stream(self.sim, conn, plan, sink,
                                               None, faults)
            return STREAMED
        await asyncio.sleep(plan.gen_seconds(self.sim))
        return Response(200, plan.completion_json())

    # -- Gradio -------------------------------------------------------------
    def gradio(self, req, d):
        path, m = req.path.rstrip("/") or "/", req.method
        if path == "/config":
            if m not in ("GET", "HEAD"):
                return detail(405, "Method Not Allowed")
            return Response(200, gradio_config(d))
        if path == "/api/predict":
            if m != "POST":
                return detail(405, "Method Not Allowed")
            return self.predict(req, d)
        if path == "/" and m in ("GET", "HEAD"):
            return html_page(d)
        return detail(404, "Not Found")

    @staticmethod
    def predict(req, d):
        try:
            body = json.loads(req.body or b"null")
        except ValueError:
            return unprocessable(["body"], "invalid JSON")
        if not isinstance(body, dict):
            return unprocessable(["body"], "expected an object")
        data = body.get("data")
        if not isinstance(data, list):
            return unprocessable(["body", "data"], "a list is required")
        fn = body.get("fn_index", 0)
        if not isinstance(fn, int) or isinstance(fn, bool) or fn != 0:
            return unprocessable(["body", "fn_index"], "unknown fn_index")
        shown = dumps(data)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        return Response(200, {
            "data": ["Simulated %s result for inputs %s"
                     % (d.template_name, shown)],
            "is_generating": False, "duration": 0.05,
            "average_duration": 0.05})
