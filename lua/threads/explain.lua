-- threads.explain: what the backend's answers mean, said for people
-- (threads-api.md 6.7: what a client does with each answer).
--
--   explain.answer(res, info)       a non-2xx answer as an error
--   explain.transport(err, info)    no answer at all, as an error
--   explain.format_detail(detail)   FastAPI's detail on one line
--   explain.loc_path(loc)           "images.2" from ["body","images",2]
--   explain.retry_after(res)        seconds the backend asks to wait
--   explain.excerpt(body)           a body that is not JSON, shortened
--
-- info: {base_url, path, what ("publish"|"assistant"|"queue"), key,
-- attempts, item_id, honours (how the backend has shown that it
-- honours Idempotency-Key; nil: it has not), flags (the caller's flag
-- names, as in check.flag)}. Codes come from the shared table (lua/client/
-- codes.lua); where the contract says what a status means here, the
-- code says it too: a 403 is a wrong queue secret (config), a 404 on a
-- fixed path a wrong base URL (config), the assistant's 502/504 a
-- failed or late image generation (job_failed, timeout). Pure.
local clock = require "clock"
local errors = require "errors"
local json = require "json"
local client = require "client"
local check = require "threads.check"
local settings = require "threads.settings"

local _M = {}

local fmt = string.format
local BASE_VAR, SECRET_VAR = settings.BASE_VAR, settings.SECRET_VAR

function _M.excerpt(body)
  return client.excerpt(body or "", 200)
end

-- "message", "images.2", "meta.tenant_id", "header.idempotency-key":
-- loc without its leading "body" (FastAPI's list shape, 4.1).
function _M.loc_path(loc)
  if type(loc) ~= "table" then return loc and tostring(loc) or "?" end
  local parts = {}
  for i, p in ipairs(loc) do parts[i] = client.whole(p) end
  if parts[1] == "body" and #parts > 1 then table.remove(parts, 1) end
  return table.concat(parts, ".")
end

-- FastAPI's detail in any of its three shapes, as one line: a list of
-- {loc, msg} ("field.path: message; ..."), an object ({code, message,
-- cause}), or a plain string.
function _M.format_detail(detail)
  local t = type(detail)
  if t == "string" then return detail end
  if t ~= "table" then return detail == nil and "" or tostring(detail) end
  if detail[1] ~= nil or json.is_array(detail) then
    local out = {}
    for i, e in ipairs(detail) do
      if type(e) == "table" then
        out[i] = _M.loc_path(e.loc) .. ": " ..
                 tostring(e.msg or e.message or e.type or "invalid")
      else
        out[i] = tostring(e)
      end
    end
    return table.concat(out, "; ")
  end
  local text = detail.message or detail.msg or detail.code or
               json.encode(detail)
  if detail.cause ~= nil then
    local cause = _M.format_detail(detail.cause)
    if cause ~= "" then text = text .. ": " .. cause end
  end
  return tostring(text)
end

local function detail_of(res)
  local body = client.json(res and res.body)
  if type(body) == "table" and body.detail ~= nil then
    return body.detail, body
  end
  return nil, body
end

local function detail_code(detail)
  if type(detail) == "table" and type(detail.code) == "string" then
    return detail.code
  end
  return nil
end

-- Seconds the server asks us to wait: the body's retry_after_s, else a
-- Retry-After in seconds.
function _M.retry_after(res)
  local detail = detail_of(res)
  if type(detail) == "table" then
    local s = detail.retry_after_s or
              (type(detail.cause) == "table" and detail.cause.retry_after_s)
    if type(s) == "number" then return s end
  end
  return client.retry_after(res)
end

local function header_in_loc(detail, name)
  if type(detail) ~= "table" then return false end
  for _, e in ipairs(detail) do
    if type(e) == "table" and type(e.loc) == "table" and
       e.loc[1] == "header" and tostring(e.loc[2]):lower() == name then
      return true
    end
  end
  return false
end

local function flag(info, name)
  return check.flag(info, name)
end

-- What a second send could do twice.
local function twice(info)
  return info.what == "assistant" and "generate and queue an image" or
         "queue the post"
end

-- How to repeat the action. unknown: it may have been acted on; then,
-- to a backend that has not shown that it honours the key, check the
-- queue first (a second send could queue it twice).
local function retry_hint(info, unknown)
  if not info.key then return "" end
  local f = flag(info, "idempotency_key")
  if unknown and not info.honours then
    return fmt(" clawhost did not send it again: this backend has not " ..
      "shown that it honours Idempotency-Key, so a second send could " ..
      "%s twice. Idempotency key: %s. Check first: `clawhost run " ..
      "queue` (or your backend's own list) shows whether it is there; " ..
      "if it is not, repeat the same command with %s %s", twice(info),
      info.key, f, info.key)
  end
  if info.honours then
    return fmt(" Repeat the same command with %s %s: the backend " ..
               "honours the key and will not %s twice", f, info.key,
               twice(info))
  end
  return fmt(" Repeat the same command with %s %s", f, info.key)
end

-- The parts of an answer every explanation below uses.
local function read(res, info)
  local a = { status = res.status, where = info.base_url or "the backend",
              location = res.headers and res.headers["location"] }
  local body
  a.detail, body = detail_of(res)
  a.reason = detail_code(a.detail)
  a.text = a.detail ~= nil and _M.format_detail(a.detail) or
           (body == nil and _M.excerpt(res.body) or "")
  a.tag = a.reason and fmt("%d %s", a.status, a.reason) or
          tostring(a.status)
  a.after = (info.attempts or 1) > 1 and
            fmt(" (after %d attempts)", info.attempts) or ""
  return a
end

local function refused_secret(a, info)
  if info.what == "assistant" then
    return fmt("the backend at %s wants X-Queue-Secret on %s too (%s: " ..
      "%s); clawhost sends the queue secret only to the publish and " ..
      "queue endpoints, as the skill says: turn that requirement off " ..
      "on the backend", a.where, info.path or settings.CHAT_PATH, a.tag,
      a.text)
  end
  return fmt("the backend at %s refused the queue secret (%s: %s): " ..
    "check that %s is the X-Queue-Secret this backend expects " ..
    "(`clawhost setup` sets it; it is never printed)", a.where, a.tag,
    a.text, SECRET_VAR)
end

-- 404: a queue item that is not there, a backend without the queue
-- API, or (a fixed path) a base URL that is not the backend's.
local function missing(a, info)
  if info.item_id and a.reason == "not_found" or
     (info.item_id and a.detail ~= "Not Found") then
    return "not_found", fmt("no queue item %s on %s (%s)", info.item_id,
                            a.where, a.text)
  end
  if info.what == "queue" then
    return "unsupported", fmt("the backend at %s has no queue " ..
      "endpoints (%s answered 404): listing and canceling need the " ..
      "queue API of threads-api.md 6.4; publishing still works",
      a.where, info.path or settings.QUEUE_PATH)
  end
  return "config", fmt("%s%s answered 404 (%s): is %s the ThreadClaw " ..
    "backend's base URL?", a.where, info.path or "", a.text, BASE_VAR)
end

local function conflict(a, info)
  if a.reason == "idempotency_key_in_use" then
    return "in_flight", fmt("the backend is still processing an " ..
      "earlier request with this idempotency key%s. Wait a few " ..
      "seconds, then repeat the same command with %s %s: it is " ..
      "queued once at most", a.after, flag(info, "idempotency_key"),
      tostring(info.key))
  end
  if a.reason == "not_cancelable" then
    return "conflict", fmt("queue item %s is %s and can no longer be " ..
      "canceled", tostring(info.item_id), tostring(a.detail.status))
  end
  return nil, fmt("the backend answered 409: %s", a.text)
end

local function unprocessable(a, info)
  local hint = ""
  if header_in_loc(a.detail, "idempotency-key") then
    hint = fmt("; use a new %s, or leave it out",
               flag(info, "idempotency_key"))
  elseif a.text:find("image", 1, true) and info.what == "publish" then
    hint = fmt("; the backend must be able to download each %s (or " ..
               "use %s)", flag(info, "images"),
               flag(info, "proxy_images"))
  end
  return fmt("the backend rejected the %s (422): %s%s",
             info.what == "queue" and "request" or "post", a.text, hint)
end

local function rate_limited(a, info, wait)
  local when = wait and fmt("; try again after %s (in %s)",
    clock.iso(clock.now() + wait), client.duration(wait)) or
    "; try again later"
  return fmt("the backend is rate limiting (%s: %s)%s%s", a.tag, a.text,
             when, info.key and fmt(", with %s %s",
             flag(info, "idempotency_key"), info.key) or "")
end

local function server_failed(a, info)
  if a.status == 502 and a.reason == "image_generation_failed" then
    return "job_failed", fmt("image generation failed: %s; nothing was " ..
      "queued. Change the prompt and try again", a.text)
  end
  if a.status == 504 and a.reason == "image_generation_timeout" then
    return "timeout", fmt("image generation took too long: %s; nothing " ..
      "was queued. Try again later (prediction %s)", a.text,
      tostring(a.detail.prediction_id))
  end
  local maybe = info.what ~= "queue" and
    " The post may already be queued; `clawhost run queue` shows it." ..
    retry_hint(info, true) or ""
  return nil, fmt("the backend at %s failed (%s: %s)%s.%s", a.where,
                  a.tag, a.text, a.after, maybe)
end

-- The code (nil: the shared table's) and the message of an answer.
local function describe(a, info, wait)
  local st = a.status
  if st >= 300 and st < 400 then
    return nil, fmt("the backend answered %d redirect to %s: %s is " ..
      "probably wrong (a trailing slash, http vs https, or a path " ..
      "prefix); clawhost does not follow redirects, fix the base URL " ..
      "(now %s)", st, a.location or "?", BASE_VAR, a.where)
  end
  if st == 401 or st == 403 or
     (st == 422 and header_in_loc(a.detail, "x-queue-secret")) then
    return "config", refused_secret(a, info)
  end
  if st == 400 then
    return nil, fmt("the backend rejected the request (400: %s); if " ..
                    "this is about the secret, check %s", a.text,
                    SECRET_VAR)
  end
  if st == 404 then return missing(a, info) end
  if st == 405 and info.what == "queue" then
    return nil, fmt("the backend at %s does not support %s (405): it " ..
      "has no queue API (threads-api.md 6.4)", a.where,
      info.path or settings.QUEUE_PATH)
  end
  if st == 409 then return conflict(a, info) end
  if st == 413 then
    local limit = type(a.detail) == "table" and a.detail.limit_bytes
    return nil, fmt("the request is larger than the backend accepts%s " ..
      "(413): shorten the message or send fewer images", limit and
      " (" .. client.whole(limit) .. " bytes)" or "")
  end
  if st == 422 then return nil, unprocessable(a, info) end
  if st == 429 then return nil, rate_limited(a, info, wait) end
  if st >= 500 then return server_failed(a, info) end
  return nil, fmt("the backend answered %s: %s", a.tag, a.text)
end

-- What a non-2xx answer means and what to do, as an error (6.7), with
-- err.status, err.reason (the backend's code), err.detail,
-- err.idempotency_key, err.retry_after_s and err.sent.
function _M.answer(res, info)
  info = info or {}
  local a = read(res, info)
  local wait = _M.retry_after(res)
  local code, message = describe(a, info, wait)
  return client.status_error(res, {
    code = code, message = message, keyed = info.key ~= nil,
    text = a.text,
    fields = { reason = a.reason, detail = a.detail,
               idempotency_key = info.key, retry_after_s = wait },
  })
end

-- A transport failure (no answer at all), said for people. When the
-- request may have reached the backend (err.sent "unknown"), the
-- outcome is unknown, and the message says so and how to check.
function _M.transport(err, info)
  local unknown = err.sent ~= "no" and info.what ~= "queue"
  local fields = { idempotency_key = info.key, sent = err.sent,
                   outcome_unknown = unknown or nil }
  if err.code == "blocked" then
    return errors.new(err.code, "clawhost refused to send the " ..
                      "request: " .. err.message, fields)
  end
  local where = info.base_url or "?"
  local after = (info.attempts or 1) > 1 and
                fmt(" (after %d attempts)", info.attempts) or ""
  local msg
  if unknown then
    msg = fmt("%s%s, so clawhost cannot tell whether the %s was " ..
      "queued.%s", err.code == "timeout" and
      fmt("no answer from the backend at %s in time (%s)", where,
          err.message) or
      fmt("no answer from the backend at %s (%s)", where, err.message),
      after, info.what == "assistant" and "image" or "post",
      retry_hint(info, true))
  elseif err.code == "timeout" then
    msg = fmt("no answer from the backend at %s in time (%s)%s.%s",
      where, err.message, after,
      info.what ~= "queue" and retry_hint(info) or "")
  else
    msg = fmt("cannot reach the backend at %s (%s: %s)%s; is it " ..
      "running, and is %s right?%s", where, err.code, err.message, after,
      BASE_VAR, info.what ~= "queue" and retry_hint(info) or "")
  end
  return errors.new(err.code, msg, fields)
end

return _M
