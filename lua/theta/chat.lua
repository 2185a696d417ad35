-- theta.chat: chat with an on-demand LLM, streamed or not.
--
--   local chat = require "theta.chat"
--   local r, err = chat.chat(ctx, {
--     service = "qwen3",             -- or gpt_oss_120b, llama_3_1_70b...
--     message = "Say hello", system = "Be brief",   -- or messages = {...}
--     max_tokens = 500, temperature = 0.5, top_p = 0.7,
--     stream = true,                 -- default: true for qwen3 only
--     on_content = function(text) ctx.write(text) end,
--     on_reasoning = function(text) end,
--     on_request = function(plan) end,   -- just before the call goes out
--     on_interrupt = function(info) end, -- the run ended mid-call
--   })
--
-- Two request shapes (reference 2.7 and 6.10):
--   qwen3 and the other job-path models
--     POST /infer_request/{alias}?wait=W&prediction=completions
--     {"input": {messages, max_tokens, temperature, top_p, stream},
--      "variant": "parallax_32b_fp8"}        (qwen3: stream, wait 60)
--   gpt_oss_120b
--     POST /infer_request/chat/completions with a flat OpenAI body,
--     max_tokens 1800 and reasoning_effort "low" unless given.
-- The answer is assembled by chatstream (SSE or JSON, whatever arrives);
-- the job envelope ({"body": {"infer_requests": [...]}}) the job path
-- answers with when the stream is off (or the wait ran out) is read
-- here, polling until the job is done.
--
-- Content and reasoning are kept apart. An answer with no content is an
-- error (code empty_answer), never a success; when the reasoning used
-- the token budget it says so (GPT-OSS with a low max_tokens does this
-- with HTTP 200).
--
-- Money: the worst case (prompt estimate x input price + max_tokens x
-- output price) is reserved first and settled with the usage the answer
-- reports; a stream cut before its usage arrived settles at the
-- reservation. When the run itself ends mid-call (Ctrl-C, the deadline)
-- and on_interrupt is given, a deferred function settles the same way
-- (the usage if one arrived, else the reservation: docs/budget.md) and
-- calls on_interrupt{pieces, usage, reserved_usd, spent_usd}.
local clock = require "clock"
local errors = require "errors"
local log = require "log"
local json = require "json"
local chatstream = require "chatstream"
local client = require "theta.client"
local od = require "theta.ondemand"
local pricing = require "theta.pricing"

local _M = {}

-- Runtime defaults per service (reference 6.10).
local DEFAULTS = {
  qwen3 = { stream = true, wait = 60, variant = "parallax_32b_fp8" },
  gpt_oss_120b = { openai = true, max_tokens = 1800,
                   reasoning_effort = "low" },
}
_M.DEFAULTS = DEFAULTS

local STREAM_FIRST_BYTE_MS = 120000  -- qwen3 may think 30-50 s first
_M.STREAM_FIRST_BYTE_MS = STREAM_FIRST_BYTE_MS
local STREAM_IDLE_MS = 60000
local STREAM_TOTAL_MS = 300000
local PLAIN_TIMEOUT_MS = 120000

local function check_number(v, name, lo, hi, integer)
  if v == nil then return nil end
  if type(v) ~= "number" or v < lo or v > hi or
     (integer and math.tointeger(v) == nil) then
    error(name .. " must be " .. (integer and "a whole number" or
          "a number") .. " from " .. lo .. " to " .. hi, 3)
  end
  return integer and math.tointeger(v) or v
end

-- messages(args) -> the message list: args.messages, or
-- {system?, {role = "user", content = args.message}}. Raises when the
-- list is empty or a message lacks a role or content (6.10).
function _M.messages(args)
  local list = args.messages
  if list == nil then
    if type(args.message) ~= "string" or args.message == "" then
      error("chat: give message (a non-empty string) or messages", 3)
    end
    list = {}
    if args.system ~= nil then
      if type(args.system) ~= "string" or args.system == "" then
        error("chat: system must be a non-empty string", 3)
      end
      list[1] = { role = "system", content = args.system }
    end
    list[#list + 1] = { role = "user", content = args.message }
  end
  if type(list) ~= "table" or #list == 0 then
    error("chat: messages must be a non-empty list", 3)
  end
  for i, m in ipairs(list) do
    if type(m) ~= "table" or type(m.role) ~= "string" or m.role == "" then
      error("chat: messages[" .. i .. "].role must be a non-empty string",
            3)
    end
    local c = m.content
    if not ((type(c) == "string" and c ~= "") or type(c) == "table") then
      error("chat: messages[" .. i .. "].content must be a non-empty " ..
            "string", 3)
    end
  end
  return list
end

-- plan(entry, args) -> the request for this chat (pure): {openai, path,
-- query, body, stream, max_tokens, messages, wait}. Raises on bad
-- arguments.
function _M.plan(entry, args)
  local d = DEFAULTS[entry.alias] or {}
  local messages = _M.messages(args)
  local max_tokens = check_number(args.max_tokens, "max_tokens", 1, 5000,
                                  true) or d.max_tokens or
                     entry.max_tokens or 500
  local temperature = check_number(args.temperature, "temperature", 0, 2)
                      or 0.5
  local top_p = check_number(args.top_p, "top_p", 0, 1) or 0.7
  local wait = check_number(args.wait, "wait", 0, 60, true) or d.wait or 30
  local stream = args.stream
  if stream == nil then stream = d.stream or false end
  local effort = args.reasoning_effort or d.reasoning_effort or
                 entry.reasoning_effort
  if effort ~= nil and effort ~= "low" and effort ~= "medium" and
     effort ~= "high" and effort ~= "max" then
    error("chat: reasoning_effort must be low, medium, high or max", 3)
  end
  local p = { messages = messages, max_tokens = max_tokens,
              stream = stream and true or false, wait = wait }
  if d.openai or entry.openai then
    p.openai = true
    p.path = "/infer_request/chat/completions"
    p.body = { model = entry.alias, messages = messages,
               max_tokens = max_tokens, temperature = temperature,
               top_p = top_p, stream = p.stream,
               reasoning_effort = effort }
    if p.stream then p.body.stream_options = { include_usage = true } end
  else
    local variant = args.variant or d.variant
    p.path = "/infer_request/" .. entry.alias
    p.query = { wait = wait, prediction = args.prediction or "completions" }
    p.body = { input = { messages = messages, max_tokens = max_tokens,
                         temperature = temperature, top_p = top_p,
                         stream = p.stream, reasoning_effort = effort },
               variant = variant, webhook = args.webhook }
  end
  return p
end

local function answer_of_job(job)
  local out = type(job.output) == "table" and job.output or {}
  local msg = out.message
  if type(msg) ~= "string" then msg = "" end
  local reasoning = type(out.reasoning) == "string" and out.reasoning or ""
  local u = pricing.usage(job.usage)
  return {
    content = msg, reasoning = reasoning, id = job.id,
    usage_received = u ~= nil,
    usage = u and { prompt_tokens = u.input, completion_tokens = u.output },
    cost = pricing.job_cost_nano(job), state = job.state,
    request_id = job.id,
  }
end

-- The job envelope: poll until done, then read output.message.
local function from_job(ctx, entry, job, args)
  if not od.TERMINAL[job.state] and job.id then
    local pjob, perr = od.poll_until_done(ctx, {
      request_id = job.id, interval = args.poll_interval or 2,
      timeout = args.poll_timeout or 120, on_state = args.on_state })
    if not pjob then return nil, perr end
    job = pjob
  end
  if job.state ~= "success" then
    local m = job.error_message
    return nil, errors.new("job_failed", entry.alias .. " request " ..
      tostring(job.id) .. " ended in state " .. tostring(job.state) ..
      ((type(m) == "string" and m ~= "") and (": " .. m) or ""),
      { job = job })
  end
  local a = answer_of_job(job)
  if args.on_reasoning and a.reasoning ~= "" then
    args.on_reasoning(a.reasoning)
  end
  if args.on_content and a.content ~= "" then args.on_content(a.content) end
  return a
end

local function envelope_job(v)
  local list = type(v) == "table" and type(v.body) == "table" and
               v.body.infer_requests
  return type(list) == "table" and type(list[1]) == "table" and list[1] or
         nil
end

-- A non-streamed answer: OpenAI JSON, SSE anyway, or a job envelope.
local function read_plain(ctx, entry, res, args)
  local ctype = res.headers and res.headers["content-type"] or nil
  local body = res.body or ""
  local v = body:find("^%s*{") and json.safe.decode(body) or nil
  local job = envelope_job(v)
  if job then return from_job(ctx, entry, job, args) end
  local r, err = chatstream.parse(body, { content_type = ctype,
                                          on_content = args.on_content,
                                          on_reasoning = args.on_reasoning })
  if not r then return nil, err end
  return r
end

-- A streamed answer; a JSON job envelope instead of a stream is
-- accepted (chatstream reports it as protocol with err.body).
local function read_stream(ctx, entry, res, args, max_tokens)
  -- A server that keeps sending past max_tokens (each chunk is at least
  -- one token) would bill past the reservation: stop reading then.
  local pieces, limit = 0, max_tokens + 16
  local overrun = {}
  local function count()
    pieces = pieces + 1
    if pieces > limit then error(overrun, 0) end
  end
  local ok, r, err = pcall(chatstream.read, res, {
    on_content = function(text, chunk)
      count()
      if args.on_content then args.on_content(text, chunk) end
    end,
    on_reasoning = function(text, chunk)
      count()
      if args.on_reasoning then args.on_reasoning(text, chunk) end
    end,
  })
  if not ok then
    if r ~= overrun then error(r, 0) end
    return nil, errors.new("protocol", "the stream went on past " ..
      "max_tokens (" .. max_tokens .. " tokens, " .. pieces ..
      " pieces); stopped reading it", { pieces = pieces })
  end
  if r then return r end
  local job = err.code == "protocol" and envelope_job(err.body)
  if job then return from_job(ctx, entry, job, args) end
  return nil, err
end

local function cost_of(entry, a)
  if a.cost then return a.cost end
  if a.usage_received and a.usage then
    local u = pricing.usage(a.usage)
    if u then return pricing.cost_nano(u, entry.price) end
  end
  return nil
end

local function usage_view(u)
  u = pricing.usage(u)
  if not u then return nil end
  return { prompt_tokens = u.input, completion_tokens = u.output }
end

-- A copy of args whose callbacks count what arrived, and a deferred
-- function that, if the run ends before chat() settled (resv.open),
-- settles from the usage seen or at the reservation and says so.
function _M.watch_interrupt(ctx, entry, resv, args)
  local seen = { pieces = 0 }
  local a = {}
  for k, v in pairs(args) do a[k] = v end
  local function counted(fn)
    return function(text, chunk)
      seen.pieces = seen.pieces + 1
      if type(chunk) == "table" and type(chunk.usage) == "table" then
        seen.usage = chunk.usage
      end
      if fn then return fn(text, chunk) end
    end
  end
  a.on_content = counted(args.on_content)
  a.on_reasoning = counted(args.on_reasoning)
  ctx.defer(function()
    if not resv.open then return end
    local u = seen.usage and pricing.usage(seen.usage)
    local cost = u and pricing.cost_nano(u, entry.price) or nil
    local spent = od.close(resv, cost, "unknown", false)
    args.on_interrupt {
      pieces = seen.pieces, usage = usage_view(seen.usage),
      reserved_usd = pricing.usd_string(resv.nano),
      spent_usd = pricing.usd_string(spent),
    }
  end)
  return a
end

-- chat(ctx, args) -> result, or nil, err. See the top of the file.
function _M.chat(ctx, args)
  if type(args) ~= "table" then error("chat: expected a table", 2) end
  local alias = client.check_alias(args.service or "qwen3")
  local dry = ctx and ctx.dry_run
  local entry, err = od.service(ctx, alias)
  if not entry then return od.give_back(ctx, args, err) end
  if entry.kind ~= "chat" then
    return od.give_back(ctx, args, errors.new("usage", alias ..
      " is not a chat service (it is " .. tostring(entry.category) ..
      "); use the infer recipe"))
  end
  local p = _M.plan(entry, args)
  local resv, rerr = od.begin(ctx, entry, args, {
    messages = p.messages, max_tokens = p.max_tokens })
  if not resv then return nil, rerr end
  if args.on_interrupt and not dry then
    args = _M.watch_interrupt(ctx, entry, resv, args)
  end
  if args.on_request and not dry then args.on_request(p) end
  local started = clock.monotonic()
  local what = "chat with " .. alias
  local res, cerr = client.request(ctx, {
    method = "POST", path = p.path, query = p.query, json = p.body,
    stream = p.stream, what = what,
    timeout_ms = args.timeout_ms or (p.stream and STREAM_TOTAL_MS or
                 math.max(PLAIN_TIMEOUT_MS, (p.wait + 30) * 1000)),
    first_byte_timeout_ms = p.stream and (args.first_byte_timeout_ms or
                                          STREAM_FIRST_BYTE_MS) or nil,
    idle_timeout_ms = p.stream and (args.idle_timeout_ms or
                                    STREAM_IDLE_MS) or nil,
  })
  if not res then
    local plan, ferr = od.failed(ctx, resv, alias, cerr)
    if plan then plan.max_tokens, plan.stream = p.max_tokens, p.stream end
    return plan, ferr
  end
  local a, aerr
  if p.stream then
    a, aerr = read_stream(ctx, entry, res, args, p.max_tokens)
  else
    a, aerr = read_plain(ctx, entry, res, args)
  end
  local seconds = math.floor((clock.monotonic() - started) * 100 + 0.5) /
                  100
  if not a then
    -- cut, unreadable or failed: the usage, if it arrived, is the cost;
    -- otherwise the reservation is (the call may have been charged)
    local partial = aerr.partial
    local cost = partial and cost_of(entry, partial) or nil
    if aerr.code == "job_failed" and aerr.job then
      cost = pricing.job_cost_nano(aerr.job)       -- a known outcome
    end
    if aerr.pieces then
      -- the server overran: at least what arrived, at least the
      -- reservation (what was still in flight is unknowable)
      cost = math.max(resv.nano, pricing.worst_case_nano(entry, {
        messages = p.messages, max_tokens = aerr.pieces }))
    end
    local spent = od.close(resv, cost, "unknown", dry)
    aerr.service = alias
    aerr.seconds = seconds
    aerr.reserved_usd = pricing.usd_string(resv.nano)
    aerr.spent_usd = pricing.usd_string(spent)
    aerr.settled_at_reservation = cost == nil
    aerr.message = tostring(aerr.message) .. (cost == nil and
      ("; counted at the reserved " .. aerr.reserved_usd .. " USD") or
      ("; counted at " .. aerr.spent_usd .. " USD"))
    return nil, aerr
  end
  local cost = cost_of(entry, a)
  local spent = od.close(resv, cost, "unknown", dry)
  local out = {
    service = alias, model = a.model, request_id = a.request_id or a.id,
    finish_reason = a.finish_reason, usage = usage_view(a.usage),
    streamed = p.stream, seconds = seconds, max_tokens = p.max_tokens,
    reserved_usd = pricing.usd_string(resv.nano),
    spent_usd = pricing.usd_string(spent),
    answer = a.content, reasoning = a.reasoning,
    truncated = a.finish_reason == "length" or nil,
  }
  if cost == nil then
    out.note = "no usage in the answer; counted at the reserved amount"
  end
  if not a.content:find("%S") then
    local why
    if a.finish_reason == "length" or a.reasoning:find("%S") then
      why = alias .. " returned no answer: its reasoning used the token " ..
            "budget (max_tokens " .. p.max_tokens .. ", " ..
            #a.reasoning .. " characters of reasoning, finish_reason " ..
            tostring(a.finish_reason) .. "); raise --max-tokens"
      if alias == "gpt_oss_120b" then
        why = why .. " (default 1800) or keep reasoning_effort low"
      end
    else
      why = alias .. " returned an empty answer (finish_reason " ..
            tostring(a.finish_reason) .. ")"
    end
    return nil, errors.new("empty_answer", why .. "; spent " ..
                           out.spent_usd .. " USD", { result = out })
  end
  return out
end

-- The chat recipe's behaviour: the answer streams to the terminal through
-- ctx.write as it arrives; reasoning only with show_reasoning (otherwise
-- a progress line says the model is thinking); the result keeps counts
-- instead of repeating text that was already shown.
function _M.to_terminal(ctx, args)
  local shown_reasoning, shown_answer, thinking = false, false, false
  local opts = {
    service = args.service, message = args.message, system = args.system,
    max_tokens = args.max_tokens, temperature = args.temperature,
    reasoning_effort = args.reasoning_effort, stream = args.stream,
  }
  if args.stream then
    opts.on_request = function()
      log.progress(args.service, "waiting for the first token",
                   { limit = STREAM_FIRST_BYTE_MS / 1000 })
    end
    -- Ctrl-C mid-answer: what was shown stays, on its own line, with
    -- what the call cost so far
    opts.on_interrupt = function(info)
      if shown_answer or shown_reasoning then ctx.write("\n") end
      local tokens = info.usage and info.usage.completion_tokens or
                     info.pieces
      log.info("interrupted: " .. tokens .. " tokens, spent $" ..
               info.spent_usd .. " (reserved $" .. info.reserved_usd .. ")")
    end
    opts.on_reasoning = function(text)
      if not args.show_reasoning then
        if not thinking then
          thinking = true
          log.progress(args.service, "reasoning (not shown; " ..
                       "--show-reasoning shows it)")
        end
        return
      end
      if not shown_reasoning then
        shown_reasoning = true
        ctx.write("[reasoning]\n")
      end
      ctx.write(text)
    end
    opts.on_content = function(text)
      if not shown_answer then
        shown_answer = true
        if shown_reasoning then ctx.write("\n[answer]\n") end
      end
      ctx.write(text)
    end
  else
    opts.on_request = function()
      log.progress(args.service, "waiting for the whole answer")
    end
  end
  local r, err = _M.chat(ctx, opts)
  if shown_answer or shown_reasoning then ctx.write("\n") end
  if not r then
    if err.result and not args.show_reasoning then
      err.result.reasoning = nil
    end
    return nil, err
  end
  if r.dry_run then return r end
  if args.stream then
    -- shown already; with --json the answer went to stderr, and the
    -- result must carry it for whoever reads stdout
    r.answer_chars = utf8.len(r.answer) or #r.answer
    if not ctx.json then r.answer = nil end
  end
  if args.show_reasoning and not args.stream then
    r.reasoning = r.reasoning ~= "" and r.reasoning or nil
  else
    r.reasoning_chars = #r.reasoning > 0 and
                        (utf8.len(r.reasoning) or #r.reasoning) or nil
    r.reasoning = nil
  end
  return r
end

return _M
