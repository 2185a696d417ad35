-- theta.capabilities: what the settings let clawhost do, each checked
-- with one harmless call (theta-api.md 3.5), for `clawhost check
-- --online` and the capabilities and health recipes.
--
--   capabilities.probe(ctx)   {dry_run, timestamp, capabilities, summary}
--   capabilities.health(ctx)  {ok, public_api_reachable, auth_configured,
--                              auth_verified, auth_error, vm_count, ...}
--
-- Every probe is a GET: nothing is created, minted or charged. An
-- entry is configured when its settings are there, verified when the
-- call with them succeeded; error is the reason (220 characters at
-- most), never a credential (the output redactor masks those anyway).
local clock = require "clock"
local config = require "config"
local secret = require "secret"
local client = require "client"
local ctl = require "theta.controller"
local dedicated = require "theta.dedicated"
local od = require "theta.client"

local _M = {}

local function cut(s)
  return client.excerpt(type(s) == "table" and s.message or tostring(s),
                        220)
end

-- One entry: configured when need() returns true; verified when
-- check() returns a sample.
local function entry(name, required, notes, need, check)
  local e = { name = name, required = table.concat(required, ", "),
              notes = notes, configured = need(), verified = false }
  if not e.configured then
    e.error = "not configured: set " .. e.required
    return e
  end
  local ok, sample, err = pcall(check)
  if not ok then
    e.error = cut(sample)
  elseif sample == nil then
    e.error = cut(err)
  else
    e.verified, e.sample = true, sample
  end
  return e
end

local function keys_of(v)
  local ks = {}
  for k in pairs(type(v) == "table" and v or {}) do
    ks[#ks + 1] = tostring(k)
  end
  table.sort(ks)
  return table.concat(ks, ",")
end

local function has(name) return config.get(name) ~= nil end
local function has_secret(name) return secret.get(name) ~= nil end

function _M.probe(ctx)
  local caps = {
    entry("controller.project", { "THETA_EC_API_KEY",
      "THETA_EC_PROJECT_ID" }, "lists the project's deployments",
      function() return has_secret("THETA_EC_API_KEY") and
                        has("THETA_EC_PROJECT_ID") end,
      function()
        local items, err = ctl.list(ctx)
        if not items then return nil, err end
        return #items .. " deployment(s)"
      end),
    entry("billing.balance", { "THETA_EC_API_KEY", "THETA_ORG_ID" },
      "reads the organization balance",
      function() return has_secret("THETA_EC_API_KEY") and
                        has("THETA_ORG_ID") end,
      function()
        local b, err = ctl.balance(ctx)
        if not b then return nil, err end
        return b.value and ("balance " .. b.value) or keys_of(b.body)
      end),
    entry("ondemand.catalog", {}, "lists on-demand services (public)",
      function() return true end,
      function()
        local res, err = od.request(ctx, { path = "/service/list",
          auth = false, what = "list services" })
        if not res then return nil, err end
        local v = client.json(res.body)
        local body = type(v) == "table" and v.body or {}
        return #(body.services or {}) .. " service(s)"
      end),
    entry("ondemand.inference", { "THETA_ONDEMAND_API_TOKEN" },
      "the token is accepted: a status read of a request that does not " ..
      "exist answers 404, a refused token 401",
      function() return od.token() ~= nil end,
      function()
        local res, err = od.request(ctx, { path =
          "/infer_request/infr_rqst_clawhostcapabilityprobe",
          what = "token check" })
        if res or (err and err.status == 404) then
          return "token accepted"
        end
        return nil, err
      end),
    entry("inference.endpoint", { "THETA_INFERENCE_ENDPOINT" },
      "the dedicated endpoint answers /v1/models with the credentials",
      function() return has("THETA_INFERENCE_ENDPOINT") end,
      function()
        local url, err = dedicated.endpoint()
        if not url then return nil, err end
        local headers, aerr = dedicated.auth(url)
        if not headers then return nil, aerr end
        local ids, merr = dedicated.models(ctx, { endpoint = url,
                                                  headers = headers })
        if not ids then return nil, merr end
        return #ids .. " model(s)"
      end),
    entry("video.api", { "THETA_VIDEO_SA_ID", "THETA_VIDEO_SA_SECRET" },
      "lists one video of the service account",
      function() return has("THETA_VIDEO_SA_ID") and
                        has_secret("THETA_VIDEO_SA_SECRET") end,
      function()
        local list, err = require("theta.video").list(ctx, { page = 1,
                                                             number = 1 })
        if not list then return nil, err end
        return "video list read"
      end),
  }
  local configured, verified = 0, 0
  for _, c in ipairs(caps) do
    if c.configured then configured = configured + 1 end
    if c.verified then verified = verified + 1 end
  end
  return {
    dry_run = ctx.dry_run or nil,
    timestamp = clock.iso(clock.now()),
    capabilities = caps,
    columns = { "name", "configured", "verified", "sample", "error" },
    summary = { configured = configured, verified = verified,
                total = #caps },
  }
end

-- health(ctx): the public VM list, and the deployments list when the
-- controller settings are there (theta-api.md 3.5, theta.health).
function _M.health(ctx)
  local out = { timestamp = clock.iso(clock.now()) }
  local vms, verr = ctl.vms(ctx)
  out.public_api_reachable = vms ~= nil
  out.vm_count = vms and #vms or nil
  out.public_error = verr and cut(verr) or nil
  out.auth_configured = has_secret("THETA_EC_API_KEY") and
                        has("THETA_EC_PROJECT_ID")
  if out.auth_configured then
    local items, err = ctl.list(ctx)
    out.auth_verified = items ~= nil
    out.auth_error = err and cut(err) or nil
  else
    out.auth_verified = false
  end
  out.ok = out.public_api_reachable and
           (not out.auth_configured or out.auth_verified)
  return out
end

return _M
