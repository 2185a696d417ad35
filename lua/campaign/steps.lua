-- campaign.steps: the default steps of a campaign. A custom recipe
-- replaces any of them (docs/campaigns.md); each is a function:
--
--   copy(ctx, item, o)        -> text, or nil, err
--       o.campaign, o.attempt (1..), o.feedback ("" or what the check
--       refused last time), o.limit (bytes the text may take),
--       o.reserve(entry, estimate) (a reservation under the campaign's
--       cap, for a paid call)
--   check(ctx, item, text, o) -> report {ok, claims, unsupported,
--       counts, feedback}
--   image(ctx, item, o)       -> {url =, request_id =}, or nil, err
--       o.reserve as above, o.checkpoint(t) (saves t in the item's
--       record at once: a request id before the wait for the result),
--       o.saved (what a killed run checkpointed)
--   schedule(ctx, item, post, o) -> {id =, scheduled_at =}, or nil,
--       err; post = {text, images, at (RFC 3339 with offset),
--       idempotency_key}
--
-- Paid calls reserve before they are sent and settle after (theta.chat
-- and theta.ondemand do it with the reservation o.reserve returns).
local errors = require "errors"
local json = require "json"
local log = require "log"
local chat = require "theta.chat"
local od = require "theta.ondemand"
local threads = require "threads"
local claims = require "campaign.claims"

local _M = {}

local fmt = string.format

_M.LINKS_MAX = 5            -- the backend refuses more (threads-api 6.2)

-- The facts as the model reads them: one JSON object, keys sorted.
function _M.facts_json(item)
  return json.encode { title = item.title, fields = item.facts.fields,
                       text = item.facts.text, link = item.link }
end

function _M.messages(c, item, o)
  local system = table.concat({
    "You write one post for Threads about a real-estate listing.",
    "Use only the facts given in FACTS. Never state a price, size, " ..
    "number, distance, date, amenity, view or location detail that " ..
    "the facts do not state. No superlatives, no promises, no " ..
    "guarantees.",
    fmt("Write at most %d bytes of plain text in %s, in a %s tone, " ..
        "ending with exactly one hashtag: #%s. No other hashtags, no " ..
        "links.", o.limit - 40, c.copy.language, c.copy.tone,
        c.copy.topic),
    c.copy.instructions or "",
  }, "\n")
  local user = { "FACTS (JSON):", _M.facts_json(item), "",
                 "Tone: " .. c.copy.tone,
                 "Language: " .. c.copy.language,
                 "Write the post now." }
  if o.feedback and o.feedback ~= "" then
    table.insert(user, 4, "The last draft was refused. " .. o.feedback)
  end
  return { { role = "system", content = system },
           { role = "user", content = table.concat(user, "\n") } }
end

-- The default copy step: one chat call with the campaign's model.
function _M.copy(ctx, item, o)
  local c = o.campaign
  local messages = _M.messages(c, item, o)
  local entry, err = od.service(ctx, c.copy.service)
  if not entry then return nil, err end
  local resv, rerr = o.reserve(entry, { messages = messages,
                                        max_tokens = c.copy.max_tokens })
  if not resv then return nil, rerr end
  local r, cerr = chat.chat(ctx, { service = c.copy.service,
    messages = messages, max_tokens = c.copy.max_tokens, stream = false,
    reservation = resv, on_state = function(state, elapsed)
      log.progress(item.id, fmt("copy: attempt %d, %s (%d s)", o.attempt,
                                tostring(state), math.floor(elapsed or 0)))
    end })
  if not r then return nil, cerr end
  if r.dry_run then return nil, errors.new("dry_run", "not sent") end
  return (r.answer:gsub("^%s+", ""):gsub("%s+$", "")), r
end

-- Rules of the post itself, not of its claims: the byte limit, one
-- topic tag, links.
local function format_problems(text, o)
  local out = {}
  if #text > o.limit then
    out[#out + 1] = fmt("it is %d bytes; at most %d", #text, o.limit)
  end
  local tags = 0
  for _ in text:gmatch("#[%w_]+") do tags = tags + 1 end
  if tags > 1 then
    out[#out + 1] = fmt("it has %d hashtags; Threads takes one topic " ..
                        "tag", tags)
  end
  local links = 0
  for _ in text:gmatch("https?://") do links = links + 1 end
  if links > 0 then
    out[#out + 1] = "it contains a link (the item's link is added after)"
  end
  return out
end

-- A second model's opinion: it lists what the facts do not support, one
-- "UNSUPPORTED: ..." line each. Its findings add to the checker's.
local function verify(ctx, item, text, o)
  local c = o.campaign
  local messages = {
    { role = "system", content = "You check a post against facts. " ..
      "For every claim in POST that FACTS do not support, write one " ..
      "line 'UNSUPPORTED: <the claim>'. If every claim is supported, " ..
      "write 'ALL SUPPORTED'." },
    { role = "user", content = "FACTS: " .. _M.facts_json(item) ..
      "\nPOST: " .. text },
  }
  local entry, err = od.service(ctx, c.copy.verify_with)
  if not entry then return nil, err end
  local resv, rerr = o.reserve(entry, { messages = messages,
                                        max_tokens = 400 })
  if not resv then return nil, rerr end
  local r, cerr = chat.chat(ctx, { service = c.copy.verify_with,
    messages = messages, max_tokens = 400, stream = false,
    reservation = resv })
  if not r then return nil, cerr end
  local found = {}
  for line in tostring(r.answer):gmatch("[^\n]+") do
    local claim = line:match("^%s*UNSUPPORTED:%s*(.-)%s*$")
    if claim and claim ~= "" then found[#found + 1] = claim end
  end
  return found
end

-- The default check step: the deterministic claim checker, the format
-- rules, and the second model when copy.verify_with names one.
function _M.check(ctx, item, text, o)
  local c = o.campaign
  local report = claims.check(text, item.facts, {
    vocabulary = c.check.vocabulary, superlatives = c.check.superlatives,
    near_m = c.check.near_m })
  report.feedback = claims.feedback(report)
  for _, p in ipairs(format_problems(text, o)) do
    report.ok = false
    report.unsupported[#report.unsupported + 1] = { kind = "format",
      text = p, supported = false, reason = p }
    report.feedback = report.feedback .. "\nFix the form: " .. p .. "."
  end
  if c.copy.verify_with and not ctx.dry_run then
    local found, err = verify(ctx, item, text, o)
    if not found then return nil, err end
    report.verifier = { service = c.copy.verify_with, found = found }
    for _, f in ipairs(found) do
      report.ok = false
      report.unsupported[#report.unsupported + 1] = { kind = "verifier",
        text = f, supported = false,
        reason = c.copy.verify_with .. " found no fact for it" }
      report.feedback = report.feedback .. "\nDo not claim: " .. f ..
                        " (no fact supports it)."
    end
  end
  return report
end

-- The prompt of an image: what the facts say the place is, and the
-- campaign's style; nothing the facts do not state.
function _M.image_prompt(c, item)
  local f = item.facts.fields or {}
  local parts = { item.title }
  for _, k in ipairs { "type", "location", "style", "view" } do
    if type(f[k]) == "string" then parts[#parts + 1] = f[k] end
  end
  if type(f.amenities) == "table" and #f.amenities > 0 then
    local a = {}
    for i, x in ipairs(f.amenities) do a[i] = tostring(x) end
    parts[#parts + 1] = "with " .. table.concat(a, ", ")
  end
  parts[#parts + 1] = c.image.style
  return table.concat(parts, "; ")
end

-- The default image step: flux (or image.service) from the facts, or
-- the item's own images. A job a killed run created is waited for, not
-- paid again.
function _M.image(ctx, item, o)
  local c = o.campaign
  if c.image.mode == "none" then return { images = {} } end
  if c.image.mode == "own" then return { images = item.images } end
  local job
  if o.saved and o.saved.request_id then
    log.info(fmt("%s: waiting for image %s (made by an earlier run)",
                 item.id, o.saved.request_id))
    local j, perr = od.poll_until_done(ctx, {
      request_id = o.saved.request_id, interval = 1, timeout = 180,
      on_state = function(state, elapsed)
        log.progress(item.id, fmt("image: %s (%d s)", tostring(state),
                                  math.floor(elapsed or 0)))
      end })
    if not j then return nil, perr end
    job = j
  else
    local entry, err = od.service(ctx, c.image.service)
    if not entry then return nil, err end
    local resv, rerr = o.reserve(entry, {})
    if not resv then return nil, rerr end
    -- wait 0: the answer (with the job's id) comes at once and is
    -- checkpointed before the wait, which is then a poll; a wait held
    -- open by the server would leave a killed run without the id
    local r, ierr = od.infer(ctx, { service = c.image.service,
      input = { prompt = _M.image_prompt(c, item) }, wait = 0,
      poll = true, poll_interval = 1, poll_timeout = 180,
      reservation = resv,
      on_job = function(j) o.checkpoint { request_id = j.id } end,
      on_state = function(state, elapsed)
        log.progress(item.id, fmt("image: %s (%d s)", tostring(state),
                                  math.floor(elapsed or 0)))
      end })
    if not r then return nil, ierr end
    if r.dry_run then return nil, errors.new("dry_run", "not sent") end
    job = { id = r.request_id, state = r.state, output = r.output }
  end
  if job.state ~= "success" then
    return nil, errors.new("job_failed", fmt("%s: image %s ended in " ..
      "state %s", item.id, tostring(job.id), tostring(job.state)))
  end
  local url = type(job.output) == "table" and
              (job.output.image_url or job.output.url)
  if type(url) ~= "string" then
    return nil, errors.new("protocol", fmt("%s: image %s has no " ..
      "image_url", item.id, tostring(job.id)))
  end
  return { images = { url }, request_id = job.id }
end

-- The default schedule step: queue the post at its slot in the user's
-- Threads backend, with the campaign's idempotency key.
function _M.schedule(ctx, item, post, o)
  local c = o.campaign
  local r, err = threads.publish(ctx, {
    message = post.text, images = post.images, at = post.at,
    mode = "queue", proxy_images = c.threads.proxy_images,
    tenant = c.threads.tenant, source = "clawhost-campaign",
    idempotency_key = post.idempotency_key,
    retry_hint = "made from the campaign, the item and the step: a " ..
                 "rerun sends the same key, so the post is never " ..
                 "queued twice" })
  if not r then return nil, err end
  if r.dry_run then return r end
  return { id = r.id, scheduled_at = r.scheduled_at, status = r.status,
           already_queued = r.already_queued }
end

return _M
