-- theta.client: the on-demand API as a client of lua/client.
--
--   client.base_url()        https://ondemand.thetaedgecloud.com, or
--                            THETA_ONDEMAND_API_BASE_URL / THETA_API_BASE_URL
--                            (a setting, never per call),
--                            or nil, err (config: exit 2)
--   client.auth(ctx)         {Authorization = Bearer secret}, or nil, err
--                            (code config: exit 2) -- in a dry run a
--                            placeholder, so a plan can still be shown
--   client.request(ctx, o)   one call: res, or nil, err (err.sent says
--                            whether the request may have been charged)
--   client.http_error(res, what)   a non-2xx answer as an error
--   client.decode(res, what), client.body_of(v, what)
--   client.check_alias(s), client.check_request_id(s)
--
-- Error codes are the shared ones (lua/client/codes.lua,
-- docs/errors.md); only the wording of the messages is Theta's.
--
-- The token is read through the secret module, which tries
-- THETA_ONDEMAND_API_TOKEN, THETA_ONDEMAND_API_KEY, THETA_API_KEY in that
-- order and binds it to the on-demand host (or the host of the base URL
-- override): it cannot be sent anywhere else, and it never becomes a Lua
-- string.
local errors = require "errors"
local secret = require "secret"
local client = require "client"

local _M = {}

local DEFAULT_BASE = "https://ondemand.thetaedgecloud.com"
_M.DEFAULT_BASE = DEFAULT_BASE
_M.TOKEN_NAMES = { "THETA_ONDEMAND_API_TOKEN", "THETA_ONDEMAND_API_KEY",
                   "THETA_API_KEY" }

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
           _M.TOKEN_NAMES[1]
  end
  return nil, errors.new("config", "THETA_ONDEMAND_API_TOKEN is not set " ..
    "(also read: THETA_ONDEMAND_API_KEY, THETA_API_KEY); " ..
    client.looked_in(true) .. ". Run `clawhost setup`, or try --dry-run")
end

-- The wording of a non-2xx answer ("infer flux: quota reached: ..."); a
-- redirect keeps the shared wording, which names the setting to fix.
local function describe(e, o)
  local st, what = e.status, o.what
  local msg = e.remote_message or ("HTTP " .. st)
  if st < 400 then return nil end
  if st == 401 or st == 403 then
    return what .. ": the on-demand API refused the access token (" ..
           st .. " " .. msg .. "); check THETA_ONDEMAND_API_TOKEN"
  elseif e.code == "capacity" then
    return what .. ": temporary Theta on-demand capacity exhaustion: " ..
           msg .. " (retried; try again later)"
  elseif st == 429 then
    return what .. ": quota reached: " .. msg
  elseif st == 404 or st == 400 or st == 422 then
    return what .. ": " .. msg
  end
  return what .. ": HTTP " .. st .. ": " .. msg
end

local api = client.new {
  name = "the on-demand API",
  base = { "THETA_ONDEMAND_API_BASE_URL", "THETA_API_BASE_URL",
           default = DEFAULT_BASE },
  auth = function(_, ctx) return _M.auth(ctx) end,
  headers = { Accept = "application/json, text/event-stream" },
  describe = describe,
}

function _M.base_url()
  return api:base_url()
end

local function check_name(s, max)
  return type(s) == "string" and s:find("^[%w][%w_%.%-]*$") ~= nil and
         #s <= max
end

local function shown(s)
  return type(s) == "string" and ("'" .. s .. "'") or type(s)
end

function _M.check_alias(s, what)
  if not check_name(s, 100) then
    error((what or "service") .. " must be a service alias like " ..
          "'qwen3' (letters, digits, _ . -), got " .. shown(s), 3)
  end
  return s
end

function _M.check_request_id(s)
  if not check_name(s, 200) then
    error("request_id must look like infr_rqst_..., got " .. shown(s), 3)
  end
  return s
end

-- http_error(res, what) -> the clawhost.Error of a non-2xx answer.
function _M.http_error(res, what)
  return api:status_error(res, { what = what })
end

-- request(ctx, o): o = {method, path, query, json, body, auth = true,
-- stream, timeout_ms, first_byte_timeout_ms, idle_timeout_ms, what}.
-- Returns res (2xx; a stream stays open), or nil, err where err.sent is
-- "no", "refused" or "unknown" and, for a dry run, err.plan is what
-- would have been sent.
function _M.request(ctx, o)
  return api:request(ctx, o)
end

_M.decode = client.decode

-- body_of(v) -> v.body for the {"status":"success","body":{...}}
-- envelope, or nil, err.
function _M.body_of(v, what)
  if type(v) == "table" and type(v.body) == "table" then return v.body end
  return nil, errors.new("protocol", what .. ": the answer has no " ..
    "{status, body} envelope", { sent = "unknown" })
end

return _M
