-- theta.controller: deployments, templates, VM types and the balance,
-- on controller.thetaedgecloud.com and api.thetaedgecloud.com
-- (theta-api.md 1.2, 3.1-3.4), as a client of lua/client.
--
--   controller.project_id(given)      a checked prj_... id, or nil, err
--   controller.org_id(given)          a checked org_... id, or nil, err
--   controller.list(ctx, o)           deployments, the route used,
--                                     attempts; o: project_id,
--                                     template_name, not_template_name
--   controller.route_probe(ctx, o)    both list routes, which one works
--   controller.create(ctx, payload)   the decoded answer and its handle
--   controller.lifecycle(ctx, action, o)   start/stop {shard, suffix}
--   controller.delete(ctx, o)         {shard, suffix} or {base_id}
--   controller.templates(ctx, o)      standard (o.category) or custom
--   controller.vms(ctx)               the public VM list
--   controller.balance(ctx, o)        the org balance and its number
--   controller.handle(v)              endpoint, base_id, shard, suffix,
--                                     name, nickname found in an answer
--   controller.find(items, h)         the items that match a handle
--   controller.request(ctx, o)        any controller call (theta.agents)
--
-- Every call returns its value, or nil, err (the shared codes of
-- lua/client/codes.lua, err.sent). Mutating calls in a dry run return
-- nil, err (dry_run) with err.plan, as the host refuses to send them;
-- reading calls run (theta-api.md 6.3).
--
-- Routes: a call with a singular and a plural form (/deployment/...,
-- /deployments/...) tries the singular one first and the plural one
-- only when the singular answered a structured 404 or 405, as the
-- skill does (theta-api.md 3.1); anything else is the error. The form
-- that worked is remembered for the rest of the run.
--
-- The project key (THETA_EC_API_KEY, x-api-key) goes only to the two
-- hosts (docs/secrets.md). Both hosts sit behind Cloudflare, which
-- answers 403 "Error 1010" to a client that does not look like a
-- browser, so every call sends a browser User-Agent and Accept
-- (theta-api.md 1.2).
local config = require "config"
local errors = require "errors"
local secret = require "secret"
local client = require "client"

local _M = {}

local fmt = string.format

_M.CONTROLLER = "https://controller.thetaedgecloud.com"
_M.PLATFORM = "https://api.thetaedgecloud.com"
_M.KEY_NAME = "THETA_EC_API_KEY"
_M.USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " ..
                "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
_M.ACCEPT = "application/json, text/plain, */*"
_M.TEMPLATE_PAGE = 50           -- the skill's page size ...
_M.TEMPLATE_PAGES = 20          -- ... and how many pages it reads

---------------------------------------------------------------------------
-- settings

local function checked_id(given, name, prefix, what, flag)
  local v, from = given, flag
  if v == nil then v, from = config.get(name), name end
  if v == nil or v == "" then
    return nil, errors.new("config", fmt("%s is not set: the %s id " ..
      "(%s...) from the EdgeCloud dashboard; %s. Run `clawhost setup`",
      name, what, prefix, client.looked_in(false)), { sent = "no" })
  end
  if type(v) ~= "string" or not v:find("^" .. prefix .. "[%w_]+$") then
    return nil, errors.new("config", fmt("%s '%s' is not a %s id: it " ..
      "looks like %sabc123 (letters, digits, _)", from, tostring(v), what,
      prefix), { sent = "no" })
  end
  return v
end

-- project_id(given) -> prj_..., from the argument or THETA_EC_PROJECT_ID
-- (^prj_[A-Za-z0-9_]+$, theta-api.md 6.7), or nil, err (config).
function _M.project_id(given)
  return checked_id(given, "THETA_EC_PROJECT_ID", "prj_", "project",
                    "--project-id")
end

-- org_id(given) -> org_..., from the argument or THETA_ORG_ID.
function _M.org_id(given)
  return checked_id(given, "THETA_ORG_ID", "org_", "organization",
                    "--org-id")
end

local function key_auth(_, ctx)
  local key = secret.get(_M.KEY_NAME)
  if key then return { ["x-api-key"] = key } end
  if ctx and ctx.dry_run then
    return { ["x-api-key"] = "<" .. _M.KEY_NAME .. " not set>" },
           _M.KEY_NAME
  end
  return nil, errors.new("config", _M.KEY_NAME .. " is not set: the " ..
    "project API key (dashboard: Settings, Projects, Create API Key); " ..
    client.looked_in(true) .. ". Run `clawhost setup`, or try --dry-run")
end

-- How the two hosts' refusals read.
local function describe(e, o)
  local st, what = e.status, o.what or "the request"
  local msg = e.remote_message or ("HTTP " .. tostring(st))
  if st < 400 then return nil end
  if st == 403 and tostring(o.body or ""):find("1010", 1, true) then
    return what .. ": Cloudflare refused the request (403 Error 1010, " ..
      "a client that does not look like a browser); clawhost sends a " ..
      "browser User-Agent, so something between (a proxy) replaced it"
  elseif st == 401 then
    return fmt("%s: the controller refused %s (401 %s); check the key " ..
      "(clawhost check)", what, _M.KEY_NAME, msg)
  elseif st == 403 then
    return fmt("%s: refused (403 %s): a project API key works only in " ..
      "its own project; check THETA_EC_PROJECT_ID (and THETA_ORG_ID " ..
      "for the balance)", what, msg)
  end
  return fmt("%s: HTTP %d: %s", what, st, msg)
end

local function new_client(name, base)
  return client.new {
    name = name, base = { default = base },
    auth = key_auth, describe = describe,
    headers = { ["User-Agent"] = _M.USER_AGENT, Accept = _M.ACCEPT },
  }
end

local ctl = new_client("the EdgeCloud controller", _M.CONTROLLER)
local platform = new_client("the EdgeCloud platform API", _M.PLATFORM)

-- One call; the decoded {"status": ..., "body": ...} answer's body (the
-- whole answer when it has no envelope), or nil, err.
local function call(api, ctx, o)
  local res, err = api:request(ctx, o)
  if not res and err.code == "dry_run" and err.plan then
    return client.plan_of(err.plan)
  end
  if not res then return nil, err end
  if res.status == 204 or res.body == nil or res.body == "" then
    return { status = "success" }
  end
  local v, derr = client.decode(res, o.what)
  if v == nil then return nil, derr end
  if type(v) == "table" and v.status == "error" then
    return nil, errors.new("remote", fmt("%s: the controller answered " ..
      "an error: %s", o.what, tostring(client.val(v.message) or "?")),
      { sent = "unknown", status = res.status })
  end
  if type(v) == "table" and v.body ~= nil then return client.val(v.body) end
  return v
end

-- request(ctx, o) -> the body of a controller call (its {status, body}
-- envelope opened), or nil, err; a dry run's plan for a mutating one.
-- For other libraries on the controller host (theta.agents).
function _M.request(ctx, o)
  return call(ctl, ctx, o)
end

---------------------------------------------------------------------------
-- routes, singular then plural

-- The form that worked in this run: "/deployment" or "/deployments".
local family = nil

local function is_missing_route(err)
  return err and (err.status == 404 or err.status == 405)
end

-- fallback(ctx, o, tail) -> body, route, attempts; or nil, err,
-- attempts. tail is the path after the family ("/list", "/1/abc/stop").
local function fallback(ctx, o, tail)
  local order = { "/deployment", "/deployments" }
  if family == "/deployments" then
    order = { "/deployments", "/deployment" }
  end
  local attempts, last = {}, nil
  for i, fam in ipairs(order) do
    local path = fam .. tail
    local oo = {}
    for k, v in pairs(o) do oo[k] = v end
    oo.path = path
    oo.what = fmt("%s %s", o.what, path)
    local body, err = call(ctl, ctx, oo)
    attempts[#attempts + 1] = {
      route = (o.method or "GET") .. " " .. path, ok = body ~= nil,
      status = err and err.status or 200, code = err and err.code,
      message = err and err.message,
    }
    if body ~= nil then
      family = fam
      return body, path, attempts
    end
    last = err
    if i == 1 and not is_missing_route(err) then break end
  end
  last.attempts = attempts
  return nil, last, attempts
end

---------------------------------------------------------------------------
-- finding a deployment's handle in an answer

-- Keys compared lowered and without '_' and '-'.
local function norm(k)
  return type(k) == "string" and k:lower():gsub("[_%-]", "") or nil
end

-- The first value, breadth first (the shallowest wins), under one of
-- the keys in `names` for which ok(v) holds.
local function search(v, names, ok)
  local queue, seen, i = { v }, {}, 1
  while queue[i] do
    local t = queue[i]
    i = i + 1
    if type(t) == "table" and not seen[t] then
      seen[t] = true
      for _, want in ipairs(names) do
        for k, x in pairs(t) do
          if norm(k) == want and ok(x) then return x end
        end
      end
      for _, x in pairs(t) do
        if type(x) == "table" then queue[#queue + 1] = x end
      end
    end
  end
  return nil
end

local function is_url(x)
  return type(x) == "string" and x:find("^https://[%w%.%-]+") ~= nil
end

local function is_ident(x)
  return type(x) == "string" and #x <= 200 and x:find("^[%w%._:%-]+$")
end

local function is_shard(x)
  if type(x) == "string" and x:find("^%d+$") then x = tonumber(x) end
  return type(x) == "number" and x >= 0 and x == math.floor(x) and
         x < 2^31
end

-- handle(v) -> {endpoint, base_id, shard, suffix, name, nickname}: what
-- finds and deletes a deployment, from any create or list answer: a
-- 2026 object (PascalCase), a nested or snake_case one, or the 2024
-- string body with the URL in it (theta-api.md 3.2). Fields not found
-- are nil.
function _M.handle(v)
  local h = {}
  if type(v) == "string" then
    h.endpoint = v:match("(https://[%w%.%-]+[%w/%-%._]*)")
    if h.endpoint then h.endpoint = h.endpoint:gsub("[%./]+$", "") end
    return h
  end
  if type(v) ~= "table" then return h end
  h.endpoint = search(v, { "endpoint", "endpointurl", "url" }, is_url)
  h.base_id = search(v, { "baseid", "deploymentid" }, is_ident) or
              (is_ident(v.id) and v.id or nil)
  local shard = search(v, { "shard" }, is_shard)
  h.shard = shard and math.tointeger(tonumber(shard)) or nil
  h.suffix = search(v, { "suffix" }, is_ident)
  h.name = search(v, { "name" }, function(x) return type(x) == "string" end)
  h.nickname = search(v, { "nickname" },
                      function(x) return type(x) == "string" and x ~= "" end)
  if h.endpoint then h.endpoint = h.endpoint:gsub("/+$", "") end
  return h
end

-- "shard/suffix" or "base:ID" or the nickname: how the journal names it.
function _M.handle_text(h)
  if h.shard and h.suffix then return fmt("%d/%s", h.shard, h.suffix) end
  if h.base_id then return "base:" .. h.base_id end
  return h.nickname and ("nickname:" .. h.nickname) or ""
end

-- find(items, h) -> the listed deployments h names: the same shard and
-- suffix, base id, endpoint or nickname (a create whose answer was lost
-- is found by the nickname it was given).
function _M.find(items, h)
  local out = {}
  for _, it in ipairs(type(items) == "table" and items or {}) do
    local g = _M.handle(it)
    if (h.suffix and g.suffix == h.suffix and
        (not h.shard or g.shard == h.shard)) or
       (h.base_id and g.base_id == h.base_id) or
       (h.endpoint and g.endpoint == h.endpoint) or
       (h.nickname and (g.nickname == h.nickname or g.name == h.nickname))
    then
      out[#out + 1] = it
    end
  end
  return out
end

---------------------------------------------------------------------------
-- deployments

local function path_part(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return fmt("%%%02X", c:byte())
  end))
end

local function shard_suffix(o, what)
  if not is_shard(o.shard) then
    error(what .. ": shard must be a whole number >= 0, got " ..
          tostring(o.shard), 3)
  end
  if not is_ident(o.suffix) then
    error(what .. ": suffix must be letters, digits and . _ : -, got " ..
          tostring(o.suffix), 3)
  end
  return fmt("/%d/%s", math.tointeger(tonumber(o.shard)),
             path_part(o.suffix))
end

local function list_of(body)
  if type(body) == "table" and #body > 0 then return body end
  if type(body) == "table" then
    for _, k in ipairs { "deployments", "items", "list" } do
      if type(body[k]) == "table" then return body[k] end
    end
  end
  return type(body) == "table" and body or {}
end

-- list(ctx, o) -> items, route, attempts; or nil, err.
function _M.list(ctx, o)
  o = o or {}
  local project, perr = _M.project_id(o.project_id)
  if not project then return nil, perr end
  local body, route, attempts = fallback(ctx, {
    query = { project_id = project, template_name = o.template_name,
              not_template_name = o.not_template_name },
    what = "list deployments",
  }, "/list")
  if body == nil then return nil, route end
  return list_of(body), route, attempts
end

-- route_probe(ctx, o) -> {ok, selected_route, attempts, count}: both
-- list routes tried, as the skill's routeProbe does; never nil, err
-- unless the settings are missing.
function _M.route_probe(ctx, o)
  o = o or {}
  local project, perr = _M.project_id(o.project_id)
  if not project then return nil, perr end
  local out = { ok = false, attempts = {} }
  for _, path in ipairs { "/deployment/list", "/deployments/list" } do
    local body, err = call(ctl, ctx, { path = path,
      query = { project_id = project }, what = "list deployments" })
    out.attempts[#out.attempts + 1] = {
      route = "GET " .. path, ok = body ~= nil,
      status = err and err.status or 200, code = err and err.code,
      message = err and err.message,
      count = body ~= nil and #list_of(body) or nil,
    }
    if body ~= nil and not out.ok then
      out.ok, out.selected_route = true, "GET " .. path
      out.count = #list_of(body)
    end
  end
  return out
end

-- create(ctx, payload) -> answer, handle; or nil, err. payload is the
-- body of theta-api.md 3.2; project_id is set from the settings when
-- absent. A generated password goes in as a clawhost.Secret (the host
-- quotes it into the body; docs/http.md).
function _M.create(ctx, payload)
  if type(payload) ~= "table" then
    error("controller.create: payload must be a table", 2)
  end
  local project, perr = _M.project_id(payload.project_id)
  if not project then return nil, perr end
  payload.project_id = project
  local body, err = call(ctl, ctx, { method = "POST", path = "/deployment",
    json = payload, what = "create deployment" })
  if body == nil then return nil, err end
  return body, _M.handle(body)
end

-- lifecycle(ctx, "start"|"stop", {shard, suffix, project_id}).
function _M.lifecycle(ctx, action, o)
  if action ~= "start" and action ~= "stop" then
    error("controller.lifecycle: action is start or stop", 2)
  end
  local tail = shard_suffix(o, "deployment-" .. action) .. "/" .. action
  local project, perr = _M.project_id(o.project_id)
  if not project then return nil, perr end
  local body, route, attempts = fallback(ctx, { method = "PUT",
    query = { project_id = project }, what = action .. " deployment" },
    tail)
  if body == nil then return nil, route end
  return body, route, attempts
end

-- delete(ctx, {shard, suffix} or {base_id}[, project_id]) -> answer,
-- route; or nil, err (err.status 404: not there, or gone already).
function _M.delete(ctx, o)
  local tail
  if o.shard ~= nil or o.suffix ~= nil then
    tail = shard_suffix(o, "deployment-delete")
  elseif is_ident(o.base_id) then
    tail = "/base/" .. path_part(o.base_id)
  else
    error("controller.delete: give shard and suffix, or base_id", 2)
  end
  local project, perr = _M.project_id(o.project_id)
  if not project then return nil, perr end
  local body, route, attempts = fallback(ctx, { method = "DELETE",
    query = { project_id = project }, what = "delete deployment" }, tail)
  if body == nil then return nil, route end
  return body, route, attempts
end

---------------------------------------------------------------------------
-- templates, VM types, balance

-- templates(ctx, {category = "serving"|"prototyping"} or {custom =
-- true, project_id}) -> the templates, every page read (50 a page, at
-- most 20 pages, as the skill reads them).
function _M.templates(ctx, o)
  o = o or {}
  local out, query, path = {}, nil, nil
  if o.custom then
    local project, perr = _M.project_id(o.project_id)
    if not project then return nil, perr end
    path = "/deployment_template/list_custom_templates"
    query = { project_id = project }
  else
    path = "/deployment_template/list_standard_templates"
    query = { category = o.category or "serving" }
  end
  for page = 0, _M.TEMPLATE_PAGES - 1 do
    query.page, query.number = page, _M.TEMPLATE_PAGE
    local body, err = call(ctl, ctx, { path = path, query = query,
      what = "list templates" })
    if body == nil then return nil, err end
    local got = type(body) == "table" and
                (body.templates or (#body > 0 and body)) or {}
    for _, t in ipairs(got) do out[#out + 1] = t end
    if #got < _M.TEMPLATE_PAGE then break end
  end
  return out
end

-- vms(ctx) -> the VM types (public: no key is sent).
function _M.vms(ctx)
  local body, err = call(platform, ctx, { path = "/resource/vm/list",
    auth = false, what = "list VM types" })
  if body == nil then return nil, err end
  return type(body) == "table" and (body.vms or body) or {}
end

local BALANCE_KEYS = { "balance", "amount", "available", "credit",
                       "credits", "remaining", "total" }

local function finite(x)
  if type(x) == "string" and x:find("^%s*%-?%d+%.?%d*%s*$") then
    x = tonumber(x)
  end
  return type(x) == "number" and x == x and x ~= math.huge and
         x ~= -math.huge
end

-- balance_value(v) -> the first number under a balance-like key, as
-- the skill reads it (theta-api.md 3.4), or nil.
function _M.balance_value(v)
  local x = search(v, BALANCE_KEYS, finite)
  return x and tonumber(x) or nil
end

-- balance(ctx, {org_id}) -> {org_id, value (a number or nil), body}.
function _M.balance(ctx, o)
  o = o or {}
  local org, oerr = _M.org_id(o.org_id)
  if not org then return nil, oerr end
  local body, err = call(platform, ctx, { path = "/balance",
    query = { orgID = org }, what = "read the balance" })
  if body == nil then return nil, err end
  return { org_id = org, value = _M.balance_value(body), body = body }
end

return _M
