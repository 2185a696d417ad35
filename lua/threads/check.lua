-- threads.check: what Threads (and the backend's contract) can never
-- accept, found before anything is sent. Pure.
--
--   check.utf8_bytes(s)            bytes, characters; or nil, bad byte
--   check.text(message)            the text as it is sent and checked
--   check.links(text)              its distinct links, as counted
--   check.publish(opts, now)       problems (a list), scheduled time
--   check.postimg_problems(opts)   problems (a list)
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
  cursor = "--cursor",
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

-- The text as it is sent: the message without its trailing white
-- space (spaces, tabs, line ends), as the contract's backend trims it
-- (threads-api.md 6.2). Its limits are checked on exactly these bytes,
-- and body.publish sends exactly these bytes.
function _M.text(message)
  if message == nil then return "" end
  return (tostring(message):gsub("[ \t\n\v\f\r]+$", ""))
end

---------------------------------------------------------------------------
-- links (threads-api.md 2.3: more than 5 distinct links fail; 6.2)

-- Unicode white space, as Python's str.isspace says (the reference
-- backend ends a link at any of it).
local function is_space(cp)
  return (cp >= 0x09 and cp <= 0x0D) or (cp >= 0x1C and cp <= 0x20) or
         cp == 0x85 or cp == 0xA0 or cp == 0x1680 or
         (cp >= 0x2000 and cp <= 0x200A) or cp == 0x2028 or
         cp == 0x2029 or cp == 0x202F or cp == 0x205F or cp == 0x3000
end

-- Code points that are surely not letters or digits: white space and
-- common punctuation (Latin-1, general punctuation, CJK brackets and
-- stops). Any other non-ASCII character counts as a letter, so a link
-- glued to one is not counted: the count may miss a link the backend
-- sees (it then says so itself), never count one it does not.
local function surely_not_word(cp)
  if is_space(cp) then return true end
  if cp >= 0xA1 and cp <= 0xBF then
    return cp ~= 0xAA and cp ~= 0xB2 and cp ~= 0xB3 and cp ~= 0xB5 and
           cp ~= 0xB9 and cp ~= 0xBA and (cp < 0xBC or cp > 0xBE)
  end
  return cp == 0xD7 or cp == 0xF7 or (cp >= 0x2010 and cp <= 0x205E) or
         (cp >= 0x3001 and cp <= 0x3003) or
         (cp >= 0x3008 and cp <= 0x3011) or
         (cp >= 0xFF01 and cp <= 0xFF0F)
end

local function is_word(cp)
  if cp < 0x80 then
    local c = string.char(cp)
    return c:match("[%w_]") ~= nil
  end
  return not surely_not_word(cp)
end

-- A link ends at white space, <, > or ".
local function ends_link(cp)
  return is_space(cp) or cp == 0x3C or cp == 0x3E or cp == 0x22
end

local PREFIXES = { "https://", "http://", "www." }

-- The distinct links of a text, in order, as the backend counts them
-- (threads-api.md 2.3 and 6.2): every http://, https:// or www. that
-- starts a word (any case), up to the next white space, <, > or ";
-- trailing . , ; : ! ? ) ] } ' " dropped; compared without the scheme,
-- a trailing /, or the case of letters (the backend lowers every
-- letter; here ASCII letters are lowered and any two non-ASCII
-- characters compare equal, so the count is never above the
-- backend's). Text that is not UTF-8 has no links (it is refused
-- anyway).
function _M.links(text)
  local cps, at = {}, {}
  if type(text) ~= "string" or not utf8.len(text) then return {} end
  for pos, cp in utf8.codes(text) do
    cps[#cps + 1], at[#at + 1] = cp, pos
  end
  at[#cps + 1] = #text + 1
  local seen, out = {}, {}
  local i = 1
  while i <= #cps do
    local matched
    if (i == 1 or not is_word(cps[i - 1])) and is_word(cps[i]) then
      local head = text:sub(at[i], at[i] + 7):lower()
      for _, p in ipairs(PREFIXES) do
        if head:sub(1, #p) == p then matched = p break end
      end
    end
    local j = matched and i + #matched or nil
    local stop = j
    while stop and stop <= #cps and not ends_link(cps[stop]) do
      stop = stop + 1
    end
    if matched and stop > j then
      local link = text:sub(at[i], at[stop] - 1)
      link = link:gsub("[.,;:!?)%]}'\"]+$", ""):lower()
      link = link:gsub("^https?://", ""):gsub("/+$", "")
      -- non-ASCII letters cannot be lowered here: all compare equal,
      -- so two links that differ only in them count once
      local same = link:gsub("[\xC0-\xF7][\x80-\xBF]*", "\0")
      if link ~= "" and not seen[same] then
        seen[same] = true
        out[#out + 1] = link
      end
      i = stop
    else
      i = i + 1
    end
  end
  return out
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
  local images = opts.images or {}
  if opts.message ~= nil and type(opts.message) ~= "string" then
    error("threads.check_publish: message must be a string", 2)
  end
  local text = _M.text(opts.message)
  local bytes, chars = _M.utf8_bytes(text)
  if not bytes then
    add("%s is not valid UTF-8 (byte %d)", flag(opts, "message"), chars)
  else
    if bytes > settings.TEXT_LIMIT then
      add("%s is %d UTF-8 bytes (%d characters); Threads allows at " ..
          "most %d bytes (accented letters take 2, emoji 4)",
          flag(opts, "message"), bytes, chars, settings.TEXT_LIMIT)
    end
    local links = _M.links(text)
    if #links > settings.LINKS_LIMIT then
      add("%s has %d different links (%s); Threads allows at most %d " ..
          "in a post", flag(opts, "message"), #links,
          table.concat(links, ", "), settings.LINKS_LIMIT)
    end
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

-- Everything the assistant's input can never be: no prompt, text that
-- is not UTF-8, a bad key or api_base_url. The list of problems, one
-- line each, naming the flag.
function _M.postimg_problems(opts)
  if type(opts) ~= "table" then
    error("threads.check_postimg: expected an options table", 2)
  end
  local problems = {}
  local function add(...) problems[#problems + 1] = fmt(...) end
  local prompt = opts.prompt
  if type(prompt) ~= "string" or not prompt:find("%S") then
    add("%s is empty: say what image to generate", flag(opts, "prompt"))
  elseif not utf8.len(prompt) then
    add("%s is not valid UTF-8", flag(opts, "prompt"))
  end
  if opts.caption ~= nil and (type(opts.caption) ~= "string" or
                              not utf8.len(opts.caption)) then
    add("%s is not valid UTF-8", flag(opts, "caption"))
  end
  local bad_key = key_problem(opts)
  if bad_key then add("%s", bad_key) end
  if opts.api_base_url then
    local ok, why = client.check_base_url(opts.api_base_url)
    if not ok then add("%s %s", flag(opts, "api_base_url"), why) end
  end
  return problems
end

-- The same as a usage error (all problems in one), or true.
function _M.postimg(opts)
  local problems = _M.postimg_problems(opts)
  if #problems > 0 then
    return nil, errors.new("usage", table.concat(problems, "; ") ..
                           " (nothing was sent)", { problems = problems })
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
