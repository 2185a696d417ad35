"""theta_rpc.rpc -- JSON-RPC 2.0 framing, the call record, faults, config.

Kept apart from the methods (methods.py) so that the wire rules live in
one place: what a request must look like, which error object each
mistake earns, how the two params forms are read, and what the call
record keeps (never a password or transaction bytes).

Error codes (JSON-RPC 2.0 plus two node codes):
  -32700 parse error        the body is no JSON
  -32600 invalid request    not an object (batches included), jsonrpc
                            not "2.0", method not a string, id neither
                            number, string nor null, params neither
                            array nor object
  -32601 method not found   unknown, or a method of another surface
  -32602 invalid params     the params form or a field is wrong
  -32000 node error         the node refused (unknown key or account,
                            wrong password, transaction already seen)
  -32001 key locked         thetacli.Send from a locked key
"""
import copy
import datetime
import json
import re
import threading
import time

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
NODE_ERROR = -32000
KEY_LOCKED = -32001
MESSAGES = {PARSE_ERROR: "Parse error", INVALID_REQUEST: "Invalid Request",
            METHOD_NOT_FOUND: "Method not found",
            INVALID_PARAMS: "Invalid params"}
REDACTED = "[REDACTED]"
# Param names whose values never reach the call record.
SECRET_NAME = re.compile(r"pass|secret|priv|seed|mnemonic|tx_bytes", re.I)
SURFACES = ("edgecloud", "chain", "cli")

DEFAULT_CONFIG = {
    "connection_status": "connected",   # edgecloud.GetStatus
    "min_password_length": 8,           # thetacli.NewKey
    "tx_finalize_s": 0.2,               # pending -> finalized
    "require_json_content_type": True,  # else HTTP 415
}
FAULT_DEFAULTS = {
    "rpc_error": {"code": NODE_ERROR, "message": "simulated node error"},
    "http_error": {"status": 503, "body": "text"},
    "latency": {"seconds": 0.5},
    "drop": {},
}
FAULT_COMMON = {"count": 1, "method": None, "surface": None}


class RpcError(Exception):
    def __init__(self, code, message=None, data=None):
        super().__init__(message)
        self.code = code
        self.message = message or MESSAGES.get(code, "Server error")
        self.data = data

    def obj(self):
        out = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


class ControlError(ValueError):
    pass


def invalid_params(detail):
    return RpcError(INVALID_PARAMS, "Invalid params: " + detail)


def iso(ts):
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def params_form(params):
    if params is None:
        return "absent"
    if isinstance(params, list):
        return "array"
    if isinstance(params, dict):
        return "object"
    return "other"


def one_object(params):
    """The argument object of a call: ``[{...}]`` (the documented
    form) or ``{...}`` (what the skill sends); absent or ``[]`` is an
    empty object."""
    if params is None:
        return {}
    if isinstance(params, dict):
        return params
    if len(params) == 0:
        return {}
    if len(params) == 1 and isinstance(params[0], dict):
        return params[0]
    raise invalid_params("params must be [{...}] or {...}")


def check_request(req):
    """Raise RpcError(-32600) unless ``req`` is a JSON-RPC 2.0 request
    object; return (id, method, params, is_notification)."""
    if isinstance(req, list):
        raise RpcError(INVALID_REQUEST, "Invalid Request: batch requests "
                       "are not supported")
    if not isinstance(req, dict):
        raise RpcError(INVALID_REQUEST, "Invalid Request: the body must "
                       "be a JSON object")
    if req.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, "Invalid Request: jsonrpc must be "
                       "\"2.0\"")
    if not isinstance(req.get("method"), str) or not req["method"]:
        raise RpcError(INVALID_REQUEST, "Invalid Request: method must be "
                       "a non-empty string")
    rid = req.get("id")
    if isinstance(rid, bool) or not isinstance(rid, (int, float, str,
                                                     type(None))):
        raise RpcError(INVALID_REQUEST, "Invalid Request: id must be a "
                       "number, a string or null")
    params = req.get("params")
    if params is not None and not isinstance(params, (list, dict)):
        raise RpcError(INVALID_REQUEST, "Invalid Request: params must be "
                       "an array or an object")
    return rid, req["method"], params, "id" not in req


class Node:
    """Everything the three surfaces share: config, faults, the call
    record, the secrets to redact.  One lock: the HTTP threads call in
    concurrently."""

    def __init__(self, config=None, faults=None):
        self.lock = threading.RLock()
        self.start_config = self.build_config(config or {})
        self.start_faults = copy.deepcopy(faults or {})
        self.secrets = set()
        self.config = {}
        self.faults = {}
        self.calls = []

    def reset_common(self):
        self.config = copy.deepcopy(self.start_config)
        self.faults = {}
        self.set_faults(copy.deepcopy(self.start_faults))
        self.calls = []

    # -- config and faults --------------------------------------------
    @staticmethod
    def build_config(overrides, base=None):
        cfg = copy.deepcopy(base if base is not None else DEFAULT_CONFIG)
        if not isinstance(overrides, dict):
            raise ControlError("config must be a JSON object")
        for k, v in overrides.items():
            if k not in DEFAULT_CONFIG:
                raise ControlError("unknown config key %r" % k)
            d = DEFAULT_CONFIG[k]
            if isinstance(d, bool):
                good = isinstance(v, bool)
            elif isinstance(d, (int, float)):
                good = isinstance(v, (int, float)) and \
                    not isinstance(v, bool) and v >= 0
            else:
                good = isinstance(v, str) and v != ""
            if not good:
                raise ControlError("config %r: expected %s" % (
                    k, type(d).__name__ if not isinstance(d, (int, float))
                    or isinstance(d, bool) else "a number >= 0"))
            cfg[k] = v
        return cfg

    def update_config(self, overrides):
        self.config = self.build_config(overrides, self.config)

    def set_faults(self, spec):
        if not isinstance(spec, dict):
            raise ControlError("faults must be a JSON object")
        if spec.get("clear") is True:
            self.faults = {}
        for name, val in spec.items():
            if name == "clear":
                continue
            if name not in FAULT_DEFAULTS:
                raise ControlError("unknown fault %r" % name)
            if val is None or val is False or (isinstance(val, dict)
                                               and val.get("count") == 0):
                self.faults.pop(name, None)
                continue
            if val is True:
                val = {}
            if not isinstance(val, dict):
                raise ControlError("fault %r must be an object" % name)
            f = dict(FAULT_COMMON)
            f.update(FAULT_DEFAULTS[name])
            unknown = set(val) - set(f)
            if unknown:
                raise ControlError("fault %r: unknown keys %s"
                                   % (name, sorted(unknown)))
            f.update(val)
            self._check_fault(name, f)
            f["fired"] = 0
            self.faults[name] = f

    @staticmethod
    def _check_fault(name, f):
        if not isinstance(f["count"], int) or isinstance(f["count"], bool):
            raise ControlError("fault %r: count must be an integer" % name)
        for key in ("method", "surface"):
            if f[key] is not None and not isinstance(f[key], str):
                raise ControlError("fault %r: %s must be a string"
                                   % (name, key))
        if f["surface"] is not None and f["surface"] not in SURFACES:
            raise ControlError("fault %r: surface one of %s"
                               % (name, SURFACES))
        if name == "rpc_error" and (not isinstance(f["code"], int)
                                    or not isinstance(f["message"], str)):
            raise ControlError("fault 'rpc_error': code must be an integer "
                               "and message a string")
        if name == "http_error" and (
                not isinstance(f["status"], int)
                or not 400 <= f["status"] <= 599
                or f["body"] not in ("text", "json", "empty")):
            raise ControlError("fault 'http_error': status 400..599, body "
                               "text|json|empty")
        if name == "latency" and (
                not isinstance(f["seconds"], (int, float))
                or isinstance(f["seconds"], bool) or f["seconds"] < 0):
            raise ControlError("fault 'latency': seconds must be >= 0")

    def take_fault(self, name, surface, method):
        with self.lock:
            f = self.faults.get(name)
            if f is None:
                return None
            if f["surface"] and f["surface"] != surface:
                return None
            if f["method"] and f["method"] != method:
                return None
            f["fired"] += 1
            if f["count"] > 0:
                f["count"] -= 1
                if f["count"] == 0:
                    del self.faults[name]
            return dict(f)

    # -- the call record ----------------------------------------------
    def redact(self, value, name=""):
        """A copy of ``value`` with secret-named fields and every known
        secret value replaced."""
        if name and SECRET_NAME.search(name):
            return REDACTED
        if isinstance(value, dict):
            return {k: self.redact(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v, name) for v in value]
        if isinstance(value, str):
            for s in sorted(self.secrets, key=len, reverse=True):
                if s and s in value:
                    value = value.replace(s, REDACTED)
        return value

    def remember_secrets(self, params):
        """Values of secret-named fields become secrets before anything
        is recorded, valid call or not."""
        def walk(v, name=""):
            if isinstance(v, dict):
                for k, x in v.items():
                    walk(x, str(k))
            elif isinstance(v, list):
                for x in v:
                    walk(x, name)
            elif isinstance(v, str) and name and SECRET_NAME.search(name) \
                    and len(v) >= 4:
                self.secrets.add(v)
        walk(params)

    def record(self, entry):
        with self.lock:
            entry["seq"] = len(self.calls) + 1
            self.calls.append(entry)
            if len(self.calls) > 20000:
                del self.calls[:len(self.calls) - 20000]

    def calls_view(self, surface=None, method=None):
        with self.lock:
            rows = [dict(c) for c in self.calls
                    if (surface is None or c["surface"] == surface)
                    and (method is None or c["method"] == method)]
        for r in rows:
            r["params"] = self.redact(r["params"])
        return rows


def now_iso():
    return iso(time.time())


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
