-- campaign: facts to copy to claim check to image to scheduled posts,
-- resumable, under one budget (docs/campaigns.md).
--
--   local campaign = require "campaign"
--   return {
--     params = campaign.params,
--     run = function(ctx, args)
--       return campaign.run(ctx, args, { steps = { copy = my_copy } })
--     end,
--   }
--
--   campaign.params        the campaign recipe's params (file, status,
--                          review, approve, approve_all, redo, drafts)
--   campaign.run(ctx, args[, o])   o.steps replaces default steps
--                          (campaign.steps has them and their signatures)
--   campaign.load(ctx, args)       the checked campaign file, or nil, err
--
-- Every step's result is checkpointed in the store (namespace
-- "campaign:<id>", one record per item) as soon as it exists, so a rerun
-- after a crash, a signal, a budget stop or a failed item goes on where
-- it stopped: a finished step is never paid again, an image job a
-- killed run started is waited for rather than ordered again, and the
-- post goes to the backend with an idempotency key made of the
-- campaign, the item and the step, so it is never queued twice. Paid
-- calls reserve under the label "campaign:<id>" with the campaign's
-- budget_usd as the label's cap, over every run.
local clock = require "clock"
local errors = require "errors"
local log = require "log"
local store = require "store"
local task = require "task"
local od = require "theta.ondemand"
local pricing = require "theta.pricing"
local file = require "campaign.file"
local schedule = require "campaign.schedule"
local default_steps = require "campaign.steps"

local _M = {}

local fmt = string.format

_M.file = file
_M.steps = default_steps

_M.params = {
  file = { type = "file", required = true, arg = "FILE",
           help = "the campaign file (JSON; docs/campaigns.md)" },
  status = { type = "boolean", default = false,
             help = "show where every item stands; change nothing" },
  review = { type = "boolean", default = false,
             help = "write and check copy and images, queue nothing" },
  approve = { type = "list", arg = "ITEM",
              help = "queue this item's reviewed draft" },
  approve_all = { type = "boolean", default = false,
                  help = "queue every reviewed draft that passed" },
  redo = { type = "list", arg = "ITEM",
           help = "write this item's copy again (held or not queued)" },
  drafts = { type = "output", arg = "FILE",
             help = "also write the drafts to this file (with --review " ..
                    "or --status)" },
}

-- The item's record in the store, and a function that saves it.
local function records(c, ctx)
  local space = store.open("campaign:" .. c.id)
  local function get(id)
    local v, err = space:get("item/" .. id)
    if err then error(err) end
    return v or {}
  end
  local function put(id, rec)
    if ctx.dry_run then return end
    local ok, err = space:put("item/" .. id, rec)
    if not ok then error(err) end
  end
  return get, put
end

local function key_of(c, item, step)
  return fmt("campaign-%s-%s-%s", c.id, item.id, step)
end

-- The limit of the copy: Threads' 500 bytes, less the link added after.
local function copy_limit(item)
  return 500 - (item.link and (#item.link + 1) or 0)
end

local function usd(n) return pricing.usd_string(pricing.nano(n or 0)) end

---------------------------------------------------------------------------
-- the plan: what each step would cost at worst

local function worst_of(ctx, service, est)
  local entry, err = od.service(ctx, service)
  if not entry then return nil, err end
  if not entry.price then
    return nil, errors.new("unpriced", "no price is known for " ..
                           service)
  end
  return pricing.usd(pricing.worst_case_nano(entry, est))
end

local function plan(ctx, c, slots, get)
  local rows, total = {}, 0
  local item0 = c.items[1]
  local copy1, err = worst_of(ctx, c.copy.service, {
    messages = default_steps.messages(c, item0, { limit = 500 }),
    max_tokens = c.copy.max_tokens })
  if not copy1 then return nil, err end
  local verify1 = 0
  if c.copy.verify_with then
    verify1 = worst_of(ctx, c.copy.verify_with, { messages = {
      { role = "user", content = string.rep("x", 2000) } },
      max_tokens = 400 }) or 0
  end
  local image1 = 0
  if c.image.mode == "generate" then
    local v, ierr = worst_of(ctx, c.image.service, {})
    if not v then return nil, ierr end
    image1 = v
  end
  local spent = 0
  for i, item in ipairs(c.items) do
    local rec = get(item.id)
    spent = spent + (rec.cost_usd or 0)
    local copy_cost = (rec.copy and rec.copy.verdict) and 0 or
                      c.copy.max_attempts * (copy1 + verify1)
    local image_cost = (rec.image and rec.image.images) and 0 or image1
    total = total + copy_cost + image_cost
    rows[i] = {
      item = item.id, slot = slots[i].iso,
      copy = rec.copy and rec.copy.verdict and ("done: " ..
        rec.copy.verdict) or fmt("%s, up to %d attempts", c.copy.service,
        c.copy.max_attempts),
      image = rec.image and rec.image.images and "done" or c.image.mode,
      queue = rec.queue and ("done: " .. tostring(rec.queue.id)) or
              "queue at the slot",
      worst_usd = usd(copy_cost + image_cost),
    }
  end
  return {
    dry_run = ctx.dry_run or nil, campaign = c.id, items = rows,
    columns = { "item", "slot", "copy", "image", "queue", "worst_usd" },
    worst_case_usd = usd(total), spent_usd = usd(spent),
    budget_usd = usd(c.budget_usd),
    fits = spent + total <= c.budget_usd,
    note = spent + total <= c.budget_usd and
      "the worst case fits the campaign's budget" or
      "the worst case passes the budget: the run stops (exit 3) before " ..
      "the first step it cannot afford; rerun with a larger budget_usd " ..
      "to finish",
  }
end

---------------------------------------------------------------------------
-- one item

local function summary_of(rec, slot)
  local check = "-"
  if rec.copy and rec.copy.verdict == "ok" then check = "ok"
  elseif rec.copy and rec.copy.verdict == "held" then
    check = fmt("held: %d unsupported", #(rec.copy.unsupported or {}))
  end
  return {
    copy = rec.copy and fmt("%d attempt%s", rec.copy.attempts,
                            rec.copy.attempts == 1 and "" or "s") or "-",
    check = check,
    image = rec.image and rec.image.images and
            (#rec.image.images > 0 and "ok" or "none") or
            (rec.image and rec.image.request_id and "pending" or "-"),
    slot = slot and slot.iso or "-",
    queue_id = rec.queue and rec.queue.id or (rec.draft and "draft") or
               "-",
    cost_usd = usd(rec.cost_usd),
  }
end

-- The copy and its check, regenerated with the check's reasons until it
-- passes or the attempts run out (then held: never queued).
local function write_copy(ctx, c, item, rec, steps, reserve, put)
  local feedback, last = "", nil
  local limit = copy_limit(item)
  for attempt = (rec.copy_attempts or 0) + 1, c.copy.max_attempts do
    log.progress(item.id, fmt("copy: attempt %d of %d", attempt,
                              c.copy.max_attempts))
    local text, err = steps.copy(ctx, item, { campaign = c,
      attempt = attempt, feedback = feedback, limit = limit,
      reserve = reserve })
    rec.copy_attempts = attempt
    put()
    if not text then return nil, err end
    if type(text) ~= "string" or text == "" then
      return nil, errors.new("empty_answer", item.id .. ": the copy " ..
                             "step returned no text")
    end
    log.progress(item.id, "claim check")
    local report, cerr = steps.check(ctx, item, text, { campaign = c,
      limit = limit, reserve = reserve })
    if not report then return nil, cerr end
    last = { text = text, attempts = attempt, unsupported = {},
             claims = {} }
    -- every decision, kept with the draft: --drafts and --status --json
    -- show what each claim was checked against
    for i, u in ipairs(report.claims or {}) do
      last.claims[i] = { kind = u.kind, text = u.text,
                         supported = u.supported, by = u.by,
                         reason = u.reason }
    end
    for i, u in ipairs(report.unsupported or {}) do
      last.unsupported[i] = { kind = u.kind, text = u.text,
                              reason = u.reason }
    end
    if report.ok then
      last.verdict = "ok"
      return last
    end
    log.warn(fmt("%s: draft %d refused: %s", item.id, attempt,
                 (report.feedback or ""):gsub("\n", " ")))
    feedback = report.feedback or ""
  end
  last = last or { attempts = rec.copy_attempts, unsupported = {} }
  last.verdict = "held"
  return last
end

-- Run the steps an item still needs. Returns its record, or nil, err
-- (err.code budget_exceeded stops the campaign).
local function run_item(ctx, c, item, slot, o)
  local rec = o.get(item.id)
  local count_costs
  local function save()
    if count_costs then count_costs() end
    o.put(item.id, rec)
  end
  -- every reservation a step makes, so what it settled is counted in
  -- the item's record (a still open one counts at its worst case)
  local made = {}
  local function reserve(entry, est)
    local r, err = od.reserve(ctx, entry, est, "campaign:" .. c.id,
                              c.budget_usd)
    if r then made[#made + 1] = r end
    return r, err
  end
  count_costs = function()
    for _, r in ipairs(made) do
      rec.cost_usd = (rec.cost_usd or 0) +
                     pricing.usd(r.spent or r.nano)
    end
    made = {}
  end
  if rec.queue then return rec end
  if o.redo[item.id] and not rec.queue then
    rec.copy, rec.copy_attempts, rec.draft = nil, 0, nil
  end
  if not rec.copy or (rec.copy.verdict ~= "ok" and
                      rec.copy.verdict ~= "held") then
    local copy, err = write_copy(ctx, c, item, rec, o.steps, reserve,
                                 save)
    if not copy then save() return nil, err end
    rec.copy = copy
    save()
  end
  if rec.copy.verdict == "held" then return rec end
  if not (rec.image and rec.image.images) then
    log.progress(item.id, "image")
    local img, err = o.steps.image(ctx, item, { campaign = c,
      reserve = reserve, saved = rec.image,
      checkpoint = function(t)
        rec.image = t
        save()
      end })
    if not img then save() return nil, err end
    rec.image = { images = img.images or {}, request_id = img.request_id }
    save()
  end
  if o.review then
    rec.draft = true
    save()
    return rec
  end
  if o.approving and not o.approved[item.id] then return rec end
  local text = rec.copy.text
  if item.link then text = text .. "\n" .. item.link end
  log.progress(item.id, "queue at " .. slot.iso)
  local q, err = o.steps.schedule(ctx, item, { text = text,
    images = rec.image.images, at = slot.iso,
    idempotency_key = key_of(c, item, "post") }, { campaign = c })
  if not q then return nil, err end
  if q.dry_run then return rec end
  rec.queue = { id = q.id, scheduled_at = q.scheduled_at,
                key = key_of(c, item, "post") }
  rec.draft = nil
  save()
  return rec
end

---------------------------------------------------------------------------
-- the runner

function _M.load(ctx, args)
  return file.load(ctx.input("file"), args.file)
end

local function set_of(list)
  local s = {}
  for _, x in ipairs(list or {}) do s[x] = true end
  return s
end

local function drafts_text(c, get)
  local out = { fmt("# campaign %s: drafts", c.id), "" }
  for _, item in ipairs(c.items) do
    local rec = get(item.id)
    out[#out + 1] = fmt("## %s (%s)", item.id, item.title)
    if rec.copy and rec.copy.text then
      out[#out + 1] = "verdict: " .. tostring(rec.copy.verdict)
      for _, u in ipairs(type(rec.copy.claims) == "table" and
                         rec.copy.claims or {}) do
        out[#out + 1] = fmt("  %s %s: %s (%s)", u.supported and "ok " or
          "NO ", tostring(u.kind), tostring(u.text),
          tostring(u.by or u.reason))
      end
      for _, u in ipairs(rec.copy.unsupported or {}) do
        if u.kind == "format" or u.kind == "verifier" then
          out[#out + 1] = "  NO  " .. tostring(u.kind) .. ": " ..
                          tostring(u.text) .. " (" .. tostring(u.reason) ..
                          ")"
        end
      end
      out[#out + 1] = ""
      out[#out + 1] = rec.copy.text
    else
      out[#out + 1] = "(no draft yet)"
    end
    for _, u in ipairs(rec.image and rec.image.images or {}) do
      out[#out + 1] = "image: " .. u
    end
    out[#out + 1] = ""
  end
  return table.concat(out, "\n")
end

function _M.run(ctx, args, o)
  o = o or {}
  local c, err = _M.load(ctx, args)
  if not c then return nil, err end
  local steps = {}
  for k, f in pairs(default_steps) do steps[k] = f end
  for k, f in pairs(o.steps or {}) do
    if type(f) ~= "function" then
      error("campaign.run: steps." .. tostring(k) .. " must be a " ..
            "function", 2)
    end
    steps[k] = f
  end
  local slots, serr = schedule.slots(c.schedule, #c.items)
  if not slots then return nil, serr end
  local get, put = records(c, ctx)
  for _, id in ipairs(args.approve or {}) do
    if not c.by_id[id] then
      return nil, errors.new("usage", fmt("--approve %s: no item %s in " ..
        "%s", id, id, args.file))
    end
  end
  for _, id in ipairs(args.redo or {}) do
    if not c.by_id[id] then
      return nil, errors.new("usage", fmt("--redo %s: no item %s in %s",
        id, id, args.file))
    end
  end
  if args.review and (args.approve or args.approve_all) then
    return nil, errors.new("usage", "--review writes drafts and " ..
      "--approve queues them: give one of them")
  end

  if args.status or ctx.dry_run then
    if args.drafts then ctx.output("drafts", drafts_text(c, get)) end
    if ctx.dry_run then
      local p, perr = plan(ctx, c, slots, get)
      if not p then return nil, perr end
      return p
    end
  end
  if args.status then
    local rows = {}
    for i, item in ipairs(c.items) do
      local rec = get(item.id)
      local r = summary_of(rec, slots[i])
      r.item = item.id
      if ctx.json then
        r.text = rec.copy and rec.copy.text
        r.claims = rec.copy and rec.copy.claims
        r.unsupported = rec.copy and rec.copy.unsupported
      end
      rows[i] = r
    end
    return { campaign = c.id, items = rows, columns = { "item", "copy",
      "check", "image", "slot", "queue_id", "cost_usd" } }
  end

  local approving = args.approve ~= nil or args.approve_all
  local approved = set_of(args.approve)
  if args.approve_all then
    for _, item in ipairs(c.items) do approved[item.id] = true end
  end
  local opts = { get = get, put = put, steps = steps, review = args.review,
                 approving = approving, approved = approved,
                 redo = set_of(args.redo) }
  local rows, stop, failed, held = {}, nil, 0, 0
  local started = clock.monotonic()
  for i, item in ipairs(c.items) do
    local rec, ierr
    if approving and not approved[item.id] then
      rec = get(item.id)
    elseif approving and not (get(item.id).draft or get(item.id).queue)
    then
      rec, ierr = get(item.id), errors.new("usage", item.id .. ": no " ..
        "reviewed draft to approve (run --review first)")
    else
      rec, ierr = run_item(ctx, c, item, slots[i], opts)
      -- the item's live line ends here (items run one after another in
      -- this task, so its end would not take the line away)
      log.progress(item.id, ierr and "failed" or "done", { done = true })
    end
    local row = summary_of(rec or get(item.id), slots[i])
    row.item = item.id
    rows[i] = row
    if rec and rec.copy and rec.copy.verdict == "held" then
      held = held + 1
    end
    if ierr then
      row.error = ierr.message
      if ierr.code == "budget_exceeded" then
        stop = ierr
        break
      end
      failed = failed + 1
      log.warn(fmt("%s: %s", item.id, tostring(ierr.message)))
      if ierr.code == "usage" or ierr.code == "config" then
        stop = ierr
        break
      end
    end
    task.sleep(0)       -- let a signal or the deadline land between items
  end
  if args.drafts then ctx.output("drafts", drafts_text(c, get)) end
  local total = 0
  for _, item in ipairs(c.items) do total = total + (get(item.id).cost_usd
                                                     or 0) end
  local out = { campaign = c.id, items = rows,
    columns = { "item", "copy", "check", "image", "slot", "queue_id",
                "cost_usd", "error" },
    spent_usd = usd(total), budget_usd = usd(c.budget_usd),
    seconds = math.floor((clock.monotonic() - started) * 10 + 0.5) / 10,
    mode = args.review and "review" or approving and "approve" or "run" }
  if stop then
    if stop.code == "budget_exceeded" then
      stop.message = stop.message .. "; the campaign stopped before " ..
        "this step. Raise budget_usd in " .. args.file .. " and run " ..
        "again: finished steps are not repeated"
    end
    return out, stop
  end
  if failed > 0 then
    return out, errors.new("campaign_failed", fmt("%d item%s failed " ..
      "(the error column says why); run again to retry them: finished " ..
      "steps are not repeated", failed, failed > 1 and "s" or ""))
  end
  if held > 0 then
    return out, errors.new("held", fmt("%d item%s held for review: the " ..
      "copy kept making claims the facts do not support (--status " ..
      "shows them; fix the facts, then --redo ITEM)", held,
      held > 1 and "s" or ""))
  end
  return out
end

return _M
