-- client.mask: a copy of an answer with its credential fields masked,
-- for results people and logs see.
--
--   mask.masked(v)       a deep copy of v where every string under a
--                        credential-looking key is "***"
--   mask.sensitive(k)    whether key k looks like a credential's
--
-- The host's redactor masks the secrets this run loaded, wherever they
-- appear; it cannot know a password it never loaded. A controller
-- lists every deployment of the project with its AuthPassword, and a
-- create echoes the generated one in fields named differently by
-- version (AuthPassword, auth_password, password). So answers are
-- masked by key too (theta-api.md 6.8): a key whose letters, lowered
-- and without '_' and '-', contain password, passwd, secret, token,
-- apikey, streamkey (a live stream's key), credential, authorization or
-- signature, or that begins with
-- auth (AuthUsername), or names a whole set of them (env_vars, which
-- carry tokens). Only strings are masked: token counts (max_tokens,
-- usage.prompt_tokens) stay numbers, and a value stays a table of the
-- same shape. A clawhost.Secret becomes "***", or its "<secret NAME>"
-- under another key. Cycle-safe; keys and other values are kept.
--
-- Pure: no host state. Arrays decoded from JSON stay arrays.
local json = require "json"
local secret = require "secret"

local _M = {}

local WORDS = { "password", "passwd", "secret", "token", "apikey",
                "streamkey", "credential", "authorization", "signature",
                "privatekey", "cookie" }
local WHOLE = { envvars = true, env = true }

function _M.sensitive(k)
  if type(k) ~= "string" then return false end
  local n = k:lower():gsub("[_%-]", "")
  if n:sub(1, 4) == "auth" or WHOLE[n] then return true end
  for _, w in ipairs(WORDS) do
    if n:find(w, 1, true) then return true end
  end
  return false
end

local function copy(v, hide, seen)
  if type(v) == "string" then return hide and "***" or v end
  if secret.is(v) then return hide and "***" or tostring(v) end
  if type(v) ~= "table" then return v end
  if seen[v] then return seen[v] end
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do
    out[k] = copy(x, hide or _M.sensitive(k), seen)
  end
  if json.is_array(v) then json.array(out) end
  return out
end

function _M.masked(v)
  return copy(v, false, {})
end

return _M
