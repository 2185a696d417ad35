-- threads.send: one keyed POST to the backend, sent again only when
-- that cannot queue (or generate) a post twice.
--
-- The host retries a keyed POST by itself (docs/http.md: a timeout, a
-- dropped connection or a 5xx after sending, "if keyed"). That is safe
-- only with a backend that honours Idempotency-Key, and a user's own
-- backend may not. So the host is told not to retry (retries = 0) and
-- this file decides after every attempt:
--
--   - nothing can have reached the backend (connect, DNS, or the host
--     says the request was not sent): send it again;
--   - the backend said "not now" (408, 425, 429, a 409 whose key is in
--     flight): send it again after its Retry-After, when that fits;
--   - the outcome is unknown (a timeout or a dropped connection after
--     sending, a 5xx): send it again only when the backend has shown
--     that it honours the key, in this run or an earlier one; else
--     stop, and the caller says how to check and retry by hand.
--
-- What a backend showed is remembered in the store (namespace
-- threads:backends, keyed by base URL), so it counts in later runs
-- too. A dry run neither reads nor writes it. A backend that says
-- nothing is treated as one that ignores the key.
--
--   send.evidence(res, key)        how a reply shows that the backend
--                                  honours the key, or nil (pure)
--   send.step(res, err, st, p)     wait, why, unknown: to send again;
--                                  or nil (pure)
--   send.known(base_url)           what the store remembers, or nil
--   send.remember(base_url, how)   store that it honours the key
--   send.post(req, p, o)           res, or nil, err; and the attempts
--                                  made and how the backend showed it
--                                  honours the key (nil: it did not)
--   send.PUBLISH, send.CHAT        the policies (p) of the two POSTs
local clock = require "clock"
local http = require "http"
local log = require "log"
local store = require "store"
local task = require "task"
local client = require "client"
local explain = require "threads.explain"
local settings = require "threads.settings"

local _M = {}

local fmt = string.format

_M.NAMESPACE = "threads:backends"

-- Any 5xx but 501 and 505 (which say the request was refused) may
-- have been acted on.
local function maybe_done(status)
  return status >= 500 and status ~= 501 and status ~= 505
end

-- publish: 4 attempts within 45 s; every unknown outcome may be sent
-- again (to a backend that honours the key).
_M.PUBLISH = {
  attempts = settings.PUBLISH_RETRIES + 1,
  deadline_s = settings.PUBLISH_DEADLINE_MS / 1000,
  timeout_ms = settings.PUBLISH_TIMEOUT_MS,
  max_wait_s = settings.PUBLISH_DEADLINE_MS / 1000,
  unknown_status = maybe_done,
  unknown_errors = { timeout = true, protocol = true },
}

-- the assistant: 3 attempts; a failed (502) or late (504) image
-- generation costs money each time and is never repeated, nor is a
-- timeout (75 s: the generation may still be running).
_M.CHAT = {
  attempts = 3,
  timeout_ms = settings.CHAT_TIMEOUT_MS,
  max_wait_s = 10,
  unknown_status = function(status)
    return status == 500 or status == 503
  end,
  unknown_errors = { protocol = true },
}

-- Answers that say nothing was done: send again after the wait.
local NOT_NOW = { [408] = true, [425] = true, [429] = true }

-- Transport failures that are not worth repeating.
local FINAL = { dry_run = true, blocked = true, too_large = true,
                cancelled = true, tls = true }

local function header(res, name)
  local h = res.headers and res.headers[name]
  return h ~= nil and tostring(h) or nil
end

local function detail_code(doc)
  local d = type(doc) == "table" and doc.detail
  if type(d) == "table" and type(d.code) == "string" then return d.code end
  if type(d) == "table" then
    for _, e in ipairs(d) do
      if type(e) == "table" and (e.type == "idempotency_key_reused" or
         (type(e.loc) == "table" and e.loc[1] == "header" and
          tostring(e.loc[2]):lower() == "idempotency-key")) then
        return "idempotency_key_reused"
      end
    end
  end
  return nil
end

local function echoed_in_body(doc, key)
  if type(doc) ~= "table" then return false end
  if doc.idempotency_key == key then return true end
  for _, name in ipairs { "queue_item", "data", "item", "result", "job" } do
    local obj = doc[name]
    if type(obj) == "table" and obj.idempotency_key == key then
      return true
    end
  end
  return false
end

-- How a reply shows that the backend keeps Idempotency-Key: it
-- replayed an answer (Idempotency-Replayed: true, or the contract's
-- idempotent_replay field: threads-api.md 6.2 puts it in every
-- answer, false on the first), it echoed the key (header or body), or
-- it answered about the key itself (409 idempotency_key_in_use, 422
-- idempotency_key_reused). nil: the reply says nothing of it.
function _M.evidence(res, key)
  if type(res) ~= "table" and type(res) ~= "userdata" then return nil end
  local replayed = header(res, "idempotency-replayed")
  if replayed and replayed:lower() == "true" then
    return "it answered with Idempotency-Replayed: true"
  end
  if key and header(res, "idempotency-key") == key then
    return "it echoed the Idempotency-Key header"
  end
  local doc = client.json(res.body)
  if type(doc) == "table" and type(doc.idempotent_replay) == "boolean"
  then
    return "its reply carries idempotent_replay (threads-api.md 6.2)"
  end
  if key and echoed_in_body(doc, key) then
    return "its reply carries the idempotency key"
  end
  local code = detail_code(doc)
  if res.status == 409 and code == "idempotency_key_in_use" then
    return "it answered 409 idempotency_key_in_use"
  end
  if res.status == 422 and code == "idempotency_key_reused" then
    return "it refused a reused idempotency key"
  end
  return nil
end

local function backoff(attempt)
  return math.min(4, 0.5 * 2 ^ (attempt - 1))
end

-- Whether and when to send again, after attempt st.attempt ended with
-- res or err. st: attempt, honours (the backend has shown it honours
-- the key), left_s (time left, nil: no deadline). Returns wait
-- (seconds), why (for the log) and whether the outcome was unknown;
-- or nil: the answer or failure is final, or it may have been acted
-- on and the backend has not shown it honours the key.
function _M.step(res, err, st, p)
  if st.attempt >= p.attempts then return nil end
  local wait, why, unknown
  if not res then
    if FINAL[err.code] then return nil end
    if err.sent == "no" then
      wait, why = backoff(st.attempt), err.code .. ", not sent"
    elseif p.unknown_errors[err.code] and st.honours then
      wait, why, unknown = backoff(st.attempt), err.code, true
    else
      return nil
    end
  else
    local status = res.status
    if status >= 200 and status < 300 then return nil end
    local after = explain.retry_after(res)
    local code = detail_code(client.json(res.body))
    if NOT_NOW[status] or (status == 409 and
       (code == "idempotency_key_in_use" or
        (code == nil and after ~= nil))) then
      wait, why = after or backoff(st.attempt), tostring(status)
    elseif p.unknown_status(status) and st.honours then
      wait, why, unknown = after or backoff(st.attempt), tostring(status),
                           true
    else
      return nil
    end
  end
  if wait > p.max_wait_s or (st.left_s and wait >= st.left_s) then
    return nil
  end
  return math.max(wait, 0.2), why, unknown == true
end

---------------------------------------------------------------------------
-- what backends showed, across runs

-- A base URL as a store key (printable ASCII, at most 256), or nil.
local function store_key(base_url)
  if type(base_url) ~= "string" or #base_url < 1 or #base_url > 256 or
     base_url:find("[^\32-\126]") then
    return nil
  end
  return base_url
end

-- The store is a help here, never a condition: when it cannot be used,
-- nothing is known, so nothing with an unknown outcome is repeated.
local function space()
  local ok, s = pcall(function() return store.open(_M.NAMESPACE) end)
  if not ok then
    log.debug("threads: the store cannot be used: " .. tostring(s))
    return nil
  end
  return s
end

-- {honours = true, how =, seen_at =} when this backend has shown that
-- it honours Idempotency-Key, else nil.
function _M.known(base_url)
  local k = store_key(base_url)
  local s = k and space()
  if not s then return nil end
  local ok, v = pcall(s.get, s, k)
  if ok and type(v) == "table" and v.honours == true then return v end
  return nil
end

function _M.remember(base_url, how)
  local k = store_key(base_url)
  local s = k and space()
  if not s then return false end
  local ok, done = pcall(s.put, s, k, { honours = true, how = how,
                                        seen_at = clock.iso(clock.now()) })
  return ok and done ~= nil
end

---------------------------------------------------------------------------
-- sending

-- Send req (a keyed POST; its retries are turned off here) under
-- policy p. o: base_url, key, dry_run. Returns res, or nil, err
-- (err.sent "no" or "unknown"); the attempts; and how the backend has
-- shown that it honours the key, or nil.
function _M.post(req, p, o)
  local known = not o.dry_run and _M.known(o.base_url)
  local honours = known and fmt("%s (seen %s)", tostring(known.how),
                                tostring(known.seen_at)) or nil
  local remembered = known ~= nil
  local start = clock.monotonic()
  local attempt = 0
  req.retries = 0
  while true do
    attempt = attempt + 1
    local left = p.deadline_s and p.deadline_s - (clock.monotonic() - start)
    req.timeout_ms = p.timeout_ms
    if left then
      req.timeout_ms = math.max(1000, math.min(p.timeout_ms,
                                               math.floor(left * 1000)))
    end
    local res, err = http.request(req)
    if res then
      local how = _M.evidence(res, o.key)
      if how and not honours then honours = how end
      if how and not remembered and not o.dry_run then
        remembered = _M.remember(o.base_url, how)
      end
    else
      err.sent = (err.sent == false and "no") or
                 client.codes.sent_for_transport(err.code)
    end
    local wait, why, unknown = _M.step(res, err, { attempt = attempt,
      honours = honours ~= nil, left_s = left }, p)
    if not wait then return res, err, attempt, honours end
    log.info(fmt("retrying %s %s in %s s (%s) with the same " ..
                 "idempotency key%s", req.method, req.url,
                 client.whole(math.floor(wait * 10 + 0.5) / 10), why,
                 unknown and "; the backend honours it: " .. honours
                 or ""))
    task.sleep(wait)
  end
end

return _M
