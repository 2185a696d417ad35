-- theta.client: settings and HTTP plumbing for the on-demand API.
--
--   client.base_url()        https://ondemand.thetaedgecloud.com, or
--                            THETA_ONDEMAND_API_BASE_URL / THETA_API_BASE_URL
--                            (environment or .env.local; never per call)
--   client.auth(ctx)         {Authorization = Bearer secret}, or nil, err
--                            (code config: exit 2) -- in a dry run a
--                            placeholder, so a plan can still be shown
--   client.request(ctx, o)   one call: res, or nil, err (err.sent says
--                            whether the request may have been charged)
--   client.check_alias(s), client.check_request_id(s)
--
-- The token is read through the secret module, which tries
-- THETA_ONDEMAND_API_TOKEN, THETA_ONDEMAND_API_KEY, THETA_API_KEY in that
-- order and binds it to the on-demand host (or the host of the base URL
-- override): it cannot be sent anywhere else, and it never becomes a Lua
-- string.
local config = require "config"
local errors = require "errors"
local http = require "http"
local json = require "json"
local secret = require "secret"

local _M = {}

local DEFAULT_BASE = "https://ondemand.thetaedgecloud.com"
_M.DEFAULT_BASE = DEFAULT_BASE
_M.TOKEN_NAMES = { "THETA_ONDEMAND_API_TOKEN", "THETA_ONDEMAND_API_KEY",
                   "THETA_API_KEY" }

-- Transport error codes after which nothing can have reached the
-- service (docs/budget.md: release); every other failure may have been
-- processed (settle at the reservation).
local NOT_SENT = { dns = true, connect = true, tls = true, blocked = true,
                   dry_run = true }

function _M.base_url()
  local v = config.get("THETA_ONDEMAND_API_BASE_URL") or
            config.get("THETA_API_BASE_URL")
  if not v then return DEFAULT_BASE end
  v = v:gsub("/+$", "")
  if not v:find("^https?://[^/?#]+[^?#]*$") then
    error(errors.new("config", "on-demand base URL '" .. v .. "' (from " ..
      "THETA_ONDEMAND_API_BASE_URL or THETA_API_BASE_URL) must be an " ..
      "http(s) URL without query or fragment"), 0)
  end
  return v
end

-- token() -> the clawhost.Secret of the first alias that is set, or nil.
function _M.token()
  return secret.get(_M.TOKEN_NAMES[1])
end

-- auth(ctx) -> headers, or nil, err. A missing token is a config error
-- (exit 2) except in a dry run, where the plan shows a placeholder.
function _M.auth(ctx)
  local tok = _M.token()
  if tok then return { Authorization = secret.bearer(tok) } end
  if ctx and ctx.dry_run then
    return { Authorization = "Bearer <THETA_ONDEMAND_API_TOKEN not set>" },
           true
  end
  return nil, errors.new("config", "THETA_ONDEMAND_API_TOKEN is not set " ..
    "(also read: THETA_ONDEMAND_API_KEY, THETA_API_KEY); put it in the " ..
    "environment or .env.local (clawhost setup), or try --dry-run")
end

function _M.check_alias(s, what)
  if type(s) ~= "string" or not s:find("^[%w][%w_%.%-]*$") or #s > 100 then
    error((what or "service") .. " must be a service alias like " ..
          "'qwen3' (letters, digits, _ . -), got " ..
          (type(s) == "string" and ("'" .. s .. "'") or type(s)), 3)
  end
  return s
end

function _M.check_request_id(s)
  if type(s) ~= "string" or not s:find("^[%w][%w_%.%-]*$") or #s > 200 then
    error("request_id must look like infr_rqst_..., got " ..
          (type(s) == "string" and ("'" .. s .. "'") or type(s)), 3)
  end
  return s
end

-- The message of an error body ({"status":"error","message":...} on
-- this API; also `error`, `detail`), or a short excerpt of it.
function _M.error_message(body)
  if type(body) ~= "string" or body == "" then return nil end
  local obj = json.safe.decode(body)
  if type(obj) == "table" then
    for _, k in ipairs { "message", "error", "detail" } do
      local v = obj[k]
      if type(v) == "table" then v = v.message end
      if type(v) == "string" and v ~= "" then return v end
    end
  end
  local text = body:gsub("<[^>]*>", " "):gsub("%s+", " ")
  return text:sub(1, 200)
end

-- http_error(status, message, what) -> a clawhost.Error for a non-2xx
-- answer. err.sent is "refused" for 4xx, 501 and 505 (the service turned
-- the request down: nothing was charged) and "unknown" for the rest.
function _M.http_error(status, message, what)
  local msg = message or ("HTTP " .. status)
  local code, text
  if status == 401 or status == 403 then
    code = status == 401 and "config" or "forbidden"
    text = what .. ": the on-demand API refused the access token (" ..
           status .. " " .. msg .. "); check THETA_ONDEMAND_API_TOKEN"
  elseif status == 404 then
    code, text = "not_found", what .. ": " .. msg
  elseif status == 409 and msg:lower():find("no%s+instances%s+available") then
    code = "capacity"
    text = what .. ": temporary Theta on-demand capacity exhaustion: " ..
           msg .. " (retried; try again later)"
  elseif status == 429 then
    code, text = "quota", what .. ": quota reached: " .. msg
  elseif status == 400 or status == 422 then
    code, text = "invalid_request", what .. ": " .. msg
  else
    code, text = "http", what .. ": HTTP " .. status .. ": " .. msg
  end
  return errors.new(code, text, {
    status = status, remote_message = message,
    -- 501 and 505: the server cannot act on the request at all (the
    -- host's retry policy sees them the same way)
    sent = ((status >= 400 and status < 500) or status == 501 or
            status == 505) and "refused" or "unknown",
    retriable = status == 409 or status == 429 or status >= 500,
  })
end

-- request(ctx, o): o = {method, path, query, json, body, auth = true,
-- stream, timeout_ms, first_byte_timeout_ms, idle_timeout_ms, what}.
-- Returns res (2xx; a stream stays open), or nil, err where err.sent is
-- "no", "refused" or "unknown" and, for a dry run, err.plan is what
-- would have been sent.
function _M.request(ctx, o)
  local headers = { Accept = "application/json, text/event-stream" }
  local url = o.url or (_M.base_url() .. o.path)
  if o.auth ~= false then
    local h, placeholder = _M.auth(ctx)
    if not h then
      placeholder.sent = "no"
      return nil, placeholder
    end
    if placeholder and (o.method or "GET") == "GET" then
      -- dry run without a token: a GET would only earn a 401
      return nil, errors.new("dry_run", "not sent (dry run, no token set)",
        { sent = "no", plan = { method = "GET", url = url,
                                note = "needs THETA_ONDEMAND_API_TOKEN" } })
    end
    headers.Authorization = h.Authorization
  end
  local res, err = http.request {
    method = o.method or "GET", url = url, query = o.query,
    headers = headers, json = o.json, body = o.body,
    stream = o.stream, timeout_ms = o.timeout_ms,
    first_byte_timeout_ms = o.first_byte_timeout_ms,
    idle_timeout_ms = o.idle_timeout_ms, retries = o.retries,
  }
  local what = o.what or ((o.method or "GET") .. " " .. (o.path or url))
  if not res then
    err.sent = NOT_SENT[err.code] and "no" or "unknown"
    return nil, err
  end
  if res.status < 200 or res.status > 299 then
    local body = res.body
    if o.stream then
      body = res:read()
      res:close()
    end
    return nil, _M.http_error(res.status, _M.error_message(body), what)
  end
  return res
end

-- decode(res, what) -> the JSON of a 2xx response, or nil, err (code
-- json: the call went through, its answer is unreadable).
function _M.decode(res, what)
  local v, err = res:json()
  if v == nil then
    return nil, errors.new("json", what .. ": the answer is not valid " ..
      "JSON: " .. tostring(err and err.message or err), { sent = "unknown" })
  end
  return v
end

-- body_of(v) -> v.body for the {"status":"success","body":{...}}
-- envelope, or nil, err.
function _M.body_of(v, what)
  if type(v) == "table" and type(v.body) == "table" then return v.body end
  return nil, errors.new("protocol", what .. ": the answer has no " ..
    "{status, body} envelope", { sent = "unknown" })
end

return _M
