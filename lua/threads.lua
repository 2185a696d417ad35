-- threads.lua: the client of the user's ThreadClaw FastAPI backend.
--
-- The skill (seeds/000) fixes the paths, the X-Queue-Secret header and
-- the payload fields; reference/threads-api.md section 6 is the
-- contract of the backend and 6.7 says what a client does with each
-- answer. docs/threads.md is the user's page.
--
--   threads.settings{secret = true}     base URL, tenant, queue secret
--   threads.publish(ctx, opts)          POST /api/v1/threads/publish
--   threads.postimg(ctx, opts)          POST /api/v1/assistant/chat
--   threads.queue_list(ctx, opts)       GET  /api/v1/threads/queue
--   threads.queue_show(ctx, id)         GET  /api/v1/threads/queue/{id}
--   threads.queue_cancel(ctx, id)       DELETE /api/v1/threads/queue/{id}
--
-- and the pure parts they are built from (check_base_url, utf8_bytes,
-- check_publish, publish_body, chat_body, format_detail, explain), which
-- tests/lua/threads_test.lua covers.
--
-- Failures are nil, err: err.code "config" (settings, wrong secret, a
-- redirect: exit 2), "usage" (input Threads can never accept, caught
-- before sending: exit 2), "dry_run" never (a dry run returns the plan
-- as the result), else the backend's answer ("rejected", "conflict",
-- "too_large", "rate_limited", "server_error", ...) or the http code
-- ("connect", "timeout", ...). Bad arguments raise.
local http = require "http"
local json = require "json"
local secret = require "secret"
local config = require "config"
local clock = require "clock"
local errors = require "errors"
local log = require "log"
local task = require "task"

local _M = {}

_M.PUBLISH_PATH = "/api/v1/threads/publish"
_M.CHAT_PATH = "/api/v1/assistant/chat"
_M.QUEUE_PATH = "/api/v1/threads/queue"

_M.TEXT_LIMIT = 500            -- UTF-8 bytes (threads-api.md 2.3)
_M.IMAGES_LIMIT = 20           -- carousel maximum (2.2)
_M.PAST_GRACE_S = 60           -- the backend's grace for "now" (6.2)
_M.DEFAULT_TENANT = "agency_paris"
_M.DEFAULT_SOURCE = "cli"
_M.DEFAULT_PROVIDER = "replicate"
_M.DEFAULT_MODEL = "black-forest-labs/flux-1.1-pro"
_M.DEFAULT_CHAT_MESSAGE = "Generate and enqueue one image post"

-- threads-api.md 6.7: 15 s for publish (the backend proxies images),
-- 75 s for the assistant (60 s Prefer: wait plus download/enqueue).
_M.PUBLISH_TIMEOUT_MS = 15000
_M.PUBLISH_RETRIES = 3
_M.PUBLISH_DEADLINE_MS = 45000  -- also the longest Retry-After waited
_M.CHAT_TIMEOUT_MS = 75000
_M.QUEUE_TIMEOUT_MS = 15000
_M.MAX_PAUSE_S = 5             -- longest Retry-After sat out here

-- The flag each option comes from in the recipes, for messages.
_M.FLAGS = {
  message = "--message", images = "--image", at = "--at",
  mode = "--mode", idempotency_key = "--idempotency-key",
  tenant = "--tenant", prompt = "--prompt",
}

local BASE_VAR = "THREADS_FASTAPI_BASE_URL"
local SECRET_VAR = "THREADS_QUEUE_SECRET"
local TENANT_VAR = "THREADS_TENANT_ID"

local fmt = string.format

local function flag(opts, name)
  return (opts and opts.flags and opts.flags[name]) or _M.FLAGS[name] or
         "--" .. name:gsub("_", "-")
end

local function fail(code, message, fields)
  return nil, errors.new(code, message, fields)
end

-- Whole numbers from JSON come back as floats; show them as integers.
local function num(v)
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2^53 then
    return fmt("%d", v)
  end
  return tostring(v)
end

-- "2 min", "3 h 5 min": how long a wait is, for people.
function _M.duration(s)
  s = math.max(0, math.floor(s + 0.5))
  if s < 90 then return fmt("%d s", s) end
  if s < 90 * 60 then return fmt("%d min", math.floor(s / 60 + 0.5)) end
  if s >= 48 * 3600 then return fmt("%d days", math.floor(s / 86400)) end
  local h = math.floor(s / 3600)
  local m = math.floor((s - h * 3600) / 60 + 0.5)
  if m == 60 then h, m = h + 1, 0 end
  return m > 0 and fmt("%d h %d min", h, m) or fmt("%d h", h)
end

---------------------------------------------------------------------------
-- settings

-- The base URL as requests use it, or nil, why. http and https only
-- (the seed: "Validate that BaseUrl is an http(s) URL"); trailing
-- slashes go, because {BASE}/ + /api would be //api, a 404 (4.3).
function _M.check_base_url(url)
  if type(url) ~= "string" then
    error("threads.check_base_url: expected a string", 2)
  end
  url = url:match("^%s*(.-)%s*$")
  if url == "" then return nil, "is empty" end
  if url:find("%s") then return nil, "contains a space" end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    local other = url:match("^(%a[%w+.-]*):")
    if other and not url:match("^[^:]+:%d") then
      return nil, fmt("uses the scheme '%s:'; only http:// and " ..
                      "https:// are supported", other)
    end
    return nil, "has no scheme: write it as http://HOST:PORT or " ..
                "https://HOST"
  end
  local lower = scheme:lower()
  if lower ~= "http" and lower ~= "https" then
    return nil, fmt("uses %s://; only http:// and https:// are " ..
                    "supported", scheme)
  end
  local authority = rest:match("^([^/?#]*)")
  if authority:find("@", 1, true) then
    return nil, "contains a user name or password; the backend's " ..
                "credential goes in " .. SECRET_VAR .. ", never in the URL"
  end
  if authority == "" or authority:match("^:") then
    return nil, "has no host name"
  end
  if rest:find("[?#]") then
    return nil, "has a query or fragment (?...#...); give only " ..
                "scheme://host[:port][/prefix]"
  end
  rest = rest:gsub("/+$", "")
  return lower .. "://" .. rest
end

-- The settings every call needs, or nil, err (code "config", exit 2)
-- naming every missing one. opts.secret: the queue secret is needed
-- too (publish and the queue endpoints; not the assistant).
function _M.settings(opts)
  opts = opts or {}
  local missing = {}
  local raw = config.get(BASE_VAR)
  if not raw then missing[#missing + 1] = BASE_VAR end
  local s
  if opts.secret then
    s = secret.get(SECRET_VAR)
    if not s then missing[#missing + 1] = SECRET_VAR end
  end
  if #missing > 0 then
    local what = {}
    for i, name in ipairs(missing) do
      what[i] = name == BASE_VAR and
        name .. " (your backend's base URL, e.g. http://127.0.0.1:8000)" or
        name .. " (the X-Queue-Secret value your backend expects)"
    end
    return fail("config", fmt("missing setting%s: %s. Run `clawhost " ..
      "setup`, or set %s in the environment or in .env.local",
      #missing > 1 and "s" or "", table.concat(what, "; "),
      #missing > 1 and "them" or "it"), { missing = missing })
  end
  local base, why = _M.check_base_url(raw)
  if not base then
    local shown = raw:find("@", 1, true) and "(not shown)" or "'" .. raw .. "'"
    return fail("config", fmt("%s %s %s. Fix it with `clawhost setup` " ..
                              "or in .env.local", BASE_VAR, shown, why))
  end
  return {
    base_url = base,
    tenant_id = config.get(TENANT_VAR) or _M.DEFAULT_TENANT,
    secret = s,
  }
end

---------------------------------------------------------------------------
-- input checks (pure)

-- Bytes and characters of UTF-8 text (Threads counts bytes: 2.3), or
-- nil, the position of the first byte that is not UTF-8.
function _M.utf8_bytes(s)
  if type(s) ~= "string" then
    error("threads.utf8_bytes: expected a string", 2)
  end
  local chars, bad = utf8.len(s)
  if not chars then return nil, bad end
  return #s, chars
end

local function rtrim(s)
  return (s:gsub("%s+$", ""))
end

local function is_http_url(u)
  return type(u) == "string" and not u:find("%s") and
         (u:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+") ~= nil)
end

local function valid_key(k)
  return type(k) == "string" and #k >= 1 and #k <= 255 and
         not k:find("[^\32-\126]")
end

-- The scheduled time as the backend gets it (UTC, Z), or nil, problem.
local function check_at(at, now, opts)
  local t, err = clock.parse_iso(at)
  local f = flag(opts, "at")
  if not t then
    if tostring(err and err.message):find("offset is missing", 1, true) then
      return nil, fmt("%s '%s' has no UTC offset: add Z or +HH:MM " ..
                      "(e.g. 2026-05-12T06:00:00Z)", f, at)
    end
    return nil, fmt("%s '%s' is not an RFC 3339 time with offset " ..
                    "(e.g. 2026-05-12T06:00:00+02:00)", f, at)
  end
  if t < now - _M.PAST_GRACE_S then
    return nil, fmt("%s %s is in the past (%s ago); give a future " ..
                    "time, or leave %s out to queue it for the next " ..
                    "free slot", f, at, _M.duration(now - t), f)
  end
  return clock.iso(t)
end

-- Everything Threads (and the contract, 6.2) can never accept, found
-- before anything is sent. Returns the list of problems (one line
-- each, naming the flag) and the scheduled time to send.
function _M.check_publish(opts, now)
  if type(opts) ~= "table" then
    error("threads.check_publish: expected an options table", 2)
  end
  now = now or clock.now()
  local problems, scheduled = {}, nil
  local function add(...) problems[#problems + 1] = fmt(...) end
  local message = opts.message or ""
  local images = opts.images or {}
  local text = rtrim(message)
  local bytes, chars = _M.utf8_bytes(message)
  if not bytes then
    add("%s is not valid UTF-8 (byte %d)", flag(opts, "message"), chars)
  elseif #text > _M.TEXT_LIMIT then
    add("%s is %d UTF-8 bytes (%d characters); Threads allows at most " ..
        "%d bytes (accented letters take 2, emoji 4)",
        flag(opts, "message"), #text, utf8.len(text), _M.TEXT_LIMIT)
  end
  if text == "" and #images == 0 then
    add("nothing to post: give %s text, at least one %s, or both",
        flag(opts, "message"), flag(opts, "images"))
  end
  if #images > _M.IMAGES_LIMIT then
    add("%d %s given; Threads takes at most %d images per post",
        #images, flag(opts, "images"), _M.IMAGES_LIMIT)
  end
  local seen = {}
  for i, u in ipairs(images) do
    if not is_http_url(u) then
      add("%s #%d '%s' is not an http(s) URL (the backend downloads " ..
          "it; Threads needs a public http(s) image)",
          flag(opts, "images"), i, tostring(u))
    elseif seen[u] then
      add("%s #%d repeats #%d (%s)", flag(opts, "images"), i, seen[u], u)
    else
      seen[u] = i
    end
  end
  local mode = opts.mode or "queue"
  if mode ~= "queue" and mode ~= "now" then
    add("%s must be queue or now, not '%s'", flag(opts, "mode"),
        tostring(mode))
  end
  if opts.at ~= nil then
    local why
    scheduled, why = check_at(opts.at, now, opts)
    if not scheduled then add("%s", why) end
    if mode == "now" then
      add("%s now publishes at once; drop %s, or use %s queue to " ..
          "schedule it", flag(opts, "mode"), flag(opts, "at"),
          flag(opts, "mode"))
    end
  end
  if opts.idempotency_key ~= nil and not valid_key(opts.idempotency_key)
  then
    add("%s must be 1 to 255 printable ASCII characters",
        flag(opts, "idempotency_key"))
  end
  return problems, scheduled
end

---------------------------------------------------------------------------
-- request bodies (pure)

local function str_or_null(v)
  if v == nil then return json.null end
  return tostring(v)            -- chat ids as JSON strings (6.7)
end

-- The seed's body A, exactly: images always an array, scheduled_at a
-- time or null, meta with all five fields.
function _M.publish_body(s, opts, scheduled)
  local images = json.array()
  for i, u in ipairs(opts.images or {}) do images[i] = u end
  return {
    message = opts.message or "",
    images = images,
    scheduled_at = scheduled or json.null,
    publish_mode = opts.mode or "queue",
    auto_proxy_images = opts.proxy_images ~= false,
    meta = {
      tenant_id = opts.tenant or s.tenant_id,
      source = opts.source or _M.DEFAULT_SOURCE,
      chat_id = str_or_null(opts.chat_id),
      user_id = str_or_null(opts.user_id),
      username = str_or_null(opts.username),
    },
  }
end

-- The seed's body B.
function _M.chat_body(s, opts)
  local tenant = opts.tenant or s.tenant_id
  local session = opts.session_id or
                  (opts.chat_id and "tg_" .. tostring(opts.chat_id)) or
                  "cli_" .. tenant
  return {
    session_id = session,
    execute_tools = opts.execute_tools ~= false,
    message = opts.message or _M.DEFAULT_CHAT_MESSAGE,
    context = {
      tenant_id = tenant,
      prompt = opts.prompt,
      message = opts.caption or opts.prompt,
      provider = opts.provider or _M.DEFAULT_PROVIDER,
      model = opts.model or _M.DEFAULT_MODEL,
      source = opts.source or _M.DEFAULT_SOURCE,
      campaign = opts.campaign or json.null,
      api_base_url = opts.api_base_url or s.base_url,
    },
  }
end

-- One key per user action, reused by every retry of it (6.7). Unique,
-- not secret. math.random alone is not enough: Lua seeds it from
-- time(NULL) and the state's address, so two runs in the same second
-- without heap ASLR (ASan builds, setarch -R) draw the same numbers
-- (host issue, see tests/e2e/test_threads.py); the microseconds of the
-- wall clock and the nanoseconds of the monotonic clock tell them apart.
function _M.new_idempotency_key(prefix)
  local t = clock.now()
  local whole = math.floor(t)
  local micro = math.floor((t - whole) * 1e6)
  local mono = clock.monotonic()
  local nano = math.floor((mono - math.floor(mono)) * 1e9)
  return fmt("%s-%s-%06d-%08x%08x", prefix or "clawhost",
             os.date("!%Y%m%dT%H%M%S", whole), micro,
             (nano ~ math.random(0, 0x3fffffff)) & 0xffffffff,
             math.random(0, 0x7fffffff))
end

---------------------------------------------------------------------------
-- answers (pure)

local function decode(res)
  local body = res and res.body
  if type(body) ~= "string" or body == "" then return nil end
  local v = json.safe.decode(body)
  return v
end

-- JSON null (a light userdata) as nil, so `a or b` and `if v` work.
local function val(v)
  if v == json.null then return nil end
  return v
end
_M.val = val

local function short(s, n)
  s = tostring(s):gsub("%s+", " ")
  if #s <= n then return s end
  local cut = n
  while cut > 0 and (s:byte(cut + 1) or 0) & 0xC0 == 0x80 do
    cut = cut - 1
  end
  return s:sub(1, cut) .. "..."
end

-- "message", "images.2", "meta.tenant_id", "header.idempotency-key":
-- loc without its leading "body" (FastAPI's list shape, 4.1).
function _M.loc_path(loc)
  if type(loc) ~= "table" then return loc and tostring(loc) or "?" end
  local parts = {}
  for i, p in ipairs(loc) do parts[i] = num(p) end
  if parts[1] == "body" and #parts > 1 then table.remove(parts, 1) end
  return table.concat(parts, ".")
end

-- FastAPI's detail in any of its three shapes, as one line: a list of
-- {loc, msg} ("field.path: message; ..."), an object ({code, message,
-- cause}), or a plain string.
function _M.format_detail(detail)
  local t = type(detail)
  if t == "string" then return detail end
  if t ~= "table" then return detail == nil and "" or tostring(detail) end
  if detail[1] ~= nil or json.is_array(detail) then
    local out = {}
    for i, e in ipairs(detail) do
      if type(e) == "table" then
        out[i] = _M.loc_path(e.loc) .. ": " ..
                 tostring(e.msg or e.message or e.type or "invalid")
      else
        out[i] = tostring(e)
      end
    end
    return table.concat(out, "; ")
  end
  local text = detail.message or detail.msg or detail.code or
               json.encode(detail)
  if detail.cause ~= nil then
    local cause = _M.format_detail(detail.cause)
    if cause ~= "" then text = text .. ": " .. cause end
  end
  return tostring(text)
end

local function detail_of(res)
  local body = decode(res)
  if type(body) == "table" and body.detail ~= nil then
    return body.detail, body
  end
  return nil, body
end

local function detail_code(detail)
  if type(detail) == "table" and type(detail.code) == "string" then
    return detail.code
  end
  return nil
end

-- Seconds the server asks us to wait: the body's retry_after_s, else a
-- Retry-After in seconds.
function _M.retry_after(res)
  local detail = detail_of(res)
  if type(detail) == "table" then
    local s = detail.retry_after_s or
              (type(detail.cause) == "table" and detail.cause.retry_after_s)
    if type(s) == "number" then return s end
  end
  local h = res and res.headers and res.headers["retry-after"]
  if type(h) == "string" and h:match("^%s*%d+%s*$") then
    return tonumber(h)
  end
  return nil
end

local function header_in_loc(detail, name)
  if type(detail) ~= "table" then return false end
  for _, e in ipairs(detail) do
    if type(e) == "table" and type(e.loc) == "table" and
       e.loc[1] == "header" and tostring(e.loc[2]):lower() == name then
      return true
    end
  end
  return false
end

local function retry_hint(info)
  if not info.key then return "" end
  return fmt(" Repeat the same command with --idempotency-key %s: the " ..
             "backend will not queue it twice", info.key)
end

-- What a non-2xx answer means and what to do, as an error (6.7).
-- info: {base_url, path, what ("publish"|"assistant"|"queue"), key,
-- attempts, item_id}.
function _M.explain(res, info)
  info = info or {}
  local st = res.status
  local detail, body = detail_of(res)
  local code = detail_code(detail)
  local text = detail ~= nil and _M.format_detail(detail) or
               (body == nil and short(res.body or "", 200) or "")
  local where = info.base_url or "the backend"
  local tag = code and fmt("%d %s", st, code) or tostring(st)
  local fields = { status = st, reason = code, detail = detail,
                   idempotency_key = info.key }
  local after = (info.attempts or 1) > 1 and
                fmt(" (after %d attempts)", info.attempts) or ""

  if st >= 300 and st < 400 then
    local to = res.headers and res.headers["location"] or "?"
    return errors.new("config", fmt("the backend answered %d redirect " ..
      "to %s: %s is probably wrong (a trailing slash, http vs https, " ..
      "or a path prefix); clawhost does not follow redirects, fix the " ..
      "base URL (now %s)", st, to, BASE_VAR, where), fields)
  end
  if st == 401 or st == 403 or (st == 422 and
                                header_in_loc(detail, "x-queue-secret")) then
    if info.what == "assistant" then
      return errors.new("config", fmt("the backend at %s wants " ..
        "X-Queue-Secret on %s too (%s: %s); clawhost sends the queue " ..
        "secret only to the publish and queue endpoints, as the skill " ..
        "says: turn that requirement off on the backend",
        where, _M.CHAT_PATH, tag, text), fields)
    end
    return errors.new("config", fmt("the backend at %s refused the " ..
      "queue secret (%s: %s): check that %s is the X-Queue-Secret this " ..
      "backend expects (`clawhost setup` sets it; it is never printed)",
      where, tag, text, SECRET_VAR), fields)
  end
  if st == 400 then
    return errors.new("rejected", fmt("the backend rejected the " ..
      "request (400: %s); if this is about the secret, check %s",
      text, SECRET_VAR), fields)
  end
  if st == 404 then
    if info.item_id and code == "not_found" or
       (info.item_id and detail ~= "Not Found") then
      return errors.new("not_found", fmt("no queue item %s on %s (%s)",
        info.item_id, where, text), fields)
    end
    if info.what == "queue" then
      return errors.new("unsupported", fmt("the backend at %s has no " ..
        "queue endpoints (%s answered 404): listing and canceling need " ..
        "the queue API of threads-api.md 6.4; publishing still works",
        where, info.path or _M.QUEUE_PATH), fields)
    end
    return errors.new("config", fmt("%s%s answered 404 (%s): is %s the " ..
      "ThreadClaw backend's base URL?", where, info.path or "", text,
      BASE_VAR), fields)
  end
  if st == 405 and info.what == "queue" then
    return errors.new("unsupported", fmt("the backend at %s does not " ..
      "support %s (405): it has no queue API (threads-api.md 6.4)",
      where, info.path or _M.QUEUE_PATH), fields)
  end
  if st == 409 then
    if code == "idempotency_key_in_use" then
      return errors.new("in_flight", fmt("the backend is still " ..
        "processing an earlier request with this idempotency key%s. " ..
        "Wait a few seconds, then repeat the same command with " ..
        "--idempotency-key %s: it is queued once at most",
        after, tostring(info.key)), fields)
    end
    if code == "not_cancelable" then
      return errors.new("conflict", fmt("queue item %s is %s and can no " ..
        "longer be canceled", tostring(info.item_id),
        tostring(detail.status)), fields)
    end
    return errors.new("conflict", fmt("the backend answered 409: %s",
                                      text), fields)
  end
  if st == 413 then
    local limit = type(detail) == "table" and detail.limit_bytes
    return errors.new("too_large", fmt("the request is larger than the " ..
      "backend accepts%s (413): shorten the message or send fewer " ..
      "images", limit and " (" .. num(limit) .. " bytes)" or ""), fields)
  end
  if st == 422 then
    local hint = ""
    if header_in_loc(detail, "idempotency-key") then
      hint = "; use a new --idempotency-key, or leave it out"
    elseif text:find("image", 1, true) and info.what == "publish" then
      hint = "; the backend must be able to download each --image " ..
             "(or use --no-proxy-images)"
    end
    return errors.new("rejected", fmt("the backend rejected the %s " ..
      "(422): %s%s", info.what == "queue" and "request" or "post",
      text, hint), fields)
  end
  if st == 429 then
    local wait = _M.retry_after(res)
    fields.retry_after_s = wait
    local when = wait and fmt("; try again after %s (in %s)",
      clock.iso(clock.now() + wait), _M.duration(wait)) or
      "; try again later"
    return errors.new("rate_limited", fmt("the backend is rate " ..
      "limiting (%s: %s)%s%s", tag, text, when,
      info.key and ", with --idempotency-key " .. info.key or ""), fields)
  end
  if st == 502 and code == "image_generation_failed" then
    return errors.new("generation_failed", fmt("image generation " ..
      "failed: %s; nothing was queued. Change the prompt and try again",
      text), fields)
  end
  if st == 504 and code == "image_generation_timeout" then
    return errors.new("generation_timeout", fmt("image generation took " ..
      "too long: %s; nothing was queued. Try again later (prediction %s)",
      text, tostring(detail.prediction_id)), fields)
  end
  if st >= 500 then
    local maybe = info.what ~= "queue" and
      " The post may already be queued; `clawhost run queue` shows it." ..
      retry_hint(info) or ""
    return errors.new("server_error", fmt("the backend at %s failed " ..
      "(%s: %s)%s.%s", where, tag, text, after, maybe), fields)
  end
  return errors.new("rejected", fmt("the backend answered %s: %s",
                                    tag, text), fields)
end

-- A transport failure (no answer at all), said for people.
local function explain_transport(err, info)
  local fields = { idempotency_key = info.key }
  if err.code == "blocked" then
    return errors.new(err.code, "clawhost refused to send the request: " ..
                      err.message, fields)
  end
  local msg
  if err.code == "timeout" then
    msg = fmt("no answer from the backend at %s in time (%s)%s.",
      info.base_url or "?", err.message,
      info.what ~= "queue" and "; the request may still complete" or "")
  else
    msg = fmt("cannot reach the backend at %s (%s: %s); is it running, " ..
      "and is %s right?", info.base_url or "?", err.code, err.message,
      BASE_VAR)
  end
  if info.what ~= "queue" then msg = msg .. retry_hint(info) end
  return errors.new(err.code, msg, fields)
end

---------------------------------------------------------------------------
-- sending

-- http.request plus what its retry policy leaves to us. The host
-- already retries keyed requests (5xx, dropped connections, 409
-- idempotency_key_in_use) with the same key after Retry-After (6.7);
-- with policy.extra, the statuses and transport codes listed are
-- retried here too (the assistant, whose 502/504 must not be repeated
-- blindly). Returns res or nil, err, and the number of attempts made.
local function send(req, policy)
  policy = policy or {}
  local total = 0
  local extra = policy.extra or 0
  local longest = policy.max_wait or _M.MAX_PAUSE_S
  while true do
    local res, err = http.request(req)
    total = total + ((res or err).attempts or 1)
    local wait, why
    if not res then
      if err.code == "dry_run" or extra <= 0 or
         not (policy.errors and policy.errors[err.code]) then
        return nil, err, total
      end
      extra = extra - 1
      wait, why = 1, err.code
    elseif extra > 0 and policy.statuses and policy.statuses[res.status]
    then
      extra = extra - 1
      wait, why = _M.retry_after(res) or 1, tostring(res.status)
    else
      return res, nil, total
    end
    -- a wait longer than we sit out is reported, with its time
    if res and wait > longest then return res, nil, total end
    wait = math.max(wait, 0.2)
    log.info(fmt("retrying %s %s in %s s (%s)%s", req.method, req.url,
                 num(wait), why, req.idempotency_key and
                 " with the same idempotency key" or ""))
    task.sleep(wait)
  end
end

local function plan_result(err, extra)
  local r = {
    dry_run = true,
    summary = "dry run: nothing was sent; this is the request " ..
              "clawhost would send",
    request = err.plan,
  }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

-- A request that got no answer: the plan of a dry run, else the
-- failure said for people.
local function unsent(err, info)
  if err.code == "dry_run" then
    return plan_result(err, { idempotency_key = info.key })
  end
  return nil, explain_transport(err, info)
end

local function check_key(opts)
  if opts.idempotency_key ~= nil and not valid_key(opts.idempotency_key)
  then
    return fail("usage", flag(opts, "idempotency_key") ..
                " must be 1 to 255 printable ASCII characters")
  end
  return true
end

local function image_urls(list)
  local out = json.array()
  if type(list) ~= "table" then return out end
  for i, im in ipairs(list) do
    out[i] = type(im) == "table" and
             (val(im.public_url) or val(im.source_url)) or tostring(im)
  end
  return out
end

-- The result of an accepted post (202 new, 200 dedup, or a replay).
local function accepted(body, res, key, attempts)
  local r = {
    id = val(body.id), status = val(body.status),
    scheduled_at = val(body.scheduled_at),
    publish_mode = val(body.publish_mode),
    media_type = val(body.media_type), tenant_id = val(body.tenant_id),
    position = val(body.position),
    images = image_urls(body.images), idempotency_key = key,
    already_queued = false,
  }
  if type(body.warnings) == "table" and #body.warnings > 0 then
    r.warnings = body.warnings
  end
  local when = r.scheduled_at and ", scheduled " .. r.scheduled_at or ""
  local replay = body.idempotent_replay == true or
                 (res.headers and res.headers["idempotency-replayed"]
                  == "true")
  if body.deduplicated == true then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); the same post was " ..
      "queued moments ago, so nothing new was added", tostring(body.id),
      tostring(body.status), when)
  elseif replay and attempts <= 1 then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); idempotency key %s " ..
      "was used before, so nothing new was added", tostring(body.id),
      tostring(body.status), when, key)
  else
    r.summary = fmt("queued %s (%s%s)%s", tostring(body.id),
      tostring(body.status), when, replay and
      "; confirmed by a retry with the same idempotency key" or "")
  end
  return r
end

---------------------------------------------------------------------------
-- publish

-- Queue (or publish at once) one post. opts: message, images (list),
-- at (RFC 3339 with offset), mode ("queue"|"now"), proxy_images
-- (default true), tenant, source, chat_id, user_id, username,
-- idempotency_key; flags = {name = "--flag"} to rename flags in
-- messages.
function _M.publish(ctx, opts)
  if type(opts) ~= "table" then
    error("threads.publish: expected an options table", 2)
  end
  local problems, scheduled = _M.check_publish(opts)
  if #problems > 0 then
    return fail("usage", table.concat(problems, "; ") ..
                " (nothing was sent)", { problems = problems })
  end
  local s, err = _M.settings { secret = true }
  if not s then return nil, err end
  local key = opts.idempotency_key or _M.new_idempotency_key("clawhost")
  local body = _M.publish_body(s, opts, scheduled)
  local info = { base_url = s.base_url, path = _M.PUBLISH_PATH,
                 what = "publish", key = key }
  if not (ctx and ctx.dry_run) then
    log.info(fmt("publishing with idempotency key %s (repeat with " ..
                 "--idempotency-key %s to retry safely)", key, key))
  end
  local res, attempts
  res, err, attempts = send {
    method = "POST", url = s.base_url .. _M.PUBLISH_PATH,
    headers = { ["X-Queue-Secret"] = s.secret }, json = body,
    idempotency_key = key, timeout_ms = _M.PUBLISH_TIMEOUT_MS,
    retries = _M.PUBLISH_RETRIES, deadline_ms = _M.PUBLISH_DEADLINE_MS,
  }
  if not res then return unsent(err, info) end
  info.attempts = attempts
  local decoded = decode(res)
  if res.status >= 200 and res.status < 300 then
    if type(decoded) ~= "table" or not decoded.id then
      return fail("protocol", fmt("the backend at %s answered %d " ..
        "without a queue item id: %s", s.base_url, res.status,
        short(res.body or "", 200)))
    end
    return accepted(decoded, res, key, attempts)
  end
  return nil, _M.explain(res, info)
end

---------------------------------------------------------------------------
-- postimg (assistant)

-- Statuses and transport failures the assistant call retries with its
-- key; 502 (generation failed) and 504 (generation timed out) cost
-- money each time and are not repeated.
local CHAT_RETRY = {
  extra = 2, max_wait = 10,
  statuses = { [408] = true, [425] = true, [429] = true, [500] = true,
               [503] = true },
  errors = { connect = true, protocol = true },
}

-- Generate one image with the backend's assistant and queue it.
-- opts: prompt (required), caption, message, chat_id, session_id,
-- tenant, source, campaign, provider, model, api_base_url,
-- execute_tools (default true), idempotency_key.
function _M.postimg(ctx, opts)
  if type(opts) ~= "table" then
    error("threads.postimg: expected an options table", 2)
  end
  if type(opts.prompt) ~= "string" or not opts.prompt:find("%S") then
    return fail("usage", flag(opts, "prompt") .. " is empty: say what " ..
                "image to generate (nothing was sent)")
  end
  if not utf8.len(opts.prompt) or
     (opts.caption and not utf8.len(opts.caption)) then
    return fail("usage", "the prompt or caption is not valid UTF-8")
  end
  local ok, kerr = check_key(opts)
  if not ok then return nil, kerr end
  if opts.api_base_url and not _M.check_base_url(opts.api_base_url) then
    local _, why = _M.check_base_url(opts.api_base_url)
    return fail("usage", "--api-base-url " .. why)
  end
  local s, err = _M.settings {}
  if not s then return nil, err end
  local key = opts.idempotency_key or _M.new_idempotency_key("clawhost-img")
  local body = _M.chat_body(s, opts)
  if opts.api_base_url then
    body.context.api_base_url = _M.check_base_url(opts.api_base_url)
  end
  local info = { base_url = s.base_url, path = _M.CHAT_PATH,
                 what = "assistant", key = key }
  local req = {
    method = "POST", url = s.base_url .. _M.CHAT_PATH, json = body,
    idempotency_key = key, timeout_ms = _M.CHAT_TIMEOUT_MS, retries = 0,
  }
  local res, attempts
  res, err, attempts = send(req, CHAT_RETRY)
  if not res then return unsent(err, info) end
  info.attempts = attempts
  local d = decode(res)
  if res.status < 200 or res.status >= 300 then
    return nil, _M.explain(res, info)
  end
  if type(d) ~= "table" then
    return fail("protocol", fmt("the assistant at %s answered %d with " ..
      "no JSON: %s", s.base_url, res.status, short(res.body or "", 200)))
  end
  local r = { reply = val(d.reply), session_id = val(d.session_id),
              idempotency_key = key, already_queued = false }
  for _, call in ipairs(type(d.tool_calls) == "table" and d.tool_calls
                        or {}) do
    if call.name == "generate_image" then
      r.image = val(call.public_url) or val(call.output_url)
      r.prediction_id = val(call.prediction_id)
      r.model = val(call.model)
      r.cost_usd = val(call.cost_usd)
    end
  end
  local item = val(d.queue_item)
  if type(item) ~= "table" then
    r.summary = "planned only (execute_tools is false): nothing was " ..
                "generated or queued"
    r.planned = true
    return r
  end
  r.id, r.status = val(item.id), val(item.status)
  r.scheduled_at = val(item.scheduled_at)
  local when = r.scheduled_at and ", scheduled " .. r.scheduled_at or ""
  if d.idempotent_replay == true and attempts <= 1 then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); idempotency key %s was " ..
      "used before, so nothing new was generated", tostring(item.id),
      tostring(item.status), when, key)
  else
    r.summary = fmt("generated 1 image and queued %s (%s%s)",
                    tostring(item.id), tostring(item.status), when)
  end
  return r
end

---------------------------------------------------------------------------
-- queue

local function queue_request(s, method, path, query)
  return {
    method = method, url = s.base_url .. path, query = query,
    headers = { ["X-Queue-Secret"] = s.secret },
    timeout_ms = _M.QUEUE_TIMEOUT_MS,
  }
end

local function when_of(item)
  return val(item.published_at) or val(item.scheduled_at)
end

local function item_row(item)
  local th = type(item.threads) == "table" and item.threads or {}
  local e = type(item.error) == "table" and item.error or nil
  return {
    id = val(item.id), status = val(item.status), when = when_of(item),
    media = val(item.media_type), tenant = val(item.tenant_id),
    text = short(val(item.message) or "", 40),
    permalink = val(th.permalink) or
                (e and "error: " .. tostring(val(e.code))) or "",
  }
end

local QUEUE_COLUMNS = { "id", "status", "when", "media", "text",
                        "permalink" }

-- List queue items (threads-api.md 6.4). opts: tenant (default the
-- configured one; "*" for all), status (one or "a,b"), source, limit,
-- cursor.
function _M.queue_list(ctx, opts)
  opts = opts or {}
  local s, err = _M.settings { secret = true }
  if not s then return nil, err end
  local tenant = opts.tenant or s.tenant_id
  local query = { status = opts.status, source = opts.source,
                  limit = opts.limit, cursor = opts.cursor }
  if tenant ~= "*" then query.tenant_id = tenant end
  local info = { base_url = s.base_url, path = _M.QUEUE_PATH,
                 what = "queue" }
  local res, attempts
  res, err, attempts = send(queue_request(s, "GET", _M.QUEUE_PATH, query))
  if not res then return unsent(err, info) end
  info.attempts = attempts
  if res.status ~= 200 then return nil, _M.explain(res, info) end
  local d = decode(res)
  if type(d) ~= "table" or type(d.items) ~= "table" then
    return fail("protocol", fmt("%s%s answered without an item list: %s",
      s.base_url, _M.QUEUE_PATH, short(res.body or "", 200)))
  end
  local rows = {}
  for i, item in ipairs(d.items) do rows[i] = item_row(item) end
  local r = {
    tenant_id = tenant ~= "*" and tenant or "(all)",
    count = #rows,
    items = rows,
    columns = QUEUE_COLUMNS,
  }
  if #rows == 0 then
    r.summary = "the queue is empty" ..
                (opts.status and " for status " .. opts.status or "")
  end
  if d.next_cursor ~= nil and d.next_cursor ~= json.null then
    r.next_cursor = d.next_cursor
    r.more = "more items: repeat with --cursor " .. tostring(d.next_cursor)
  end
  return r
end

local function item_result(item)
  local th = type(item.threads) == "table" and item.threads or {}
  local e = type(item.error) == "table" and item.error or nil
  local meta = type(item.meta) == "table" and item.meta or {}
  return {
    id = val(item.id), status = val(item.status),
    tenant_id = val(item.tenant_id), media_type = val(item.media_type),
    publish_mode = val(item.publish_mode), message = val(item.message),
    images = image_urls(item.images),
    scheduled_at = val(item.scheduled_at),
    published_at = val(item.published_at),
    created_at = val(item.created_at), attempts = val(item.attempts),
    permalink = val(th.permalink), source = val(meta.source),
    error = e and fmt("%s: %s", tostring(val(e.code)),
                      tostring(val(e.message))) or nil,
  }
end

local function check_id(id)
  if type(id) ~= "string" or not id:match("^[%w_.-]+$") or #id > 128 then
    return fail("usage", fmt("'%s' is not a queue item id (like " ..
                             "thq_01JV3K6M9Y7T2W4X8ZC5N1RBQA)", tostring(id)))
  end
  return true
end

-- One queue item: GET shows it, DELETE cancels it (6.4).
local function queue_item(method, id)
  local ok, err = check_id(id)
  if not ok then return nil, err end
  local s
  s, err = _M.settings { secret = true }
  if not s then return nil, err end
  local path = _M.QUEUE_PATH .. "/" .. id
  local info = { base_url = s.base_url, path = path, what = "queue",
                 item_id = id }
  local res, attempts
  res, err, attempts = send(queue_request(s, method, path))
  if not res then return unsent(err, info) end
  info.attempts = attempts
  if res.status ~= 200 then return nil, _M.explain(res, info) end
  local d = decode(res)
  if type(d) ~= "table" then
    return fail("protocol", "the backend answered without JSON: " ..
                short(res.body or "", 200))
  end
  return item_result(d), d
end

function _M.queue_show(ctx, id)
  local r, err = queue_item("GET", id)
  return r, (r == nil and err or nil)
end

function _M.queue_cancel(ctx, id)
  local r, d = queue_item("DELETE", id)
  if r and not r.dry_run then
    r.summary = fmt("canceled %s", tostring(d.id))
  end
  return r, (r == nil and d or nil)
end

return _M
