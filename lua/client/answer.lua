-- client.answer: reading what a server answered, for code and for
-- people.
--
--   answer.val(v)              JSON null as nil, anything else as it is
--   answer.whole(v)            a number as people write it (3, not 3.0)
--   answer.json(body)          the body decoded when it is JSON, else nil
--   answer.excerpt(s, max)     s on one line, cut after max bytes
--   answer.remote_message(b)   the message of an error body, or nil
--   answer.retry_after(res)    seconds the Retry-After header asks for
--   answer.duration(s)         "2 min", "3 h 5 min": a wait, for people
--
-- Pure: no host state, no network.
local json = require "json"

local _M = {}

local fmt = string.format

-- JSON null decodes to a light userdata that is true in a test; as nil
-- `a or b` and `if v` work on decoded answers.
function _M.val(v)
  if v == json.null then return nil end
  return v
end

-- Whole numbers from JSON come back as floats; show them as integers.
function _M.whole(v)
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2^53 then
    return fmt("%d", v)
  end
  return tostring(v)
end

-- For answers whose body may be anything (an error page, nothing):
-- the decoded JSON, or nil. Use client.decode where JSON is required.
function _M.json(body)
  if type(body) ~= "string" or body == "" then return nil end
  return (json.safe.decode(body))
end

-- s with every run of white space made one space; when it is longer
-- than max bytes, its first max bytes (never cutting a UTF-8 sequence)
-- and "...". Anything but a string gives nil, so `excerpt(a, n) or
-- excerpt(b, n)` takes the first text there is.
function _M.excerpt(s, max)
  if math.type(max) ~= "integer" or max < 1 then
    error("answer.excerpt: max must be a whole number of bytes", 2)
  end
  if type(s) ~= "string" then return nil end
  s = s:gsub("%s+", " ")
  if #s <= max then return s end
  local cut = max
  while cut > 0 and (s:byte(cut + 1) or 0) & 0xC0 == 0x80 do
    cut = cut - 1
  end
  return s:sub(1, cut) .. "..."
end

-- The message of an error body: a JSON object's message, error or
-- detail (a string, or an object with a message), as most APIs and
-- Theta's {"status":"error","message":...} put it; else the body as
-- text without markup (a proxy's HTML error page), cut after 200 bytes.
function _M.remote_message(body)
  if type(body) ~= "string" or body == "" then return nil end
  local obj = _M.json(body)
  if type(obj) == "table" then
    for _, k in ipairs { "message", "error", "detail" } do
      local v = obj[k]
      if type(v) == "table" then v = v.message end
      if type(v) == "string" and v ~= "" then return v end
    end
  end
  return _M.excerpt((body:gsub("<[^>]*>", " ")), 200)
end

-- Retry-After in seconds. An HTTP date is left to the host's own retry
-- (docs/http.md), which honours both forms before a call returns.
function _M.retry_after(res)
  local h = res and res.headers and res.headers["retry-after"]
  if type(h) == "string" and h:match("^%s*%d+%s*$") then
    return tonumber(h)
  end
  return nil
end

function _M.duration(s)
  s = math.max(0, math.floor(s + 0.5))
  if s < 90 then return fmt("%d s", s) end
  if s < 90 * 60 then return fmt("%d min", math.floor(s / 60 + 0.5)) end
  if s >= 48 * 3600 then return fmt("%d days", math.floor(s / 86400)) end
  local h = math.floor(s / 3600)
  local m = math.floor((s - h * 3600) / 60 + 0.5)
  if m == 60 then h, m = h + 1, 0 end
  return m > 0 and fmt("%d h %d min", h, m) or fmt("%d h", h)
end

return _M
