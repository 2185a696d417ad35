-- theta.disposable: create a deployment, wait until it answers, try it
-- once, delete it and prove it is gone (theta-api.md 6.9), with money
-- and cleanup held to clawhost's rules (docs/deployments.md):
--
--   * nothing is created without approval (o.yes); the plan says what
--     would be, and what it may cost;
--   * the worst case (hourly price x the longest the deployment can
--     live, counted in started hours) is reserved in the budget before
--     the create, and settled from the balance delta after the delete;
--   * a journal entry is written before the create is sent, and the
--     delete is registered with ctx.defer before it is sent too, so a
--     deadline, SIGINT or SIGTERM at any point still deletes it; a
--     create whose answer was lost is found by its nickname;
--   * the delete is verified by listing (retried while the list lags
--     behind), and only then is the journal entry closed; a killed
--     process leaves the entry open, and the next run (or clawhost
--     sweep) finishes it before creating anything.
--
--   disposable.plan(ctx, o)          what validate would do, no writes
--   disposable.validate(ctx, o)      the whole run: result[, err]
--   disposable.sweep(ctx, o)         finish abandoned entries: rows
--   disposable.remove(ctx, project, handle, o)   delete what a handle
--                                    names and list until it is gone
--   disposable.KIND                  the journal kind of a deployment
local budget = require "budget"
local clock = require "clock"
local errors = require "errors"
local journal = require "journal"
local log = require "log"
local secret = require "secret"
local task = require "task"
local client = require "client"
local ctl = require "theta.controller"
local dedicated = require "theta.dedicated"
local pricing = require "theta.pricing"

local _M = {}

local fmt = string.format

_M.KIND = "theta.deployment"
_M.DEFAULT_VM = "vm_gt1"           -- the skill's first choice (3.4)
_M.SMOKE_MESSAGE = "Theta disposable validation OK"
_M.SMOKE_TIMEOUT_S = 120           -- the one chat call, at most
_M.CLEANUP_MARGIN_S = 300          -- delete + verify, billed at most
_M.INTERVAL_MS = 10000             -- the validator's default (6.9)
_M.DELETE_TRIES = 4
_M.VERIFY_S = 60                   -- listing until it is gone, at most
_M.PASSWORD_BYTES = 18             -- base64url: 24 characters (6.9)
_M.PASSWORD_HOSTS = { "controller.thetaedgecloud.com",
                      ".onthetaedgecloud.com" }

---------------------------------------------------------------------------
-- money

local PRICE_KEYS = { price_hr_usd = true, pricehrusd = true,
                     priceperhour = true, hourlyprice = true,
                     pricehr = true, priceusdperhour = true }

-- The hourly price of vm: from the VM list when it carries one, else
-- clawhost's ceiling table (pricing.VM_HOURLY_USD). Returns usd, source.
local function hourly_price(vms, vm)
  for _, v in ipairs(type(vms) == "table" and vms or {}) do
    if type(v) == "table" and (v.id == vm or v.vm_id == vm) then
      for k, x in pairs(v) do
        local n = type(k) == "string" and k:lower():gsub("[_%-]", "")
        if n and PRICE_KEYS[n] and tonumber(x) and tonumber(x) > 0 then
          return tonumber(x), "the VM list"
        end
      end
    end
  end
  local p = pricing.VM_HOURLY_USD[vm]
  if p then return p, "clawhost's price table (docs/deployments.md)" end
  return nil
end

-- The longest the deployment can live, in seconds: readiness, the smoke
-- call and the cleanup tail.
local function lifetime_s(o)
  return math.ceil(o.ready_timeout_ms / 1000) + _M.SMOKE_TIMEOUT_S +
         _M.CLEANUP_MARGIN_S
end

-- The worst case in USD: started hours are billed whole (ASSUMPTION,
-- docs/deployments.md: the safe reading when billing is not known).
local function worst_case(price, life)
  return price * math.ceil(life / 3600)
end

---------------------------------------------------------------------------
-- options

local function hex(n)
  local t = {}
  for i = 1, n do t[i] = fmt("%x", math.random(0, 15)) end
  return table.concat(t)
end

local function options(ctx, o)
  local r = {}
  for k, v in pairs(o) do r[k] = v end
  r.vm = r.vm or _M.DEFAULT_VM
  r.probe = r.probe or "openai"
  r.ready_timeout_ms = r.ready_timeout_ms or
                       dedicated.READY_TIMEOUT_MS.default
  r.interval_ms = r.interval_ms or _M.INTERVAL_MS
  r.smoke_message = r.smoke_message or _M.SMOKE_MESSAGE
  if not r.template and not r.image then
    return nil, errors.new("usage", "give --template img_... (a " ..
      "template id from `clawhost run templates`) or --image IMAGE")
  end
  if r.template and not r.template:find("^img_[%w_]+$") then
    return nil, errors.new("usage", fmt("--template '%s' is not a " ..
      "template id: it looks like img_abc123 (`clawhost run templates` " ..
      "lists them)", r.template))
  end
  if not r.vm:find("^vm_[%w_]+$") then
    return nil, errors.new("usage", fmt("--vm '%s' is not a VM id: it " ..
      "looks like vm_gt1 (`clawhost run vms` lists them)", r.vm))
  end
  local project, perr = ctl.project_id(r.project_id)
  if not project then return nil, perr end
  r.project_id = project
  r.nickname = r.nickname or fmt("clawhost-vd-%s-%s",
    clock.iso(clock.now()):gsub("[^%d]", ""):sub(1, 14), hex(6))
  r.username = fmt("clawhost_%s", hex(8))
  r.life_s = lifetime_s(r)
  return r
end

local function payload(o, password)
  return {
    project_id = o.project_id,
    deployment_template_id = o.template,
    container_image = o.image,
    vm_id = o.vm,
    min_replicas = 1, max_replicas = 1,
    annotations = { nickname = o.nickname,
                    tags = '["clawhost","disposable"]' },
    auth_username = o.username,
    auth_password = password,
  }
end

---------------------------------------------------------------------------
-- the plan

-- plan(ctx, o) -> the plan table (prices read live: GET only), or nil,
-- err. o: template or image, vm, probe, ready_timeout_ms, interval_ms,
-- max_cost (USD: the worst case the user allows), project_id, org_id.
function _M.plan(ctx, o)
  local r, err = options(ctx, o)
  if not r then return nil, err end
  local vms = ctl.vms(ctx)
  local price, source = hourly_price(vms, r.vm)
  local worst
  if r.max_cost then
    worst, source = r.max_cost, "--max-cost"
  elseif price then
    worst = worst_case(price, r.life_s)
  end
  local shown = payload(r, "<generated, " .. _M.PASSWORD_BYTES ..
                        " random bytes>")
  return {
    template = r.template, image = r.image, vm = r.vm,
    price_per_hour_usd = price, price_from = source,
    longest_life_s = r.life_s,
    worst_case_usd = worst,
    probe = r.probe, ready_timeout_ms = r.ready_timeout_ms,
    interval_ms = r.interval_ms,
    nickname = r.nickname,
    cleanup = "delete on every ending (success, error, deadline, " ..
              "SIGINT, SIGTERM), verified by listing; a journal entry " ..
              "is written before the create, so `clawhost sweep` " ..
              "finishes what a killed run left",
    payload = client.masked(shown),
  }, r
end

---------------------------------------------------------------------------
-- cleanup: one deployment, from a handle, a nickname or both

local function parse_handle(text)
  if type(text) ~= "string" then return {} end
  local shard, suffix = text:match("^(%d+)/(.+)$")
  if shard then return { shard = tonumber(shard), suffix = suffix } end
  local base = text:match("^base:(.+)$")
  if base then return { base_id = base } end
  return {}
end

-- The deployments the handle names, read from the list; nil, err when
-- the list cannot be read.
local function listed(ctx, project, h)
  local items, err = ctl.list(ctx, { project_id = project })
  if not items then return nil, err end
  return ctl.find(items, h)
end

local function sleep_within(s, margin)
  local left = task.deadline()
  if left and left - margin < s then return false end
  task.sleep(s)
  return true
end

-- remove(ctx, project, h, opts) -> report; or nil, err, report. Finds
-- what h names (waiting a little for a create still in flight when
-- opts.maybe_late), deletes each (retried), then lists until none is
-- left (retried while the list lags). report: {found, deleted,
-- verified, lists, handles_checked, attempts}.
local function remove(ctx, project, h, opts)
  opts = opts or {}
  local rep = { found = 0, deleted = {}, lists = 0, verified = false,
                handles_checked = ctl.handle_text(h) }
  local found, err
  for i = 1, opts.maybe_late and 3 or 1 do
    found, err = listed(ctx, project, h)
    rep.lists = rep.lists + 1
    if not found then return nil, err, rep end
    if #found > 0 or i == 3 or not sleep_within(1, 10) then break end
  end
  rep.found = #found
  for _, it in ipairs(found) do
    local g = ctl.handle(it)
    local target = g.suffix and g.shard and
                   { shard = g.shard, suffix = g.suffix } or
                   { base_id = g.base_id }
    target.project_id = project
    local ok, derr
    for try = 1, _M.DELETE_TRIES do
      ok, derr = ctl.delete(ctx, target)
      if ok or (derr and derr.status == 404) then break end
      log.warn(fmt("delete %s failed (%s); trying again",
                   ctl.handle_text(g), derr and derr.message or "?"))
      if try == _M.DELETE_TRIES or not sleep_within(try, 5) then break end
    end
    if not ok and not (derr and derr.status == 404) then
      return nil, derr, rep
    end
    rep.deleted[#rep.deleted + 1] = ctl.handle_text(g)
  end
  -- verify: the list is the judge; it may lag behind the delete
  local wait, t0 = 0.5, clock.monotonic()
  while true do
    local left, lerr = listed(ctx, project, h)
    rep.lists = rep.lists + 1
    if left and #left == 0 then
      rep.verified = true
      return rep
    end
    if not left then err = lerr end
    if clock.monotonic() - t0 > _M.VERIFY_S or
       not sleep_within(wait, 3) then break end
    wait = math.min(wait * 2, 5)
  end
  return nil, err or errors.new("cleanup", fmt("the deployment %s is " ..
    "still listed after its delete", rep.handles_checked),
    { sent = "unknown" }), rep
end

-- finish(ctx, entry, opts) -> report, or nil, err, report: remove the
-- deployment a journal entry names and close the entry.
local function finish(ctx, id, spec, handle_text, opts)
  local h = parse_handle(handle_text)
  h.nickname = spec.nickname
  if not (h.suffix or h.base_id or h.nickname) then
    return nil, errors.new("cleanup", fmt("journal entry %d names no " ..
      "deployment (no handle, no nickname)", id))
  end
  journal.set(id, "deleting", { note = "deleting" })
  local rep, err, partial = remove(ctx, spec.project_id, h, opts)
  if not rep then
    journal.set(id, "deleting", { note = client.excerpt(
      "cleanup not verified: " .. tostring(err and err.message), 200) })
    return nil, err, partial
  end
  journal.set(id, "gone", { note = rep.found > 0 and
    "deleted and verified absent" or "not listed: never created or " ..
    "deleted before" })
  return rep
end

_M.remove = remove

---------------------------------------------------------------------------
-- sweep

-- sweep(ctx, {force}) -> rows {entry, run, handle, nickname, state,
-- action}, problems (a count). Entries of runs that may still be
-- running are left alone unless o.force. A dry run only lists.
function _M.sweep(ctx, o)
  o = o or {}
  local rows, problems = {}, 0
  local entries, err = journal.pending(_M.KIND)
  if not entries then return nil, err end
  for _, e in ipairs(entries) do
    local spec = e.spec or {}
    local row = { entry = e.id, run = e.run, state = e.state,
                  handle = e.handle, nickname = spec.nickname,
                  owner = e.owner }
    rows[#rows + 1] = row
    if e.mine then
      row.action = "skipped: this run's own"
    elseif not e.abandoned and not o.force then
      row.action = "skipped: " .. e.owner .. " (--force takes it over)"
    elseif ctx.dry_run then
      local h = parse_handle(e.handle)
      h.nickname = spec.nickname
      local found, lerr = listed(ctx, spec.project_id, h)
      row.action = found and (#found > 0 and "would delete (still " ..
        "listed)" or "would close the entry (not listed)") or
        ("cannot list: " .. tostring(lerr and lerr.message))
    else
      log.progress("sweep", fmt("entry %d (%s)", e.id, e.owner))
      local rep, ferr = finish(ctx, e.id, spec, e.handle,
                               { maybe_late = true })
      if rep then
        row.action = rep.found > 0 and fmt("deleted %s, verified absent",
          table.concat(rep.deleted, ", ")) or "not listed: entry closed"
        row.state = "gone"
      else
        problems = problems + 1
        row.action = "failed: " .. tostring(ferr and ferr.message)
      end
    end
  end
  return rows, problems
end

---------------------------------------------------------------------------
-- the validator

-- Balances carry 6 decimals; a difference of two floats does not.
local function round6(x)
  return math.floor(x * 1e6 + 0.5) / 1e6
end

local function attempt_row(a, n)
  return { n = n, ok = a.ok, status = a.status, code = a.code,
           elapsed_ms = a.elapsed_ms,
           message = client.excerpt(a.message, 80) }
end

local function balance_of(ctx, o)
  if not o.org_id_ok then return nil, "no THETA_ORG_ID" end
  local b, err = ctl.balance(ctx, { org_id = o.org_id })
  if not b then return nil, err and err.message end
  if b.value == nil then return nil, "the balance answer has no number" end
  return b.value
end

-- The smoke call: one chat (openai), or the Gradio config read and,
-- with o.gradio_data, one /api/predict.
local function smoke(ctx, o, endpoint, headers, ready)
  if o.probe == "gradio" then
    local s = { probe = "/config", ok = true,
                config_keys = ready.response and
                  (function()
                    local ks = {}
                    for k in pairs(ready.response) do ks[#ks + 1] = k end
                    table.sort(ks)
                    return table.concat(ks, ",")
                  end)() }
    if o.gradio_data then
      local v, err = dedicated.predict(ctx, { endpoint = endpoint,
        headers = headers, data = o.gradio_data })
      if not v then return nil, err end
      s.predict = client.masked(v)
    end
    return s
  end
  local model = o.model
  if not model then
    local ids = dedicated.models(ctx, { endpoint = endpoint,
                                        headers = headers })
    model = ids and ids[1] or "default"
  end
  local r, err = dedicated.chat(ctx, { endpoint = endpoint,
    headers = headers, model = model, max_tokens = 32, stream = false,
    messages = { { role = "user", content = o.smoke_message } },
    timeout_ms = _M.SMOKE_TIMEOUT_S * 1000 })
  if not r then return nil, err end
  return { model = model, reply = client.excerpt(r.content, 200),
           finish_reason = r.finish_reason, usage = r.usage }
end

-- validate(ctx, o) -> result[, err]: the plan when not o.yes (or in a
-- dry run); else the run: swept, create, readiness, smoke, delete,
-- cleanup, balance, budget. Fails with err (and the result so far)
-- when a step fails; the cleanup runs in every case.
function _M.validate(ctx, o)
  local plan, r = _M.plan(ctx, o)
  if not plan then return nil, r end
  if ctx.dry_run or not o.yes then
    plan.created = false
    plan.note = ctx.dry_run and "dry run: nothing created" or
      "nothing created: add --yes to create it (it costs money while " ..
      "it lives)"
    return plan
  end
  if not plan.worst_case_usd then
    return nil, errors.new("usage", fmt("no hourly price is known for " ..
      "%s: give the most this run may cost with --max-cost USD", r.vm))
  end
  local left = task.deadline()
  if left and left < r.life_s then
    return nil, errors.new("usage", fmt("the deployment may live %d s " ..
      "(--ready-timeout-ms plus the smoke call and the cleanup tail) " ..
      "but the run has %d s left: raise --timeout to %d or more", r.life_s,
      math.floor(left), r.life_s + 60))
  end
  r.org_id_ok = ctl.org_id(r.org_id) ~= nil
  if r.org_id_ok then r.org_id = ctl.org_id(r.org_id) end
  local out = { nickname = r.nickname, template = r.template,
                image = r.image, vm = r.vm }

  -- 1. what killed runs left behind goes first
  local swept, problems = _M.sweep(ctx, {})
  if not swept then return nil, problems end
  out.swept = swept
  if problems > 0 then
    log.warn(fmt("sweep: %d abandoned deployment(s) could not be " ..
                 "cleaned up; clawhost sweep will try again", problems))
  end

  -- 2. money: the worst case, before anything is sent
  local res, berr = budget.reserve(plan.worst_case_usd,
                                   "deployment:" .. r.vm)
  if not res then return nil, berr end
  out.budget = { reserved_usd = res.amount,
                 price_per_hour_usd = plan.price_per_hour_usd,
                 price_from = plan.price_from }

  -- 3. the balance before (not fatal)
  local before, why = balance_of(ctx, r)
  out.balance = { before = before, note = why }

  -- 4. the journal entry and the delete, before the create is sent
  local id, jerr = journal.add { kind = _M.KIND, provider = "theta",
    spec = { project_id = r.project_id, nickname = r.nickname,
             template = r.template, image = r.image, vm = r.vm } }
  if not id then
    res:release()
    return nil, jerr
  end
  out.journal_entry = id
  local state = { id = id, handle = nil, done = false, sent = false }

  local function cleanup()
    if state.done then return end
    if not state.sent then
      journal.set(id, "gone", { note = "nothing was sent" })
      res:release()
      state.done = true
      return
    end
    log.progress("validate-disposable", "deleting")
    local rep, err, partial = finish(ctx, id, { project_id = r.project_id,
      nickname = r.nickname }, state.handle, { maybe_late =
      state.handle == nil })
    out.delete = { ok = rep ~= nil, deleted = (rep or partial or {})
                   .deleted }
    out.cleanup = { verified = rep ~= nil and rep.verified,
                    lists = (rep or partial or {}).lists,
                    handles_checked = (rep or partial or {}).handles_checked,
                    journal_entry = id }
    if not rep then
      out.cleanup.message = fmt("not verified: %s; journal entry %d is " ..
        "kept, and `clawhost sweep` (or the next validate-disposable) " ..
        "finishes it", tostring(err and err.message), id)
      error(errors.new("cleanup", "cleanup: " .. out.cleanup.message))
    end
    state.done = true
    local after, awhy = balance_of(ctx, r)
    out.balance.after = after
    if before and after then
      out.balance.delta = round6(after - before)
      local cost = math.max(0, round6(before - after))
      res:settle(cost)
      out.budget.settled_usd = cost
      out.budget.from = "the balance delta"
    else
      out.balance.note = out.balance.note or awhy
      res:settle(res.amount)
      out.budget.settled_usd = res.amount
      out.budget.from = "the reservation (no balance delta)"
    end
  end
  ctx.defer(cleanup)

  -- 5. create
  local password = secret.random(_M.PASSWORD_BYTES,
    { name = "deployment_password", hosts = _M.PASSWORD_HOSTS })
  log.progress("validate-disposable", "creating " .. r.nickname)
  state.sent = true
  local answer, handle = ctl.create(ctx, payload(r, password))
  if not answer then
    local cerr = handle
    if cerr.sent == "no" or cerr.sent == "refused" then
      state.sent = false
    end
    out.error = cerr.message
    pcall(cleanup)
    return out, cerr
  end
  out.create = client.masked(answer)
  state.handle = ctl.handle_text(handle) ~= "" and
                 ctl.handle_text(handle):find("/") and
                 ctl.handle_text(handle) or nil
  if handle.base_id and not state.handle then
    state.handle = "base:" .. handle.base_id
  end
  journal.set(id, "live", { handle = state.handle or "",
                            note = "created" })

  -- 6. the endpoint: from the answer, else from the list
  local endpoint = handle.endpoint
  if not endpoint then
    local found = listed(ctx, r.project_id, { nickname = r.nickname })
    endpoint = found and found[1] and ctl.handle(found[1]).endpoint
  end
  local url, bad = endpoint and dedicated.check_endpoint(endpoint)
  if not url then
    local e = errors.new("protocol", endpoint and fmt("the endpoint " ..
      "the controller gave (%s) is refused: it %s", endpoint, bad) or
      "the create answer names no endpoint, and the list does not " ..
      "either")
    pcall(cleanup)
    return out, e
  end
  out.endpoint = url

  -- 7. readiness, with the generated credentials
  local headers = { Authorization = secret.basic(r.username, password) }
  local ready, rerr = dedicated.ready(ctx, { endpoint = url,
    kind = r.probe, headers = headers, timeout_ms = r.ready_timeout_ms,
    interval_ms = r.interval_ms, on_attempt = function(a, n)
      log.progress("validate-disposable", fmt("ready? attempt %d: %s", n,
        a.ok and "ready" or (a.status and ("HTTP " .. a.status) or
        tostring(a.code))))
    end })
  local rr = ready or rerr.result
  out.readiness = { ready = ready ~= nil, probe = r.probe,
                    elapsed_ms = rr and rr.elapsed_ms, attempts = {},
                    columns = { "n", "ok", "status", "code", "elapsed_ms",
                                "message" } }
  for n, a in ipairs(rr and rr.attempts or {}) do
    out.readiness.attempts[n] = attempt_row(a, n)
  end
  if not ready then
    pcall(cleanup)
    return out, rerr
  end

  -- 8. one smoke call
  log.progress("validate-disposable", "smoke call")
  local s, serr = smoke(ctx, r, url, headers, ready)
  out.smoke = s or { ok = false, message = serr and serr.message }

  -- 9. delete, verify, balance, settle (ctx.defer tries again if this
  -- fails)
  local ok, cerr = pcall(cleanup)
  if not ok then return out, cerr end
  return out, serr
end

return _M
