"""Configuration of the offline Threads backend.

Two kinds of settings:

* start-only settings (secret, storage, paths, test hooks) read once;
* runtime settings: every ``REF_<NAME>`` in ``RUNTIME`` below is read from
  the environment at start and can be changed later through
  ``POST /__test__/config`` with the key ``<name>`` (the variable name
  without ``REF_``, lower case).  ``POST /__test__/reset`` puts them back
  to their start values.
"""
import os
import re
import tempfile


class ConfigError(ValueError):
    pass


def _bool(v):
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError("expected a boolean")


def _nonneg_int(v):
    if isinstance(v, bool):
        raise ConfigError("expected an integer >= 0")
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise ConfigError("expected an integer >= 0") from None
    if n < 0 or (isinstance(v, float) and v != n):
        raise ConfigError("expected an integer >= 0")
    return n


def _pos_int(v):
    n = _nonneg_int(v)
    if n < 1:
        raise ConfigError("expected an integer >= 1")
    return n


def _nonneg_float(v):
    if isinstance(v, bool):
        raise ConfigError("expected a number >= 0")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ConfigError("expected a number >= 0") from None
    if not f >= 0 or f == float("inf"):
        raise ConfigError("expected a number >= 0")
    return f


def _choice(*allowed):
    def parse(v):
        s = "" if v is None else str(v).strip().lower()
        if s not in allowed:
            raise ConfigError("expected one of: " + ", ".join(
                repr(a) for a in allowed))
        return s
    return parse


_TENANT = re.compile(r"^[a-z0-9_-]{1,64}$")


def _preset(v):
    """'tenant=count,tenant=count' (or a JSON object via the hook)."""
    if isinstance(v, dict):
        pairs = list(v.items())
    else:
        pairs = []
        for part in str(v or "").split(","):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise ConfigError("expected tenant=count[,tenant=count]")
            k, _, n = part.partition("=")
            pairs.append((k.strip(), n.strip()))
    out = {}
    for k, n in pairs:
        if not _TENANT.match(str(k)):
            raise ConfigError(f"bad tenant id {k!r}")
        out[str(k)] = _nonneg_int(n)
    return out


# name: (parser, default, one-line description) -- env var is REF_<NAME>.
RUNTIME = {
    "error_style": (_choice("object", "string"), "object",
                    "'string' makes every error detail a plain string"),
    "fail_mode": (_choice("", "unavailable"), "",
                  "'unavailable': /api/* and /health answer 503"),
    "dedup_s": (_nonneg_float, 120.0,
                "content dedup window in seconds, 0 disables"),
    "min_spacing_s": (_nonneg_float, 0.0,
                      "spacing between next-free-slot items of a tenant"),
    "idempotency_ttl_s": (_nonneg_float, 86400.0,
                          "how long Idempotency-Keys are kept, 0 = for "
                          "ever"),
    "strict_extra": (_bool, False,
                     "unknown body fields -> 422 extra_forbidden"),
    "quota_limit": (_pos_int, 250, "posts per tenant per rolling 24 h"),
    "quota_preset": (_preset, {"quota_test": 249},
                     "usage a tenant starts with, 'tenant=count,...'"),
    "assistant_require_secret": (_bool, False,
                                 "assistant/chat needs X-Queue-Secret"),
    "container_wait_s": (_nonneg_float, 30.0,
                         "wait after container creation before polling"),
    "poll_s": (_nonneg_float, 60.0, "container status poll interval"),
    "poll_max_s": (_nonneg_float, 300.0,
                   "give up polling an IN_PROGRESS container after this"),
    "confirm_checks": (_pos_int, 3,
                       "status checks after a lost publish response"),
    "fake_in_progress_polls": (_nonneg_int, 1,
                               "status polls a fake container stays "
                               "IN_PROGRESS"),
    "fake_gen_ms": (_nonneg_int, 300, "fake Replicate latency in ms"),
    "gen_timeout_s": (_nonneg_float, 60.0,
                      "assistant gives up waiting for a prediction"),
    "image_timeout_s": (_nonneg_float, 10.0, "image proxy fetch timeout"),
    "image_max_bytes": (_pos_int, 8 * 1024 * 1024,
                        "largest image the proxy accepts"),
    "worker_interval_s": (_nonneg_float, 0.0,
                          "background worker period, 0 = off"),
    "fault_fail_after_store": (_nonneg_int, 0,
                               "next N POSTs: store, then answer 500"),
    "fault_drop_after_store": (_nonneg_int, 0,
                               "next N POSTs: store, then close the "
                               "connection without a response"),
    "fault_delay_ms": (_nonneg_int, 0, "delay every /api/* response"),
    "fault_in_use": (_nonneg_int, 0,
                     "next N POSTs: 409 idempotency_key_in_use"),
    "fault_rate_limit": (_nonneg_int, 0, "next N POSTs: 429 rate_limited"),
    "fault_rate_limit_retry_after_s": (_nonneg_int, 1,
                                       "Retry-After of fault_rate_limit"),
}


def runtime_from_env(environ):
    values = {}
    for name, (parse, default, _doc) in RUNTIME.items():
        raw = environ.get("REF_" + name.upper())
        if raw is None or raw == "":
            values[name] = default
            continue
        try:
            values[name] = parse(raw)
        except ConfigError as e:
            raise ConfigError(f"REF_{name.upper()}: {e}") from None
    return values


def apply_runtime(values, updates):
    """Validate a hook payload; returns (new values, errors)."""
    new = dict(values)
    errors = []
    for key, raw in updates.items():
        if key not in RUNTIME:
            errors.append({"type": "extra_forbidden", "loc": ["body", key],
                           "msg": "Unknown setting", "input": raw})
            continue
        try:
            new[key] = RUNTIME[key][0](raw)
        except ConfigError as e:
            errors.append({"type": "value_error", "loc": ["body", key],
                           "msg": str(e), "input": raw})
    return new, errors


def _is_loopback_host(host):
    return host in ("localhost", "::1") or host.startswith("127.")


class Static:
    """Start-only settings."""

    def __init__(self, environ):
        self.secret = environ.get("THREADS_QUEUE_SECRET", "")
        if not self.secret:
            raise ConfigError("THREADS_QUEUE_SECRET is not set; refusing "
                              "to start without a queue secret")
        self.storage_provider = (environ.get("STORAGE_PROVIDER") or
                                 "local").strip().lower()
        if self.storage_provider != "local":
            raise ConfigError(
                f"STORAGE_PROVIDER={self.storage_provider!r} is not "
                "supported by the offline test backend (only 'local')")
        state = environ.get("REF_STATE_DIR")
        self.own_state_dir = not state
        self.state_dir = os.path.abspath(
            state or tempfile.mkdtemp(prefix="threads_backend_"))
        uploads = environ.get("UPLOADS_DIR") or "uploads"
        self.uploads_dir = (uploads if os.path.isabs(uploads)
                            else os.path.join(self.state_dir, uploads))
        path = (environ.get("UPLOADS_PATH") or "/uploads").rstrip("/")
        if (not path.startswith("/") or path in ("", "/api", "/health")
                or path.startswith(("/api/", "/__"))):
            raise ConfigError(f"UPLOADS_PATH={path!r} must be an absolute "
                              "path outside /api and /__*")
        self.uploads_path = path
        self.public_base_url = (environ.get("REF_PUBLIC_BASE_URL")
                                or "").rstrip("/")
        self.test_hooks = _bool(environ.get("REF_TEST_HOOKS", "0"))
        self.log_level = (environ.get("REF_LOG_LEVEL") or
                          "warning").lower()
        self.proxy_allow = set()
        for part in (environ.get("REF_PROXY_ALLOW") or "").split(","):
            part = part.strip().lower()
            if not part:
                continue
            host = part.rsplit(":", 1)[0].strip("[]")
            if ":" not in part or not _is_loopback_host(host):
                raise ConfigError("REF_PROXY_ALLOW takes loopback "
                                  "host:port entries only")
            self.proxy_allow.add(part)
        self.runtime = runtime_from_env(environ)
