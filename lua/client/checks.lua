-- client.checks: the values a client sends that come from settings or
-- from people, checked before anything is sent.
--
--   checks.base_url(url[, o])        the URL as requests use it, or
--                                    nil, why (one clause for a message)
--   checks.idempotency_key(k)        true when the http module takes it
--   checks.new_idempotency_key(p)    a fresh key: P-YYYYMMDDTHHMMSS-...
--
-- Pure but for the clock and math.random of new_idempotency_key.
local clock = require "clock"

local _M = {}

local fmt = string.format

-- Where a credential goes instead of the URL, for the message.
local function credential_clause(o)
  if not o.secret then
    return "a credential goes in its own secret setting"
  end
  return fmt("%s's credential goes in %s", o.owner or "the service",
             o.secret)
end

-- http and https only (the Threads skill: "Validate that BaseUrl is an
-- http(s) URL"; the host sends nothing else); trailing slashes go,
-- because BASE/ + /api would be //api, a 404 (threads-api.md 4.3). A
-- user name or password would travel outside the secret type, and a
-- query or fragment would end up in the middle of every request URL.
-- o.secret names the setting the credential belongs in, o.owner whose
-- credential it is ("the backend"), for the message.
function _M.base_url(url, o)
  if type(url) ~= "string" then
    error("client.check_base_url: expected a string", 2)
  end
  o = o or {}
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
    return nil, "contains a user name or password; " ..
                credential_clause(o) .. ", never in the URL"
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

-- The rule of the http module's idempotency_key (host/lib/http.c): 1 to
-- 255 printable ASCII characters. Checked here first so a bad key is
-- a usage error naming the flag, not a raise from deep inside.
function _M.idempotency_key(k)
  return type(k) == "string" and #k >= 1 and #k <= 255 and
         not k:find("[^\32-\126]")
end

-- One key per user action, reused by every retry of it (threads-api.md
-- 6.7). Unique, not secret. math.random alone is not enough: Lua seeds
-- it from time(NULL) and the state's address, so two runs in the same
-- second without heap ASLR (ASan builds, setarch -R) draw the same
-- numbers (host issue, see tests/e2e/test_threads.py); the
-- microseconds of the wall clock and the nanoseconds of the monotonic
-- clock tell them apart.
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

return _M
