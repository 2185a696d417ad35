"""theta_sim.state -- everything the simulator remembers.

Configuration, fault switches, inference jobs, the billing ledger, quota
counters, presigned uploads, deployments (deployments.py), the
copywriter's generations (copywriter.py), chatbots and their documents
(agents.py), videos, streams and ingestors (video.py) and the request
log.  All
of it lives in one ``Sim`` object on the event loop thread (no locks
needed).

Pricing (reference section 7):
  usd       = (usage.input * prediction_cost.input
               + usage.output * prediction_cost.output)
              / prediction_cost_divisor / 100
  cost_usd  = {input:  prediction_cost.input ** 2  / 100 / divisor,
               output: prediction_cost.output ** 2 / 100 / divisor}
The second is what the real service puts in ``cost_usd``: a constant that
does not depend on usage (GLM-5.2's 154/484 cents gave 0.00023716 /
0.00234256 for every call).  For one-unit image/audio prices (cost 1,
divisor 1) it happens to equal the right $0.01, as observed for SDXL.
"""
import copy
import datetime
import json
import secrets
import time
from collections import deque
from decimal import Decimal

from . import catalog, copywriter

PROFILES = {
    # Small delays so test suites stay quick.
    "fast": {
        "time_scale": 0.05,
        "first_byte_delay": 0.3,
        "first_byte_delay_by_service": {},
        "token_interval": 0.005,
        "reasoning_token_interval": 0.001,
    },
    # Close to what the live service was seen doing: Qwen3/Parallax took
    # 30-50 s before its first byte (seed), images several seconds.
    "realistic": {
        "time_scale": 1.0,
        "first_byte_delay": 1.5,
        "first_byte_delay_by_service": {"qwen3": 35.0},
        "token_interval": 0.03,
        "reasoning_token_interval": 0.01,
    },
}

DEFAULT_CONFIG = {
    "profile": "fast",
    # Job timing: (queued, processing) seconds per service = catalog
    # base_times * time_scale, unless job_times[alias] = [q, p].
    "time_scale": 0.05,
    "job_times": {},
    # Chat timing.
    "first_byte_delay": 0.3,
    "first_byte_delay_by_service": {},
    "first_byte_mode": "before_headers",    # or "after_headers"
    "token_interval": 0.005,
    "reasoning_token_interval": 0.001,
    # Answer shape.
    "answer_tokens": 24,
    "qwen3_reasoning": False,               # think even w/o enable_thinking
    "qwen3_reasoning_tokens": 24,
    "gpt_oss_reasoning_tokens": {"low": 200, "medium": 800, "high": 2000},
    "reasoning_field": "reasoning",          # or "reasoning_content"
    # Copywriter mode: rules that make posts claim what the FACTS do not
    # say (copywriter.py).
    "copy_hallucinations": [],
    # SSE wire.
    "sse_line_ending": "lf",                 # "lf" | "crlf" | "cr"
    "sse_framing": "chunked",                # "chunked" | "close"
    "stream_usage": True,
    # Requests.
    "max_wait": 60,
    "quota_10min": 50,
    "quota_daily": 1000,
    "quotas": {},                            # alias -> {ten_min, daily}
    "quota_retry_after": False,
    "lenient_auth": False,                   # also accept x-api-key
    "idle_timeout": 120,                     # close idle keep-alive conns
    # Uploads.
    "presign_shape": "field",                # "field" | "mcp"
    "upload_auth_policy": "reject",          # "reject" | "accept"
    "upload_url_ttl": 900,
    "upload_bucket": "theta-ondemand-inputs",
    # Controller and platform hosts.
    "cloudflare_1010": True,                 # 403 to non-browser agents
    "deployment_routes": "both",             # "both"|"plural"|"singular"
    "missing_route_status": 404,             # 404 | 405
    "lifecycle_post": False,                 # POST start/stop too
    "create_shape": "object",                # "object"|"string"|"nested"
    "list_lag_seconds": 0,                   # deleted stay listed so long
    "balance": 1000.0,                       # USD at start
    "billing_scale": 1.0,                    # multiplies deployment cost
    # Dedicated endpoints: [status, seconds] phases before ready, by
    # flavour (a flavour left out keeps these defaults).
    "warmup": {"openai": [[404, 0.4], [503, 0.4], [401, 0.4]],
               "gradio": [[404, 0.4], [502, 0.4]],
               "html": [[404, 0.4], [502, 0.4]]},
    "warmup_override": None,                 # phases for every flavour
    # Video API (video.py): [created_s, processing_s] of every new
    # video; null = VIDEO_BASE_TIMES * time_scale.
    "video_times": None,
    "video_bucket": "tva-video-uploads",
    "stream_limit": 3,                       # streams per service account
    "stream_key_ttl": 300,                   # seconds a stream key lives
}
# Seconds a video spends created and processing at time scale 1.0.
VIDEO_BASE_TIMES = (4.0, 30.0)

FAULT_DEFAULTS = {
    "capacity": {"routes": ["infer", "chat"], "retry_after": None},
    "http_error": {"status": 503, "routes": None, "body": "json",
                   "message": None, "retry_after": None},
    "latency": {"seconds": 0.5, "routes": None},
    "truncate_json": {"mode": "short", "keep": 0.5, "routes": None},
    "drop_stream": {"after_events": 3, "how": "rst"},
    "split_sse": {"piece_delay": 0.01, "line_ending": "crlf"},
    "endless_stream": {"mode": "tokens", "interval": 0.02},
    "stall_stream": {"seconds": 3600},
    "job_error": {"message": "inference failed (simulated)"},
    "create_reply_lost": {"when": "before_reply", "how": "close"},
    "create_error": {"status": 500,
                     "message": "internal error (simulated)"},
    "delete_error": {"status": 500,
                     "message": "internal error (simulated)"},
    "lifecycle_error": {"status": 500,
                        "message": "internal error (simulated)"},
    "video_error": {"message": "transcoding failed (simulated)",
                    "at_progress": 50},
}
FAULT_CHOICES = {
    ("create_reply_lost", "when"): ("before_reply", "before_create"),
    ("create_reply_lost", "how"): ("close", "rst"),
    ("truncate_json", "mode"): ("short", "close"),
    ("http_error", "body"): ("json", "html", "empty"),
}

REDACTED = "[REDACTED]"
# Body keys of a controller call whose values are kept out of the log.
SECRET_BODY_KEYS = ("auth_password", "password", "registry_password")
MIN_SECRET = 8          # shorter passwords are refused, never stored

API_ROUTES = ("list", "service", "infer", "chat", "status", "presign",
              "project_list")
CONTROLLER_ROUTES = ("ctl_create", "ctl_list", "ctl_start", "ctl_stop",
                     "ctl_delete", "ctl_templates", "ctl_other")
PLATFORM_ROUTES = ("vm_list", "balance", "api_other")
DEDICATED_ROUTES = ("ded_probe", "ded_chat", "ded_predict", "ded_other")
AGENT_ROUTES = ("agent_create", "agent_get", "agent_update", "agent_list",
                "doc_create", "doc_update", "doc_get", "doc_list")
VIDEO_ROUTES = ("video_upload", "video_create", "video_get", "video_list",
                "video_search", "stream_create", "stream_get",
                "stream_list", "ingestor_list", "ingestor_select",
                "ingestor_unselect", "video_other")
ROUTE_NAMES = frozenset(API_ROUTES + CONTROLLER_ROUTES + PLATFORM_ROUTES
                        + DEDICATED_ROUTES + AGENT_ROUTES + VIDEO_ROUTES
                        + ("upload", "output", "unknown", "other_host"))


def iso(ts):
    if ts is None:
        return None
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond
                                                         // 1000)


def new_id(prefix, n):
    return prefix + "".join(secrets.choice(catalog.ALPHABET)
                            for _ in range(n))


def usd_decimal(usage, pcost, divisor):
    cents = (Decimal(usage["input"]) * Decimal(pcost["input"])
             + Decimal(usage["output"]) * Decimal(pcost["output"]))
    return cents / Decimal(divisor) / Decimal(100)


def wrong_cost_usd(pcost, divisor):
    return {k: pcost[k] ** 2 / 100 / divisor for k in ("input", "output")}


def price_of(svc, pred_name):
    p = svc["predictions"][pred_name]
    return dict(p["cost"]), p["cost_divisor"]


class ConfigError(ValueError):
    pass


CHOICES = {
    "first_byte_mode": ("before_headers", "after_headers"),
    "reasoning_field": ("reasoning", "reasoning_content"),
    "sse_line_ending": ("lf", "crlf", "cr"),
    "sse_framing": ("chunked", "close"),
    "presign_shape": ("field", "mcp"),
    "upload_auth_policy": ("reject", "accept"),
    "deployment_routes": ("both", "plural", "singular"),
    "missing_route_status": (404, 405),
    "create_shape": ("object", "string", "nested"),
}
WARMUP_FLAVOURS = ("openai", "gradio", "html")


def _check_phases(key, phases):
    """A warm-up list: [[status, seconds], ...]."""
    good = isinstance(phases, list)
    for ph in phases if good else ():
        if not (isinstance(ph, list) and len(ph) == 2
                and isinstance(ph[0], int) and not isinstance(ph[0], bool)
                and 100 <= ph[0] <= 599
                and isinstance(ph[1], (int, float))
                and not isinstance(ph[1], bool) and ph[1] >= 0):
            good = False
    if not good:
        raise ConfigError("config %r: expected a list of [status, "
                          "seconds] pairs" % key)


def _check_special(key, value):
    """Keys whose shape a default value cannot describe; True if
    handled."""
    if key == "warmup_override":
        if value is not None:
            _check_phases(key, value)
        return True
    if key == "copy_hallucinations":
        try:
            copywriter.check_rules(value)
        except copywriter.RuleError as e:
            raise ConfigError("config %r: %s" % (key, e))
        return True
    if key == "video_times":
        if value is not None and not (
                isinstance(value, list) and len(value) == 2 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    and v >= 0 for v in value)):
            raise ConfigError("config 'video_times': null or [created_s, "
                              "processing_s], numbers >= 0")
        return True
    if key == "warmup":
        if not isinstance(value, dict):
            raise ConfigError("config 'warmup': expected an object")
        for flavour, phases in value.items():
            if flavour not in WARMUP_FLAVOURS:
                raise ConfigError("config 'warmup': flavour one of %s"
                                  % (WARMUP_FLAVOURS,))
            _check_phases("warmup.%s" % flavour, phases)
        return True
    return False


def _check_type(key, value, default):
    if _check_special(key, value):
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)\
            and value >= 0
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError("config %r: expected %s" % (
            key, "a number >= 0" if isinstance(default, (int, float))
            and not isinstance(default, bool) else type(default).__name__))
    if key in CHOICES and value not in CHOICES[key]:
        raise ConfigError("config %r: one of %s" % (key, CHOICES[key]))


class Job:
    """One inference request.  Its state is a function of time: pending
    for ``queue_s``, processing for ``process_s``, then ``outcome``."""

    def __init__(self, sim, svc, pred_name, variant, webhook, inp,
                 queue_s, process_s, output, usage, outcome="success",
                 error_message=None, kind="job"):
        self.id = new_id("infr_rqst_", 22)
        self.sim = sim
        self.svc = svc
        self.prediction = pred_name
        self.variant = variant
        self.webhook = webhook
        self.input = inp
        self.created = time.time()
        self.t0 = time.monotonic()
        self.queue_s = queue_s
        self.process_s = process_s
        self.output = output
        self.usage = usage
        self.outcome = outcome
        self.error_message = error_message
        self.kind = kind
        self.live_state = None      # set for streams: overrides the clock
        self.ledger = None

    def finish_in(self):
        return max(0.0, self.t0 + self.queue_s + self.process_s
                   - time.monotonic())

    def state(self):
        if self.live_state is not None:
            return self.live_state
        el = time.monotonic() - self.t0
        if el < self.queue_s:
            return "pending"
        if el < self.queue_s + self.process_s:
            return "processing"
        return self.outcome

    def to_json(self):
        st = self.state()
        t_assign = self.created + self.queue_s
        t_done = t_assign + self.process_s
        now = time.time()
        pcost, div = price_of(self.svc, self.prediction)
        done = st in ("success", "error")
        usage = self.usage if st == "success" else {"input": 0, "output": 0}
        out = {
            "id": self.id,
            "org_id": self.sim.org_id,
            "project_id": self.sim.project_id,
            "service_id": self.svc["id"],
            "template_id": self.svc["template_id"],
            "prediction": self.prediction,
            "variant": self.variant,
            "webhook": self.webhook,
            "community_worker_only": None,
            "state": st,
            "infer_endpoint_id": None,
            "input": self.input,
            "output": self.output if st == "success" else {},
            "usage": dict(usage),
            "prediction_cost": pcost,
            "prediction_cost_divisor": div,
            "cost_usd": (wrong_cost_usd(pcost, div) if st == "success"
                         else {"input": 0, "output": 0}),
            "create_time": iso(self.created),
            "update_time": iso(min(now, t_done) if done else
                               (t_assign if st == "processing"
                                else self.created)),
            "assigned_time": iso(t_assign) if st != "pending" else None,
            "process_time": iso(t_assign) if st != "pending" else None,
            "success_time": iso(t_done) if st == "success" else None,
            "error_message": self.error_message if st == "error" else None,
            "error_time": iso(t_done) if st == "error" else None,
            "is_new": False,
        }
        if st == "error":
            out["error"] = self.error_message
        return out


class Sim:
    def __init__(self, token, config=None, faults=None, api_key=None,
                 project_id=None, org_id=None, video_sa_id=None,
                 video_sa_secret=None):
        self.token = token
        # The controller/platform credential and the one project and
        # organisation it may act on (reference 1.2: keys are scoped).
        self.api_key = api_key or "tsk_" + secrets.token_urlsafe(24)
        self.project_id = project_id or catalog.PROJECT_ID
        self.org_id = org_id or catalog.ORG_ID
        # The one Video API service account (reference 5.1).
        self.video_sa_id = video_sa_id or new_id("srvacc_", 25)
        self.video_sa_secret = video_sa_secret or new_id("", 32)
        self.signing_key = secrets.token_bytes(32)
        self.start_config = self._build_config(config or {})
        self.start_faults = copy.deepcopy(faults or {})
        self.reset()

    # -- config and faults ----------------------------------------------
    @staticmethod
    def _build_config(overrides, base=None):
        cfg = copy.deepcopy(base if base is not None else DEFAULT_CONFIG)
        prof = overrides.get("profile")
        if prof is not None:
            if prof not in PROFILES:
                raise ConfigError("unknown profile %r" % prof)
            cfg.update(copy.deepcopy(PROFILES[prof]))
            cfg["profile"] = prof
        for k, v in overrides.items():
            if k == "profile":
                continue
            if k not in DEFAULT_CONFIG:
                raise ConfigError("unknown config key %r" % k)
            _check_type(k, v, DEFAULT_CONFIG[k])
            cfg[k] = v
        return cfg

    def update_config(self, overrides):
        if not isinstance(overrides, dict):
            raise ConfigError("config must be a JSON object")
        self.config = self._build_config(overrides, self.config)

    def set_faults(self, spec):
        """Merge ``{name: {...} | null}``; null or count 0 clears."""
        if not isinstance(spec, dict):
            raise ConfigError("faults must be a JSON object")
        if spec.get("clear") is True:
            self.faults = {}
        for name, val in spec.items():
            if name == "clear":
                continue
            if name not in FAULT_DEFAULTS:
                raise ConfigError("unknown fault %r" % name)
            if val is None or val is False or (isinstance(val, dict)
                                               and val.get("count") == 0):
                self.faults.pop(name, None)
                continue
            if val is True:
                val = {}
            if not isinstance(val, dict):
                raise ConfigError("fault %r must be an object" % name)
            f = copy.deepcopy(FAULT_DEFAULTS[name])
            unknown = set(val) - set(f) - {"count", "service"}
            if unknown:
                raise ConfigError("fault %r: unknown keys %s"
                                  % (name, sorted(unknown)))
            f.update(val)
            f.setdefault("count", 1)
            f.setdefault("service", None)
            if not isinstance(f["count"], int):
                raise ConfigError("fault %r: count must be an integer"
                                  % name)
            self._check_fault(name, f)
            f["fired"] = 0
            self.faults[name] = f

    @staticmethod
    def _check_fault(name, f):
        for (fname, key), choices in FAULT_CHOICES.items():
            if fname == name and f.get(key) not in choices:
                raise ConfigError("fault %r: %s one of %s"
                                  % (name, key, choices))
        routes = f.get("routes")
        if routes is not None and (
                not isinstance(routes, list)
                or any(r not in ROUTE_NAMES for r in routes)):
            raise ConfigError("fault %r: routes must be a list of route "
                              "names (%s)" % (name,
                                              ", ".join(sorted(ROUTE_NAMES))))
        if "status" in f and (not isinstance(f["status"], int)
                              or not 100 <= f["status"] <= 599):
            raise ConfigError("fault %r: status must be an HTTP status"
                              % name)
        if "at_progress" in f and (
                not isinstance(f["at_progress"], (int, float))
                or isinstance(f["at_progress"], bool)
                or not 0 <= f["at_progress"] <= 100):
            raise ConfigError("fault %r: at_progress must be a number "
                              "from 0 to 100" % name)

    def take_fault(self, name, route=None, service=None):
        """The fault spec if ``name`` is armed for this call, consuming one
        of its count; None otherwise."""
        f = self.faults.get(name)
        if f is None:
            return None
        routes = f.get("routes")
        if routes is None and "routes" in f:
            routes = API_ROUTES
        if routes is not None and route not in routes:
            return None
        if f.get("service") and f["service"] != service:
            return None
        f["fired"] += 1
        if f["count"] > 0:
            f["count"] -= 1
            if f["count"] == 0:
                del self.faults[name]
        return f

    def reset(self):
        self.config = copy.deepcopy(self.start_config)
        self.faults = {}
        self.set_faults(copy.deepcopy(self.start_faults))
        self.jobs = {}
        self.ledger = []
        self.requests = []
        self.uploads = {}           # object path -> upload record
        self.by_filename = {}       # filename -> object path
        self.quota_hits = {}        # alias -> deque of monotonic times
        self.outputs = {}           # output path -> (job id, field)
        self.deployments = {}       # BaseID -> Deployment, deleted too
        self.seen_secrets = set()   # passwords seen in request bodies
        # Copywriter mode: every post written, how often each rule
        # applied to each facts text, generations per facts text.
        self.copy_generations = []
        self.copy_counts = {}       # (rule index, facts text) -> count
        self.copy_attempts = {}     # facts text -> generations
        self.chatbots = {}          # chatbot id -> agents.Chatbot
        self.videos = {}            # video id -> video.Video
        self.streams = {}           # stream id -> video.Stream
        self.ingestor_owner = {}    # ingestor id -> stream id

    # -- timing -----------------------------------------------------------
    def job_times(self, svc):
        own = self.config["job_times"].get(svc["alias"])
        if own:
            return float(own[0]), float(own[1])
        q, p = svc["base_times"]
        s = float(self.config["time_scale"])
        return q * s, p * s

    def first_byte_delay(self, alias):
        by = self.config["first_byte_delay_by_service"] or {}
        return float(by.get(alias, self.config["first_byte_delay"]))

    # -- quotas -----------------------------------------------------------
    def quota_limits(self, alias):
        own = self.config["quotas"].get(alias, {})
        return (int(own.get("ten_min", self.config["quota_10min"])),
                int(own.get("daily", self.config["quota_daily"])))

    def quota_take(self, svc):
        """(ok, message, retry_after, model_quotas)."""
        alias = svc["alias"]
        hits = self.quota_hits.setdefault(alias, deque())
        now = time.monotonic()
        while hits and now - hits[0] >= 86400:
            hits.popleft()
        ten = sum(1 for t in hits if now - t < 600)
        q10, qd = self.quota_limits(alias)
        if ten >= q10:
            first = next(t for t in hits if now - t < 600)
            return False, "10 minute quota reached", 600 - (now - first), None
        if len(hits) >= qd:
            return False, "daily quota reached", 86400 - (now - hits[0]), None
        hits.append(now)
        mq = [{"template_id": svc["template_id"],
               "ten_min_quota": q10, "ten_min_remaining": q10 - ten - 1,
               "daily_quota": qd, "daily_remaining": qd - len(hits)}]
        return True, None, None, mq

    # -- ledger -----------------------------------------------------------
    def ledger_add(self, svc, pred_name, route, request_id, usage, *,
                   stream=False, infer_request_id=None, job=None):
        pcost, div = price_of(svc, pred_name)
        entry = {
            "seq": len(self.ledger) + 1,
            "time": iso(time.time()),
            "service": svc["alias"],
            "prediction": pred_name,
            "route": route,
            "request_id": request_id,
            "infer_request_id": infer_request_id,
            "stream": stream,
            "stream_completed": False if stream else None,
            "usage": dict(usage),
            "prediction_cost": pcost,
            "prediction_cost_divisor": div,
        }
        self.ledger.append(entry)
        if job is not None:
            job.ledger = entry
            entry["_job"] = job
        return entry

    def ledger_view(self):
        out = []
        total = Decimal(0)
        wrong = 0.0
        for e in self.ledger:
            v = {k: val for k, val in e.items() if not k.startswith("_")}
            job = e.get("_job")
            if e["stream"]:
                v["state"] = e.get("_stream_state", "streaming")
            else:
                v["state"] = job.state() if job else "success"
            if not e["stream"] and v["state"] == "error":
                continue            # failed jobs are not billed
            usd = usd_decimal(e["usage"], e["prediction_cost"],
                              e["prediction_cost_divisor"])
            v["usd"] = float(usd)
            v["usd_decimal"] = str(usd)
            v["cost_usd_field"] = wrong_cost_usd(
                e["prediction_cost"], e["prediction_cost_divisor"])
            total += usd
            wrong += sum(v["cost_usd_field"].values())
            out.append(v)
        return {"entries": out, "count": len(out), "total_usd": float(total),
                "total_usd_decimal": str(total),
                "total_cost_usd_field": wrong,
                "formula": "usd = (usage.input*prediction_cost.input + "
                           "usage.output*prediction_cost.output) / "
                           "prediction_cost_divisor / 100"}

    # -- request log ------------------------------------------------------
    def remember_secrets(self, req):
        """Passwords in a controller request body become secrets before
        the request is logged, whether or not the call succeeds."""
        if req.host != "controller.thetaedgecloud.com" or not req.body:
            return
        try:
            body = json.loads(req.body)
        except ValueError:
            return
        if isinstance(body, dict):
            for key in SECRET_BODY_KEYS:
                val = body.get(key)
                if isinstance(val, str) and len(val) >= MIN_SECRET:
                    self.seen_secrets.add(val)

    def secret_values(self):
        """Every value the request log must never show, longest first."""
        vals = {self.token, self.api_key, self.video_sa_secret}
        vals |= self.seen_secrets
        vals |= {d.auth_password for d in self.deployments.values()
                 if d.auth_password}
        vals |= {k for s in self.streams.values() for k in s.keys_issued}
        return sorted((v for v in vals if v), key=len, reverse=True)

    def redact(self, text):
        """``text`` with every secret replaced by [REDACTED]."""
        if text is None:
            return None
        for val in self.secret_values():
            if val in text:
                text = text.replace(val, REDACTED)
        return text

    def requests_view(self, rows):
        """Log rows redacted again: a password learned after a request
        was logged is hidden too."""
        out = []
        for r in rows:
            r = dict(r)
            for key in ("path", "target", "body", "user_agent",
                        "content_type"):
                r[key] = self.redact(r[key])
            out.append(r)
        return out

    def _carried(self, req, value, own_header):
        """(in url, other header names, in body) for one secret."""
        if not value:
            return False, [], False
        names = [k for k, v in req.headers
                 if k.lower() != own_header and value in v]
        return value in req.target, names, value.encode() in req.body

    def log_request(self, req):
        self.remember_secrets(req)
        auth = req.hdr.get("authorization")
        scheme = auth.split(" ", 1)[0] if auth else None
        token_valid = None
        if auth is not None:
            token_valid = (scheme.lower() == "bearer"
                           and auth[len(scheme):].strip() == self.token)
        key = req.hdr.get("x-api-key")
        t_url, t_hdrs, t_body = self._carried(req, self.token,
                                              "authorization")
        k_url, k_hdrs, k_body = self._carried(req, self.api_key,
                                              "x-api-key")
        sa_id = req.hdr.get("x-tva-sa-id")
        sa_secret = req.hdr.get("x-tva-sa-secret")
        v_url, v_hdrs, v_body = self._carried(req, self.video_sa_secret,
                                              "x-tva-sa-secret")
        entry = {
            "seq": len(self.requests) + 1,
            "time": iso(req.received),
            "method": req.method,
            "host": req.host,
            "sni": req.sni,
            "path": self.redact(req.path),
            "target": self.redact(req.target),
            "authorization_present": auth is not None,
            "auth_scheme": scheme,
            "token_valid": token_valid,
            "x_api_key_present": key is not None,
            "x_api_key_valid": None if key is None else key == self.api_key,
            "token_in_url": t_url,
            "token_in_headers": t_hdrs,
            "token_in_body": t_body,
            "api_key_in_url": k_url,
            "api_key_in_headers": k_hdrs,
            "api_key_in_body": k_body,
            "video_sa_id_present": sa_id is not None,
            "video_secret_present": sa_secret is not None,
            "video_auth_valid": (
                None if sa_id is None and sa_secret is None else
                sa_id == self.video_sa_id
                and sa_secret == self.video_sa_secret),
            "video_secret_in_url": v_url,
            "video_secret_in_headers": v_hdrs,
            "video_secret_in_body": v_body,
            "endpoint_auth_valid": None,
            "content_type": self.redact(req.hdr.get("content-type")),
            "user_agent": self.redact(req.hdr.get("user-agent")),
            "body_bytes": len(req.body),
            "body": None,
            "status": None,
            "reply_lost": False,
            "route": None,
            "service": None,
        }
        if req.body and req.host != "storage.googleapis.com":
            text = req.body[:8192].decode("utf-8", "replace")
            entry["body"] = self.redact(text)
        self.requests.append(entry)
        return entry

    def prune(self, limit=20000):
        if len(self.requests) > limit:
            del self.requests[:len(self.requests) - limit]


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
