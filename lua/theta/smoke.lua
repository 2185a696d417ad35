-- theta.smoke: the seed's budget-guarded live smoke run, as a library.
--
--   local smoke = require "theta.smoke"
--   return smoke.run(ctx, {services = "qwen3,flux"})   -- report[, err]
--
-- Settings (reference 1.3 and 6.4; config.get):
--   SERVICES                      qwen3,flux,blip,grounding_dino,whisper
--   THETA_WAIT_SECONDS            wait of each create call (default 30;
--                                 qwen3 60)
--   THETA_POLL_UNTIL_DONE         poll jobs the wait did not finish (1)
--   THETA_POLL_INTERVAL_SECONDS   default 3
--   THETA_POLL_TIMEOUT_SECONDS    default 180
--   THETA_MAX_BUDGET_USD / --budget   the cap (default 2.00), and
--   CLAWHOST_DAILY_BUDGET_USD     the daily cap, kept by the budget module
--
-- Every service runs at once (task.all). Each reserves its worst case
-- before anything is sent for it -- uploads included -- and a service
-- whose reservation would pass a cap is skipped, not called. Test media
-- are made in memory (theta.media: a PNG for the vision models, a WAV
-- for whisper) and go up through presigned URLs; nothing is downloaded.
-- The report is a table (service, state, seconds, reserved, spent,
-- detail) with the totals against the cap. When a service was skipped
-- for the budget the run returns the report and a budget_exceeded error
-- (exit 3); when one failed, the report and a smoke_failed error.
local budget = require "budget"
local clock = require "clock"
local config = require "config"
local errors = require "errors"
local log = require "log"
local task = require "task"
local client = require "client"
local chat = require "theta.chat"
local theta = require "theta.client"
local media = require "theta.media"
local od = require "theta.ondemand"
local pricing = require "theta.pricing"

local _M = {}

_M.DEFAULT_SERVICES = "qwen3,flux,blip,grounding_dino,whisper"
_M.CHAT_PROMPT = "Reply with one short sentence: the smoke test works."

-- Values for the text inputs a service may require.
local TEXT_INPUTS = {
  prompt = "a red square and a blue circle on a white background",
  detection_prompt = "square . circle",
  question = "What shapes are in this picture?",
  text = "This is a smoke test.",
  language = "en",
}

-- parse_services("a, b,,c") -> {"a", "b", "c"} (duplicates dropped).
-- Raises on a name that is not an alias.
function _M.parse_services(s)
  if type(s) == "table" then s = table.concat(s, ",") end
  if type(s) ~= "string" then
    error("smoke: services must be a comma-separated list", 2)
  end
  local out, seen = {}, {}
  for name in s:gmatch("[^,%s]+") do
    if not name:find("^[%w][%w_%.%-]*$") then
      error(errors.new("usage", "smoke: '" .. name .. "' is not a " ..
                       "service alias"), 2)
    end
    if not seen[name] then
      seen[name] = true
      out[#out + 1] = name
    end
  end
  if #out == 0 then
    error(errors.new("usage", "smoke: no services given"), 2)
  end
  return out
end

-- settings(opts) -> the knobs, from opts first, then the environment.
function _M.settings(opts)
  opts = opts or {}
  local wait = opts.wait or config.number("THETA_WAIT_SECONDS", nil, 0, 60)
  local poll = opts.poll
  if poll == nil then poll = config.bool("THETA_POLL_UNTIL_DONE", true) end
  return {
    services = _M.parse_services(opts.services or config.get("SERVICES") or
                                 _M.DEFAULT_SERVICES),
    wait = wait and math.tointeger(math.floor(wait)) or nil,
    poll = poll,
    interval = opts.interval or
               config.number("THETA_POLL_INTERVAL_SECONDS", 3, 0.1, 60),
    timeout = opts.timeout or
              config.number("THETA_POLL_TIMEOUT_SECONDS", 180, 1, 3600),
  }
end

-- A file input gets audio when its name says so, else the PNG.
local function asset_for(field)
  local f = field:lower()
  if f:find("audio", 1, true) or f:find("voice", 1, true) or
     f:find("wav", 1, true) then
    return "audio"
  end
  return "image"
end

-- inputs_for(entry) -> the smoke input (file fields as false: to be
-- uploaded), or nil, reason when a required input is one we cannot make.
function _M.inputs_for(entry)
  local input, files = {}, {}
  local is_file = {}
  for _, f in ipairs(entry.files or {}) do is_file[f] = true end
  for _, k in ipairs(entry.inputs or {}) do
    if is_file[k] or k:find("img", 1, true) or k:find("filename", 1, true)
    then
      files[#files + 1] = { field = k, kind = asset_for(k) }
    elseif TEXT_INPUTS[k] then
      input[k] = TEXT_INPUTS[k]
    else
      return nil, "does not know how to fill input " .. k
    end
  end
  if entry.alias == "flux" or entry.alias == "stable_diffusion_xl_turbo" then
    input.width, input.height = 256, 256
  end
  return input, files
end

-- Table cells, a detail and a message: this many bytes of the text,
-- then "..." (44 and 80 bytes at most).
local DETAIL, MESSAGE = 41, 77

local function short(v, n)
  return client.excerpt(v, n or DETAIL)
end

local function detail_of(out)
  local o = type(out) == "table" and out or {}
  if type(o.labels) == "table" then
    local l = {}
    for _, x in ipairs(o.labels) do l[#l + 1] = tostring(x) end
    return "labels: " .. table.concat(l, ", ")
  end
  return short(o.caption) or short(o.text) or short(o.message) or
         short(o.image_url) or short(o.audio_url) or ""
end

local function round2(x)
  return math.floor(x * 100 + 0.5) / 100
end

-- One service, start to end; returns its row.
local function run_one(ctx, s, alias, assets)
  local started = clock.monotonic()
  local dry = ctx.dry_run
  local row = { service = alias, state = "?", reserved_usd = "-",
                spent_usd = "-", detail = "" }
  local function done(state, detail)
    row.state = state
    row.detail = detail or row.detail
    row.seconds = round2(clock.monotonic() - started)
    log.progress(alias, state, { done = true })
    return row
  end
  local function progress(state, limit)
    log.progress(alias, state, limit and { limit = limit } or nil)
  end

  local entry, err = od.service(ctx, alias)
  if not entry then
    return done("unknown", short(err.message, MESSAGE))
  end

  local input, files, est
  if entry.kind == "chat" then
    local p = chat.plan(entry, { message = _M.CHAT_PROMPT })
    est = { messages = p.messages, max_tokens = p.max_tokens }
  else
    input, files = _M.inputs_for(entry)
    if not input then return done("unsupported", files) end
    est = {}
  end
  progress("reserving")
  local r, rerr = od.reserve(ctx, entry, est)
  if not r then
    if rerr.code == "budget_exceeded" then
      row.skipped_for_budget = true
      row.reserved_usd = "-"
      row.would_reserve_usd = pricing.usd_string(
        pricing.worst_case_nano(entry, est))
      return done("skipped (budget)", "would reserve " ..
                  row.would_reserve_usd .. " USD")
    end
    return done("error", short(rerr.message, MESSAGE))
  end
  row.reserved_usd = pricing.usd_string(r.nano)

  local result, ierr
  if entry.kind == "chat" then
    if dry then
      progress("planning")
    else
      progress("waiting for the first token",
               chat.STREAM_FIRST_BYTE_MS / 1000)
    end
    local first = true
    result, ierr = chat.chat(ctx, {
      service = alias, message = _M.CHAT_PROMPT, reservation = r,
      wait = s.wait,
      poll_interval = s.interval, poll_timeout = s.timeout,
      on_content = function()
        if first then first = false; progress("streaming") end
      end,
      on_state = function(state) progress(state) end,
    })
  else
    -- an input that cannot be uploaded: the service is never called
    local function not_called(what, e)
      od.close(r, nil, "no", dry)
      row.spent_usd = pricing.usd_string(r.spent or 0)
      return done("error", short(what .. ": " .. tostring(e.message),
                                 MESSAGE))
    end
    for _, f in ipairs(files) do
      progress("uploading " .. f.field)
      local u, uerr = od.upload_url(ctx, { service = alias,
                                           input_fields = { f.field } })
      if not u then return not_called("upload URL", uerr) end
      if u.dry_run then
        input[f.field] = "<uploaded " .. f.kind .. ">"
      else
        local slot = u.fields[f.field]
        local put, perr = od.upload(ctx, { url = slot.url,
                                           bytes = assets[f.kind]() })
        if not put then return not_called("upload", perr) end
        input[f.field] = slot.filename
      end
    end
    progress("submitting")
    result, ierr = od.infer(ctx, {
      service = alias, input = input, wait = s.wait, poll = s.poll,
      poll_interval = s.interval, poll_timeout = s.timeout,
      reservation = r, on_state = function(state) progress(state) end,
    })
  end
  row.spent_usd = pricing.usd_string(r.spent or r.nano)
  if not result then
    local res = type(ierr) == "table" and ierr.result
    if res and res.spent_usd then row.spent_usd = res.spent_usd end
    row.failed = true
    return done(ierr.code == "timeout" and "timeout" or "error",
                short(tostring(ierr.message), MESSAGE))
  end
  if result.dry_run then
    row.spent_usd = "-"
    row.planned = result.plan
    local plan = result.plan
    return done("planned", plan and (plan.method .. " " ..
                (plan.url:gsub("^https?://[^/]+", ""))) or "")
  end
  if entry.kind == "chat" then
    return done("success", short(result.answer))
  end
  if result.state ~= "success" then
    row.failed = s.poll
    return done(tostring(result.state), result.note)
  end
  return done("success", detail_of(result.output))
end

-- run(ctx, opts) -> report[, err]. opts: services (CSV or list), wait,
-- poll, interval, timeout (each defaults to its environment knob).
function _M.run(ctx, opts)
  local s = _M.settings(opts)
  local started = clock.monotonic()
  local auth, aerr = theta.auth(ctx)
  if not auth then return nil, aerr end     -- exit 2 before anything
  local found, ferr = od.services(ctx)      -- one discovery for all
  if not found then return nil, ferr end
  local cache = {}
  local assets = {
    image = function()
      cache.image = cache.image or media.png(64, 64)
      return cache.image
    end,
    audio = function()
      cache.audio = cache.audio or media.wav { seconds = 1 }
      return cache.audio
    end,
  }
  local jobs = {}
  for i, alias in ipairs(s.services) do
    jobs[i] = function() return run_one(ctx, s, alias, assets) end
  end
  local rows = task.all(jobs)
  local st = budget.status()
  local reserved, spent, skipped, failed = 0, 0, {}, {}
  for _, row in ipairs(rows) do
    if row.reserved_usd ~= "-" then
      reserved = reserved + pricing.nano(tonumber(row.reserved_usd))
    end
    if row.spent_usd ~= "-" then
      spent = spent + pricing.nano(tonumber(row.spent_usd))
    end
    if row.skipped_for_budget then skipped[#skipped + 1] = row.service end
    if row.failed or row.state == "error" or row.state == "unknown" or
       row.state == "unsupported" then
      failed[#failed + 1] = row.service
    end
  end
  local cap = st.cap and pricing.usd_string(pricing.nano(st.cap)) or nil
  local b = {
    cap_usd = cap or "none",
    reserved_usd = pricing.usd_string(reserved),
    spent_usd = not ctx.dry_run and pricing.usd_string(spent) or nil,
    worst_case_usd = ctx.dry_run and pricing.usd_string(reserved) or nil,
    daily_cap_usd = st.daily_cap and
                    pricing.usd_string(pricing.nano(st.daily_cap)) or nil,
  }
  -- what is left is the smaller of the run's and the day's room
  local left = st.remaining
  if st.daily_cap and not ctx.dry_run then
    local day = math.max(0, st.daily_cap - (st.daily_committed or 0))
    left = left and math.min(left, day) or day
  end
  b.remaining_usd = left and pricing.usd_string(pricing.nano(left)) or nil
  local total
  if ctx.dry_run then
    total = "dry run: worst case " .. b.worst_case_usd .. " USD of the " ..
            b.cap_usd .. " USD cap; nothing but GETs was sent"
  else
    total = b.spent_usd .. " USD spent of the " .. b.cap_usd ..
            " USD cap" .. (b.daily_cap_usd and (" and the " ..
            b.daily_cap_usd .. " USD daily cap") or "") ..
            " (" .. b.reserved_usd .. " reserved" ..
            (b.remaining_usd and ("; " .. b.remaining_usd .. " left") or "")
            .. ")"
  end
  local report = {
    services = rows,
    columns = { "service", "state", "seconds", "reserved_usd", "spent_usd",
                "detail" },
    dry_run = ctx.dry_run or nil,
    budget = b,
    total = total,
    seconds = round2(clock.monotonic() - started),
  }
  for _, row in ipairs(rows) do
    row.skipped_for_budget, row.failed, row.planned = nil, nil, nil
  end
  if #skipped > 0 then
    return report, errors.new("budget_exceeded", "smoke: skipped for " ..
      "the budget: " .. table.concat(skipped, ", ") .. " (cap " ..
      b.cap_usd .. " USD" .. (b.daily_cap_usd and
      (", daily cap " .. b.daily_cap_usd .. " USD") or "") ..
      "); lower SERVICES or raise the cap", { skipped = skipped })
  end
  if #failed > 0 then
    return report, errors.new("smoke_failed", "smoke: failed: " ..
      table.concat(failed, ", "), { failed = failed })
  end
  return report
end

return _M
