-- threads.result: the result tables of the Threads recipes, made from
-- the backend's 2xx answers (threads-api.md 6.2 to 6.5). Pure.
--
--   result.plan(err, extra)                  a dry run's plan
--   result.accepted(body, res, key, tries)   a post the queue took
--   result.generated(d, key, tries)          the assistant's answer
--   result.queue(d, tenant, opts)            a page of the queue
--   result.item(item)                        one queue item
local client = require "client"
local json = require "json"

local _M = {}

local fmt = string.format
local val = client.val

function _M.plan(err, extra)
  local r = {
    dry_run = true,
    summary = "dry run: nothing was sent; this is the request " ..
              "clawhost would send",
    request = err.plan,
  }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function image_urls(list)
  local out = json.array()
  if type(list) ~= "table" then return out end
  for i, im in ipairs(list) do
    out[i] = type(im) == "table" and
             (val(im.public_url) or val(im.source_url)) or tostring(im)
  end
  return out
end

-- A post the queue took: 202 new, 200 dedup, or a replay.
function _M.accepted(body, res, key, attempts)
  local r = {
    id = val(body.id), status = val(body.status),
    scheduled_at = val(body.scheduled_at),
    publish_mode = val(body.publish_mode),
    media_type = val(body.media_type), tenant_id = val(body.tenant_id),
    position = val(body.position),
    images = image_urls(body.images), idempotency_key = key,
    already_queued = false,
  }
  if type(body.warnings) == "table" and #body.warnings > 0 then
    r.warnings = body.warnings
  end
  local when = r.scheduled_at and ", scheduled " .. r.scheduled_at or ""
  local replay = body.idempotent_replay == true or
                 (res.headers and res.headers["idempotency-replayed"]
                  == "true")
  if body.deduplicated == true then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); the same post was " ..
      "queued moments ago, so nothing new was added", tostring(body.id),
      tostring(body.status), when)
  elseif replay and attempts <= 1 then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); idempotency key %s " ..
      "was used before, so nothing new was added", tostring(body.id),
      tostring(body.status), when, key)
  else
    r.summary = fmt("queued %s (%s%s)%s", tostring(body.id),
      tostring(body.status), when, replay and
      "; confirmed by a retry with the same idempotency key" or "")
  end
  return r
end

-- The assistant's answer: the image it made and the post it queued,
-- or its plan when execute_tools was false.
function _M.generated(d, key, attempts)
  local r = { reply = val(d.reply), session_id = val(d.session_id),
              idempotency_key = key, already_queued = false }
  for _, call in ipairs(type(d.tool_calls) == "table" and d.tool_calls
                        or {}) do
    if call.name == "generate_image" then
      r.image = val(call.public_url) or val(call.output_url)
      r.prediction_id = val(call.prediction_id)
      r.model = val(call.model)
      r.cost_usd = val(call.cost_usd)
    end
  end
  local item = val(d.queue_item)
  if type(item) ~= "table" then
    r.summary = "planned only (execute_tools is false): nothing was " ..
                "generated or queued"
    r.planned = true
    return r
  end
  r.id, r.status = val(item.id), val(item.status)
  r.scheduled_at = val(item.scheduled_at)
  local when = r.scheduled_at and ", scheduled " .. r.scheduled_at or ""
  if d.idempotent_replay == true and attempts <= 1 then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); idempotency key %s was " ..
      "used before, so nothing new was generated", tostring(item.id),
      tostring(item.status), when, key)
  else
    r.summary = fmt("generated 1 image and queued %s (%s%s)",
                    tostring(item.id), tostring(item.status), when)
  end
  return r
end

local function item_row(item)
  local th = type(item.threads) == "table" and item.threads or {}
  local e = type(item.error) == "table" and item.error or nil
  return {
    id = val(item.id), status = val(item.status),
    when = val(item.published_at) or val(item.scheduled_at),
    media = val(item.media_type), tenant = val(item.tenant_id),
    text = client.excerpt(val(item.message) or "", 40),
    permalink = val(th.permalink) or
                (e and "error: " .. tostring(val(e.code))) or "",
  }
end

local QUEUE_COLUMNS = { "id", "status", "when", "media", "text",
                        "permalink" }

-- d: {items, next_cursor}; tenant: the one listed, or "*" for all.
function _M.queue(d, tenant, opts)
  local rows = {}
  for i, item in ipairs(d.items) do rows[i] = item_row(item) end
  local r = {
    tenant_id = tenant ~= "*" and tenant or "(all)",
    count = #rows,
    items = rows,
    columns = QUEUE_COLUMNS,
  }
  if #rows == 0 then
    r.summary = "the queue is empty" ..
                (opts.status and " for status " .. opts.status or "")
  end
  if val(d.next_cursor) ~= nil then
    r.next_cursor = d.next_cursor
    r.more = "more items: repeat with --cursor " .. tostring(d.next_cursor)
  end
  return r
end

function _M.item(item)
  local th = type(item.threads) == "table" and item.threads or {}
  local e = type(item.error) == "table" and item.error or nil
  local meta = type(item.meta) == "table" and item.meta or {}
  return {
    id = val(item.id), status = val(item.status),
    tenant_id = val(item.tenant_id), media_type = val(item.media_type),
    publish_mode = val(item.publish_mode), message = val(item.message),
    images = image_urls(item.images),
    scheduled_at = val(item.scheduled_at),
    published_at = val(item.published_at),
    created_at = val(item.created_at), attempts = val(item.attempts),
    permalink = val(th.permalink), source = val(meta.source),
    error = e and fmt("%s: %s", tostring(val(e.code)),
                      tostring(val(e.message))) or nil,
  }
end

return _M
