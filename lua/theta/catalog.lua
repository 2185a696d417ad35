-- theta.catalog: the bundled on-demand service catalog, categories and
-- close-name suggestions.
--
-- The bundled table is what we know without asking the API (reference
-- theta-api.md 2.3 for aliases, default predictions, required inputs and
-- variants; section 7 for prices). theta.ondemand uses the live
-- /service/list first and falls back to this table, with a warning,
-- when discovery fails. Prices are kept the way the API states them:
-- integer US cents per unit over a divisor (LLMs: cents per 1M tokens,
-- divisor 1e6; images and other media: cents per request, divisor 1).
--
-- Everything here is pure: no network, no host state.
local _M = {}

local CATEGORIES = { "image", "audio", "text", "video", "vision", "other" }
_M.CATEGORIES = CATEGORIES

local LLM_DIVISOR = 1000000

local function llm(alias, name, cin, cout, context, variants, extra)
  local e = {
    alias = alias, name = name, kind = "chat", category = "text",
    prediction = "completions", inputs = { "messages" }, files = {},
    variants = variants or {},
    price = { input = cin, output = cout, divisor = LLM_DIVISOR,
              unit = "1M tokens" },
    context = context, max_tokens = 500,
  }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

-- cents: price of one request in US cents (reference 7).
local function unit(alias, name, category, prediction, inputs, files,
                    cents, unit_name, extra)
  local e = {
    alias = alias, name = name, kind = "unit", category = category,
    prediction = prediction, inputs = inputs, files = files or {},
    variants = {},
    price = { input = 0, output = cents, divisor = 1,
              unit = unit_name or "image" },
  }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

-- Stale: listed by the seed as catalog-only since the latest live
-- discovery; kept so they are recognised, flagged so nobody is surprised
-- by a 404.
local BUNDLED = {
  llm("qwen3", "Qwen3", 20, 40, 131072, { "default", "parallax_32b_fp8" }),
  llm("gpt_oss_120b", "GPT OSS 120B", 4, 20, 131072, {},
      { max_tokens = 1800, reasoning_effort = "low", openai = true }),
  llm("llama_3_1_70b", "Llama 3.1 70B", 20, 40, 131072,
      { "default", "quantized" }),
  llm("llama_3_8b", "Llama 3 8B", 20, 40, 8192, { "default", "quantized" },
      { stale = true }),
  llm("minimax_m2_5", "MiniMax M2.5", 20, 120, 196608, {},
      { stale = true }),
  llm("glm_5_2", "GLM-5.2", 154, 484, 1000000, { "default" }),
  llm("glm_5_3", "GLM-5.3", 154, 484, 1000000, { "default" }),
  llm("glm_5_3_flash", "GLM-5.3 Flash", 17, 55, 1000000, { "default" }),
  unit("flux", "FLUX.1", "image", "generate_image", { "prompt" }, nil, 1,
       "image", { variants = { "default", "quantized" } }),
  unit("stable_diffusion_xl_turbo", "Stable Diffusion XL Turbo", "image",
       "predict", { "prompt" }, nil, 1),
  unit("step_video", "Step Video", "video", "generate", { "prompt" }, nil,
       20, "video", { stale = true }),
  unit("grounding_dino", "Grounding DINO", "vision", "0",
       { "input_img", "detection_prompt" }, { "input_img" }, 1),
  unit("blip", "BLIP", "vision", "predict", { "input_img" },
       { "input_img" }, 1),
  unit("llava", "LLaVA", "vision", "predict", { "input_img", "question" },
       { "input_img" }, 1, "image", { variants = { "quantized" } }),
  -- whisper: the seed says "low fractional / clip"; 1 cent is the
  -- guard's upper bound (reference 7, ASSUMPTION).
  unit("whisper", "Whisper", "audio", "stt", { "audio_filename" },
       { "audio_filename" }, 1, "clip"),
  unit("esrgan", "ESRGAN", "image", nil, { "input_img" }, { "input_img" },
       2, "image", { stale = true }),
  unit("voice_cloning", "Voice cloning", "audio", nil,
       { "text", "language", "voice" }, { "voice" }, 1, "audio",
       { stale = true }),
  unit("instant_id", "InstantID", "image", nil, { "face_img", "prompt" },
       { "face_img" }, 24, "image", { stale = true }),
  unit("talking_head", "Talking head", "video", nil, { "img", "audio" },
       { "img", "audio" }, 2, "video", { stale = true }),
}

local BY_ALIAS = {}
for _, e in ipairs(BUNDLED) do BY_ALIAS[e.alias] = e end

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

-- A fresh copy of the bundled catalog (a list of entries).
function _M.bundled()
  return copy(BUNDLED)
end

-- The bundled entry for an alias (a copy), or nil.
function _M.bundled_entry(alias)
  local e = BY_ALIAS[alias]
  return e and copy(e) or nil
end

-- ---- categories ------------------------------------------------------

-- Keyword rules, first match wins; the category is decided client-side
-- from the alias and name (the API has no category filter, reference
-- 2.3). Order matters: "talking_head" is video before "head" means
-- anything; vision models before the generic "image" words.
local RULES = {
  { "audio", { "whisper", "audio", "voice", "speech", "tts", "kokoro",
               "music", "sound" } },
  { "video", { "video", "talking_head", "animate", "motion" } },
  { "vision", { "blip", "dino", "llava", "vision", "caption", "detect",
                "ocr", "vqa", "segment", "clip_" } },
  { "image", { "flux", "sdxl", "stable_diffusion", "stable", "diffusion",
               "image", "upscale", "esrgan", "instant_id", "stylize",
               "photo", "img" } },
  { "text", { "qwen", "llama", "gpt", "glm", "minimax", "mistral",
              "deepseek", "llm", "chat", "text", "gemma" } },
}

-- category(entry_or_alias[, name]) -> one of CATEGORIES.
function _M.category(e, name)
  local alias = type(e) == "table" and e.alias or e
  if type(alias) ~= "string" then
    error("catalog.category: expected an alias or an entry", 2)
  end
  name = type(e) == "table" and e.name or name
  local hay = (alias .. " " .. (name or "")):lower():gsub("[%s%-]", "_")
  for _, rule in ipairs(RULES) do
    for _, word in ipairs(rule[2]) do
      if hay:find(word, 1, true) then return rule[1] end
    end
  end
  if type(e) == "table" and e.kind == "chat" then return "text" end
  return "other"
end

function _M.valid_category(c)
  for _, k in ipairs(CATEGORIES) do
    if k == c then return true end
  end
  return false
end

-- filter(entries, category) -> the entries of that category (a new list).
-- Raises on an unknown category (a bad argument).
function _M.filter(entries, category)
  if category == nil then return entries end
  category = tostring(category):lower()
  if not _M.valid_category(category) then
    error("unknown category '" .. category .. "' (expected one of " ..
          table.concat(CATEGORIES, ", ") .. ")", 2)
  end
  local out = {}
  for _, e in ipairs(entries) do
    if _M.category(e) == category then out[#out + 1] = e end
  end
  return out
end

-- ---- close names -----------------------------------------------------

local function distance(a, b)
  local la, lb = #a, #b
  local row = {}
  for j = 0, lb do row[j] = j end
  for i = 1, la do
    local diag = row[0]
    row[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local up = row[j]
      local best = diag + (ca == b:byte(j) and 0 or 1)
      if up + 1 < best then best = up + 1 end
      if row[j - 1] + 1 < best then best = row[j - 1] + 1 end
      row[j] = best
      diag = up
    end
  end
  return row[lb]
end
_M.distance = distance

local function norm(s)
  return s:lower():gsub("[%s%-%.]", "_")
end

-- close_names(typed, aliases[, max]) -> up to `max` (3) aliases that
-- look like `typed`: the same after normalising case and separators,
-- one containing the other ("qwen" -> "qwen3"), or a small edit
-- distance. Closest first.
function _M.close_names(typed, aliases, max)
  if type(typed) ~= "string" then
    error("catalog.close_names: typed must be a string", 2)
  end
  max = max or 3
  local t = norm(typed)
  local scored = {}
  for _, a in ipairs(aliases) do
    local n = norm(a)
    local score
    if n == t then
      score = 0
    elseif #t >= 3 and (n:find(t, 1, true) or t:find(n, 1, true)) then
      score = 1 + math.abs(#n - #t) / 100
    else
      local d = distance(t, n)
      local limit = math.max(2, #t // 3)
      if d <= limit then score = 1 + d end
    end
    if score and a ~= typed then
      scored[#scored + 1] = { alias = a, score = score }
    end
  end
  table.sort(scored, function(x, y)
    if x.score ~= y.score then return x.score < y.score end
    return x.alias < y.alias
  end)
  local out = {}
  for i = 1, math.min(max, #scored) do out[i] = scored[i].alias end
  return out
end

-- ---- live services ---------------------------------------------------

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- A price from a prediction's `cost` ({input, output} object, or a
-- plain number as the MCP types have it) and `cost_divisor`.
local function price_of(pred, fallback)
  local cost = pred and pred.cost
  local div = pred and tonumber(pred.cost_divisor) or nil
  local p
  if type(cost) == "table" then
    p = { input = tonumber(cost.input) or 0,
          output = tonumber(cost.output) or 0, divisor = div or 1 }
  elseif type(cost) == "number" then
    p = { input = 0, output = cost, divisor = div or 1 }
  end
  if p and p.divisor <= 0 then p = nil end
  if not p then return fallback and copy(fallback) or nil end
  local instr = type(pred.instructions) == "string" and pred.instructions
                or ""
  if instr:find("1M", 1, true) or p.divisor >= 1000 then
    p.unit = "1M tokens"
  else
    p.unit = instr:match('"output"%s*:%s*"([^"]+)"') or
             (fallback and fallback.unit) or "request"
  end
  return p
end

-- from_live(service) -> an entry in the bundled shape, from one object of
-- /service/list (reference 2.3). Unknown fields are ignored; what the
-- live object lacks comes from the bundled entry of the same alias.
function _M.from_live(s)
  if type(s) ~= "table" or type(s.alias) ~= "string" then return nil end
  local known = BY_ALIAS[s.alias]
  local pname = s.default_prediction
  if pname ~= nil then pname = tostring(pname) end
  local preds = type(s.predictions) == "table" and s.predictions or {}
  local pred = pname and preds[pname]
  if not pred then
    local names = sorted_keys(preds)
    if #names > 0 then
      pname = pname or names[1]
      pred = preds[names[1]]
    end
  end
  local e = {
    alias = s.alias, name = type(s.name) == "string" and s.name or s.alias,
    id = s.id, state = s.state, prediction = pname or
    (known and known.prediction), inputs = {}, files = {}, variants = {},
    source = "live",
  }
  local vars = pred and type(pred.input_vars) == "table" and pred.input_vars
  local chat = false
  if vars then
    local names = sorted_keys(vars)
    table.sort(names, function(a, b)
      local ia = type(vars[a]) == "table" and tonumber(vars[a].index) or 1e9
      local ib = type(vars[b]) == "table" and tonumber(vars[b].index) or 1e9
      if ia ~= ib then return ia < ib end
      return a < b
    end)
    for _, k in ipairs(names) do
      local v = type(vars[k]) == "table" and vars[k] or {}
      if v.required == true then e.inputs[#e.inputs + 1] = k end
      if v.type == "filename" then e.files[#e.files + 1] = k end
      if v.type == "chat_array" then chat = true end
      if k == "max_tokens" and tonumber(v.default) then
        e.max_tokens = math.tointeger(tonumber(v.default))
      end
    end
  elseif known then
    e.inputs, e.files = copy(known.inputs), copy(known.files)
  end
  if pred and type(pred.variants) == "table" then
    for _, v in ipairs(pred.variants) do
      if type(v) == "string" then e.variants[#e.variants + 1] = v end
    end
  elseif known then
    e.variants = copy(known.variants)
  end
  e.kind = (chat or (known and known.kind == "chat")) and "chat" or "unit"
  e.price = price_of(pred, known and known.price)
  e.context = pred and tonumber(pred.context_length) or
              (known and known.context)
  if known then
    -- runtime defaults are ours, not the API's (reference 6.10)
    if known.max_tokens and (e.max_tokens == nil or known.openai) then
      e.max_tokens = known.max_tokens
    end
    e.openai, e.reasoning_effort = known.openai, known.reasoning_effort
  end
  if e.kind == "chat" and not e.max_tokens then e.max_tokens = 500 end
  e.category = _M.category(e)
  return e
end

-- index(entries) -> { alias = entry }
function _M.index(entries)
  local t = {}
  for _, e in ipairs(entries) do t[e.alias] = e end
  return t
end

function _M.aliases(entries)
  local out = {}
  for _, e in ipairs(entries) do out[#out + 1] = e.alias end
  table.sort(out)
  return out
end

return _M
