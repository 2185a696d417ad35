-- threads.result: the result tables of the Threads recipes, made from
-- the backend's 2xx answers (threads-api.md 6.2 to 6.5). Pure.
--
--   result.plan(err, extra)                  a dry run's plan
--   result.find_id(doc, o)                   where a reply keeps its id
--   result.accepted(res, key, tries)         a post the backend took
--   result.generated(res, key, tries, exec)  the assistant's answer
--   result.queue(d, tenant, opts)            a page of the queue
--   result.item(item)                        one queue item
local client = require "client"
local json = require "json"
local check = require "threads.check"

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

-- Where backends put the id of what they queued. The contract's `id`
-- first (threads-api.md 6.2), then the names other backends use, then
-- the same names inside the objects they wrap the item in; at most
-- ID_DEPTH objects deep, so a reply of any size costs little.
_M.ID_NAMES = { "id", "job_id", "queue_id", "queue_item_id", "item_id",
                "post_id", "task_id", "jobId", "queueId", "queueItemId",
                "itemId", "postId", "taskId" }
_M.ID_WRAPPERS = { "queue_item", "queueItem", "data", "item", "result",
                   "job", "post", "queued", "task", "payload" }
local ID_DEPTH = 3

local function id_value(v)
  if type(v) == "string" and v:find("%S") and #v <= 256 then return v end
  if math.type(v) == "integer" or
     (type(v) == "number" and v == math.floor(v) and v >= 0) then
    return client.whole(v)
  end
  return nil
end

-- An object a wrapper holds: itself, or the only element of a list.
local function wrapped(v)
  if type(v) ~= "table" then return nil end
  if json.is_array(v) or v[1] ~= nil then
    return (#v == 1 and type(v[1]) == "table") and v[1] or nil
  end
  return v
end

-- find_id(doc, o) -> id (a string), the object it is in, its path
-- ("data.id"); or nil. o.names: the names looked for at the top
-- level (default ID_NAMES; the assistant's own `id` is not a queue
-- item's). Breadth first: a name near the top wins.
function _M.find_id(doc, o)
  o = o or {}
  local level = { { obj = wrapped(doc), path = "" } }
  for depth = 1, ID_DEPTH do
    local next_level = {}
    for _, at in ipairs(level) do
      if at.obj then
        local names = (depth == 1 and o.names) or _M.ID_NAMES
        for _, name in ipairs(names) do
          local id = id_value(at.obj[name])
          if id then return id, at.obj, at.path .. name end
        end
        for _, name in ipairs(_M.ID_WRAPPERS) do
          local inner = wrapped(at.obj[name])
          if inner then
            next_level[#next_level + 1] = { obj = inner,
                                            path = at.path .. name .. "." }
          end
        end
      end
    end
    level = next_level
  end
  return nil
end

local function first_string(objs, names)
  for _, obj in ipairs(objs) do
    if type(obj) == "table" then
      for _, name in ipairs(names) do
        local v = val(obj[name])
        if type(v) == "string" and v ~= "" then return v end
      end
    end
  end
  return nil
end

-- The backend's reply for people: its JSON as it came, or its text,
-- on one line and cut (an empty reply says so).
function _M.reply_text(body)
  if type(body) ~= "string" or not body:find("%S") then
    return "(an empty reply)"
  end
  return client.excerpt(body, 300)
end

local function replayed(doc, res)
  return (type(doc) == "table" and doc.idempotent_replay == true) or
         (res.headers and tostring(res.headers["idempotency-replayed"])
          :lower() == "true")
end

-- A post the backend took: any 2xx. The contract's 202 (new), 200
-- (dedup) or a replay, or another backend's own shape: its id is
-- found where backends put it; with none, the post was accepted and
-- the reply is shown as it came.
function _M.accepted(res, key, attempts)
  local doc = client.json(res.body)
  local id, obj, path = _M.find_id(doc)
  local top = type(doc) == "table" and doc or {}
  obj = obj or top
  local r = {
    id = id, status = first_string({ obj, top }, { "status", "state" }),
    scheduled_at = first_string({ obj, top }, { "scheduled_at",
      "scheduled_for", "scheduledAt", "publish_at", "run_at" }),
    publish_mode = val(top.publish_mode),
    media_type = val(top.media_type), tenant_id = val(top.tenant_id),
    position = val(top.position),
    images = image_urls(top.images), idempotency_key = key,
    already_queued = false,
  }
  if id and path ~= "id" then r.id_field = path end
  if type(top.warnings) == "table" and #top.warnings > 0 then
    r.warnings = top.warnings
  end
  if not id then
    r.accepted = true
    r.reply = _M.reply_text(res.body)
    r.summary = fmt("accepted, no id returned: the backend answered " ..
                    "%d: %s", res.status, r.reply)
    return r
  end
  local how = r.status or "accepted"
  local when = r.scheduled_at and ", scheduled " .. r.scheduled_at or ""
  local replay = replayed(doc, res)
  if top.deduplicated == true then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); the same post was " ..
      "queued moments ago, so nothing new was added", id, how, when)
  elseif replay and attempts <= 1 then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); idempotency key %s " ..
      "was used before, so nothing new was added", id, how, when, key)
  else
    r.summary = fmt("queued %s (%s%s)%s", id, how, when, replay and
      "; confirmed by a retry with the same idempotency key" or "")
  end
  return r
end

-- The assistant's own words: its reply field, else its whole answer.
local function assistant_text(doc, body)
  local said = first_string({ doc }, { "reply", "message", "text",
                                       "answer", "content", "output" })
  return said and client.excerpt(said, 500) or _M.reply_text(body)
end

-- What the assistant's tool calls say: the image, and whether every
-- call is only planned (the contract's answer to execute_tools false).
local function read_tools(d, r)
  local calls = type(d.tool_calls) == "table" and d.tool_calls or {}
  local planned, any = true, false
  for _, call in ipairs(calls) do
    if type(call) == "table" then
      any = true
      if call.status ~= "planned" then planned = false end
      if call.name == "generate_image" then
        r.image = val(call.public_url) or val(call.output_url)
        r.prediction_id = val(call.prediction_id)
        r.model = val(call.model)
        r.cost_usd = val(call.cost_usd)
      end
      if call.name == "enqueue_threads_post" and not r.id then
        r.id = id_value(val(call.queue_item_id))
      end
    end
  end
  return any and planned
end

-- The names an assistant's reply may give its queue item's id under at
-- its top level (its own `id` is the chat's, not the item's).
local ASSISTANT_ID_NAMES = { "queue_item_id", "queue_id", "job_id",
                             "post_id", "item_id" }

-- The assistant's answer (any 2xx): the image it made and the post it
-- queued; its plan when the backend says it only planned; else its
-- own words, with a note that the outcome is not confirmed. execute:
-- what was asked (execute_tools).
function _M.generated(res, key, attempts, execute)
  local doc = client.json(res.body)
  local d = (type(doc) == "table" and not json.is_array(doc)) and doc
            or {}
  local r = { reply = assistant_text(d, res.body),
              session_id = val(d.session_id), idempotency_key = key,
              already_queued = false }
  local planned = read_tools(d, r) or d.planned == true
  local item = type(val(d.queue_item)) == "table" and d.queue_item or nil
  if item then
    r.id = id_value(val(item.id)) or r.id
    r.status = val(item.status)
    r.scheduled_at = val(item.scheduled_at)
  end
  if not r.id then
    local id, obj = _M.find_id(d, { names = ASSISTANT_ID_NAMES })
    if id then
      r.id = id
      r.status = first_string({ obj }, { "status", "state" })
      r.scheduled_at = first_string({ obj }, { "scheduled_at" })
    end
  end
  if not r.id and planned then
    r.planned = true
    r.summary = fmt("planned only%s: the backend says nothing was " ..
      "generated or queued", execute == false and
      " (execute_tools is false)" or "")
    return r
  end
  if not r.id then
    r.unconfirmed = true
    r.summary = fmt("not confirmed: the assistant answered %d%s but " ..
      "named no queue item, so clawhost cannot tell whether a post " ..
      "was queued; its reply is shown as reply. Check with `clawhost " ..
      "run queue` before trying again (idempotency key %s)",
      res.status, r.image and " with an image (" .. r.image .. ")" or "",
      key)
    return r
  end
  local how = r.status or "accepted"
  local when = r.scheduled_at and ", scheduled " .. r.scheduled_at or ""
  if replayed(doc, res) and attempts <= 1 then
    r.already_queued = true
    r.summary = fmt("already queued: %s (%s%s); idempotency key %s was " ..
      "used before, so nothing new was generated", r.id, how, when, key)
  elseif r.image then
    r.summary = fmt("generated 1 image and queued %s (%s%s)", r.id, how,
                    when)
  else
    r.summary = fmt("queued %s (%s%s); the reply names no image",
                    r.id, how, when)
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
    r.more = fmt("more items: repeat with %s %s",
                 check.flag(opts, "cursor"), tostring(d.next_cursor))
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
