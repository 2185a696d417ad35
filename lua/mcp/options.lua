-- mcp/options.lua -- the flags of `clawhost mcp` (host/cli/usage.c lists
-- them for --help, the manual page and the completions).
local _M = {}

-- An amount through the ledger's parser (mcpproc.usd): nano-USD and
-- its text as clawhost writes it, or nil, message naming the flag.
local function usd(parse, flag, v)
  local nano, text = parse(v)
  if not nano then return nil, flag .. ": " .. text end
  return nano, text
end

local function positive(flag, v, max)
  local n = tonumber(v)
  if not n or n <= 0 or n > max then
    return nil, string.format("%s needs a number above 0 and at most %g",
      flag, max)
  end
  return n
end

local function add_names(list, v)
  for name in v:gmatch("[^,]+") do list[name] = true end
end

-- argv (a list of strings) -> options, or nil, message. Amounts are
-- nano-USD (budget, confirm_above) with their text (budget_usd,
-- confirm_above_usd); usd_parse is mcpproc.usd.
function _M.parse(argv, env_budget, realpath, usd_parse)
  local o = { budget = 2000000000, budget_usd = "2.00",
              dry_run = false, approve_spend = false,
              recipe_dirs = {}, file_dirs = {}, max_calls = 8,
              timeout = 600, memory_mb = 256 }
  if env_budget and env_budget ~= "" then
    local b, text = usd(usd_parse, "THETA_MAX_BUDGET_USD", env_budget)
    if not b then return nil, text end
    o.budget, o.budget_usd = b, text
  end
  local i, err = 1, nil
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    local function value()
      if inline then return inline end
      i = i + 1
      if argv[i] == nil then error(name .. " needs a value", 0) end
      return argv[i]
    end
    local ok, e = pcall(function()
      if name == "--dry-run" then o.dry_run = true
      elseif name == "--approve-spend" then o.approve_spend = true
      elseif name == "--budget" or name == "--confirm-above" then
        local key = name == "--budget" and "budget" or "confirm_above"
        local nano, text = usd(usd_parse, name, value())
        if nano then o[key], o[key .. "_usd"] = nano, text
        else err = text end
      elseif name == "--recipes" or name == "--allow-file-dir" then
        local d = value()
        local real = realpath(d)
        if not real then
          err = name .. " " .. d .. ": no such folder"
        elseif name == "--recipes" then
          o.recipe_dirs[#o.recipe_dirs + 1] = real
        else
          o.file_dirs[#o.file_dirs + 1] = real
        end
      elseif name == "--only" then
        o.only = o.only or {}
        add_names(o.only, value())
      elseif name == "--exclude" then
        o.exclude = o.exclude or {}
        add_names(o.exclude, value())
      elseif name == "--max-calls" then
        o.max_calls, err = positive(name, value(), 64)
        o.max_calls = o.max_calls and math.floor(o.max_calls)
      elseif name == "--timeout" then
        o.timeout, err = positive(name, value(), 604800)
      elseif name == "--memory-mb" then
        o.memory_mb, err = positive(name, value(), 65536)
        o.memory_mb = o.memory_mb and math.floor(o.memory_mb)
      else
        err = "mcp: unknown option " .. a .. " ('clawhost mcp --help' " ..
          "lists them)"
      end
    end)
    if not ok then return nil, e end
    if err then return nil, err end
    i = i + 1
  end
  return o
end

return _M
