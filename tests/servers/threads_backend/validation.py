"""Request validation that reports errors the way FastAPI + pydantic v2 do.

The Debian FastAPI here runs on pydantic 1.10, whose 422 items look
different (``value_error.missing``, no ``input``).  The contract
(threads-api.md 4.1/6.2) is the pydantic v2 shape -- ``type``, ``loc``,
``msg``, ``input`` and optional ``ctx`` -- so bodies are parsed and
checked here by hand and every error, stock or custom, comes out in that
one list shape.
"""
import datetime as dt
import json
import re
from urllib.parse import urlsplit

MISSING = object()

TEXT_LIMIT = 500
LINK_LIMIT = 5
IMAGES_LIMIT = 20
PAST_GRACE_S = 60
FAR_LIMIT_DAYS = 90
TENANT_PATTERN = r"^[a-z0-9_-]{1,64}$"
_TENANT_RE = re.compile(TENANT_PATTERN)
KEY_PATTERN = r"^[\x20-\x7e]{1,255}$"
_KEY_RE = re.compile(KEY_PATTERN)
MODELS = ("black-forest-labs/flux-1.1-pro", "black-forest-labs/flux-schnell")
# Rules that depend on the clock, not on the request: a retry with the
# same Idempotency-Key and body gets the stored answer even when the
# date has passed since (see validate_publish's ``defer_dates``).
DATE_RULES = ("scheduled_in_past", "scheduled_too_far")


def iso(ts):
    """RFC 3339 UTC with Z, whole seconds."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def err(type_, loc, msg, input_, ctx=None):
    e = {"type": type_, "loc": list(loc), "msg": msg, "input": input_}
    if ctx is not None:
        e["ctx"] = ctx
    return e


def is_json_content_type(value):
    if not value:
        return False
    main = value.split(";", 1)[0].strip().lower()
    if not main.startswith("application/"):
        return False
    sub = main[len("application/"):]
    return sub == "json" or sub.endswith("+json")


def parse_json_body(raw, content_type):
    """(value, errors).  Empty body -> None (pydantic reports 'missing');
    non-JSON content type -> the text itself (so the model check reports
    model_attributes_type, as FastAPI does)."""
    if not raw:
        return None, []
    if not is_json_content_type(content_type):
        return raw.decode("utf-8", "replace"), []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return MISSING, [err("json_invalid", ["body", e.start],
                             "JSON decode error", {},
                             {"error": "invalid UTF-8"})]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as e:
        return MISSING, [err("json_invalid", ["body", e.pos],
                             "JSON decode error", {}, {"error": e.msg})]


def canonical_hash_input(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def check_idempotency_key(value):
    """(key or None, errors) for the optional Idempotency-Key header."""
    if value is None:
        return None, []
    loc = ["header", "idempotency-key"]
    if len(value) == 0:
        return None, [err("string_too_short", loc,
                          "String should have at least 1 character", value,
                          {"min_length": 1})]
    if len(value) > 255:
        return None, [err("string_too_long", loc,
                          "String should have at most 255 characters",
                          value, {"max_length": 255})]
    if not _KEY_RE.match(value):
        return None, [err("string_pattern_mismatch", loc,
                          f"String should match pattern '{KEY_PATTERN}'",
                          value, {"pattern": KEY_PATTERN})]
    return value, []


def _model(body, loc, class_name, errors, parent=None):
    if body is MISSING or (body is None and len(loc) == 1):
        errors.append(err("missing", loc, "Field required", parent))
        return None
    if not isinstance(body, dict):
        if len(loc) == 1:
            errors.append(err(
                "model_attributes_type", loc,
                "Input should be a valid dictionary or object to extract "
                "fields from", body))
        else:
            errors.append(err(
                "model_type", loc,
                f"Input should be a valid dictionary or instance of "
                f"{class_name}", body, {"class_name": class_name}))
        return None
    return body


def _extra(obj, known, loc, strict, errors):
    if strict:
        for k in obj:
            if k not in known:
                errors.append(err("extra_forbidden", loc + [k],
                                  "Extra inputs are not permitted", obj[k]))


def _str(obj, key, loc, errors, required=False, default=None,
         nullable=False, min_len=None, max_len=None, pattern=None):
    v = obj.get(key, MISSING)
    here = loc + [key]
    if v is MISSING:
        if required:
            errors.append(err("missing", here, "Field required", obj))
        return default
    if v is None and nullable:
        return None
    if not isinstance(v, str):
        errors.append(err("string_type", here,
                          "Input should be a valid string", v))
        return default
    if min_len is not None and len(v) < min_len:
        errors.append(err("string_too_short", here,
                          f"String should have at least {min_len} "
                          f"character{'s' if min_len != 1 else ''}", v,
                          {"min_length": min_len}))
    elif max_len is not None and len(v) > max_len:
        errors.append(err("string_too_long", here,
                          f"String should have at most {max_len} "
                          "characters", v, {"max_length": max_len}))
    elif pattern is not None and not re.match(pattern, v):
        errors.append(err("string_pattern_mismatch", here,
                          f"String should match pattern '{pattern}'", v,
                          {"pattern": pattern}))
    return v


def _bool(obj, key, loc, errors, default):
    v = obj.get(key, MISSING)
    here = loc + [key]
    if v is MISSING:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1", "yes", "on", "t", "y"):
            return True
        if s in ("false", "0", "no", "off", "f", "n"):
            return False
        errors.append(err("bool_parsing", here,
                          "Input should be a valid boolean, unable to "
                          "interpret input", v))
        return default
    errors.append(err("bool_type", here, "Input should be a valid boolean",
                      v))
    return default


def _str_or_int(obj, key, loc, errors):
    """Telegram ids: JSON strings or integers, stored as strings."""
    v = obj.get(key, MISSING)
    if v is MISSING or v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    here = loc + [key]
    errors.append(err("string_type", here + ["str"],
                      "Input should be a valid string", v))
    if isinstance(v, float):
        errors.append(err("int_from_float", here + ["int"],
                          "Input should be a valid integer, got a number "
                          "with a fractional part", v))
    else:
        errors.append(err("int_type", here + ["int"],
                          "Input should be a valid integer", v))
    return None


def url_error(value, loc):
    """pydantic-v2-like HttpUrl check; returns an error dict or None."""
    if not isinstance(value, str):
        return err("string_type", loc, "Input should be a valid string",
                   value)

    def parsing(reason):
        return err("url_parsing", loc,
                   f"Input should be a valid URL, {reason}", value,
                   {"error": reason})
    if value == "":
        return parsing("input is empty")
    if any(c.isspace() for c in value.strip()) or value != value.strip():
        return parsing("invalid domain character")
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", value)
    if not m:
        return parsing("relative URL without a base")
    if m.group(1).lower() not in ("http", "https"):
        return err("url_scheme", loc,
                   "URL scheme should be 'http' or 'https'", value,
                   {"expected_schemes": "'http' or 'https'"})
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port
    except ValueError:
        return parsing("invalid port number")
    if not host:
        return parsing("empty host")
    return None


_LINK_RE = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"]+")


def count_links(text):
    seen = set()
    for m in _LINK_RE.finditer(text):
        link = m.group(0).rstrip(".,;:!?)]}'\"").lower()
        link = re.sub(r"^https?://", "", link).rstrip("/")
        if link:
            seen.add(link)
    return len(seen)


def utf8_truncate(text, limit):
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def _datetime(value, loc, errors):
    """AwareDatetime: RFC 3339 string with offset (or epoch number)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        errors.append(err("datetime_type", loc,
                          "Input should be a valid datetime", value))
        return None
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        except (OverflowError, ValueError, OSError):
            errors.append(err("datetime_parsing", loc,
                              "Input should be a valid datetime, dates "
                              "after 9999 are not supported as unix "
                              "timestamps", value))
            return None
    s = value.strip()
    if s[-1:] in ("Z", "z"):
        s = s[:-1] + "+00:00"
    reason = None
    if len(s) < 16:
        reason = "input is too short"
    elif s[10] not in "Tt ":
        reason = "invalid character in date/time separator"
    else:
        try:
            parsed = dt.datetime.fromisoformat(s[:10] + "T" + s[11:])
        except ValueError:
            reason = "invalid datetime format"
    if reason:
        errors.append(err("datetime_parsing", loc,
                          f"Input should be a valid datetime, {reason}",
                          value, {"error": reason}))
        return None
    if parsed.tzinfo is None:
        errors.append(err("timezone_aware", loc,
                          "Input should have timezone info", value))
        return None
    return parsed


def _known(*names):
    return set(names)


PUBLISH_FIELDS = _known("message", "images", "scheduled_at", "publish_mode",
                        "auto_proxy_images", "meta")
META_FIELDS = _known("tenant_id", "source", "chat_id", "user_id",
                     "username", "campaign")


def validate_meta(meta_in, loc, strict, errors, parent=None):
    meta = _model(meta_in, loc, "PublishMeta", errors, parent)
    if meta is None:
        return None
    _extra(meta, META_FIELDS, loc, strict, errors)
    out = {
        "tenant_id": _str(meta, "tenant_id", loc, errors, required=True,
                          pattern=TENANT_PATTERN),
        "source": _str(meta, "source", loc, errors, required=True,
                       min_len=1, max_len=32),
        "chat_id": _str_or_int(meta, "chat_id", loc, errors),
        "user_id": _str_or_int(meta, "user_id", loc, errors),
        "username": _str(meta, "username", loc, errors, nullable=True,
                         max_len=64),
        "campaign": _str(meta, "campaign", loc, errors, nullable=True,
                         max_len=64),
    }
    return out


def validate_publish(body, now, strict=False, defer_dates=False):
    """(clean dict, errors) for POST /api/v1/threads/publish.
    `now` is the server clock (epoch seconds) for the date rules.  With
    `defer_dates`, when the date rules (DATE_RULES) are the only ones
    broken, the request is clean and they are returned in
    ``clean["date_errors"]``, for the caller to report after its
    idempotency check; with any other error they are reported with
    it."""
    errors = []
    body = _model(body, ["body"], "PublishRequest", errors)
    if body is None:
        return None, errors
    L = ["body"]
    _extra(body, PUBLISH_FIELDS, L, strict, errors)

    message = _str(body, "message", L, errors, required=True)
    msg_ok = message is not None and "message" in body and \
        isinstance(body["message"], str)
    if msg_ok:
        message = message.rstrip()
        nbytes = len(message.encode("utf-8"))
        if nbytes > TEXT_LIMIT:
            errors.append(err(
                "threads_text_too_long", L + ["message"],
                f"Text is {nbytes} UTF-8 bytes; Threads allows at most "
                f"{TEXT_LIMIT}", body["message"],
                {"bytes": nbytes, "limit": TEXT_LIMIT}))
        links = count_links(message)
        if links > LINK_LIMIT:
            errors.append(err(
                "threads_link_limit", L + ["message"],
                f"Text has {links} links; Threads allows at most "
                f"{LINK_LIMIT}", body["message"],
                {"links": links, "limit": LINK_LIMIT}))

    images = body.get("images", [])
    images_ok = True
    if images is None or not isinstance(images, list):
        errors.append(err("list_type", L + ["images"],
                          "Input should be a valid list", images))
        images, images_ok = [], False
    else:
        first_seen = {}
        for i, url in enumerate(images):
            e = url_error(url, L + ["images", i])
            if e:
                errors.append(e)
                images_ok = False
                continue
            if url in first_seen:
                errors.append(err(
                    "threads_duplicate_image", L + ["images", i],
                    f"Duplicate image URL (same as images[{first_seen[url]}"
                    "])", url, {"first_index": first_seen[url]}))
                images_ok = False
            else:
                first_seen[url] = i
        if len(images) > IMAGES_LIMIT:
            errors.append(err(
                "too_long", L + ["images"],
                f"List should have at most {IMAGES_LIMIT} items after "
                f"validation, not {len(images)}", images,
                {"field_type": "List", "max_length": IMAGES_LIMIT,
                 "actual_length": len(images)}))
            images_ok = False

    sched_raw = body.get("scheduled_at", None)
    scheduled = None
    if sched_raw is not None:
        here = L + ["scheduled_at"]
        parsed = _datetime(sched_raw, here, errors)
        if parsed is not None:
            ts = parsed.timestamp()
            if ts < now - PAST_GRACE_S:
                errors.append(err(
                    "scheduled_in_past", here,
                    f"scheduled_at is in the past (more than "
                    f"{PAST_GRACE_S} s before now)", sched_raw,
                    {"now": iso(now), "grace_s": PAST_GRACE_S}))
            elif ts > now + FAR_LIMIT_DAYS * 86400:
                errors.append(err(
                    "scheduled_too_far", here,
                    f"scheduled_at is more than {FAR_LIMIT_DAYS} days "
                    "ahead", sched_raw,
                    {"now": iso(now), "max_days": FAR_LIMIT_DAYS}))
            else:
                scheduled = ts

    mode = body.get("publish_mode", "queue")
    if mode not in ("queue", "now") or not isinstance(mode, str):
        errors.append(err("literal_error", L + ["publish_mode"],
                          "Input should be 'queue' or 'now'", mode,
                          {"expected": "'queue' or 'now'"}))
        mode = None
    elif mode == "now" and sched_raw is not None:
        errors.append(err(
            "publish_mode_conflict", L + ["scheduled_at"],
            "scheduled_at must be null when publish_mode is 'now'",
            sched_raw))

    proxy = _bool(body, "auto_proxy_images", L, errors, True)
    meta = validate_meta(body.get("meta", MISSING), L + ["meta"], strict,
                         errors, body)

    if msg_ok and images_ok and message == "" and not images:
        errors.append(err("threads_empty_post", L,
                          "Provide message text or at least one image",
                          body))
    date_errors = []
    if defer_dates and errors and all(e["type"] in DATE_RULES
                                      for e in errors):
        date_errors, errors = errors, []
    if errors:
        return None, errors
    return {
        "date_errors": date_errors,
        "message": message,
        "images": list(images),
        "scheduled_at": scheduled,
        "scheduled_at_raw": sched_raw,
        "publish_mode": mode,
        "auto_proxy_images": proxy,
        "meta": meta,
    }, []


CHAT_FIELDS = _known("session_id", "execute_tools", "message", "context")
CONTEXT_FIELDS = _known("tenant_id", "prompt", "message", "provider",
                        "model", "source", "campaign", "api_base_url",
                        "prediction_id")


def validate_chat(body, strict=False):
    """(clean dict, errors) for POST /api/v1/assistant/chat."""
    errors = []
    body = _model(body, ["body"], "ChatRequest", errors)
    if body is None:
        return None, errors
    L = ["body"]
    _extra(body, CHAT_FIELDS, L, strict, errors)
    session_id = _str(body, "session_id", L, errors, required=True,
                      min_len=1, max_len=128)
    execute = _bool(body, "execute_tools", L, errors, True)
    message = _str(body, "message", L, errors, default="", nullable=True)
    C = L + ["context"]
    ctx = _model(body.get("context", MISSING), C, "ChatContext", errors,
                 body)
    clean_ctx = None
    if ctx is not None:
        _extra(ctx, CONTEXT_FIELDS, C, strict, errors)
        clean_ctx = {
            "tenant_id": _str(ctx, "tenant_id", C, errors, required=True,
                              pattern=TENANT_PATTERN),
            "prompt": _str(ctx, "prompt", C, errors, nullable=True),
            "message": _str(ctx, "message", C, errors, nullable=True),
            "source": _str(ctx, "source", C, errors, default="assistant",
                           min_len=1, max_len=32),
            "campaign": _str(ctx, "campaign", C, errors, nullable=True,
                             max_len=64),
            "prediction_id": _str(ctx, "prediction_id", C, errors,
                                  nullable=True, max_len=64),
        }
        provider = ctx.get("provider", "replicate")
        if provider != "replicate":
            errors.append(err("literal_error", C + ["provider"],
                              "Input should be 'replicate'", provider,
                              {"expected": "'replicate'"}))
        model = ctx.get("model", MODELS[0])
        if model not in MODELS or not isinstance(model, str):
            expected = " or ".join(f"'{m}'" for m in MODELS)
            errors.append(err("literal_error", C + ["model"],
                              f"Input should be {expected}", model,
                              {"expected": expected}))
        clean_ctx["provider"] = provider
        clean_ctx["model"] = model
        base = ctx.get("api_base_url")
        if base is not None:
            e = url_error(base, C + ["api_base_url"])
            if e:
                errors.append(e)
        clean_ctx["api_base_url"] = base
        if not errors and not ((clean_ctx["prompt"] or "").strip() or
                               (clean_ctx["message"] or "").strip() or
                               (message or "").strip()):
            errors.append(err(
                "assistant_empty_prompt", C + ["prompt"],
                "Provide context.prompt, context.message or message",
                ctx.get("prompt")))
    if errors:
        return None, errors
    return {"session_id": session_id, "execute_tools": execute,
            "message": message or "", "context": clean_ctx}, []
