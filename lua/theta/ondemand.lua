-- theta.ondemand: the Theta EdgeCloud on-demand Model API.
--
--   local od = require "theta.ondemand"
--   od.services(ctx)                         entries, info (live, else the
--                                            bundled catalog + a warning)
--   od.list_services(ctx, {category =})      a printable result
--   od.service(ctx, alias)                   entry, or nil, err (not_found,
--                                            with err.suggestions)
--   od.infer(ctx, {service, input, wait, prediction, variant, webhook,
--                  poll, poll_interval, poll_timeout, on_state,
--                  reservation})             result, or nil, err
--   od.status(ctx, {request_id})             result, or nil, err
--   od.poll_until_done(ctx, {request_id, interval, timeout, on_state})
--                                            job, info, or nil, err
--   od.upload_url(ctx, {service, input_fields, prediction})
--   od.upload(ctx, {url, bytes, content_type})
--   od.reserve(ctx, entry, estimate)         a reservation, or nil, err
--   od.close(reservation, cost_nano, sent)   settle or release it
--   od.begin(ctx, entry, args, estimate)     check the key, then reserve
--                                            (or use args.reservation)
--   od.give_back(ctx, args, err)             release args.reservation;
--                                            nil, err
--   od.failed(ctx, resv, alias, err)         settle a failed request
--
-- Money: every paid call (infer here, chat in theta.chat) reserves its
-- worst case with the budget module before a byte leaves, and settles
-- what the call really cost from its usage (theta.pricing), never from
-- cost_usd. Refused requests (4xx) and requests that never left release
-- the reservation; anything else that ends without a usage (a timeout,
-- a cut stream, a job still running) is settled at the reservation.
--
-- Dry run (ctx.dry_run): GETs go out as usual (service list, status);
-- everything else returns {dry_run = true, plan = ...}: what would have
-- been sent, and the worst case it would have reserved.
local budget = require "budget"
local clock = require "clock"
local config = require "config"
local chatstream = require "chatstream"
local errors = require "errors"
local json = require "json"
local log = require "log"
local task = require "task"
local shared = require "client"
local catalog = require "theta.catalog"
local client = require "theta.client"
local pricing = require "theta.pricing"

local _M = {}

local TERMINAL = { success = true, error = true, failed = true,
                   cancelled = true }
_M.TERMINAL = TERMINAL

local live -- {entries, info} from the first successful discovery
-- A failed discovery is not repeated in the same run: every service of
-- a smoke run would retry it, each warning on its own (issue 15). While
-- one task discovers, the others wait for its answer.
local fallback -- {entries, info} of the bundled catalog, once it failed
local discovering = false

-- ---- catalog ---------------------------------------------------------

local function fetch_live(ctx)
  local res, err = client.request(ctx, { path = "/service/list",
                                         auth = false,
                                         what = "list services" })
  if not res then return nil, err end
  local v, derr = client.decode(res, "list services")
  if not v then return nil, derr end
  local body, berr = client.body_of(v, "list services")
  if not body then return nil, berr end
  if type(body.services) ~= "table" then
    return nil, errors.new("protocol", "list services: body.services " ..
                           "is missing")
  end
  local entries = {}
  for _, s in ipairs(body.services) do
    if type(s) == "table" and (s.state == nil or s.state == "public") then
      local e = catalog.from_live(s)
      if e then entries[#entries + 1] = e end
    end
  end
  if #entries == 0 then
    return nil, errors.new("protocol", "list services: no public services")
  end
  table.sort(entries, function(a, b) return a.alias < b.alias end)
  return entries
end

-- services(ctx[, {refresh = true}]) -> entries, info. info.source is
-- "live" or "catalog"; with "catalog", info.warning says why. A wrong
-- base URL is not a failed discovery: nil, err (config).
function _M.services(ctx, opts)
  local refresh = opts and opts.refresh
  while discovering and not refresh do task.sleep(0.02) end
  if live and not refresh then return live.entries, live.info end
  if fallback and not refresh then
    return fallback.entries, fallback.info
  end
  discovering = true
  local ok, entries, err = pcall(fetch_live, ctx)
  discovering = false
  if not ok then error(entries, 0) end
  if entries then
    live = { entries = entries, info = { source = "live" } }
    return entries, live.info
  end
  if err.code == "config" then return nil, err end
  local warning = "live service discovery failed (" ..
                  tostring(err.message) .. "); using the bundled catalog"
  log.warn(warning)
  local bundled = catalog.bundled()
  for _, e in ipairs(bundled) do e.source = "catalog" end
  fallback = { entries = bundled,
               info = { source = "catalog", warning = warning } }
  return bundled, fallback.info
end

-- service(ctx, alias) -> entry, or nil, err (code not_found, with
-- err.suggestions: close names).
function _M.service(ctx, alias)
  client.check_alias(alias)
  local entries, info = _M.services(ctx)
  if not entries then return nil, info end
  local e = catalog.index(entries)[alias]
  if e then return e, info end
  local close = catalog.close_names(alias, catalog.aliases(entries))
  local where = info.source == "live" and "on Theta on-demand" or
                "in the bundled catalog (live discovery failed)"
  local msg = "service '" .. alias .. "' does not exist " .. where
  if #close > 0 then
    msg = msg .. "; did you mean " .. table.concat(close, ", ") .. "?"
  end
  return nil, errors.new("not_found", msg, { suggestions = close,
                                             sent = "no" })
end

-- The 404 of a create call: the service vanished between discovery and
-- the call, or discovery failed. Say so with close names.
local function not_found(ctx, alias, err)
  local entries = _M.services(ctx) or {}
  local close = catalog.close_names(alias, catalog.aliases(entries))
  err.suggestions = close
  err.message = "service '" .. alias .. "' does not exist (" ..
                tostring(err.remote_message or "404") .. ")" ..
                (#close > 0 and ("; did you mean " ..
                                 table.concat(close, ", ") .. "?") or "")
  return err
end

local function price_row(e)
  return pricing.describe(e.price)
end

-- list_services(ctx, {category}) -> a result table for people and JSON.
function _M.list_services(ctx, args)
  args = args or {}
  local entries, info = _M.services(ctx)
  if not entries then return nil, info end
  local chosen = catalog.filter(entries, args.category)
  local rows = {}
  for _, e in ipairs(chosen) do
    rows[#rows + 1] = {
      alias = e.alias, name = e.name, category = catalog.category(e),
      prediction = e.prediction or "-",
      inputs = table.concat(e.inputs or {}, ","),
      variants = #e.variants > 0 and table.concat(e.variants, ",") or "-",
      price = price_row(e),
      stale = e.stale and true or nil,
    }
  end
  return {
    services = rows, count = #rows, source = info.source,
    warning = info.warning, category = args.category,
    columns = { "alias", "category", "prediction", "inputs", "variants",
                "price", "name" },
  }
end

-- ---- budget ----------------------------------------------------------

-- reserve(ctx, entry, estimate[, label[, cap]]) -> a reservation ({nano,
-- service, usd}), or nil, err (budget_exceeded, or unpriced when the
-- price of the service is unknown: no guard, no call). cap (USD) caps
-- the label over every run (a campaign's budget, budget.reserve).
function _M.reserve(ctx, entry, est, label, cap)
  if type(entry) ~= "table" then
    error("ondemand.reserve: expected a catalog entry", 2)
  end
  if not entry.price then
    return nil, errors.new("unpriced", "no price is known for " ..
      entry.alias .. ", so the budget guard cannot bound the call; " ..
      "refusing it", { sent = "no" })
  end
  local nano = pricing.worst_case_nano(entry, est)
  local r, err = budget.reserve(pricing.usd_string(nano),
                                label or entry.alias,
                                cap and { cap = cap } or nil)
  if not r then
    err.service = entry.alias
    err.sent = "no"
    err.message = entry.alias .. ": not called: " .. tostring(err.message)
    return nil, err
  end
  return { handle = r, nano = nano, service = entry.alias,
           usd = pricing.usd(nano), open = true }
end

-- close(r, cost_nano, sent) -> spent nano. sent "no" or "refused"
-- releases (nothing was charged); a known cost settles it; anything else
-- settles at the reserved amount (an unknown outcome is assumed
-- charged). A dry run settles at the reservation too, in memory, so a
-- plan adds up what the cap would allow.
function _M.close(r, cost, sent, dry)
  if not r or not r.open then return 0 end
  r.open = false
  if sent == "no" or sent == "refused" then
    if dry then
      r.handle:settle(pricing.usd_string(r.nano))
      r.spent = r.nano
      return r.nano
    end
    r.handle:release()
    r.spent = 0
    return 0
  end
  local amount = cost or r.nano
  r.handle:settle(pricing.usd_string(amount))
  r.spent = amount
  r.settled_at_reservation = cost == nil
  return amount
end

-- give_back(ctx, args, err) -> nil, err. A call that stops before its
-- request leaves must not keep the reservation its caller made for it
-- (the smoke run reserves every call before the first one goes out).
function _M.give_back(ctx, args, err)
  if args.reservation then
    _M.close(args.reservation, nil, "no", ctx and ctx.dry_run)
  end
  return nil, err
end

-- begin(ctx, entry, args, estimate) -> a reservation, or nil, err. The
-- credential is checked before money is held, so a missing key costs
-- nothing; a reservation the caller made is used as it is.
function _M.begin(ctx, entry, args, est)
  local h, herr = client.auth(ctx)
  if not h then return _M.give_back(ctx, args, herr) end
  if args.reservation then return args.reservation end
  return _M.reserve(ctx, entry, est)
end

-- failed(ctx, resv, alias, err) -> the plan of a dry run, or nil, err.
-- A request that did not come back settles by how far it got (err.sent).
function _M.failed(ctx, resv, alias, err)
  if err.code == "dry_run" then
    local spent = _M.close(resv, nil, "no", true)
    return { dry_run = true, service = alias, plan = err.plan,
             reserved_usd = pricing.usd_string(spent) }
  end
  if err.code == "not_found" then not_found(ctx, alias, err) end
  _M.close(resv, nil, err.sent, ctx and ctx.dry_run)
  err.service = alias
  return nil, err
end

-- ---- jobs ------------------------------------------------------------

local function http_timeout(wait, chat)
  local base = config.number("THETA_HTTP_TIMEOUT_MS", 20000, 1000, 120000)
  local t = math.max(base, math.floor((wait or 0) * 1000) + 30000)
  if chat then t = math.max(t, 120000) end
  return math.tointeger(t)
end

local function check_wait(w)
  if w == nil then return nil end
  if type(w) ~= "number" or w < 0 or w > 60 then
    error("wait must be a number of seconds from 0 to 60", 3)
  end
  return math.tointeger(math.floor(w))
end

local function opt_string(v, name)
  if v ~= nil and (type(v) ~= "string" or v == "") then
    error(name .. " must be a non-empty string", 3)
  end
  return v
end

local function first_job(body)
  local list = type(body) == "table" and body.infer_requests
  if type(list) == "table" and type(list[1]) == "table" then
    return list[1]
  end
  return nil
end

-- summary(job) -> what a person wants to see of a job; `cost_usd` from
-- usage x prediction_cost / divisor / 100 (never the job's cost_usd).
function _M.summary(job)
  local cost = pricing.job_cost_nano(job)
  return {
    request_id = job.id, state = job.state, prediction = job.prediction,
    variant = shared.val(job.variant),
    output = job.output, usage = job.usage,
    cost_usd = cost and pricing.usd_string(cost) or nil,
    error = shared.val(job.error_message), created = job.create_time,
    updated = job.update_time,
  }
end

-- poll_until_done(ctx, {request_id, interval = 3, timeout = 120,
-- on_state = fn(state, elapsed)}) -> job, info {attempts, elapsed,
-- state}, or nil, err (code timeout with err.job, or the GET's error).
-- GET /infer_request/{id}: the job, or nil, err.
local function fetch_job(ctx, id)
  local res, err = client.request(ctx, { path = "/infer_request/" .. id,
                                         what = "status of " .. id })
  if not res then return nil, err end
  local v, derr = client.decode(res, "status of " .. id)
  if not v then return nil, derr end
  local job = first_job(v.body)
  if not job then
    return nil, errors.new("protocol", "status of " .. id .. ": no " ..
                           "infer_requests in the answer")
  end
  return job
end

function _M.poll_until_done(ctx, args)
  local id = client.check_request_id(args.request_id)
  local interval = args.interval or 3
  local timeout = args.timeout or 120
  if type(interval) ~= "number" or type(timeout) ~= "number" then
    error("poll_until_done: interval and timeout are seconds", 2)
  end
  interval = math.min(60, math.max(0.1, interval))
  timeout = math.min(3600, math.max(1, timeout))
  local start = clock.monotonic()
  local attempts, last = 0, nil
  while true do
    attempts = attempts + 1
    local job, err = fetch_job(ctx, id)
    if not job then return nil, err end
    last = job
    local elapsed = clock.monotonic() - start
    if args.on_state then args.on_state(job.state, elapsed, job) end
    if TERMINAL[job.state] then
      return job, { attempts = attempts, elapsed = elapsed,
                    state = job.state }
    end
    if elapsed >= timeout then
      return nil, errors.new("timeout", id .. " is still " ..
        tostring(job.state) .. " after " .. math.floor(elapsed) .. " s " ..
        "of polling (timeout " .. timeout .. " s)",
        { job = last, attempts = attempts, elapsed = elapsed,
          request_id = id })
    end
    task.sleep(math.min(interval, timeout - elapsed))
  end
end

-- status(ctx, {request_id}) -> the job's summary, or nil, err.
function _M.status(ctx, args)
  local id = client.check_request_id(args.request_id or args.requestId)
  local job, err = fetch_job(ctx, id)
  if not job then return nil, err end
  return _M.summary(job)
end

-- A chat answer that came back as SSE (or OpenAI JSON) on the job path:
-- a job-shaped table, cost from its usage at the catalog price.
local function job_from_chat(entry, r)
  local usage = r.usage_received and pricing.usage(r.usage) or nil
  return {
    id = r.id, state = "success", prediction = "completions",
    output = { message = r.content,
               reasoning = r.reasoning ~= "" and r.reasoning or nil },
    usage = usage and { input = usage.input, output = usage.output } or nil,
    prediction_cost = usage and { input = entry.price.input,
                                  output = entry.price.output } or nil,
    prediction_cost_divisor = usage and entry.price.divisor or nil,
  }
end

-- What a job answer body is: the job, or (SSE / OpenAI JSON from a chat
-- service) a job made from the assembled answer.
local function job_of_response(entry, res, what)
  local ctype = (res.headers and res.headers["content-type"] or ""):lower()
  local body = res.body or ""
  if ctype:find("event-stream", 1, true) or body:find("^%s*data:") then
    local r, err = chatstream.parse(body, { content_type = ctype })
    if not r then err.sent = "unknown"; return nil, err end
    return job_from_chat(entry, r)
  end
  local v, derr = client.decode(res, what)
  if not v then return nil, derr end
  if type(v) == "table" and type(v.choices) == "table" then
    local r, err = chatstream.parse(body, { content_type = ctype })
    if not r then err.sent = "unknown"; return nil, err end
    return job_from_chat(entry, r)
  end
  local job = first_job(type(v) == "table" and v.body)
  if not job then
    return nil, errors.new("protocol", what .. ": no infer_requests in " ..
                           "the answer", { sent = "unknown" })
  end
  return job
end
_M.job_of_response = job_of_response

local function check_input(entry, input)
  if entry.source ~= "live" then return true end
  local missing = {}
  for _, k in ipairs(entry.inputs or {}) do
    if input[k] == nil then missing[#missing + 1] = k end
  end
  if #missing > 0 then
    return nil, errors.new("invalid_request", entry.alias .. " needs " ..
      "input field" .. (#missing > 1 and "s " or " ") ..
      table.concat(missing, ", ") .. " (required: " ..
      table.concat(entry.inputs, ", ") .. ")", { sent = "no" })
  end
  return true
end

local function check_webhook(w)
  opt_string(w, "webhook")
  if w and not w:find("^https://[^%s]+$") then
    error("webhook must be an https:// URL", 3)
  end
  return w
end

-- infer(ctx, args) -> result, or nil, err. args (MCP-style): service,
-- input (table; `payload` too), wait (0..60 s, default 30), prediction,
-- variant, webhook (top level of the body, reference 2.4), poll (poll
-- until done when the wait ran out), poll_interval, poll_timeout,
-- on_state, reservation (made beforehand with od.reserve), on_job(job)
-- (called once the job exists, before any polling: a caller that
-- checkpoints the request id never pays for the job twice).
function _M.infer(ctx, args)
  if type(args) ~= "table" then error("infer: expected a table", 2) end
  local alias = client.check_alias(args.service)
  local input = args.input or args.payload
  if type(input) ~= "table" then
    error("infer: input must be a table (the service's input fields)", 2)
  end
  local wait = check_wait(args.wait) or 30
  local prediction = opt_string(args.prediction, "prediction")
  local variant = opt_string(args.variant, "variant")
  local webhook = check_webhook(args.webhook)
  local dry = ctx and ctx.dry_run
  local entry, err = _M.service(ctx, alias)
  if not entry then return _M.give_back(ctx, args, err) end
  local ok, ierr = check_input(entry, input)
  if not ok then return _M.give_back(ctx, args, ierr) end
  local chat = type(input.messages) == "table"
  if chat and input.stream == nil then input.stream = false end
  local resv, rerr = _M.begin(ctx, entry, args, {
    messages = input.messages,
    max_tokens = math.tointeger(input.max_tokens) })
  if not resv then return nil, rerr end
  local started = clock.monotonic()
  local what = "infer " .. alias
  local res, cerr = client.request(ctx, {
    method = "POST", path = "/infer_request/" .. alias,
    query = { wait = wait, prediction = prediction or entry.prediction },
    json = { input = input, variant = variant, webhook = webhook },
    timeout_ms = http_timeout(wait, chat), what = what,
  })
  if not res then return _M.failed(ctx, resv, alias, cerr) end
  local job, jerr = job_of_response(entry, res, what)
  if not job then
    _M.close(resv, nil, "unknown", dry)
    return nil, jerr
  end
  if args.on_job and job.id then args.on_job(job) end
  local polled
  if not TERMINAL[job.state] and args.poll and job.id then
    local pjob, perr = _M.poll_until_done(ctx, {
      request_id = job.id, interval = args.poll_interval,
      timeout = args.poll_timeout, on_state = args.on_state })
    if not pjob then
      _M.close(resv, nil, "unknown", dry)
      perr.service = alias
      perr.reserved_usd = pricing.usd_string(resv.nano)
      return nil, perr
    end
    job, polled = pjob, true
  end
  local cost
  if TERMINAL[job.state] then cost = pricing.job_cost_nano(job) end
  local spent = _M.close(resv, cost, "unknown", dry)
  local out = _M.summary(job)
  out.service = alias
  out.seconds = math.floor((clock.monotonic() - started) * 100 + 0.5) / 100
  out.reserved_usd = pricing.usd_string(resv.nano)
  out.spent_usd = pricing.usd_string(spent)
  out.cost_usd = nil
  out.polled = polled
  if cost == nil then
    out.note = "cost not known yet (state " .. tostring(job.state) ..
               "); counted at the reserved amount"
  end
  if job.state == "error" or job.state == "failed" or
     job.state == "cancelled" then
    return nil, errors.new("job_failed", alias .. " request " ..
      tostring(job.id) .. " ended in state " .. job.state ..
      (out.error and (": " .. tostring(out.error)) or ""),
      { result = out, service = alias })
  end
  return out
end

-- ---- uploads ---------------------------------------------------------

local function field_list(args)
  local f = args.input_fields or args.inputFields or args.input_field or
            args.inputField
  if f == nil then return nil end
  if type(f) == "string" then f = { f } end
  if type(f) ~= "table" then
    error("upload_url: input_fields must be a string or a list", 3)
  end
  for _, k in ipairs(f) do
    if type(k) ~= "string" or not k:find("^[%w_]+$") then
      error("upload_url: input field names are letters, digits and _", 3)
    end
  end
  return f
end

-- presigned(body) -> {field = {url, filename}} from either shape the
-- API is known to send (reference 2.6): body[field] = {presigned_url,
-- filename} (what real clients see) or body.urls[field] = {upload_url,
-- filename} (what the official MCP server expects).
function _M.presigned(body)
  local src = type(body) == "table" and body or {}
  if type(src.urls) == "table" then src = src.urls end
  local out, n = {}, 0
  for k, v in pairs(src) do
    if type(k) == "string" and type(v) == "table" then
      local url = v.presigned_url or v.upload_url or v.url
      if type(url) == "string" then
        out[k] = { url = url, filename = shared.val(v.filename) }
        n = n + 1
      end
    end
  end
  return out, n
end

-- upload_url(ctx, {service, input_fields, prediction}) -> {service,
-- fields = {field = {url, filename}}}, or a dry-run plan, or nil, err.
function _M.upload_url(ctx, args)
  local alias = client.check_alias(args.service)
  local fields = field_list(args)
  local prediction = opt_string(args.prediction, "prediction")
  if prediction then client.check_alias(prediction, "prediction") end
  local path = "/infer_request/" .. alias ..
               (prediction and ("/" .. prediction) or "") ..
               "/input_presigned_urls"
  local res, err = client.request(ctx, {
    method = "POST", path = path,
    json = fields and { input_fields = json.array(fields) } or {},
    what = "upload URL for " .. alias })
  if not res then
    if err.code == "dry_run" then
      return { dry_run = true, service = alias, plan = err.plan }
    end
    if err.code == "not_found" then not_found(ctx, alias, err) end
    return nil, err
  end
  local v, derr = client.decode(res, "upload URL for " .. alias)
  if not v then return nil, derr end
  local body, berr = client.body_of(v, "upload URL for " .. alias)
  if not body then return nil, berr end
  local urls = _M.presigned(body)
  for _, k in ipairs(fields or {}) do
    if not urls[k] then
      return nil, errors.new("protocol", "upload URL for " .. alias ..
                             ": no URL for field " .. k)
    end
  end
  return { service = alias, fields = urls }
end

-- upload(ctx, {url, bytes, content_type}) -> {bytes, status}, or a
-- dry-run plan, or nil, err. A plain PUT of the bytes: the presigned URL
-- is the credential; no Theta token goes with it.
function _M.upload(ctx, args)
  if type(args.url) ~= "string" or not args.url:find("^https://") then
    error("upload: url must be the https presigned URL", 2)
  end
  if type(args.bytes) ~= "string" then
    error("upload: bytes must be a string", 2)
  end
  local res, err = shared.send {
    method = "PUT", url = args.url, body = args.bytes,
    headers = { ["Content-Type"] = args.content_type or
                "application/octet-stream" },
    timeout_ms = 120000,
  }
  if not res then
    if err.code == "dry_run" then
      return { dry_run = true, plan = err.plan }
    end
    return nil, err
  end
  if res.status < 200 or res.status > 299 then
    return nil, shared.status_error(res, { message = "upload to the " ..
      "presigned URL: HTTP " .. res.status .. ": " ..
      tostring(shared.remote_message(res.body)) })
  end
  return { bytes = #args.bytes, status = res.status }
end

return _M
