-- theta.rpc: the three local JSON-RPC surfaces of the Theta skill
-- (theta-api.md 5.2), on client.jsonrpc:
--
--   edgecloud  the EdgeCloud client (GPU provider) node,
--              THETA_EDGECLOUD_RPC_URL (docs: http://localhost:9545/rpc)
--   chain      a Theta chain node, THETA_CHAIN_RPC_URL (:16888/rpc)
--   cli        the thetacli daemon, THETA_CLI_RPC_URL (:16889/rpc)
--
--   rpc.call(ctx, surface, method, params[, o])   result, or nil, err
--   rpc.recipe(def)               a recipe for one method (below)
--   rpc.check_address(s), rpc.check_hash(s), rpc.check_hex(s)
--
-- None has a default URL: a node is yours to name. params go as the
-- node docs show them, an array holding one object
-- ([{"price_hr": "2000"}]), not the bare object the skill's client
-- sends (theta-api.md 5.2 flags the difference; docs/rpc.md says so).
-- The thetacli password is the secret THETA_CLI_PASSWORD, bound to
-- THETA_CLI_RPC_URL; it goes into the request body as a secret (the host
-- quotes it in, docs/http.md) and shows as <secret ...> everywhere.
local errors = require "errors"
local json = require "json"
local secret = require "secret"
local jsonrpc = require "client.jsonrpc"

local _M = {}

local fmt = string.format

local NODES = {
  edgecloud = { name = "the EdgeCloud client node",
                setting = "THETA_EDGECLOUD_RPC_URL",
                example = "http://localhost:9545/rpc" },
  chain = { name = "the Theta chain node", setting = "THETA_CHAIN_RPC_URL",
            example = "http://localhost:16888/rpc" },
  cli = { name = "the thetacli daemon", setting = "THETA_CLI_RPC_URL",
          example = "http://localhost:16889/rpc" },
}
_M.NODES = NODES

local clients = {}

local function node(surface)
  local spec = NODES[surface]
  if not spec then
    error("rpc: surface is edgecloud, chain or cli, got " ..
          tostring(surface), 3)
  end
  clients[surface] = clients[surface] or jsonrpc.new(spec)
  return clients[surface]
end

-- call(ctx, surface, method, params[, o]) -> result, or nil, err.
function _M.call(ctx, surface, method, params, o)
  return node(surface):call(ctx, method, params, o)
end

-- A 0x-prefixed 20-byte hex address.
function _M.check_address(s)
  if type(s) ~= "string" or not s:find("^0[xX]" .. ("%x"):rep(40) .. "$")
  then
    return nil, errors.new("usage", fmt("'%s' is not an address: 0x " ..
      "and 40 hex digits", tostring(s)))
  end
  return s:lower()
end

-- A 0x-prefixed 32-byte hex hash.
function _M.check_hash(s)
  if type(s) ~= "string" or not s:find("^0[xX]" .. ("%x"):rep(64) .. "$")
  then
    return nil, errors.new("usage", fmt("'%s' is not a transaction " ..
      "hash: 0x and 64 hex digits", tostring(s)))
  end
  return s:lower()
end

-- Hex bytes (a signed transaction): optional 0x, an even count of hex
-- digits; returned without blanks or line breaks.
function _M.check_hex(s)
  if type(s) ~= "string" then
    return nil, errors.new("usage", "the transaction must be hex text")
  end
  s = s:gsub("%s+", "")
  local body = s:gsub("^0[xX]", "")
  if body == "" or #body % 2 == 1 or body:find("%X") then
    return nil, errors.new("usage", "the transaction is not hex bytes " ..
      "(an even number of 0-9 a-f, optionally after 0x)")
  end
  return body
end

-- The thetacli password, or nil, err (config).
function _M.password()
  local p = secret.get("THETA_CLI_PASSWORD")
  if p then return p end
  return nil, errors.new("config", "THETA_CLI_PASSWORD is not set: the " ..
    "password of the thetacli key; put it in the environment or " ..
    ".env.local (mode 0600), never on the command line")
end

-- The plan of a call that was not sent: the request, with what a
-- person must not see replaced (def.hide: param names whose values
-- become their size).
local function unsent(def, params, note)
  local shown = {}
  for k, v in pairs(params[1] or {}) do
    if def.hide and def.hide[k] and type(v) == "string" then
      shown[k] = fmt("(%d bytes, not shown)", #v)
    elseif secret.is(v) then
      shown[k] = tostring(v)
    else
      shown[k] = v
    end
  end
  return { sent = false, note = note, request = { node =
    NODES[def.surface].setting, method = def.method, params = shown,
    params_sent_as = "[ {the params} ]" } }
end

-- recipe(def) -> a recipe for one node method. def: surface, method,
-- description, params (the recipe's), build(args, ctx) -> the params
-- object or nil, err, mutating (needs --yes; a plan without it),
-- hide (param names shown as a size), shape(result, args) -> the
-- result table (default: the node's result as it came).
function _M.recipe(def)
  local params = {}
  for k, v in pairs(def.params or {}) do params[k] = v end
  if def.mutating then
    params.yes = { type = "boolean", default = false,
                   help = "send it; without --yes only the request is " ..
                          "shown" }
  end
  local spec = NODES[def.surface]
  return {
    group = "Theta nodes (JSON-RPC)",
    description = def.description,
    params = params,
    settings = nil,
    calls = { fmt("POST {%s} %s", spec.setting, def.method) },
    spends = def.spends or false,
    run = function(ctx, args)
      -- no params: [] as the node docs write it; else [{...}]
      local list = json.array {}
      if def.build then
        local p, err = def.build(args, ctx)
        if not p then return nil, err end
        list = { p }
      end
      if def.mutating and not args.yes and not ctx.dry_run then
        return unsent(def, list, "not sent: add --yes to send it")
      end
      local r, cerr = _M.call(ctx, def.surface, def.method, list)
      if r == nil then return nil, cerr end
      if type(r) == "table" and r.dry_run then
        return unsent(def, list, "dry run: not sent")
      end
      if def.shape then return def.shape(r, args) end
      return type(r) == "table" and r or { result = r }
    end,
  }
end

return _M
