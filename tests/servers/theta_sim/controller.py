"""theta_sim.controller -- the controller and platform hosts.

Reference sections 1.2, 3.1-3.4 and 8.8-8.11.
``controller.thetaedgecloud.com`` creates, lists, starts, stops and
deletes deployments and lists templates; ``api.thetaedgecloud.com``
serves the public VM list and the organisation balance.  Both take the
project API key in ``x-api-key`` and act on one project and one
organisation only (403 for any other id).

Both spellings of the deployment routes exist in public material
(``/deployment/...`` and ``/deployments/...``); config
``deployment_routes`` turns one family off so that a client's fallback
from one to the other gets exercised.  ``POST /deployment`` is the only
create route and works in every mode.

Check order of a controller call: Cloudflare 1010 and gateway faults
(app.py) -> unknown or switched-off route (404/405) -> POST lifecycle
(405) -> x-api-key (401) -> project id (400/403) -> body and path
(400/404) -> the action's fault switch -> the action.

The ``/chatbot`` routes (AI agents, reference 4) live in agents.py and
are reached through the same checks up to the key.
"""
import json
import re
import time

from . import agents, deployments, templates
from .replies import Lost, Reject, err, ok

CONTROLLER_HOST = "controller.thetaedgecloud.com"
PLATFORM_HOST = "api.thetaedgecloud.com"
FORBIDDEN = "You are not allowed to perform this action"
NOT_FOUND = "Not Found"
NOT_ALLOWED = "Method Not Allowed"
NO_DEPLOYMENT = "deployment not found"
ROUTES = {"create": "ctl_create", "list": "ctl_list",
          "start": "ctl_start", "stop": "ctl_stop",
          "delete": "ctl_delete", "delete_base": "ctl_delete",
          "std_templates": "ctl_templates",
          "custom_templates": "ctl_templates"}
ROUTES.update((a, a) for a in agents.ACTIONS)
SHARD = re.compile(r"[0-9]+")


def parse(method, path):
    """(action, family, args) of a controller call.  ``action`` is None
    for an unknown route; ``family`` is "singular", "plural" or None
    (routes with only one spelling)."""
    parts = [p for p in path.split("/") if p]
    get = method == "GET"
    if parts[:1] == ["chatbot"]:
        action, args = agents.parse(method, parts)
        return action, None, args
    if parts == ["deployment"] and method == "POST":
        return "create", None, ()
    if parts == ["deployment_template", "list_standard_templates"] and get:
        return "std_templates", None, ()
    if parts == ["deployment_template", "list_custom_templates"] and get:
        return "custom_templates", None, ()
    if parts == ["cluster", "list"] and get:
        return "clusters", None, ()
    if parts == ["volume", "claim"] and get:
        return "volumes", None, ()
    if parts[:1] in (["deployment"], ["deployments"]):
        family = "singular" if parts[0] == "deployment" else "plural"
        rest = parts[1:]
        if rest == ["list"] and get:
            return "list", family, ()
        if len(rest) == 3 and rest[2] in ("start", "stop") and \
                method in ("PUT", "POST"):
            return rest[2], family, (rest[0], rest[1])
        if len(rest) == 2 and method == "DELETE":
            if rest[0] == "base":
                return "delete_base", family, (rest[1],)
            return "delete", family, (rest[0], rest[1])
    return None, None, ()


def route_name(req):
    """The fault route name of a request on either host."""
    if req.host == PLATFORM_HOST:
        parts = [p for p in req.path.split("/") if p]
        if req.method == "GET" and parts == ["resource", "vm", "list"]:
            return "vm_list"
        if req.method == "GET" and parts == ["balance"]:
            return "balance"
        return "api_other"
    return ROUTES.get(parse(req.method, req.path)[0], "ctl_other")


def bad(status, message):
    return Reject(err(status, message))


def json_object(req):
    if not req.body.strip():
        raise bad(400, "request body must be a JSON object")
    try:
        body = json.loads(req.body)
    except ValueError:
        raise bad(400, "invalid JSON body")
    if not isinstance(body, dict):
        raise bad(400, "request body must be a JSON object")
    return body


def _string_map(body, key):
    val = body.get(key)
    if val is None:
        return {}
    if not isinstance(val, dict) or not all(
            isinstance(v, str) for v in val.values()):
        raise bad(400, "%s must be an object of strings" % key)
    return val


def _replicas(body, key):
    val = body.get(key)
    if val is None:
        return 1
    if not isinstance(val, int) or isinstance(val, bool) or \
            not 0 <= val <= 10:
        raise bad(400, "%s must be an integer from 0 to 10" % key)
    return val


def _optional_string(body, key):
    val = body.get(key)
    if val in (None, ""):
        return None
    if not isinstance(val, str):
        raise bad(400, "%s must be a string" % key)
    return val


def create_spec(sim, body, source):
    """Validate a create body (reference 3.2); the spec for
    deployments.add, or raise Reject."""
    tid = _optional_string(body, "deployment_template_id")
    image = _optional_string(body, "container_image")
    if tid is None and image is None:
        raise bad(400, "deployment_template_id or container_image is "
                       "required")
    template = None
    if tid is not None:
        template = templates.lookup(tid)
        if template is None:
            raise bad(404, "deployment template not found")
    vm = body.get("vm_id")
    if vm in (None, ""):
        raise bad(400, "vm_id is required")
    if not isinstance(vm, str) or vm not in templates.VM_BY_ID:
        raise bad(400, "unknown vm_id: %s" % (vm,))
    lo = _replicas(body, "min_replicas")
    hi = _replicas(body, "max_replicas")
    if lo > hi:
        raise bad(400, "min_replicas must not exceed max_replicas")
    env = _string_map(body, "env_vars")
    notes = _string_map(body, "annotations")
    user = _optional_string(body, "auth_username")
    password = _optional_string(body, "auth_password")
    if (user is None) != (password is None):
        raise bad(400, "auth_username and auth_password go together")
    if password is not None and len(password) < 8:
        raise bad(400, "auth_password must be at least 8 characters")
    return {"template": template, "image": image, "vm_id": vm,
            "min_replicas": lo, "max_replicas": hi, "env_vars": env,
            "annotations": notes, "auth_username": user,
            "auth_password": password, "project_id": sim.project_id,
            "source": source}


def paging(req):
    """(page, number) from the query: page >= 0, number 1..100."""
    out = []
    for name, default, low, high, msg in (
            ("page", 0, 0, None, "page must be an integer >= 0"),
            ("number", 50, 1, 100,
             "number must be an integer from 1 to 100")):
        raw = req.q(name)
        if raw in (None, ""):
            out.append(default)
            continue
        try:
            val = int(raw)
        except ValueError:
            raise bad(400, msg)
        if val < low or (high is not None and val > high):
            raise bad(400, msg)
        out.append(val)
    return out


class Controller:
    def __init__(self, sim):
        self.sim = sim
        self.agents = agents.Agents(sim)

    # -- checks -----------------------------------------------------------
    def key(self, req):
        if req.hdr.get("x-api-key") != self.sim.api_key:
            raise bad(401, "invalid or missing x-api-key")

    def project(self, req, body=None, name="project_id"):
        val = body.get("project_id") if body is not None else None
        if val is None:
            val = req.q(name)
        if val in (None, ""):
            raise bad(400, "%s is required" % name)
        if val != self.sim.project_id:
            raise bad(403, FORBIDDEN)

    def switched_off(self, family):
        mode = self.sim.config["deployment_routes"]
        return family is not None and mode != "both" and \
            not mode.startswith(family)

    @staticmethod
    def shard(text):
        if not SHARD.fullmatch(text):
            raise bad(400, "shard must be a non-negative integer")
        return int(text)

    def live(self, **handles):
        d = deployments.find(self.sim, project_id=self.sim.project_id,
                             **handles)
        if d is None:
            raise bad(404, NO_DEPLOYMENT)
        return d

    def fault_reply(self, name):
        f = self.sim.take_fault(name)
        if f:
            raise bad(int(f["status"]), f["message"])

    # -- controller host --------------------------------------------------
    def controller(self, req):
        action, family, args = parse(req.method, req.path)
        if action is None:
            return err(404, NOT_FOUND)
        if self.switched_off(family):
            status = int(self.sim.config["missing_route_status"])
            return err(status, NOT_FOUND if status == 404 else NOT_ALLOWED)
        if action in ("start", "stop") and req.method == "POST" and \
                not self.sim.config["lifecycle_post"]:
            return err(405, NOT_ALLOWED)
        self.key(req)
        if action in agents.ACTIONS:
            return self.agents.handle(action, req, args)
        return getattr(self, "do_" + action)(req, *args)

    def do_create(self, req):
        body = json_object(req)
        self.project(req, body)
        spec = create_spec(self.sim, body, "api")
        self.fault_reply("create_error")
        lost = self.sim.take_fault("create_reply_lost")
        if lost and lost["when"] == "before_create":
            return Lost(lost["how"] == "rst")
        d = deployments.add(self.sim, spec)
        if lost:
            return Lost(lost["how"] == "rst")
        shape = self.sim.config["create_shape"]
        if shape == "string":
            return ok("Deployment created: %s" % d.endpoint)
        if shape == "nested":
            return ok({"deployment": d.snake_item()})
        return ok(d.item())

    def do_list(self, req):
        self.project(req)
        now = time.monotonic()
        lag = float(self.sim.config["list_lag_seconds"])
        want = req.query.get("template_name")
        skip = set(req.query.get("not_template_name", []))
        items = [d.item() for d in self.sim.deployments.values()
                 if d.project_id == self.sim.project_id
                 and d.listed(now, lag)
                 and (not want or d.template_name in want)
                 and d.template_name not in skip]
        return ok(items)

    def _lifecycle(self, req, shard, suffix):
        self.project(req)
        d = self.live(shard=self.shard(shard), suffix=suffix)
        self.fault_reply("lifecycle_error")
        return d

    def do_start(self, req, shard, suffix):
        self._lifecycle(req, shard, suffix).start()
        return ok({"value": 0})

    def do_stop(self, req, shard, suffix):
        self._lifecycle(req, shard, suffix).stop()
        return ok({"value": 0})

    def do_delete(self, req, shard, suffix):
        self.project(req)
        d = self.live(shard=self.shard(shard), suffix=suffix)
        self.fault_reply("delete_error")
        d.delete()
        return ok({"value": 0})

    def do_delete_base(self, req, base_id):
        self.project(req)
        d = self.live(base_id=base_id)
        self.fault_reply("delete_error")
        d.delete()
        return ok({"value": 0})

    def do_std_templates(self, req):
        category = req.q("category") or None
        if category is not None and category not in templates.CATEGORIES:
            raise bad(400, "category must be one of %s"
                      % ", ".join(templates.CATEGORIES))
        page, number = paging(req)
        rows = templates.in_category(category)
        chosen = rows[page * number:(page + 1) * number]
        return ok({"templates": [templates.public_view(t) for t in chosen],
                   "total_count": len(rows), "page": page,
                   "number": number})

    def do_custom_templates(self, req):
        self.project(req)
        page, number = paging(req)
        return ok({"total_count": "0", "templates": [], "page": page,
                   "number": number})

    def do_clusters(self, req):
        self.project(req)
        return ok({"clusters": []})

    def do_volumes(self, req):
        self.project(req, name="projectId")
        return ok({"volumes": [], "total_count": 0})

    # -- platform host ----------------------------------------------------
    def platform(self, req):
        route = route_name(req)
        if route == "vm_list":
            return ok({"vms": [dict(v) for v in templates.VMS]})
        if route == "balance":
            self.key(req)
            org = req.q("orgID")
            if not org:
                raise bad(400, "orgID is required")
            if org != self.sim.org_id:
                raise bad(403, FORBIDDEN)
            return ok({"balances": [{
                "org_id": org, "balance": deployments.balance(self.sim),
                "currency": "USD"}]})
        return err(404, NOT_FOUND)
