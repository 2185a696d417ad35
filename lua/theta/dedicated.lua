-- theta.dedicated: a deployment's own inference endpoint,
-- https://<name>-<16 hex>.tec-sN.onthetaedgecloud.com (theta-api.md
-- 3.6, 6.7), OpenAI-compatible (/v1/models, /v1/chat/completions) or
-- Gradio (/config, /api/predict).
--
--   dedicated.check_endpoint(url)    the URL as calls use it, or nil, why
--   dedicated.endpoint(given)        the checked URL from the argument
--                                    or THETA_INFERENCE_ENDPOINT, or
--                                    nil, err (config)
--   dedicated.auth([url])            headers from THETA_INFERENCE_AUTH_*
--   dedicated.probe(ctx, o)          one GET of the probe path: an
--                                    attempt {ok, status, code, ...}
--   dedicated.ready(ctx, o)          the probe until ready or timeout
--   dedicated.models(ctx, o)         the ids /v1/models lists
--   dedicated.chat(ctx, o)           one chat completion (streamed)
--   dedicated.predict(ctx, o)        one Gradio /api/predict call
--
-- Only an https URL on a Theta host is an endpoint: a credential for a
-- deployment must not be sent to a local or private address, or to a
-- look-alike host, by a setting or an answer that says so.
local config = require "config"
local errors = require "errors"
local http = require "http"
local secret = require "secret"
local task = require "task"
local clock = require "clock"
local client = require "client"
local chatstream = require "chatstream"

local _M = {}

local fmt = string.format

_M.ZONES = { "thetaedgecloud.com", "onthetaedgecloud.com" }
_M.PROBES = { openai = "/v1/models", gradio = "/config" }
-- theta-api.md 3.6: the skill's readiness defaults and bounds
_M.READY_TIMEOUT_MS = { default = 120000, min = 1000, max = 1800000 }
_M.READY_INTERVAL_MS = { default = 5000, min = 500, max = 60000 }

---------------------------------------------------------------------------
-- the endpoint

local function octets(host)
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local o = { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
  for _, x in ipairs(o) do
    if x > 255 then return false end
  end
  return o
end

-- Why host is local or private, or nil (theta-api.md 6.7; the host's
-- egress policy refuses these addresses again at connect time).
local function local_reason(host)
  if host == "localhost" or host:find("%.localhost$") then
    return "is the local machine"
  end
  local o = octets(host)
  if o == false then return "is not a valid IPv4 address" end
  if o then
    local a, b = o[1], o[2]
    if a == 0 or a == 10 or a == 127 or (a == 169 and b == 254) or
       (a == 192 and b == 168) or (a == 172 and b >= 16 and b <= 31) or
       (a == 100 and b >= 64 and b <= 127) then
      return "is a local or private address"
    end
    return "is an IP address, not a Theta host name"
  end
  if host:find(":", 1, true) then
    return "is an IPv6 address, not a Theta host name"
  end
  if host:find("^%d+$") or host:find("^0x") then
    return "is a numeric address"
  end
  return nil
end

local function in_zone(host)
  for _, z in ipairs(_M.ZONES) do
    if host == z or host:sub(-(#z + 1)) == "." .. z then return true end
  end
  return false
end

-- check_endpoint(url) -> "https://host[:port][/path]" (no trailing /),
-- or nil, why (a clause: "is not https").
function _M.check_endpoint(url)
  if type(url) ~= "string" then return nil, "is not a string" end
  url = url:match("^%s*(.-)%s*$")
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "is not an absolute URL (https://...)" end
  if scheme:lower() ~= "https" then
    return nil, fmt("uses %s://; an endpoint is https:// only", scheme)
  end
  local authority, path = rest:match("^([^/?#]*)([^?#]*)")
  if rest:find("[?#]") then return nil, "has a query or fragment" end
  if authority:find("@", 1, true) then
    return nil, "has a user name or password in it; set " ..
                "THETA_INFERENCE_AUTH_USER and _PASS instead"
  end
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([^%]]*)%]:?(%d*)$")
  else
    host, port = authority:match("^([^:]*):?(%d*)$")
  end
  if not host or host == "" then return nil, "has no host name" end
  host = host:lower():gsub("%.$", "")
  if not authority:find("^%[") and host:find("[^%w%.%-]") then
    return nil, fmt("has a host name with characters no DNS name has " ..
                    "(%s)", host)
  end
  local why = local_reason(host)
  if why then return nil, fmt("%s (%s)", why, host) end
  if not in_zone(host) then
    return nil, fmt("is on %s, not under .onthetaedgecloud.com or " ..
                    ".thetaedgecloud.com", host)
  end
  path = path:gsub("/+$", "")
  return "https://" .. host .. (port ~= "" and ":" .. port or "") .. path
end

-- endpoint(given) -> the checked URL of the argument, else of
-- THETA_INFERENCE_ENDPOINT; or nil, err (config).
function _M.endpoint(given)
  local raw, from = given, "--endpoint"
  if raw == nil then raw, from = config.get("THETA_INFERENCE_ENDPOINT"),
                                 "THETA_INFERENCE_ENDPOINT" end
  if raw == nil or raw == "" then
    return nil, errors.new("config", "THETA_INFERENCE_ENDPOINT is not " ..
      "set: the deployment's endpoint URL (https://...onthetaedgecloud" ..
      ".com, shown by `clawhost run deployments`); " ..
      client.looked_in(false) .. ". Run `clawhost setup`", { sent = "no" })
  end
  local url, why = _M.check_endpoint(raw)
  if not url then
    return nil, errors.new("config", fmt("%s is refused: it %s. A " ..
      "dedicated endpoint is the https URL a deployment shows, under " ..
      ".onthetaedgecloud.com", from, why), { sent = "no" })
  end
  return url
end

-- Whether a Secret may go to url's host and port (its bindings are
-- "host:port" or "host" for any port; secret.info lists them).
local function bound_to(s, url)
  local host, port = url:match("^https://([^/:]+):?(%d*)")
  local hp = host .. ":" .. (port ~= "" and port or "443")
  for _, b in ipairs(secret.info(s).hosts or {}) do
    if b == hp or b == host then return true end
  end
  return false
end

-- The endpoint credentials are bound to THETA_INFERENCE_ENDPOINT's host
-- only (docs/secrets.md): another deployment, even under the same
-- domain, may be someone else's, so --endpoint elsewhere gets a clear
-- refusal before anything is sent rather than one `blocked` per try.
local function check_bound(s, url)
  if url == nil or bound_to(s, url) then return true end
  return nil, errors.new("config", fmt("the endpoint credentials (%s) " ..
    "are sent only to the host of THETA_INFERENCE_ENDPOINT, and %s is " ..
    "another host. Set THETA_INFERENCE_ENDPOINT to this deployment's " ..
    "URL (clawhost setup, or --env-file) and leave --endpoint out; a " ..
    "public deployment needs no credentials", secret.info(s).name,
    url:match("^https://([^/]+)")), { sent = "no" })
end

-- auth([url]) -> headers for THETA_INFERENCE_AUTH_TOKEN (Bearer,
-- preferred) or THETA_INFERENCE_AUTH_USER + _PASS (Basic), or {} for a
-- public deployment; or nil, err when only one half of the pair is set
-- or url (checked by check_endpoint) is not where they may go.
function _M.auth(url)
  local tok = secret.get("THETA_INFERENCE_AUTH_TOKEN")
  if tok then
    local ok, err = check_bound(tok, url)
    if not ok then return nil, err end
    return { Authorization = secret.bearer(tok) }
  end
  local user = secret.get("THETA_INFERENCE_AUTH_USER")
  local pass = secret.get("THETA_INFERENCE_AUTH_PASS")
  if user and pass then
    local ok, err = check_bound(pass, url)
    if not ok then return nil, err end
    return { Authorization = secret.basic(user, pass) }
  end
  if user or pass then
    return nil, errors.new("config", "THETA_INFERENCE_AUTH_USER and " ..
      "THETA_INFERENCE_AUTH_PASS go together: set both (the " ..
      "deployment's AuthUsername and AuthPassword), or neither",
      { sent = "no" })
  end
  return {}
end

---------------------------------------------------------------------------
-- calls

local function check_kind(kind)
  if _M.PROBES[kind] == nil then
    error("dedicated: probe must be openai or gradio, got " ..
          tostring(kind), 3)
  end
  return kind
end

-- probe(ctx, {endpoint, kind, headers, timeout_ms}) -> one attempt:
-- {ok, status, code, message, elapsed_ms, body}. Never retried: the
-- readiness loop is the retry (and reports every answer it saw).
function _M.probe(ctx, o)
  local path = _M.PROBES[check_kind(o.kind or "openai")]
  local t0 = clock.monotonic()
  local res, err = http.request { url = o.endpoint .. path,
    headers = o.headers, retries = 0, timeout_ms = o.timeout_ms or 15000 }
  local a = { elapsed_ms = math.floor((clock.monotonic() - t0) * 1000) }
  if not res then
    a.ok, a.code, a.message = false, err.code, err.message
    return a
  end
  a.status = res.status
  if res.status >= 200 and res.status <= 299 then
    a.ok, a.body = true, client.json(res.body)
    return a
  end
  local e = client.status_error(res, { what = "GET " .. path })
  a.ok, a.code = false, e.code
  a.message = client.excerpt(e.remote_message or res.body, 120) or
              ("HTTP " .. res.status)
  return a
end

local function clamp_ms(v, lim, name)
  if v == nil then return lim.default end
  if math.type(v) ~= "integer" or v < lim.min or v > lim.max then
    error(fmt("dedicated.ready: %s must be a whole number of ms from " ..
              "%d to %d, got %s", name, lim.min, lim.max, tostring(v)), 3)
  end
  return v
end

-- What the last answers of a poll that timed out most likely mean.
local function why_not_ready(last)
  if not last then return "no answer" end
  if last.status == 401 then
    return "it still answers 401: the credentials are refused, or its " ..
           "auth proxy is still starting"
  elseif last.status == 404 and last.kind == "gradio" then
    return "it still answers 404 (/config): not up yet, or not a " ..
           "Gradio app (try --probe openai)"
  elseif last.status then
    return fmt("its last answer was HTTP %d (%s)", last.status,
               last.message or "")
  end
  return fmt("its last attempt failed: %s", last.message or last.code)
end

-- ready(ctx, o) -> {ready, probe, endpoint, elapsed_ms, attempts,
-- response}; or nil, err (timeout: not ready in time; err.result is the
-- table). o: endpoint, kind (openai|gradio), headers, timeout_ms
-- (120000, 1000..1800000), interval_ms (5000, 500..60000),
-- on_attempt(attempt, n). A dry run returns the plan without calling.
-- Warm-up answers (404, then 502/503, then 401, theta-api.md 3.3) and
-- transport failures are waited through until the timeout.
function _M.ready(ctx, o)
  local kind = check_kind(o.kind or "openai")
  local timeout = clamp_ms(o.timeout_ms, _M.READY_TIMEOUT_MS, "timeout_ms")
  local interval = clamp_ms(o.interval_ms, _M.READY_INTERVAL_MS,
                            "interval_ms")
  local out = { ready = false, probe = kind, endpoint = o.endpoint,
                timeout_ms = timeout, interval_ms = interval }
  if ctx.dry_run then
    out.dry_run = true
    return out
  end
  local t0, attempts = clock.monotonic(), {}
  out.attempts = attempts
  while true do
    local a = _M.probe(ctx, { endpoint = o.endpoint, kind = kind,
                              headers = o.headers,
                              timeout_ms = math.min(15000, timeout) })
    a.kind = kind
    attempts[#attempts + 1] = a
    if o.on_attempt then o.on_attempt(a, #attempts) end
    local spent = (clock.monotonic() - t0) * 1000
    out.elapsed_ms = math.floor(spent)
    if a.ok then
      out.ready, out.response = true, a.body
      a.body = nil
      return out
    end
    if spent + interval > timeout then break end
    task.sleep(interval / 1000)
  end
  return nil, errors.new("timeout", fmt("the endpoint was not ready " ..
    "after %d s and %d attempts: %s", math.floor(out.elapsed_ms / 1000),
    #attempts, why_not_ready(attempts[#attempts])),
    { result = out, sent = "no" })
end

-- models(ctx, {endpoint, headers}) -> ids, the answer; or nil, err.
function _M.models(ctx, o)
  local res, err = http.request { url = o.endpoint .. "/v1/models",
                                  headers = o.headers }
  if not res then return nil, err end
  if res.status < 200 or res.status > 299 then
    return nil, client.status_error(res, { what = "GET /v1/models" })
  end
  local v, derr = client.decode(res, "GET /v1/models")
  if v == nil then return nil, derr end
  local ids = {}
  for _, m in ipairs(type(v) == "table" and type(v.data) == "table" and
                     v.data or {}) do
    local id = type(m) == "table" and (m.id or m.model)
    if type(id) == "string" then ids[#ids + 1] = id end
  end
  return ids, v
end

-- chat(ctx, o) -> the chatstream result; or nil, err. o: endpoint,
-- headers, model, messages, max_tokens, temperature, stream (true),
-- on_content(text), timeout_ms.
function _M.chat(ctx, o)
  local body = { model = o.model, messages = o.messages,
                 max_tokens = o.max_tokens, temperature = o.temperature,
                 stream = o.stream ~= false }
  local res, err = http.request { method = "POST",
    url = o.endpoint .. "/v1/chat/completions", headers = o.headers,
    json = body, stream = true, timeout_ms = o.timeout_ms or 120000,
    first_byte_timeout_ms = o.timeout_ms or 120000,
    idle_timeout_ms = 60000 }
  if not res and err.code == "dry_run" then
    return client.plan_of(err.plan)
  end
  if not res then return nil, err end
  return chatstream.read(res, { on_content = o.on_content })
end

-- predict(ctx, {endpoint, headers, data, fn_index}) -> the Gradio
-- answer's data list; or nil, err.
function _M.predict(ctx, o)
  local res, err = http.request { method = "POST",
    url = o.endpoint .. "/api/predict", headers = o.headers,
    json = { fn_index = o.fn_index or 0, data = o.data } }
  if not res and err.code == "dry_run" then
    return client.plan_of(err.plan)
  end
  if not res then return nil, err end
  if res.status < 200 or res.status > 299 then
    return nil, client.status_error(res, { what = "POST /api/predict" })
  end
  local v, derr = client.decode(res, "POST /api/predict")
  if v == nil then return nil, derr end
  return v
end

return _M
