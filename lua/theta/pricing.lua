-- theta.pricing: what a Theta on-demand call may cost, and what it did.
--
-- Money is counted in whole nano-USD (integers), as the ledger does
-- (docs/budget.md), and handed to the budget module as decimal strings,
-- so no float rounding creeps into the spend record.
--
--   worst case (reserved before the call, reference 7 and 6.4):
--     LLM    prompt tokens (estimate) x input price + max_tokens x output
--     other  one unit of input and output at the unit price
--   real cost (settled after it):
--     usage.input x cost.input + usage.output x cost.output
--       / prediction_cost_divisor / 100            (cents -> USD)
--   never the `cost_usd` field, which is wrong for LLMs (reference 7).
--
-- Pure: no network, no host state.
local _M = {}

local NANO = 1000000000
_M.NANO = NANO

-- Dedicated deployments are billed by the hour of VM time (theta-api.md
-- 7), at prices no source we have states. These are ceilings clawhost
-- reserves against when the VM list carries no price and no --max-cost
-- is given: set above what such GPUs rent for, so a reservation is not
-- below the real cost (docs/deployments.md). USD per hour.
_M.VM_HOURLY_USD = {
  vm_c1 = 0.25,         -- CPU only
  vm_gt1 = 1.00,        -- 1x NVIDIA T4 16 GB
  vm_gt2 = 2.00,        -- 2x T4
  vm_gv1 = 2.00,        -- 1x V100
  vm_ga1 = 4.00,        -- 1x A100 80 GB
  vm_gh200x1 = 8.00,    -- 1x H200
}

-- ---- token estimates -------------------------------------------------

local function text_of(content)
  if type(content) == "string" then return content end
  if type(content) ~= "table" then return "" end
  local parts = {}
  for _, p in ipairs(content) do
    if type(p) == "table" and type(p.text) == "string" then
      parts[#parts + 1] = p.text
    elseif type(p) == "string" then
      parts[#parts + 1] = p
    end
  end
  return table.concat(parts, "\n")
end

-- estimate_prompt_tokens(messages) -> an upper bound of the prompt's
-- tokens: byte-level BPE tokenizers never use more than one token per
-- byte, plus a chat-template allowance (8 per message, 16 per prompt).
-- Deliberately high: the reservation must not be below the real cost,
-- and prompt tokens are the cheap side.
function _M.estimate_prompt_tokens(messages)
  if type(messages) ~= "table" then
    error("pricing.estimate_prompt_tokens: messages must be a list", 2)
  end
  local n = 16
  for _, m in ipairs(messages) do
    if type(m) == "table" then
      n = n + 8 + #tostring(m.role or "") + #text_of(m.content)
    end
  end
  return n
end

-- ---- amounts ---------------------------------------------------------

local function int(v)
  return type(v) == "number" and math.tointeger(v) or nil
end

-- nano-USD of (units_in x cents_in + units_out x cents_out) / divisor /
-- 100, rounded up to a whole nano-USD (exact in integers when every
-- number is whole; otherwise within float noise of a whole nano-USD it
-- rounds to it, else up).
local function cents_to_nano(ui, ci, uo, co, div)
  local a, b, c, d, q = int(ui), int(ci), int(uo), int(co), int(div)
  if a and b and c and d and q and q > 0 then
    local num = a * b + c * d
    if num >= 0 and num < 900000000000 then     -- x 1e7 stays in 63 bits
      num = num * 10000000
      return (num + q - 1) // q
    end
  end
  local x = (ui * ci + uo * co) * 1e7 / div
  local r = math.floor(x + 0.5)
  if math.abs(x - r) <= 1e-6 * math.max(1, math.abs(x)) then
    return math.tointeger(r)
  end
  return math.tointeger(math.ceil(x))
end

-- usage(u) -> {input = n, output = n} from a job's usage ({input,
-- output}) or an OpenAI usage ({prompt_tokens, completion_tokens}); nil
-- when u holds neither.
function _M.usage(u)
  if type(u) ~= "table" then return nil end
  local i = tonumber(u.input) or tonumber(u.prompt_tokens)
  local o = tonumber(u.output) or tonumber(u.completion_tokens)
  if i == nil and o == nil then return nil end
  return { input = i or 0, output = o or 0 }
end

local function check_price(p, fn)
  if type(p) ~= "table" or type(p.divisor) ~= "number" or p.divisor <= 0
     or type(p.input) ~= "number" or type(p.output) ~= "number" then
    error("pricing." .. fn .. ": price must be {input, output, divisor}",
          3)
  end
end

-- cost_nano(usage, price) -> nano-USD; usage in either shape above,
-- price {input = cents, output = cents, divisor = n}.
function _M.cost_nano(usage, price)
  check_price(price, "cost_nano")
  local u = _M.usage(usage)
  if not u then
    error("pricing.cost_nano: usage must have input/output or " ..
          "prompt_tokens/completion_tokens", 2)
  end
  if u.input < 0 or u.output < 0 then
    error("pricing.cost_nano: usage cannot be negative", 2)
  end
  return cents_to_nano(u.input, price.input, u.output, price.output,
                       price.divisor)
end

-- job_cost_nano(job) -> nano-USD from a finished job's own usage,
-- prediction_cost and prediction_cost_divisor; nil when it lacks them.
-- cost_usd is ignored on purpose.
function _M.job_cost_nano(job)
  if type(job) ~= "table" then return nil end
  local u = _M.usage(job.usage)
  local pc = job.prediction_cost
  local div = tonumber(job.prediction_cost_divisor)
  if not u or type(pc) ~= "table" or not div or div <= 0 then return nil end
  return _M.cost_nano(u, { input = tonumber(pc.input) or 0,
                           output = tonumber(pc.output) or 0,
                           divisor = div })
end

-- worst_case_nano(entry, opts) -> nano-USD, the most this call can cost.
--   chat:  opts.messages (or opts.prompt_tokens) and opts.max_tokens
--          (default: the entry's)
--   other: one unit
function _M.worst_case_nano(entry, opts)
  opts = opts or {}
  if type(entry) ~= "table" then
    error("pricing.worst_case_nano: expected a catalog entry", 2)
  end
  check_price(entry.price, "worst_case_nano")
  local p = entry.price
  if entry.kind == "chat" then
    local prompt = opts.prompt_tokens or
                   _M.estimate_prompt_tokens(opts.messages or {})
    local max = opts.max_tokens or entry.max_tokens or 500
    return cents_to_nano(prompt, p.input, max, p.output, p.divisor)
  end
  local units = opts.units or 1
  return cents_to_nano(units, p.input, units, p.output, p.divisor)
end

-- usd_string(nano) -> "0.0001028": at least 2 decimals, no trailing
-- zeros beyond them (the ledger's canonical form, which budget.reserve
-- and r:settle accept exactly).
function _M.usd_string(nano)
  nano = math.tointeger(nano)
  if not nano or nano < 0 then
    error("pricing.usd_string: expected a whole number >= 0", 2)
  end
  local whole, frac = nano // NANO, nano % NANO
  local s = string.format("%09d", frac):gsub("0+$", "")
  if #s < 2 then s = s .. string.rep("0", 2 - #s) end
  return whole .. "." .. s
end

function _M.usd(nano)
  return nano / NANO
end

-- nano(usd) -> nano-USD from a number of dollars (rounded up, except
-- within float noise of a whole nano-USD).
function _M.nano(usd)
  if type(usd) ~= "number" or usd < 0 or usd ~= usd then
    error("pricing.nano: expected a number of USD >= 0", 2)
  end
  local x = usd * NANO
  local r = math.floor(x + 0.5)
  if math.abs(x - r) <= 1e-6 * math.max(1, x) then
    return math.tointeger(r)
  end
  return math.tointeger(math.ceil(x))
end

-- describe(price) -> "$0.20 / $0.40 per 1M tokens" or "$0.01 per image"
function _M.describe(p)
  if type(p) ~= "table" or not p.divisor then return "unknown" end
  local function usd_of(cents)
    local nano = cents_to_nano(1, cents, 0, 0, p.divisor)
    if p.unit == "1M tokens" then nano = nano * 1000000 end
    return "$" .. _M.usd_string(nano)
  end
  if p.unit == "1M tokens" then
    return usd_of(p.input) .. " / " .. usd_of(p.output) ..
           " per 1M tokens (in / out)"
  end
  return usd_of(p.input + p.output) .. " per " .. (p.unit or "request")
end

return _M
