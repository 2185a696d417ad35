-- threads: the client of the user's ThreadClaw FastAPI backend.
--
-- The skill (seeds/000) fixes the paths, the X-Queue-Secret header and
-- the payload fields; reference/threads-api.md section 6 is the
-- contract of the backend and 6.7 says what a client does with each
-- answer. docs/threads.md is the user's page.
--
--   threads.settings{secret = true}     base URL, tenant, queue secret
--   threads.publish(ctx, opts)          POST /api/v1/threads/publish
--   threads.postimg(ctx, opts)          POST /api/v1/assistant/chat
--   threads.validate(posts, o)          every problem of a list of
--                                       posts, before anything is
--                                       sent or paid for
--   threads.queue_list(ctx, opts)       GET  /api/v1/threads/queue
--   threads.queue_show(ctx, id)         GET  /api/v1/threads/queue/{id}
--   threads.queue_cancel(ctx, id)       DELETE /api/v1/threads/queue/{id}
--
-- One concern per file below lua/threads/: settings (the backend as a
-- client of lua/client, and the contract's numbers), check (input that
-- can never be accepted), body (the request bodies), send (a keyed
-- POST, sent again only when that cannot store it twice), explain
-- (answers and failures as messages), result (answers, of any shape,
-- as results). Their pure parts are public here too (check_base_url,
-- utf8_bytes, text, links, check_publish, publish_body, chat_body,
-- format_detail, explain, retry_after, find_id, ...), for other
-- libraries and for tests/lua/threads_test.lua.
--
-- Every option table takes flags = {option = "--flag"}: the flag names
-- of the calling recipe, used by every message about that input.
--
-- Failures are nil, err with a code of the shared list
-- (docs/errors.md): "config" (settings, wrong secret, a redirect: exit
-- 2), "usage" (input Threads can never accept, caught before sending:
-- exit 2), "dry_run" never (a dry run returns the plan as the result),
-- else the code of the backend's answer ("invalid_request", "conflict",
-- "too_large", "rate_limited", "server_error", ...) or of the transport
-- ("connect", "timeout", ...). Bad arguments raise.
local errors = require "errors"
local log = require "log"
local client = require "client"
local body = require "threads.body"
local check = require "threads.check"
local explain = require "threads.explain"
local result = require "threads.result"
local send = require "threads.send"
local settings = require "threads.settings"

local _M = {}

for _, k in ipairs { "PUBLISH_PATH", "CHAT_PATH", "QUEUE_PATH",
                     "TEXT_LIMIT", "LINKS_LIMIT", "IMAGES_LIMIT",
                     "PAST_GRACE_S",
                     "DEFAULT_TENANT", "DEFAULT_SOURCE", "DEFAULT_PROVIDER",
                     "DEFAULT_MODEL", "DEFAULT_CHAT_MESSAGE",
                     "PUBLISH_TIMEOUT_MS", "PUBLISH_RETRIES",
                     "PUBLISH_DEADLINE_MS", "CHAT_TIMEOUT_MS",
                     "QUEUE_TIMEOUT_MS" } do
  _M[k] = settings[k]
end
_M.FLAGS = check.FLAGS
_M.MAX_PAUSE_S = client.MAX_PAUSE_S

_M.settings = settings.get
_M.check_base_url = client.check_base_url
_M.new_idempotency_key = client.new_idempotency_key
_M.duration = client.duration
_M.val = client.val
_M.utf8_bytes = check.utf8_bytes
_M.text = check.text
_M.links = check.links
_M.check_publish = check.publish
_M.check_postimg = check.postimg_problems
_M.publish_body = body.publish
_M.chat_body = body.chat
_M.loc_path = explain.loc_path
_M.format_detail = explain.format_detail
_M.retry_after = explain.retry_after
_M.explain = explain.answer
_M.find_id = result.find_id
_M.accepted = result.accepted
_M.generated = result.generated
_M.idempotency_evidence = send.evidence
_M.retry_step = send.step
_M.PUBLISH_POLICY = send.PUBLISH
_M.CHAT_POLICY = send.CHAT

local fmt = string.format

local function fail(code, message, fields)
  return nil, errors.new(code, message, fields)
end

-- A request that got no answer: the plan of a dry run, else the
-- failure said for people.
local function unsent(err, info)
  if err.code == "dry_run" then
    return result.plan(err, { idempotency_key = info.key })
  end
  return nil, explain.transport(err, info)
end

---------------------------------------------------------------------------
-- publish

-- Queue (or publish at once) one post. opts: message, images (list),
-- at (RFC 3339 with offset), mode ("queue"|"now"), proxy_images
-- (default true), tenant, source, chat_id, user_id, username,
-- idempotency_key; flags = {name = "--flag"} to rename flags in
-- messages (before and after sending); retry_hint (what the log line
-- says about retrying, for a caller whose user has no
-- --idempotency-key flag). Any 2xx is a post the backend took
-- (result.accepted finds its id, or says none came back).
function _M.publish(ctx, opts)
  if type(opts) ~= "table" then
    error("threads.publish: expected an options table", 2)
  end
  local problems, scheduled = check.publish(opts)
  if #problems > 0 then
    return fail("usage", table.concat(problems, "; ") ..
                " (nothing was sent)", { problems = problems })
  end
  local s, err = settings.get { secret = true }
  if not s then return nil, err end
  local key = opts.idempotency_key or client.new_idempotency_key("clawhost")
  local dry = ctx and ctx.dry_run
  local info = { base_url = s.base_url, path = _M.PUBLISH_PATH,
                 what = "publish", key = key, flags = opts.flags }
  if not dry then
    log.info(fmt("publishing with idempotency key %s (%s)", key,
                 opts.retry_hint or fmt("if this run fails, %s %s " ..
                 "repeats it", check.flag(opts, "idempotency_key"), key)))
  end
  local res, attempts
  res, err, attempts, info.honours = send.post({
    method = "POST", url = s.base_url .. _M.PUBLISH_PATH,
    headers = { ["X-Queue-Secret"] = s.secret },
    json = body.publish(s, opts, scheduled), idempotency_key = key,
  }, send.PUBLISH, { base_url = s.base_url, key = key, dry_run = dry })
  info.attempts = attempts
  if not res then return unsent(err, info) end
  if res.status >= 200 and res.status < 300 then
    return result.accepted(res, key, attempts)
  end
  return nil, explain.answer(res, info)
end

---------------------------------------------------------------------------
-- postimg (assistant)

-- Generate one image with the backend's assistant and queue it.
-- opts: prompt (required), caption, message, chat_id, session_id,
-- tenant, source, campaign, provider, model, api_base_url,
-- execute_tools (default true), idempotency_key, flags. The result
-- says only what the backend's reply says: its queue item, its plan
-- (tool calls all "planned"), or its own words, not confirmed.
function _M.postimg(ctx, opts)
  if type(opts) ~= "table" then
    error("threads.postimg: expected an options table", 2)
  end
  local ok, err = check.postimg(opts)
  if not ok then return nil, err end
  local s
  s, err = settings.get {}
  if not s then return nil, err end
  local key = opts.idempotency_key or
              client.new_idempotency_key("clawhost-img")
  local chat = body.chat(s, opts)
  if opts.api_base_url then
    chat.context.api_base_url = client.check_base_url(opts.api_base_url)
  end
  local dry = ctx and ctx.dry_run
  local info = { base_url = s.base_url, path = _M.CHAT_PATH,
                 what = "assistant", key = key, flags = opts.flags }
  local res, attempts
  res, err, attempts, info.honours = send.post({
    method = "POST", url = s.base_url .. _M.CHAT_PATH, json = chat,
    idempotency_key = key,
  }, send.CHAT, { base_url = s.base_url, key = key, dry_run = dry })
  info.attempts = attempts
  if not res then return unsent(err, info) end
  if res.status < 200 or res.status >= 300 then
    return nil, explain.answer(res, info)
  end
  return result.generated(res, key, attempts, opts.execute_tools ~= false)
end

---------------------------------------------------------------------------
-- validate first, then spend and send

-- Copy of item with flags (the item's own names win over o.flags').
local function with_flags(item, flags)
  if not flags then return item end
  local t = {}
  for k, v in pairs(item) do t[k] = v end
  local f = {}
  for k, v in pairs(flags) do f[k] = v end
  for k, v in pairs(item.flags or {}) do f[k] = v end
  t.flags = f
  return t
end

-- An item's problems: a post (threads.publish's options; pending_images
-- = N: images a later step will make, counted but not checked) or,
-- with kind = "postimg", the assistant's input.
local function item_problems(item, now)
  if item.kind == "postimg" then return check.postimg_problems(item) end
  if item.kind ~= nil and item.kind ~= "publish" then
    error("threads.validate: kind must be \"publish\" or \"postimg\"",
          3)
  end
  local pending = item.pending_images or 0
  if math.type(pending) ~= "integer" or pending < 0 then
    error("threads.validate: pending_images must be a whole number", 3)
  end
  if pending == 0 then return (check.publish(item, now)) end
  local t = {}
  for k, v in pairs(item) do t[k] = v end
  local images = {}
  for i, u in ipairs(item.images or {}) do images[i] = u end
  for i = 1, pending do
    images[#images + 1] = "https://pending.invalid/" .. i
  end
  t.images = images
  return (check.publish(t, now))
end

-- Everything about a list of posts that can be known before anything
-- is sent or paid for: each post's input (as threads.publish and
-- threads.postimg check it), keys used twice, and the settings the
-- calls will need. Returns true, or nil, err: err.code "usage" ("config"
-- when a setting is missing or bad), err.problems the list of
-- {post = i (nil for the settings), message}, err.message all of them
-- ("post 2: --text is 520 UTF-8 bytes ...; post 4: ..."). o: flags
-- (for every post; a post's own flags win), settings (false: do not
-- check them), now (for the tests).
function _M.validate(posts, o)
  if type(posts) ~= "table" then
    error("threads.validate: expected a list of posts", 2)
  end
  o = o or {}
  local problems, lines = {}, {}
  local code = "usage"
  local function add(i, message)
    problems[#problems + 1] = { post = i, message = message }
    lines[#lines + 1] = (i and #posts > 1) and fmt("post %d: %s", i,
                                                   message) or message
  end
  local keys, need_secret, any = {}, false, false
  for i, item in ipairs(posts) do
    if type(item) ~= "table" then
      error(fmt("threads.validate: post %d is not a table", i), 2)
    end
    item = with_flags(item, o.flags)
    any = true
    need_secret = need_secret or item.kind ~= "postimg"
    for _, p in ipairs(item_problems(item, o.now)) do add(i, p) end
    local key = item.idempotency_key
    if type(key) == "string" then
      if keys[key] then
        add(i, fmt("%s %s is also post %d's: each post needs its own " ..
                   "key", check.flag(item, "idempotency_key"), key,
                   keys[key]))
      else
        keys[key] = i
      end
    end
  end
  if any and o.settings ~= false then
    local s, err = settings.get { secret = need_secret }
    if not s then
      code = "config"
      add(nil, err.message)
    end
  end
  if #problems == 0 then return true end
  return nil, errors.new(code, table.concat(lines, "; ") ..
                         " (nothing was sent)", { problems = problems })
end

---------------------------------------------------------------------------
-- queue

local function queue_request(s, method, path, query)
  return {
    method = method, url = s.base_url .. path, query = query,
    headers = { ["X-Queue-Secret"] = s.secret },
    timeout_ms = _M.QUEUE_TIMEOUT_MS,
  }
end

-- List queue items (threads-api.md 6.4). opts: tenant (default the
-- configured one; "*" for all), status (one or "a,b"), source, limit,
-- cursor.
function _M.queue_list(ctx, opts)
  opts = opts or {}
  local s, err = settings.get { secret = true }
  if not s then return nil, err end
  local tenant = opts.tenant or s.tenant_id
  local query = { status = opts.status, source = opts.source,
                  limit = opts.limit, cursor = opts.cursor }
  if tenant ~= "*" then query.tenant_id = tenant end
  local info = { base_url = s.base_url, path = _M.QUEUE_PATH,
                 what = "queue" }
  local res, attempts
  res, err, attempts = client.send(queue_request(s, "GET", _M.QUEUE_PATH,
                                                 query))
  if not res then return unsent(err, info) end
  info.attempts = attempts
  if res.status ~= 200 then return nil, explain.answer(res, info) end
  local d = client.json(res.body)
  if type(d) ~= "table" or type(d.items) ~= "table" then
    return fail("protocol", fmt("%s%s answered without an item list: %s",
      s.base_url, _M.QUEUE_PATH, explain.excerpt(res.body)))
  end
  return result.queue(d, tenant, opts)
end

-- One queue item: GET shows it, DELETE cancels it (6.4).
local function queue_item(method, id)
  local ok, err = check.queue_id(id)
  if not ok then return nil, err end
  local s
  s, err = settings.get { secret = true }
  if not s then return nil, err end
  local path = _M.QUEUE_PATH .. "/" .. id
  local info = { base_url = s.base_url, path = path, what = "queue",
                 item_id = id }
  local res, attempts
  res, err, attempts = client.send(queue_request(s, method, path))
  if not res then return unsent(err, info) end
  info.attempts = attempts
  if res.status ~= 200 then return nil, explain.answer(res, info) end
  local d = client.json(res.body)
  if type(d) ~= "table" then
    return fail("protocol", "the backend answered without JSON: " ..
                explain.excerpt(res.body))
  end
  return result.item(d), d
end

function _M.queue_show(ctx, id)
  local r, err = queue_item("GET", id)
  return r, (r == nil and err or nil)
end

function _M.queue_cancel(ctx, id)
  local r, d = queue_item("DELETE", id)
  if r and not r.dry_run then
    r.summary = fmt("canceled %s", tostring(d.id))
  end
  return r, (r == nil and d or nil)
end

return _M
