-- client.jsonrpc: JSON-RPC 2.0 over HTTP POST, as the Theta nodes speak
-- it (theta-api.md 5.2), on the shared client layer.
--
--   local jsonrpc = require "client.jsonrpc"
--   local node = jsonrpc.new { name = "the Theta chain node",
--                              setting = "THETA_CHAIN_RPC_URL",
--                              example = "http://localhost:16888/rpc" }
--   local result, err = node:call(ctx, "theta.GetVersion", {})
--
--   jsonrpc.new(spec)            a client of one node: its URL comes from
--                                spec.setting only (no default)
--   rpc:call(ctx, method, params[, o])   the result, or nil, err
--   jsonrpc.error_code(code)     the shared err.code of a JSON-RPC error
--
-- Each call is {"jsonrpc": "2.0", "id": <milliseconds>, "method", "params"}
-- and its answer must carry the same id. An answer's error object is an
-- error of the shared vocabulary (docs/errors.md) with err.rpc_code and
-- err.rpc_data; a transport failure is the transport's error. Every call
-- is a POST, so a dry run sends none of them: the host refuses and the
-- call returns {dry_run = true, plan = ...} (secrets shown as
-- <secret NAME>, auth-looking fields masked).
local clock = require "clock"
local errors = require "errors"
local json = require "json"
local client = require "client"

local _M = {}

local fmt = string.format

-- The JSON-RPC 2.0 codes (section 5.1 of the specification) in the one
-- vocabulary; a node's own codes (-32000 to -32099) are remote errors.
local CODES = {
  [-32700] = "protocol", [-32600] = "protocol", [-32601] = "unsupported",
  [-32602] = "invalid_request", [-32603] = "server_error",
}

function _M.error_code(code)
  return CODES[code] or "remote"
end

local RPC = {}
local rpc_mt = { __index = RPC }

-- new{name, setting, example} -> a client of the node whose URL the
-- setting holds (http or https; a local node counts as configured,
-- docs/egress.md).
function _M.new(spec)
  if type(spec) ~= "table" or type(spec.setting) ~= "string" then
    error("jsonrpc.new: expected {name =, setting = VAR}", 2)
  end
  local api = client.new {
    name = spec.name or "the node",
    base = { spec.setting, help = fmt("its JSON-RPC URL, e.g. %s",
                                      spec.example or "http://host/rpc") },
    headers = { Accept = "application/json" },
  }
  return setmetatable({ api = api, name = spec.name or "the node",
                        setting = spec.setting, last_id = 0 }, rpc_mt)
end

-- Ids are milliseconds, as the skill's clients send them, made unique
-- within the run.
local function next_id(self)
  local id = math.floor(clock.now() * 1000)
  if id <= self.last_id then id = self.last_id + 1 end
  self.last_id = id
  return id
end

-- call(ctx, method, params[, o]) -> result, or nil, err. o.what names
-- the call in messages; o.timeout_ms.
function RPC:call(ctx, method, params, o)
  if type(method) ~= "string" or not method:find("^[%w_]+%.[%w_]+$") then
    error("jsonrpc: method must look like theta.GetVersion, got " ..
          tostring(method), 2)
  end
  o = o or {}
  local what = o.what or method
  local id = next_id(self)
  local res, err = self.api:request(ctx, { method = "POST", path = "",
    json = { jsonrpc = "2.0", id = id, method = method,
             params = params == nil and json.array {} or params },
    what = what, timeout_ms = o.timeout_ms, retries = o.retries })
  if not res and err.code == "dry_run" and err.plan then
    return client.plan_of(err.plan)
  end
  if not res then return nil, err end
  local v, derr = client.decode(res, what)
  if v == nil then return nil, derr end
  if type(v) ~= "table" or v.jsonrpc ~= "2.0" then
    return nil, errors.new("protocol", fmt("%s: %s did not answer with " ..
      "JSON-RPC 2.0: %s", what, self.name, client.excerpt(res.body, 120)),
      { sent = "unknown" })
  end
  if v.id ~= id and client.val(v.id) ~= nil then
    return nil, errors.new("protocol", fmt("%s: the answer is for " ..
      "request %s, not %s", what, tostring(v.id), tostring(id)),
      { sent = "unknown" })
  end
  local e = client.val(v.error)
  if e ~= nil then
    local code = type(e) == "table" and math.tointeger(e.code) or nil
    local message = type(e) == "table" and client.val(e.message) or
                    tostring(e)
    return nil, errors.new(_M.error_code(code), fmt("%s: %s (JSON-RPC " ..
      "error %s)", what, tostring(message), tostring(code)),
      { rpc_code = code, rpc_data = type(e) == "table" and
        client.val(e.data) or nil, sent = "refused" })
  end
  if v.result == nil then
    return nil, errors.new("protocol", fmt("%s: the answer has neither " ..
      "result nor error", what), { sent = "unknown" })
  end
  return client.val(v.result)
end

return _M
