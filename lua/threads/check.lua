-- threads.check: what Threads (and the backend's contract) can never
-- accept, found before anything is sent. Pure.
--
--   check.utf8_bytes(s)            bytes, characters; or nil, bad byte
--   check.publish(opts, now)       problems (a list), scheduled time
--   check.postimg(opts)            true, or nil, err (usage)
--   check.queue_id(id)             true, or nil, err (usage)
--   check.flag(opts, name)         the flag an option comes from
--
-- Every message names the flag the user typed, so the user knows what
-- to fix; opts.flags renames them for recipes with other flags.
local clock = require "clock"
local errors = require "errors"
local client = require "client"
local settings = require "threads.settings"

local _M = {}

local fmt = string.format

-- The flag each option comes from in the recipes, for messages
-- (proxy_images: the flag that turns it off, which is what a message
-- suggests).
_M.FLAGS = {
  message = "--message", images = "--image", at = "--at",
  mode = "--mode", idempotency_key = "--idempotency-key",
  tenant = "--tenant", prompt = "--prompt", caption = "--caption",
  api_base_url = "--api-base-url", proxy_images = "--no-proxy-images",
}

function _M.flag(opts, name)
  return (opts and opts.flags and opts.flags[name]) or _M.FLAGS[name] or
         "--" .. name:gsub("_", "-")
end

local flag = _M.flag

-- Bytes and characters of UTF-8 text (Threads counts bytes: 2.3), or
-- nil, the position of the first byte that is not UTF-8.
function _M.utf8_bytes(s)
  if type(s) ~= "string" then
    error("threads.utf8_bytes: expected a string", 2)
  end
  local chars, bad = utf8.len(s)
  if not chars then return nil, bad end
  return #s, chars
end

local function rtrim(s)
  return (s:gsub("%s+$", ""))
end

local function is_http_url(u)
  return type(u) == "string" and not u:find("%s") and
         (u:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+") ~= nil)
end

local function key_problem(opts)
  if opts.idempotency_key ~= nil and
     not client.check_idempotency_key(opts.idempotency_key) then
    return flag(opts, "idempotency_key") ..
           " must be 1 to 255 printable ASCII characters"
  end
  return nil
end

-- The scheduled time as the backend gets it (UTC, Z), or nil, problem.
local function check_at(at, now, opts)
  local t, err = clock.parse_iso(at)
  local f = flag(opts, "at")
  if not t then
    if tostring(err and err.message):find("offset is missing", 1, true) then
      return nil, fmt("%s '%s' has no UTC offset: add Z or +HH:MM " ..
                      "(e.g. 2026-05-12T06:00:00Z)", f, at)
    end
    return nil, fmt("%s '%s' is not an RFC 3339 time with offset " ..
                    "(e.g. 2026-05-12T06:00:00+02:00)", f, at)
  end
  if t < now - settings.PAST_GRACE_S then
    return nil, fmt("%s %s is in the past (%s ago); give a future " ..
                    "time, or leave %s out to queue it for the next " ..
                    "free slot", f, at, client.duration(now - t), f)
  end
  return clock.iso(t)
end

local function check_images(images, opts, add)
  if #images > settings.IMAGES_LIMIT then
    add("%d %s given; Threads takes at most %d images per post",
        #images, flag(opts, "images"), settings.IMAGES_LIMIT)
  end
  local seen = {}
  for i, u in ipairs(images) do
    if not is_http_url(u) then
      add("%s #%d '%s' is not an http(s) URL (the backend downloads " ..
          "it; Threads needs a public http(s) image)",
          flag(opts, "images"), i, tostring(u))
    elseif seen[u] then
      add("%s #%d repeats #%d (%s)", flag(opts, "images"), i, seen[u], u)
    else
      seen[u] = i
    end
  end
end

-- Everything Threads (and the contract, 6.2) can never accept. Returns
-- the list of problems (one line each, naming the flag) and the
-- scheduled time to send.
function _M.publish(opts, now)
  if type(opts) ~= "table" then
    error("threads.check_publish: expected an options table", 2)
  end
  now = now or clock.now()
  local problems, scheduled = {}, nil
  local function add(...) problems[#problems + 1] = fmt(...) end
  local message = opts.message or ""
  local images = opts.images or {}
  local text = rtrim(message)
  local bytes, chars = _M.utf8_bytes(message)
  if not bytes then
    add("%s is not valid UTF-8 (byte %d)", flag(opts, "message"), chars)
  elseif #text > settings.TEXT_LIMIT then
    add("%s is %d UTF-8 bytes (%d characters); Threads allows at most " ..
        "%d bytes (accented letters take 2, emoji 4)",
        flag(opts, "message"), #text, utf8.len(text), settings.TEXT_LIMIT)
  end
  if text == "" and #images == 0 then
    add("nothing to post: give %s text, at least one %s, or both",
        flag(opts, "message"), flag(opts, "images"))
  end
  check_images(images, opts, add)
  local mode = opts.mode or "queue"
  if mode ~= "queue" and mode ~= "now" then
    add("%s must be queue or now, not '%s'", flag(opts, "mode"),
        tostring(mode))
  end
  if opts.at ~= nil then
    local why
    scheduled, why = check_at(opts.at, now, opts)
    if not scheduled then add("%s", why) end
    if mode == "now" then
      add("%s now publishes at once; drop %s, or use %s queue to " ..
          "schedule it", flag(opts, "mode"), flag(opts, "at"),
          flag(opts, "mode"))
    end
  end
  local bad_key = key_problem(opts)
  if bad_key then add("%s", bad_key) end
  return problems, scheduled
end

local function usage(message)
  return nil, errors.new("usage", message)
end

-- The assistant's input: a prompt, UTF-8 text, a usable key and
-- api_base_url. The first problem, as a usage error.
function _M.postimg(opts)
  if type(opts.prompt) ~= "string" or not opts.prompt:find("%S") then
    return usage(flag(opts, "prompt") .. " is empty: say what image " ..
                 "to generate (nothing was sent)")
  end
  if not utf8.len(opts.prompt) or
     (opts.caption and not utf8.len(opts.caption)) then
    return usage("the prompt or caption is not valid UTF-8")
  end
  local bad_key = key_problem(opts)
  if bad_key then return usage(bad_key) end
  if opts.api_base_url then
    local ok, why = client.check_base_url(opts.api_base_url)
    if not ok then return usage("--api-base-url " .. why) end
  end
  return true
end

function _M.queue_id(id)
  if type(id) ~= "string" or not id:match("^[%w_.-]+$") or #id > 128 then
    return usage(fmt("'%s' is not a queue item id (like " ..
                     "thq_01JV3K6M9Y7T2W4X8ZC5N1RBQA)", tostring(id)))
  end
  return true
end

return _M
