-- client.codes: the one list of err.code values the client libraries in
-- lua/ return, and how an HTTP status or a transport failure maps onto
-- it. docs/errors.md is the page for people: what each code means,
-- what to do about it, and the exit status host/runtime/err.c gives it.
--
--   codes.KNOWN[code]                true for every code of the list
--   codes.for_status(status, o)      the code of a non-2xx answer;
--                                    o.text: the server's message,
--                                    o.keyed: the request had a key
--   codes.sent_for_status(status)    "refused" or "unknown"
--   codes.sent_for_transport(code)   "no" or "unknown"
--   codes.retriable(code)            may the same call work later?
--
-- A library may pick a more precise code of the list when its API's
-- contract says what a status means (the Threads backend's 403 is a
-- wrong queue secret: config); it never makes up a code of its own.
--
-- Pure: no host state, no network.
local _M = {}

-- Codes after which the same call, repeated later unchanged, can work.
local RETRIABLE = {
  timeout = true, dns = true, connect = true, protocol = true,
  rate_limited = true, capacity = true, unavailable = true,
  server_error = true, in_flight = true,
}

-- Every code, grouped as docs/errors.md groups them.
local LIST = {
  -- before anything is sent
  "usage", "config", "budget_exceeded", "unpriced", "dry_run", "blocked",
  -- no answer (the http module's transport codes)
  "timeout", "dns", "connect", "tls", "protocol", "too_large",
  "cancelled",
  -- an answer with a non-2xx status
  "invalid_request", "forbidden", "not_found", "unsupported", "conflict",
  "in_flight", "capacity", "rate_limited", "unavailable", "server_error",
  -- a 2xx answer that is not what was asked for
  "json", "remote", "job_failed", "empty_answer",
  -- a whole run
  "smoke_failed",
}

local KNOWN = {}
for _, code in ipairs(LIST) do KNOWN[code] = true end
_M.LIST = LIST
_M.KNOWN = KNOWN

-- Statuses whose code depends on nothing else.
local BY_STATUS = {
  [400] = "invalid_request", [401] = "config", [402] = "forbidden",
  [403] = "forbidden", [404] = "not_found", [405] = "unsupported",
  [408] = "timeout", [410] = "not_found", [413] = "too_large",
  [422] = "invalid_request", [425] = "unavailable", [429] = "rate_limited",
  [501] = "unsupported", [503] = "unavailable",
}

-- Theta's answer when no instance can take the call (theta-api.md 2.8),
-- matched as the host's retry policy matches it: any case and spacing.
local function no_instances(text)
  return type(text) == "string" and
         text:lower():find("no%s+instances%s+available") ~= nil
end

local function check_status(status, fname)
  if type(status) ~= "number" or status % 1 ~= 0 then
    error(fname .. ": expected an HTTP status, got " .. type(status), 3)
  end
  if status < 300 or status > 599 then
    error(fname .. ": " .. status .. " is not an error status", 3)
  end
end

-- A redirect is never followed (docs/http.md), so it means the base
-- URL points at the wrong place; 401 means the credential in the
-- settings was refused. Both are fixed in the settings: config.
-- A 409 to a request with an idempotency key means the first request
-- with that key is still running (the host retries it as such).
function _M.for_status(status, o)
  check_status(status, "codes.for_status")
  o = o or {}
  if status < 400 then return "config" end
  if status == 409 then
    if no_instances(o.text) then return "capacity" end
    return o.keyed and "in_flight" or "conflict"
  end
  return BY_STATUS[status] or
         (status >= 500 and "server_error" or "invalid_request")
end

-- Whether a non-2xx answer may have done something: a 4xx, 501 and
-- 505 say the server turned the request down ("refused": nothing was
-- charged or stored); anything else may have been acted on.
function _M.sent_for_status(status)
  check_status(status, "codes.sent_for_status")
  if (status >= 400 and status < 500) or status == 501 or status == 505
  then
    return "refused"
  end
  return "unknown"
end

-- Transport failures after which nothing can have reached the service
-- (docs/budget.md: release); any other may have been processed.
local NOT_SENT = { dns = true, connect = true, tls = true, blocked = true,
                   dry_run = true }

function _M.sent_for_transport(code)
  return NOT_SENT[code] and "no" or "unknown"
end

function _M.retriable(code)
  return RETRIABLE[code] == true
end

return _M
