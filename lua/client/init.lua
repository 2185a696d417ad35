-- client: the one layer every library of a remote API is built on.
--
-- A client is its base URL, its credential and what its calls are
-- called in messages:
--
--   local client = require "client"
--   local api = client.new {
--     name = "the example API",             -- who answers, in messages
--     base = { "EXAMPLE_BASE_URL", default = "https://api.example.com" },
--     secret = { "EXAMPLE_TOKEN", help = "the API token" },
--     auth = function(s) return { Authorization = secret.bearer(s.secret) }
--            end,
--   }
--   local res, err = api:request(ctx, { method = "POST", path = "/jobs",
--                                       json = body, what = "create job" })
--   if not res then return nil, err end
--   local job, derr = client.decode(res, "create job")
--
-- Layers, each built on the one before (as lua-resty-http builds
-- request_uri on request):
--
--   client.send(req[, policy])    http.request, plus the retries its own
--                                 policy leaves out; res (any status),
--                                 or nil, err with err.sent
--   client.status_error(res, o)   a non-2xx answer as an error, with the
--                                 code of client.codes
--   api:settings{secret = true}   base URL (checked) and secret, or nil,
--                                 err (config: exit 2)
--   client.looked_in(secrets)     "looked in: ..." for a "not set"
--                                 message
--   api:request(ctx, o)           settings, auth, send, status: a 2xx
--                                 res, or nil, err
--   client.decode(res, what)      a 2xx body's JSON, or nil, err (json)
--
-- Every failure is nil, err with a code of the one list (client.codes,
-- docs/errors.md) and err.sent: "no" (nothing left the process, or
-- nothing reached the service), "refused" (the service turned it down:
-- nothing done, nothing charged) or "unknown" (it may have been acted
-- on). Bad arguments raise.
--
-- The pure parts are here too: client.codes, client.check_base_url,
-- client.check_idempotency_key, client.new_idempotency_key, client.val,
-- client.whole, client.excerpt, client.retry_after, client.duration,
-- client.masked (a result with its credential fields masked).
local config = require "config"
local errors = require "errors"
local http = require "http"
local log = require "log"
local secret = require "secret"
local task = require "task"
local answer = require "client.answer"
local checks = require "client.checks"
local codes = require "client.codes"

local _M = {}

_M.codes = codes
_M.check_base_url = checks.base_url
_M.check_idempotency_key = checks.idempotency_key
_M.new_idempotency_key = checks.new_idempotency_key
_M.val = answer.val
_M.whole = answer.whole
_M.json = answer.json
_M.excerpt = answer.excerpt
_M.remote_message = answer.remote_message
_M.retry_after = answer.retry_after
_M.duration = answer.duration
_M.masked = require("client.mask").masked

-- plan_of(plan) -> {dry_run = true, plan = ...}: what a dry run did not
-- send (err.plan of the dry_run error), as a result: the body decoded
-- when it is JSON and every auth field masked (the host already shows
-- secrets as <secret NAME>; a user name is masked here).
function _M.plan_of(plan)
  local p = {}
  for k, v in pairs(plan) do p[k] = v end
  if type(p.body) == "string" then p.body = answer.json(p.body) or p.body end
  return { dry_run = true, plan = _M.masked(p) }
end

_M.MAX_PAUSE_S = 5             -- longest Retry-After send() sits out

local fmt = string.format

---------------------------------------------------------------------------
-- sending

-- http.request plus what its retry policy leaves to the caller. The
-- host already retries what is safe to retry (docs/http.md); with
-- policy.extra, the statuses (policy.statuses) and transport codes
-- (policy.errors) listed are tried again here, at most extra times,
-- after the Retry-After the answer asks for (policy.retry_after(res),
-- default the header) when it is at most policy.max_wait seconds.
-- Returns res, or nil, err (err.sent set), and the attempts made.
function _M.send(req, policy)
  if type(req) ~= "table" then
    error("client.send: expected a request table", 2)
  end
  policy = policy or {}
  local total, extra = 0, policy.extra or 0
  local longest = policy.max_wait or _M.MAX_PAUSE_S
  local after = policy.retry_after or answer.retry_after
  while true do
    local res, err = http.request(req)
    total = total + ((res or err).attempts or 1)
    local wait, why
    if not res then
      if err.code == "dry_run" or extra <= 0 or
         not (policy.errors and policy.errors[err.code]) then
        err.sent = codes.sent_for_transport(err.code)
        return nil, err, total
      end
      extra = extra - 1
      wait, why = 1, err.code
    elseif extra > 0 and policy.statuses and policy.statuses[res.status]
    then
      extra = extra - 1
      wait, why = after(res) or 1, tostring(res.status)
    else
      return res, nil, total
    end
    -- a wait longer than we sit out is reported, with its time
    if res and wait > longest then return res, nil, total end
    wait = math.max(wait, 0.2)
    log.info(fmt("retrying %s %s in %s s (%s)%s", req.method, req.url,
                 answer.whole(wait), why, req.idempotency_key and
                 " with the same idempotency key" or ""))
    task.sleep(wait)
  end
end

-- The default wording of a non-2xx answer. A redirect is never
-- followed, so it says which setting to fix.
local function default_message(e, o)
  local what = o.what or "the request"
  if e.status < 400 then
    return fmt("%s: HTTP %d redirect to %s: clawhost does not follow " ..
               "redirects; check %s", what, e.status,
               tostring(e.location), o.setting or "the base URL")
  end
  return fmt("%s: HTTP %d%s", what, e.status,
             e.remote_message and ": " .. e.remote_message or "")
end

-- status_error(res, o) -> the clawhost.Error of a non-2xx answer:
-- err.code from client.codes (o.code when the library's contract says
-- better), err.status, err.sent, err.retriable, err.remote_message,
-- err.retry_after_s, and o.fields. o: what (the call, for messages),
-- body (when res is a stream that was read), text (the server's
-- message as the library reads it, looked at with the body), keyed
-- (the request had an idempotency key), message (the library's
-- wording), or describe(err, o) returning it (nil: the default).
function _M.status_error(res, o)
  if type(res) ~= "table" and type(res) ~= "userdata" then
    error("client.status_error: expected a response", 2)
  end
  o = o or {}
  local status = res.status
  local body = o.body or res.body
  local remote = answer.remote_message(body)
  -- the host's retry policy reads the body as it came (host/pure/retry.c)
  local code = o.code or codes.for_status(status, {
    text = (o.text or "") .. "\n" .. tostring(body or ""),
    keyed = o.keyed })
  local e = {
    code = code, status = status, remote_message = remote,
    sent = codes.sent_for_status(status),
    retriable = codes.retriable(code),
    retry_after_s = answer.retry_after(res),
    location = status < 400 and res.headers and res.headers["location"]
               or nil,
  }
  for k, v in pairs(o.fields or {}) do e[k] = v end
  local message = o.message or (o.describe and o.describe(e, o)) or
                  default_message(e, o)
  return errors.new(code, message, e)
end

-- decode(res, what) -> the JSON of a 2xx answer, or nil, err (code
-- json: the call went through, its answer is unreadable).
function _M.decode(res, what)
  local v, err = res:json()
  if v == nil then
    return nil, errors.new("json", what .. ": the answer is not valid " ..
      "JSON: " .. tostring(err and err.message or err), { sent = "unknown" })
  end
  return v
end

---------------------------------------------------------------------------
-- a client

local API = {}
local api_mt = { __index = API }

-- new(spec) -> a client. spec: name (who answers, "the backend"),
-- base = {VAR[, VAR...], default =, help =} (the first VAR set wins;
-- help says what it is when it is missing; no VAR: always default),
-- secret = {VAR, help =} (read by settings{secret = true}),
-- auth(settings, ctx) -> headers, or nil, err, or headers, NAME in a
-- dry run when the credential NAME is not set (a placeholder the plan
-- shows), headers (sent with every request), describe(err, o) (the
-- library's wording of non-2xx answers, as in status_error).
function _M.new(spec)
  if type(spec) ~= "table" or type(spec.base) ~= "table" or
     (type(spec.base[1]) ~= "string" and
      type(spec.base.default) ~= "string") then
    error("client.new: expected {name =, base = {VAR, ...}, ...} (or " ..
          "base = {default = URL} for a fixed base)", 2)
  end
  if spec.secret ~= nil and type(spec.secret[1]) ~= "string" then
    error("client.new: secret must be {VAR, help =}", 2)
  end
  return setmetatable({
    name = spec.name or "the service",
    base = spec.base, secret = spec.secret, auth = spec.auth,
    headers = spec.headers, describe = spec.describe,
    base_names = spec.base[1] and table.concat(spec.base, " or ") or
                 spec.base.default,
  }, api_mt)
end

-- looked_in(secrets) -> "looked in: PLACE (PATH), ..." for a "not
-- set" message: every place searched, in order, with its path (the
-- credential folders too when a secret was asked for), so a job run
-- from / says which .env.local it did not find.
function _M.looked_in(secrets)
  return "looked in: " .. config.places(secrets)
end

local function missing_setting(missing, secrets)
  local what = {}
  for i, m in ipairs(missing) do
    what[i] = m.help and fmt("%s (%s)", m[1], m.help) or m[1]
  end
  local names = {}
  for i, m in ipairs(missing) do names[i] = m[1] end
  return errors.new("config", fmt("missing setting%s: %s; %s. Run " ..
    "`clawhost setup`, or set %s in one of those places",
    #missing > 1 and "s" or "", table.concat(what, "; "),
    _M.looked_in(secrets), #missing > 1 and "them" or "it"),
    { missing = names, sent = "no" })
end

-- The first of the base URL variables that is set: name, value.
local function first_set(names)
  for _, name in ipairs(names) do
    local v = config.get(name)
    if v then return name, v end
  end
  return nil
end

local function checked_base(self, name, raw)
  local url, why = checks.base_url(raw, {
    secret = self.secret and self.secret[1], owner = self.name })
  if url then return url end
  local shown = raw:find("@", 1, true) and "(not shown)" or
                "'" .. raw .. "'"
  return nil, errors.new("config", fmt("%s %s %s. Fix it with " ..
    "`clawhost setup` or where it is set (%s)", name, shown, why,
    config.source(name) or "?"), { sent = "no" })
end

-- The base URL as requests use it (the default when no variable is
-- set), or nil, err (config), or nil when there is neither.
function API:base_url()
  local name, raw = first_set(self.base)
  if not raw then return self.base.default end
  return checked_base(self, name, raw)
end

-- settings(opts) -> {base_url, secret}, or nil, err (config): every
-- missing setting named at once, then a base URL that is not one.
-- opts.secret: the secret is needed too.
function API:settings(opts)
  opts = opts or {}
  local missing = {}
  local name, raw = first_set(self.base)
  if not raw and not self.base.default then
    missing[#missing + 1] = self.base
  end
  local s, secret_missing
  if opts.secret then
    s = secret.get(self.secret[1])
    if not s then
      missing[#missing + 1] = self.secret
      secret_missing = true
    end
  end
  if #missing > 0 then
    return nil, missing_setting(missing, secret_missing)
  end
  local base, err = self.base.default, nil
  if raw then base, err = checked_base(self, name, raw) end
  if not base then return nil, err end
  return { base_url = base, secret = s }
end

function API:status_error(res, o)
  o = o or {}
  local all = { describe = self.describe, setting = self.base_names }
  for k, v in pairs(o) do all[k] = v end
  return _M.status_error(res, all)
end

-- The dry run of a GET that cannot carry its credential: the host
-- would send it and earn a 401, so it is planned like a POST instead.
local function unsendable_get(url, missing)
  return nil, errors.new("dry_run", fmt("not sent (dry run, %s not set)",
    missing), { sent = "no", plan = { method = "GET", url = url,
                                      note = "needs " .. missing } })
end

-- request(ctx, o) -> a 2xx res (a stream stays open), or nil, err.
-- o: method (GET), path (after the base URL) or url, query, json,
-- body or form, headers, stream, timeout_ms, first_byte_timeout_ms,
-- idle_timeout_ms, retries, max_bytes, progress, idempotency_key, auth
-- (false: send no credential), what (the call, for messages).
function API:request(ctx, o)
  if type(o) ~= "table" then
    error("client request: expected an options table", 2)
  end
  local method = o.method or "GET"
  local url, s = o.url, nil
  local with_secret = o.auth ~= false and self.secret ~= nil
  if not url or with_secret then
    local err
    s, err = self:settings { secret = with_secret }
    if not s then return nil, err end
    url = url or s.base_url .. o.path
  end
  local headers = {}
  for k, v in pairs(self.headers or {}) do headers[k] = v end
  for k, v in pairs(o.headers or {}) do headers[k] = v end
  if o.auth ~= false and self.auth then
    local h, why = self.auth(s, ctx)
    if not h then
      why.sent = "no"
      return nil, why
    end
    if why and method == "GET" then return unsendable_get(url, why) end
    for k, v in pairs(h) do headers[k] = v end
  end
  local res, err = _M.send {
    method = method, url = url, query = o.query, headers = headers,
    json = o.json, body = o.body, form = o.form, stream = o.stream,
    timeout_ms = o.timeout_ms, retries = o.retries,
    first_byte_timeout_ms = o.first_byte_timeout_ms,
    idle_timeout_ms = o.idle_timeout_ms, progress = o.progress,
    max_bytes = o.max_bytes, idempotency_key = o.idempotency_key,
  }
  if not res then return nil, err end
  if res.status >= 200 and res.status <= 299 then return res end
  local body
  if o.stream then
    body = res:read()
    res:close()
  end
  return nil, self:status_error(res, {
    what = o.what or (method .. " " .. (o.path or url)), body = body,
    keyed = o.idempotency_key ~= nil })
end

return _M
