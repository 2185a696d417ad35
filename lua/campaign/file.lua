-- campaign.file: read a campaign file (JSON) and check all of it before
-- anything is spent (docs/campaigns.md has the format and an example).
--
--   file.load(text[, name])   the campaign with its defaults filled in,
--                             or nil, err (code usage) whose message lists
--                             every problem, each naming the item and
--                             the field ("items[2] (villa-azur):
--                             facts.fields.price must be a number")
--   file.DEFAULTS             the settings a file may leave out
--
-- Pure but for clock.from_zone (the tz database) and the chat service
-- names of theta.catalog.
local clock = require "clock"
local errors = require "errors"
local json = require "json"

local _M = {}

local fmt = string.format

_M.CHAT_SERVICES = { gpt_oss_120b = true, qwen3 = true,
                     llama_3_1_70b = true, llama_3_8b = true,
                     glm_5_2 = true, glm_5_3 = true, glm_5_3_flash = true,
                     minimax_m2_5 = true }
_M.DEFAULTS = {
  copy = { service = "gpt_oss_120b", tone = "warm, precise, no hype",
           language = "English", max_attempts = 3, max_tokens = 2000,
           topic = "RealEstate", verify_with = nil },
  image = { mode = "generate", service = "flux",
            style = "bright, realistic real-estate photograph, no text" },
  schedule = { slots = { "09:00" }, days = nil, time_zone = "UTC" },
  threads = { tenant = nil, proxy_images = true },
  check = { near_m = 1000 },
}
_M.MAX_ITEMS = 500
_M.DAYS = { mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6, sun = 7 }

local ID = "^[%w][%w%._%-]*$"

-- A problem list that names where each one is.
local function problems()
  local list = {}
  return list, function(where, f, ...)
    list[#list + 1] = where .. ": " .. fmt(f, ...)
  end
end

local function is_int(v, lo, hi)
  return math.type(v) == "integer" and v >= lo and v <= hi
end

local function is_url(u)
  return type(u) == "string" and not u:find("%s") and
         u:find("^https?://[^/?#@]+") ~= nil
end

local function copy_settings(c, add)
  local d = _M.DEFAULTS.copy
  local out = {}
  for k, v in pairs(d) do out[k] = v end
  if c == nil then return out end
  if type(c) ~= "table" then add("copy", "must be an object") return out end
  for k, v in pairs(c) do
    if d[k] == nil and k ~= "verify_with" and k ~= "instructions" then
      add("copy", "unknown field '%s' (known: service, tone, language, " ..
          "max_attempts, max_tokens, topic, verify_with, instructions)",
          tostring(k))
    end
    out[k] = v
  end
  if not _M.CHAT_SERVICES[out.service] then
    add("copy.service", "'%s' is not a chat service (use gpt_oss_120b, " ..
        "qwen3, llama_3_1_70b, ...)", tostring(out.service))
  end
  if out.verify_with ~= nil and not _M.CHAT_SERVICES[out.verify_with] then
    add("copy.verify_with", "'%s' is not a chat service",
        tostring(out.verify_with))
  end
  for _, k in ipairs { "tone", "language", "topic" } do
    if type(out[k]) ~= "string" or #out[k] > 200 then
      add("copy." .. k, "must be text of at most 200 bytes")
    end
  end
  if out.topic and not tostring(out.topic):find("^[%w_]+$") then
    add("copy.topic", "must be one tag of letters, digits and _ (no #)")
  end
  if out.instructions ~= nil and (type(out.instructions) ~= "string" or
                                  #out.instructions > 2000) then
    add("copy.instructions", "must be text of at most 2000 bytes")
  end
  if not is_int(out.max_attempts, 1, 10) then
    add("copy.max_attempts", "must be a whole number from 1 to 10")
  end
  if not is_int(out.max_tokens, 64, 5000) then
    add("copy.max_tokens", "must be a whole number from 64 to 5000")
  end
  return out
end

local function image_settings(c, add)
  local out = {}
  for k, v in pairs(_M.DEFAULTS.image) do out[k] = v end
  if c == nil then return out end
  if type(c) ~= "table" then add("image", "must be an object") return out end
  for k, v in pairs(c) do out[k] = v end
  if out.mode ~= "generate" and out.mode ~= "own" and out.mode ~= "none" then
    add("image.mode", "must be generate (flux), own (the items' images) " ..
        "or none, not '%s'", tostring(out.mode))
  end
  if type(out.service) ~= "string" or not out.service:find("^[%w_]+$") then
    add("image.service", "must be an image service alias like flux")
  end
  if type(out.style) ~= "string" or #out.style > 300 then
    add("image.style", "must be text of at most 300 bytes")
  end
  return out
end

local function parse_hhmm(s)
  local h, m = tostring(s):match("^(%d%d?):(%d%d)$")
  h, m = tonumber(h), tonumber(m)
  if not h or h > 23 or m > 59 then return nil end
  return h, m
end

local function schedule_settings(c, add)
  local out = {}
  for k, v in pairs(_M.DEFAULTS.schedule) do out[k] = v end
  if type(c) ~= "table" then
    add("schedule", "is required: {\"start\": \"2027-03-01\", \"slots\": " ..
        "[\"09:00\", \"18:00\"], \"time_zone\": \"Europe/Paris\"}")
    return out
  end
  for k, v in pairs(c) do out[k] = v end
  local y, mo, d = tostring(out.start):match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if y and (tonumber(mo) < 1 or tonumber(mo) > 12 or tonumber(d) < 1 or
            tonumber(d) > 31) then
    y = nil
  end
  if not y then
    add("schedule.start", "must be a date like 2027-03-01 (the first " ..
        "day posts may go out, in the campaign's time zone), got %s",
        json.encode(out.start))
  else
    out.start_date = { year = tonumber(y), month = tonumber(mo),
                       day = tonumber(d) }
  end
  if type(out.time_zone) ~= "string" then
    add("schedule.time_zone", "must be a zone name like Europe/Paris")
  elseif out.start_date then
    local _, err = clock.from_zone { year = out.start_date.year,
      month = out.start_date.month, day = out.start_date.day,
      zone = out.time_zone }
    if err then add("schedule", "%s", err.message) end
  end
  if type(out.slots) ~= "table" or #out.slots == 0 or #out.slots > 24 then
    add("schedule.slots", "must be a list of 1 to 24 times like \"09:00\"")
  else
    local parsed = {}
    for i, s in ipairs(out.slots) do
      local h, m = parse_hhmm(s)
      if not h then
        add(fmt("schedule.slots[%d]", i), "'%s' is not a time like 09:00",
            tostring(s))
      else
        parsed[#parsed + 1] = { hour = h, min = m }
      end
    end
    table.sort(parsed, function(a, b)
      return a.hour * 60 + a.min < b.hour * 60 + b.min end)
    out.slot_times = parsed
  end
  if out.days ~= nil then
    if type(out.days) ~= "table" or #out.days == 0 then
      add("schedule.days", "must be a list like [\"mon\", \"wed\", \"fri\"]")
    else
      local set = {}
      for i, dname in ipairs(out.days) do
        local n = _M.DAYS[tostring(dname):lower():sub(1, 3)]
        if not n then
          add(fmt("schedule.days[%d]", i), "'%s' is not a day (mon..sun)",
              tostring(dname))
        else
          set[n] = true
        end
      end
      out.day_set = set
    end
  end
  return out
end

local function check_fields(fields, where, add)
  for k, v in pairs(fields) do
    local t = type(v)
    if type(k) ~= "string" then
      add(where, "field names are text")
    elseif t == "table" and not json.is_array(v) then
      add(where .. "." .. k, "must be text, a number, true/false or a " ..
          "list, not an object")
    elseif t == "table" then
      for i, x in ipairs(v) do
        if type(x) ~= "string" and type(x) ~= "number" then
          add(where .. "." .. k .. "[" .. i .. "]", "must be text or " ..
              "a number")
        end
      end
    elseif t ~= "string" and t ~= "number" and t ~= "boolean" then
      add(where .. "." .. k, "must be text, a number, true/false or a list")
    end
  end
end

local function item_of(it, i, seen, image_mode, add)
  local where = fmt("items[%d]", i)
  if type(it) ~= "table" then add(where, "must be an object") return nil end
  if type(it.id) ~= "string" or #it.id > 64 or not it.id:find(ID) then
    add(where .. ".id", "must be 1 to 64 letters, digits, . _ - (it " ..
        "names the item in checkpoints and idempotency keys)")
  else
    where = fmt("items[%d] (%s)", i, it.id)
    if seen[it.id] then
      add(where .. ".id", "repeats items[%d]", seen[it.id])
    end
    seen[it.id] = i
  end
  if type(it.title) ~= "string" or it.title == "" or #it.title > 200 then
    add(where .. ".title", "is required: a name of at most 200 bytes")
  end
  local facts = it.facts
  if type(facts) ~= "table" then
    add(where .. ".facts", "is required: {\"text\": \"...\", \"fields\": " ..
        "{\"price\": 450000, ...}}")
    facts = {}
  else
    if facts.text ~= nil and (type(facts.text) ~= "string" or
                              #facts.text > 4000) then
      add(where .. ".facts.text", "must be text of at most 4000 bytes")
    end
    if facts.fields ~= nil and type(facts.fields) ~= "table" then
      add(where .. ".facts.fields", "must be an object")
    elseif facts.fields then
      check_fields(facts.fields, where .. ".facts.fields", add)
    end
    if not facts.text and not facts.fields then
      add(where .. ".facts", "needs text, fields or both: the copy is " ..
          "written from them only")
    end
  end
  local images = it.images or {}
  if type(images) ~= "table" then
    add(where .. ".images", "must be a list of https URLs")
    images = {}
  end
  for k, u in ipairs(images) do
    if not is_url(u) then
      add(fmt("%s.images[%d]", where, k), "'%s' is not an http(s) URL",
          tostring(u))
    end
  end
  if image_mode == "own" and #images == 0 then
    add(where .. ".images", "is empty, but image.mode is own")
  end
  if it.link ~= nil and not is_url(it.link) then
    add(where .. ".link", "must be an http(s) URL")
  end
  return { id = it.id, title = it.title, link = it.link, images = images,
           facts = { text = facts.text, fields = facts.fields or {} },
           index = i }
end

-- load(text[, name]) -> campaign, or nil, err (usage).
function _M.load(text, name)
  name = name or "the campaign file"
  if type(text) ~= "string" then
    return nil, errors.new("usage", name .. ": give the file with --file")
  end
  local v, jerr = json.safe.decode(text)
  if type(v) ~= "table" or json.is_array(v) then
    return nil, errors.new("usage", fmt("%s is not a JSON object%s", name,
      jerr and (": " .. tostring(jerr.message)) or ""))
  end
  local list, add = problems()
  local c = { name = name }
  if type(v.campaign) ~= "string" or #v.campaign > 40 or
     not v.campaign:find(ID) then
    add("campaign", "is required: an id of 1 to 40 letters, digits, " ..
        ". _ - (checkpoints and idempotency keys carry it)")
  end
  c.id = v.campaign
  if type(v.budget_usd) ~= "number" or v.budget_usd < 0 or
     v.budget_usd > 10000 then
    add("budget_usd", "is required: the most the whole campaign may " ..
        "spend, in USD, e.g. 1.50")
  end
  c.budget_usd = v.budget_usd
  local known = { campaign = 1, budget_usd = 1, copy = 1, image = 1,
                  schedule = 1, threads = 1, check = 1, items = 1,
                  description = 1 }
  for k in pairs(v) do
    if not known[k] then
      add(tostring(k), "is not a campaign field (known: campaign, " ..
          "budget_usd, copy, check, image, schedule, threads, items)")
    end
  end
  c.copy = copy_settings(v.copy, add)
  c.image = image_settings(v.image, add)
  c.schedule = schedule_settings(v.schedule, add)
  c.threads = {}
  for k, x in pairs(_M.DEFAULTS.threads) do c.threads[k] = x end
  for k, x in pairs(type(v.threads) == "table" and v.threads or {}) do
    c.threads[k] = x
  end
  c.check = { near_m = 1000 }
  if v.check ~= nil then
    if type(v.check) ~= "table" then
      add("check", "must be an object")
    else
      for k, x in pairs(v.check) do c.check[k] = x end
      if c.check.vocabulary ~= nil and type(c.check.vocabulary) ~= "table"
      then
        add("check.vocabulary", "must be an object of concept: [phrases]")
      end
    end
  end
  if type(v.items) ~= "table" or #v.items == 0 then
    add("items", "is required: a list of at least one item")
  elseif #v.items > _M.MAX_ITEMS then
    add("items", "has %d items; at most %d", #v.items, _M.MAX_ITEMS)
  else
    c.items, c.by_id = {}, {}
    local seen = {}
    for i, it in ipairs(v.items) do
      local item = item_of(it, i, seen, c.image.mode, add)
      if item then
        c.items[#c.items + 1] = item
        if item.id then c.by_id[item.id] = item end
      end
    end
  end
  if #list > 0 then
    return nil, errors.new("usage", fmt("%s has %d problem%s:\n  %s",
      name, #list, #list > 1 and "s" or "", table.concat(list, "\n  ")),
      { problems = list })
  end
  return c
end

return _M
