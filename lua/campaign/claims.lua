-- campaign.claims: the claim check. Before a post written by a model is
-- queued, every claim in it (numbers, amenities, superlatives) is
-- compared with the facts of the listing, deterministically.
--
--   claims.check(text, facts[, opts])  a report: each claim of the post,
--                                      in text order, supported or not,
--                                      with a reason for people
--   claims.feedback(report)            one "Do not claim: ..." line per
--                                      unsupported claim, "" when ok
--   claims.VOCABULARY                  the default concepts: name ->
--                                      phrases (a copy; changing it
--                                      changes nothing)
--   claims.SUPERLATIVES                the default superlatives and
--                                      guarantees (a copy too)
--
-- facts = { text = "free text" or nil, fields = { name = value } }: a
-- value is a string, a number, a boolean or a list of strings.
-- opts: vocabulary, superlatives, near_m (1000), max_claims (200).
-- Bad arguments raise. Pure: no host state, no I/O.
-- The rules, with examples, and the limits: docs/claims.md.

local _M = {}

local fmt, concat, sort = string.format, table.concat, table.sort
local floor, abs, max = math.floor, math.abs, math.max

local NEAR_M = 1000         -- "near", "walking distance" (opts.near_m)
local MAX_CLAIMS = 200      -- claims read from a post (opts.max_claims)
local MAX_FACTS = 2000      -- numbers and mentions read from the facts
local BEACH_ACCESS_M = 50   -- a beach this close is beach access
local SQFT_PER_M2 = 10.7639

-- The default vocabulary, in the order the doc page lists it. Phrases
-- are matched as whole words, in any case, with a plural on the last
-- word; a hyphen and a space are the same.
local DEFAULT_VOCABULARY = {
  { "pool", { "pool", "swimming pool", "plunge pool", "infinity pool" } },
  { "parking", { "parking", "parking space", "parking spot", "car park",
                 "carport", "off-street parking" } },
  { "garage", { "garage", "double garage" } },
  { "garden", { "garden", "landscaped garden", "yard", "backyard" } },
  { "terrace", { "terrace", "roof terrace", "rooftop terrace", "patio" } },
  { "balcony", { "balcony" } },
  { "lift", { "lift", "elevator" } },
  { "air_conditioning", { "air conditioning", "air conditioned", "a/c",
                          "aircon", "climatisation" } },
  { "fireplace", { "fireplace", "wood burner", "log burner",
                   "wood-burning stove" } },
  { "gym", { "gym", "fitness room", "fitness centre", "fitness center" } },
  { "concierge", { "concierge", "caretaker", "doorman" } },
  { "furnished", { "furnished", "fully furnished" } },
  { "renovated", { "renovated", "refurbished", "newly renovated",
                   "fully renovated", "recently renovated", "restored",
                   "modernised", "modernized", "remodelled",
                   "remodeled" } },
  { "new_build", { "new build", "newly built", "brand new",
                   "new construction", "new development" } },
  { "sea_view", { "sea view", "ocean view", "views of the sea",
                  "view of the sea", "overlooking the sea",
                  "sea facing" } },
  { "mountain_view", { "mountain view", "view of the mountains",
                       "views of the mountains" } },
  { "beach_access", { "beach access", "direct beach access",
                      "direct access to the beach", "access to the beach",
                      "beachfront", "beach front", "on the beach",
                      "steps from the beach", "footsteps from the beach",
                      "private beach" } },
  { "beach_nearby", { "near the beach", "close to the beach",
                      "minutes from the beach", "minutes to the beach",
                      "beach nearby", "walk to the beach",
                      "walking distance to the beach",
                      "walking distance of the beach",
                      "walking distance from the beach",
                      "short walk to the beach", "short walk from the beach",
                      "near the sea", "close to the sea", "by the sea" } },
  { "waterfront", { "waterfront", "seafront", "sea front", "lakefront" } },
  { "walking_distance", { "walking distance", "within walking distance",
                          "a short walk", "short walk", "walkable",
                          "steps from", "steps away" } },
  { "city_centre", { "city centre", "city center", "town centre",
                     "town center", "downtown", "centrally located",
                     "central location", "in the heart of" } },
  { "quiet", { "quiet", "peaceful", "tranquil", "calm", "secluded" } },
  { "south_facing", { "south facing", "southern exposure", "facing south",
                      "faces south" } },
  { "storage", { "storage", "storage room", "storeroom", "store room" } },
  { "cellar", { "cellar", "basement" } },
  { "wheelchair_access", { "wheelchair access", "wheelchair accessible",
                           "step-free access", "disabled access" } },
  { "pets_allowed", { "pets allowed", "pet friendly", "pets welcome",
                      "pets accepted", "dog friendly" } },
  { "security", { "alarm", "security system", "cctv", "gated",
                  "gated community", "video intercom" } },
  { "sauna", { "sauna" } },
  { "hot_tub", { "hot tub", "jacuzzi", "spa bath", "whirlpool" } },
  { "laundry", { "laundry", "laundry room", "utility room",
                 "washing machine" } },
  { "double_glazing", { "double glazing", "double glazed" } },
  { "underfloor_heating", { "underfloor heating", "floor heating" } },
  { "solar_panels", { "solar panel" } },
  { "ev_charging", { "ev charger", "ev charging", "charging point",
                     "charging station" } },
  { "tennis_court", { "tennis court" } },
  { "fibre_internet", { "fibre", "fiber", "high-speed internet",
                        "broadband" } },
}

-- Superlatives and guarantees: comparisons nobody can check, absolutes
-- and promises. "charming", "bright", "spacious" are descriptions, not
-- in the list (add them with opts.superlatives).
local DEFAULT_SUPERLATIVES = {
  "best", "better than", "cheapest", "lowest price", "best price",
  "best deal", "finest", "greatest", "unbeatable", "unrivalled",
  "unrivaled", "unmatched", "unparalleled", "#1", "number one",
  "unique", "one of a kind", "perfect", "perfectly", "flawless",
  "exclusive", "luxury", "luxurious", "prestigious", "world-class",
  "guaranteed", "guarantee", "risk-free", "won't last", "will not last",
  "once-in-a-lifetime", "rare opportunity", "must-see", "bargain",
  "below market value", "stunning", "breathtaking", "spectacular",
  "exceptional", "extraordinary", "incredible", "amazing",
}

-- Concepts a distance supports: fields and facts in metres about the
-- topic (any, when nil) within max metres (near_m when nil).
local NEAR_RULES = {
  beach_access = { topic = "beach", max = BEACH_ACCESS_M },
  waterfront = { topic = "beach", max = BEACH_ACCESS_M },
  beach_nearby = { topic = "beach" },
  city_centre = { topic = "centre" },
  walking_distance = {},
}

-- A concept is also supported by these (direct beach access is near
-- the beach; a garage is parking).
local IMPLIED_BY = {
  beach_nearby = { "beach_access", "waterfront" },
  parking = { "garage" },
}

---------------------------------------------------------------- text

-- Typographic characters read as their ASCII cousins, one byte each:
-- apostrophes, quotes, dashes, and the spaces that hold "450 000".
local SAME_AS = {
  ["\u{2018}"] = "'", ["\u{2019}"] = "'", ["\u{201B}"] = "'",
  ["\u{02BC}"] = "'", ["\u{2032}"] = "'",
  ["\u{201C}"] = '"', ["\u{201D}"] = '"',
  ["\u{2010}"] = "-", ["\u{2011}"] = "-", ["\u{2012}"] = "-",
  ["\u{2013}"] = "-", ["\u{2014}"] = "-", ["\u{2015}"] = "-",
  ["\u{2212}"] = "-",
  ["\u{00A0}"] = " ", ["\u{202F}"] = " ", ["\u{2007}"] = " ",
  ["\u{2009}"] = " ", ["\u{200A}"] = " ", ["\u{200B}"] = " ",
}
local LEADS = "[\194\202\226]"

-- The text matched against: lower-case ASCII, SAME_AS applied. segs
-- maps its bytes back to the original, so a claim's text is the span
-- of the post as written.
local function normalize(raw)
  if not raw:find(LEADS) then
    return (raw:gsub("[A-Z]+", string.lower)), nil
  end
  local out, sn, so = {}, { 1 }, { 1 }
  local len, pos, i = 0, 1, 1
  while true do
    local k = raw:find(LEADS, i)
    if not k then break end
    local n = raw:byte(k) == 226 and 3 or 2
    local rep = SAME_AS[raw:sub(k, k + n - 1)]
    if rep then
      out[#out + 1] = raw:sub(pos, k - 1)
      len = len + (k - pos)
      out[#out + 1] = rep
      sn[#sn + 1], so[#so + 1] = len + 1, k
      len = len + 1
      sn[#sn + 1], so[#so + 1] = len + 1, k + n
      pos = k + n
    end
    i = rep and pos or k + 1
  end
  out[#out + 1] = raw:sub(pos)
  return (concat(out):gsub("[A-Z]+", string.lower)), { n = sn, o = so }
end

local function source(raw, fields_text)
  local s, segs = normalize(raw)
  -- in facts, "sea_view" reads as "sea view" (same length)
  if fields_text then s = s:gsub("_", " ") end
  return { raw = raw, s = s, segs = segs }
end

-- The byte of the original text where byte n of the normalized starts.
local function orig(src, n)
  local sg = src.segs
  if not sg then return n end
  local lo, hi = 1, #sg.n
  while lo < hi do
    local mid = (lo + hi + 1) // 2
    if sg.n[mid] <= n then lo = mid else hi = mid - 1 end
  end
  return sg.o[lo] + (n - sg.n[lo])
end

local function span(src, a, b)
  return src.raw:sub(orig(src, a), orig(src, b + 1) - 1)
end

local ALNUM = {}
for c = 48, 57 do ALNUM[c] = true end
for c = 65, 90 do ALNUM[c] = true end
for c = 97, 122 do ALNUM[c] = true end

-- One UTF-8 character at byte j: its code point and length, or nil
-- when the bytes are not one (they are then taken as they are).
local function decode(s, j)
  local c = s:byte(j)
  local n, cp
  if c >= 0xC2 and c <= 0xDF then n, cp = 2, c & 0x1F
  elseif c >= 0xE0 and c <= 0xEF then n, cp = 3, c & 0x0F
  elseif c >= 0xF0 and c <= 0xF4 then n, cp = 4, c & 0x07
  else return nil end
  for k = 1, n - 1 do
    local d = s:byte(j + k)
    if not d or d & 0xC0 ~= 0x80 then return nil end
    cp = cp << 6 | (d & 0x3F)
  end
  return cp, n
end

-- Letters of the scripts listings are written in; symbols (€, ², emoji)
-- and broken bytes are not, so they end a word.
local function letter(cp)
  return (cp >= 0xC0 and cp <= 0x24F and cp ~= 0xD7 and cp ~= 0xF7)
      or (cp >= 0x370 and cp <= 0x6FF) or (cp >= 0x1E00 and cp <= 0x1FFF)
      or (cp >= 0x3040 and cp <= 0x9FFF) or (cp >= 0xAC00 and cp <= 0xD7AF)
end

-- Does a word character start at byte i?
local function word_at(s, i)
  local b = s:byte(i)
  if not b then return false end
  if b < 128 then return ALNUM[b] == true end
  local cp = decode(s, i)
  return cp ~= nil and letter(cp)
end

-- Does a word character end at byte i?
local function word_ending(s, i)
  local b = i >= 1 and s:byte(i)
  if not b then return false end
  if b < 128 then return ALNUM[b] == true end
  local j = i
  while j > 1 and j > i - 3 and s:byte(j) & 0xC0 == 0x80 do j = j - 1 end
  local cp, n = decode(s, j)
  return cp ~= nil and j + n - 1 == i and letter(cp)
end

-- Sorted, disjoint spans {a, b}: the one holding i, or nil.
local function inside(spans, i)
  local lo, hi = 1, #spans
  while lo <= hi do
    local mid = (lo + hi) // 2
    local sp = spans[mid]
    if i < sp[1] then hi = mid - 1
    elseif i > sp[2] then lo = mid + 1
    else return sp end
  end
  return nil
end

-- URLs, e-mail addresses and @mentions say nothing about the listing;
-- a hashtag's digits are a tag, not a number.
local function masks(src)
  if src.urls then return src.urls, src.tags end
  local urls, tags = {}, {}
  for a, tok, b in src.s:gmatch("()(%S+)()") do
    if tok:find("://", 1, true) or tok:find("^%p*www%.")
        or tok:find("@[%w_]") or tok:find("^%p*[%w%-]+%.%a%a+/") then
      urls[#urls + 1] = { a, b - 1 }
    else
      for ha, hb in tok:gmatch("()#[%w_\128-\255]+()") do
        tags[#tags + 1] = { a + ha - 1, a + hb - 2 }
      end
    end
  end
  src.urls, src.tags = urls, tags
  return urls, tags
end

local NEGATION = { no = true, ["not"] = true, without = true, non = true,
                   never = true, nor = true, neither = true, none = true,
                   lacks = true, lacking = true, cannot = true }
local CLAUSE = { but = true, however = true, although = true,
                 ["while"] = true, yet = true, whereas = true }

-- "no pool", "without parking", "not furnished", "isn't furnished":
-- a negation among the three words before, in the same clause; or
-- "pool: no" after. Returns the start and end of the negated words.
local function negated(s, a, b)
  local lo = max(1, a - 60)
  local pre = s:sub(lo, a - 1)
  local cut = 0
  for k in pre:gmatch("()[%.,;:!%?%(%)\n\r]") do cut = k end
  local words = {}
  for at, w in pre:gmatch("()([%a']+)", cut + 1) do
    words[#words + 1] = { at, w }
  end
  for k = #words, max(1, #words - 2), -1 do
    local w = words[k][2]
    if CLAUSE[w] then break end
    if NEGATION[w] or w:sub(-3) == "n't" then
      return lo + words[k][1] - 1, b
    end
  end
  local w, e = s:match("^%s*[:=%-%(]%s*(%a+)()", b + 1)
  if w == "no" or w == "none" or w == "false" or w == "not" then
    return a, e - 1
  end
  return nil
end

-------------------------------------------------------------- phrases

local function escape(w)
  return (w:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- A phrase as patterns: words joined by spaces or hyphens, the last
-- word also as a plural (s, es, y -> ies).
local function compile_phrase(text)
  local words = {}
  for w in normalize(text):gmatch("[^%s%-]+") do words[#words + 1] = w end
  if #words == 0 then return nil end
  local last = words[#words]
  local forms = { last }
  if last:find("%a$") then
    forms[2], forms[3] = last .. "s", last .. "es"
    if last:find("[^aeiou]y$") then forms[4] = last:sub(1, -2) .. "ies" end
  end
  local head = {}
  for k = 1, #words - 1 do head[k] = escape(words[k]) end
  local pats = {}
  for _, f in ipairs(forms) do
    local parts = { table.unpack(head) }
    parts[#parts + 1] = escape(f)
    pats[#pats + 1] = concat(parts, "[%s%-]+")
  end
  -- a plain find of pre rules the phrase out fast
  local pre = #words > 1 and words[1] or
              (#last > 2 and last:sub(1, -2) or last)
  return { key = concat(words, " "), pre = pre, pats = pats }
end

-- Every whole-word match of the phrases in src, up to cap a pattern,
-- outside URLs and mentions: { a =, b =, ph = }.
local function hits(src, phrases, cap)
  local s, out = src.s, {}
  local urls = masks(src)
  for _, ph in ipairs(phrases) do
    if s:find(ph.pre, 1, true) then
      for _, pat in ipairs(ph.pats) do
        local i, n = 1, 0
        while n < cap do
          local a, b = s:find(pat, i)
          if not a then break end
          if not word_ending(s, a - 1) and not word_at(s, b + 1)
              and not inside(urls, a) then
            out[#out + 1] = { a = a, b = b, ph = ph }
            n = n + 1
          end
          i = a + 1
        end
      end
    end
  end
  return out
end

-- Where phrases overlap, the longest is the claim ("direct access to
-- the beach" over "access to the beach"); then the user's vocabulary
-- over the default, then the order of the vocabulary.
local function resolve(list)
  sort(list, function(x, y)
    local lx, ly = x.b - x.a, y.b - y.a
    if lx ~= ly then return lx > ly end
    if x.a ~= y.a then return x.a < y.a end
    if x.ph.rank ~= y.ph.rank then return x.ph.rank > y.ph.rank end
    return x.ph.id < y.ph.id
  end)
  local taken, kept = {}, {}
  for _, h in ipairs(list) do
    local free = true
    for k = h.a, h.b do
      if taken[k] then free = false; break end
    end
    if free then
      for k = h.a, h.b do taken[k] = true end
      kept[#kept + 1] = h
    end
  end
  sort(kept, function(x, y) return x.a < y.a end)
  return kept
end

-------------------------------------------------------------- numbers

local ORDINAL = { st = true, nd = true, rd = true, th = true }
local NUMBER_WORDS = {
  one = 1, two = 2, three = 3, four = 4, five = 5, six = 6, seven = 7,
  eight = 8, nine = 9, ten = 10, eleven = 11, twelve = 12,
}
local ORDINAL_WORDS = {
  ground = 0, first = 1, second = 2, third = 3, fourth = 4, fifth = 5,
  sixth = 6, seventh = 7, eighth = 8, ninth = 9, tenth = 10,
  eleventh = 11, twelfth = 12,
}
local MONTHS = {
  january = 1, jan = 1, february = 2, feb = 2, march = 3, mar = 3,
  april = 4, apr = 4, may = 5, june = 6, jun = 6, july = 7, jul = 7,
  august = 8, aug = 8, september = 9, sep = 9, sept = 9, october = 10,
  oct = 10, november = 11, nov = 11, december = 12, dec = 12,
}

-- Units after a number: pattern, unit, factor to the unit, approximate.
local UNITS = {
  { "m\194\178", "m2" }, { "m2", "m2" }, { "sqm", "m2" },
  { "sq%.?%s?m%.?", "m2" }, { "sq%.?%s?met[er][re]s?", "m2" },
  { "square%s+met[er][re]s?", "m2" },
  { "sq%.?%s?ft%.?", "sqft" }, { "sqft", "sqft" }, { "ft\194\178", "sqft" },
  { "ft2", "sqft" }, { "square%s+f[eo][eo]t", "sqft" },
  { "kilomet[er][re]s?", "m", 1000 }, { "kms?", "m", 1000 },
  { "met[er][re]s?", "m" }, { "mtrs?", "m" }, { "m", "m" },
  { "miles?", "m", 1609.344, true },
  { "minutes?", "min" }, { "mins?", "min" },
  { "hours?", "min", 60 }, { "hrs?", "min", 60 },
  { "bedrooms?", "bedrooms" }, { "beds?", "bedrooms" },
  { "bdrms?", "bedrooms" }, { "br", "bedrooms" },
  { "bathrooms?", "bathrooms" }, { "baths?", "bathrooms" },
  { "shower[%s%-]?rooms?", "bathrooms" },
  { "rooms?", "rooms" },
  { "%%", "percent" }, { "percent", "percent" }, { "per%s+cent", "percent" },
}
for _, u in ipairs(UNITS) do u[1] = "^" .. u[1] .. "()" end

local ROOMS = { rooms = true, bedrooms = true, bathrooms = true }
local WORD_UNITS = { rooms = true, bedrooms = true, bathrooms = true,
                     min = true }
local NOT_ADJECTIVE = { ["and"] = true, ["or"] = true, to = true,
                       of = true, x = true, by = true, per = true,
                       from = true, ["in"] = true, with = true }

-- The unit at p (after optional spaces or a hyphen): unit, factor,
-- last byte, approximate. "3 double bedrooms": one word may stand
-- between a number and a room unit.
local function unit_after(s, p, allowed)
  local q = s:match("^%s*%-?%s*()", p)
  local function try(at, only)
    for _, u in ipairs(UNITS) do
      if (not only or only[u[2]]) then
        local e = s:match(u[1], at)
        if e and not (ALNUM[s:byte(e - 1)] and word_at(s, e)) then
          return u[2], u[3] or 1, e - 1, u[4]
        end
      end
    end
  end
  local unit, f, e, approx = try(q, allowed)
  if unit then return unit, f, e, approx end
  local w, q2 = s:match("^([%a%-]+)%s+()", q)
  if w and #w <= 15 and not NOT_ADJECTIVE[w] then
    return try(q2, ROOMS)
  end
end

local CUR_BEFORE = {
  { "us%$%s?$", "usd", true }, { "\226\130\172%s?$", "eur" },
  { "%$%s?$", "usd" }, { "\194\163%s?$", "gbp" },
  { "eur%s?$", "eur", true }, { "usd%s?$", "usd", true },
  { "gbp%s?$", "gbp", true }, { "chf%s?$", "chf", true },
}
local CUR_AFTER = {
  { "^%s?\226\130\172()", "eur" }, { "^%s?euros?()", "eur", true },
  { "^%s?eur()", "eur", true }, { "^%s?usd()", "usd", true },
  { "^%s?dollars?()", "usd", true }, { "^%s?%$()", "usd" },
  { "^%s?\194\163()", "gbp" }, { "^%s?gbp()", "gbp", true },
  { "^%s?chf()", "chf", true },
}
local MULTIPLIERS = {
  { "^%s?thousand()", 1000 }, { "^%s?k()", 1000 },
  { "^%s?million()", 1000000 }, { "^%s?mln()", 1000000 },
  { "^%s?mio()", 1000000 }, { "^%s?mn()", 1000000 },
  { "^%s?billion()", 1000000000 }, { "^%s?bn()", 1000000000 },
  { "^%s?m()", 1000000, money = true },
}

-- The currency written just before byte a, not before byte from.
local function currency_before(s, a, from)
  local lo = max(from, a - 8)
  local pre = s:sub(lo, a - 1)
  for _, c in ipairs(CUR_BEFORE) do
    local k = pre:find(c[1])
    if k and not (c[3] and word_ending(s, lo + k - 2)) then
      return c[2], lo + k - 1
    end
  end
end

local function currency_after(s, p)
  for _, c in ipairs(CUR_AFTER) do
    local e = s:match(c[1], p)
    if e and not (c[3] and word_at(s, e)) then return c[2], e end
  end
end

-- "k", "million", and "m" after money ("$1.2M"; "300 m" is metres).
local function multiplier(s, p, money)
  for _, m in ipairs(MULTIPLIERS) do
    local e = s:match(m[1], p)
    if e and not word_at(s, e) and s:sub(e, e + 1) ~= "\194\178"
        and (not m.money or money or currency_after(s, e)) then
      return m[2], e
    end
  end
end

-- Digits with separators: "450,000", "450.000", "450 000", "1,234.5",
-- "0.3", "1,5". Returns T (the separators group thousands) and D (the
-- last one is a decimal point); both when a single "," or "." is
-- followed by three digits.
local function read_number(s, a)
  local _, b = s:find("^%d+", a)
  local groups, seps = { s:sub(a, b) }, {}
  local p = b + 1
  while true do
    local c = s:sub(p, p)
    if c ~= "," and c ~= "." and c ~= " " then break end
    local d1, d2 = s:find("^%d+", p + 1)
    if not d1 then break end
    local len = d2 - d1 + 1
    if c == " " and (len ~= 3 or #groups[#groups] > 3
                     or (seps[1] and seps[1] ~= " ")) then
      break
    end
    groups[#groups + 1], seps[#seps + 1] = s:sub(d1, d2), c
    p = d2 + 1
    if len ~= 3 then break end
  end
  local n, first = #seps, groups[1]
  if n == 0 then return { T = tonumber(first), stop = p - 1, plain = true } end
  local function threes(from, to)
    for k = from, to do if #groups[k] ~= 3 then return false end end
    return true
  end
  local function same_sep(to, c)
    for k = 1, to do if seps[k] ~= c then return false end end
    return true
  end
  local T, D
  local lead = #first <= 3 and first:sub(1, 1) ~= "0"
  if lead and threes(2, n + 1) and same_sep(n, seps[1]) then
    T = tonumber(concat(groups))
  end
  local last = seps[n]
  if last ~= " " and (n == 1 or (lead and threes(2, n)
      and same_sep(n - 1, seps[1]) and seps[1] ~= last)) then
    D = tonumber(concat(groups, "", 1, n) .. "." .. groups[n + 1])
  end
  if not T and not D then
    return { T = tonumber(first), stop = a + #first - 1, plain = true }
  end
  return { T = T, D = D, sep = seps[1], stop = p - 1 }
end

local DAYS = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local function valid_date(y, m, d)
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if not (m >= 1 and m <= 12 and d >= 1 and d <= DAYS[m]) then
    return nil
  end
  local leap = y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
  if m == 2 and d == 29 and not leap then return nil end
  return fmt("%04d-%02d-%02d", y, m, d)
end

-- A date that starts with digits: 2027-03-01, 01/03/2027 (day first,
-- and month first too when that is a date), 1 March 2027, 1st of March.
local function date_at(s, a)
  local y, m, d, e = s:match("^(%d%d%d%d)[%-/](%d%d?)[%-/](%d%d?)()", a)
  if y and (not word_at(s, e) or s:find("^t%d", e)) then
    local v = valid_date(y, m, d)
    if v then return { v }, e - 1 end
  end
  local d1, _, d2, y2, e2 =
    s:match("^(%d%d?)([/%.%-])(%d%d?)%2(%d%d%d%d)()", a)
  if d1 and not word_at(s, e2) then
    local v = {}
    v[#v + 1] = valid_date(y2, d2, d1)
    local md = valid_date(y2, d1, d2)
    if md and md ~= v[1] then v[#v + 1] = md end
    if #v > 0 then return v, e2 - 1 end
  end
  local dd, suf, p = s:match("^(%d%d?)(%a*)()", a)
  if not (suf == "" or ORDINAL[suf]) then return nil end
  p = s:match("^%s+of()", p) or p
  local name, q = s:match("^[%s%-]+(%a+)()", p)
  local month = MONTHS[name]
  if not month then return nil end
  q = s:match("^%.()", q) or q
  local yy, r = s:match("^,?%s+(%d%d%d%d)()", q)
  if yy and not word_at(s, r) then
    local v = valid_date(yy, month, dd)
    if v then return { v }, r - 1 end
  elseif name ~= "may" then
    local v = valid_date(2000, month, dd)
    if v then return { "--" .. v:sub(6) }, q - 1 end
  end
  return nil
end

-- Whole numbers show as integers (1200000, not 1.2e6 or 1200000.0).
local function tidy(v)
  local r = floor(v + 0.5)
  if abs(v - r) <= 1e-9 * max(1, abs(v)) then
    return math.tointeger(r) or r
  end
  return v
end

local function num(v)
  if math.type(v) == "integer" then return fmt("%d", v) end
  local t = tidy(v)
  if math.type(t) == "integer" then return fmt("%d", t) end
  return (fmt("%.10g", t))
end

-- Words of a number's clause after it, as topics: "800 m from the
-- sandy beach" is about {sandy, beach}.
local TOPIC = {
  beach = "beach", beaches = "beach", sea = "beach", seaside = "beach",
  seafront = "beach", shore = "beach", coast = "beach", ocean = "beach",
  plage = "beach",
  centre = "centre", center = "centre", downtown = "centre",
  city = "centre", town = "centre", village = "centre",
  station = "station", train = "station", railway = "station",
  metro = "station", subway = "station", tram = "station",
  shop = "shops", shopping = "shops", supermarket = "shops",
  store = "shops", stores = "shops",
}
local NOT_TOPIC = {}
for w in ([[the a an to from of on in at by and or with walk walking
  stroll drive driving away distance dist only just approx approximately
  about around nearest closest min mins minute minutes m km metres meters
  metre meter foot car bike is are it its your our this that you we be
  far close near nearby less than under over within up walkable time
  has have there here mi mile miles h hour hours]]):gmatch("%a+") do
  NOT_TOPIC[w] = true
end

local function topic(w)
  if TOPIC[w] then return TOPIC[w] end
  if NOT_TOPIC[w] then return nil end
  if #w > 3 and w:sub(-1) == "s" then w = w:sub(1, -2) end
  return w
end

local function about_after(s, b)
  local rest = s:sub(b + 1, b + 80)
  local cut = rest:find("[%.,;:!%?%(%)\n\r]")
  if cut then rest = rest:sub(1, cut - 1) end
  local set, n = {}, 0
  for w in rest:gmatch("%a+") do
    n = n + 1
    if n > 6 then break end
    local t = topic(w)
    if t then set[t] = true end
  end
  return set
end

local YEAR_CUES = {
  "built in", "constructed in", "completed in", "renovated in",
  "refurbished in", "restored in", "dating from", "dates from",
  "built circa", "built", "since", "from", "in", "year", "circa",
}
local FLOOR_CUES = { "on floor", "floor", "level", "storey" }
local MONEY_CUES = { "asking price", "priced at", "price", "asking",
                     "rent", "cost", "costs" }

-- A cue word just before byte a ("built in 1998", "floor 2"): where it
-- starts, or nil. Never before byte from.
local function cue_before(s, a, from, cues)
  local lo = max(from, a - 24)
  local pre = s:sub(lo, a - 1)
  for _, c in ipairs(cues) do
    local k = pre:find(escape(c) .. ":?%s+$")
    if k and not word_ending(s, lo + k - 2) then return lo + k - 1 end
  end
end

-- The claim of the number starting at byte a (a digit); from is where
-- the scan may look back to.
local function digit_claim(s, a, from)
  local dates, stop = date_at(s, a)
  if dates then
    return { at = a, stop = stop, unit = "date", values = dates }
  end
  local n = read_number(s, a)
  local p = n.stop + 1
  local cur, cs = currency_before(s, a, from)
  local at = cs or a
  local mult, e = multiplier(s, p, cur ~= nil)
  if mult then p = e end
  if not cur then
    cur, e = currency_after(s, p)
    if cur then p = e end
  end
  local unit, factor, approx = cur, mult or 1, nil
  if not cur and not mult then
    local suf, q = s:match("^(%a%a)()", p)
    if n.plain and ORDINAL[suf] and not word_at(s, q) then
      p = q
      local f = s:match("^%s*%-?%s*floor()", p)
      if f and not word_at(s, f) then unit, p = "floor", f end
    else
      local u, f, last, ap = unit_after(s, p)
      if u then unit, factor, p, approx = u, f, last + 1, ap end
    end
  end
  local v1, v2 = n.T, n.D
  if v1 and cur and not mult then
    v2 = nil           -- "450.000 EUR": money has no 3 decimals
  elseif v1 and v2 and n.sep == "." then
    v1, v2 = v2, v1    -- "1.200 km" reads 1.2 first; "1,200" 1200
  end
  v1 = v1 or v2
  if v1 == v2 then v2 = nil end
  if not unit and n.plain then
    local c = cue_before(s, a, from, FLOOR_CUES)
    if c then
      unit, at = "floor", c
    elseif n.stop - a == 3 and v1 >= 1800 and v1 <= 2100 then
      c = cue_before(s, a, from, YEAR_CUES)
      if c then unit, at = "year", c end
    end
  end
  -- "Price: 450000" in the facts: money without a currency
  local money = not unit and not cur and cue_before(s, a, from, MONEY_CUES)
  local c = { at = at, stop = p - 1, unit = unit, cur = cur,
              raw = { v1, v2 }, values = { tidy(v1 * factor) },
              approx = approx, money = money and true }
  if v2 then c.values[2] = tidy(v2 * factor) end
  return c
end

-- Claims that start with a word: "three bedrooms", "five-minute walk",
-- "second floor", "March 1, 2027", "March 2027".
local function word_claim(s, a, w, e)
  local v = NUMBER_WORDS[w]
  if v then
    local unit, f, last = unit_after(s, e, WORD_UNITS)
    if unit then
      return { at = a, stop = last, unit = unit, raw = { v },
               values = { v * f } }
    end
  end
  v = ORDINAL_WORDS[w]
  if v then
    local q = s:match("^%s*%-?%s*floor()", e)
    if q and not word_at(s, q) then
      return { at = a, stop = q - 1, unit = "floor", raw = { v },
               values = { v } }
    end
  end
  local month = MONTHS[w]
  if not month then return nil end
  -- "1 March 2027" is read from its digits
  if s:sub(max(1, a - 12), a - 1):find("%d%a*[%s%-]+o?f?%s*$") then
    return nil
  end
  local q = s:match("^%.()", e) or e
  local dd, suf, yy, r = s:match("^%s+(%d%d?)(%a*),?%s+(%d%d%d%d)()", q)
  if dd and (suf == "" or ORDINAL[suf]) and not word_at(s, r) then
    local d = valid_date(yy, month, dd)
    if d then return { at = a, stop = r - 1, unit = "date", values = { d } }
    end
  end
  dd, suf, r = s:match("^%s+(%d%d?)(%a*)()", q)
  if dd and (suf == "" or ORDINAL[suf]) and not word_at(s, r)
      and w ~= "may" then
    local d = valid_date(2000, month, dd)
    if d then
      return { at = a, stop = r - 1, unit = "date",
               values = { "--" .. d:sub(6) } }
    end
  end
  yy, r = s:match("^,?%s+(%d%d%d%d)()", q)
  if yy and not word_at(s, r) then
    return { at = a, stop = r - 1, unit = "date",
             values = { fmt("%s-%02d", yy, month) } }
  end
  return nil
end

-- Every number claim of src, in text order, up to cap of each kind.
local function numbers(src, cap)
  local s = src.s
  local urls, tags = masks(src)
  local out, taken = {}, {}
  for a, w, e in s:gmatch("()(%a+)()") do
    if #out >= cap then break end
    if (NUMBER_WORDS[w] or ORDINAL_WORDS[w] or MONTHS[w])
        and not word_ending(s, a - 1) and not word_at(s, e)
        and not inside(urls, a) then
      local c = word_claim(s, a, w, e)
      if c then
        out[#out + 1] = c
        if c.unit == "date" then taken[#taken + 1] = { c.at, c.stop } end
      end
    end
  end
  local i, n = 1, 0
  while n < cap do
    local a = s:find("%d", i)
    if not a then break end
    local sp = inside(urls, a) or inside(tags, a) or inside(taken, a)
    if sp then
      i = sp[2] + 1
    elseif word_ending(s, a - 1) then
      i = select(2, s:find("^%w+", a)) + 1      -- "T3", "covid19"
    else
      local c = digit_claim(s, a, i)
      out[#out + 1] = c
      n = n + 1
      i = c.stop + 1
    end
  end
  for _, c in ipairs(out) do
    c.kind = "number"
    c.value = c.values[1]
    if c.unit == "m" or c.unit == "min" then
      c.about = about_after(s, c.stop)
    end
  end
  for k, c in ipairs(out) do c.seq = k end
  sort(out, function(x, y)
    if x.at ~= y.at then return x.at < y.at end
    return x.seq < y.seq
  end)
  return out
end

---------------------------------------------------------------- facts

local function name_tokens(name)
  local t = {}
  for w in name:gsub("(%l)(%u)", "%1_%2"):lower():gmatch("[%l%d]+") do
    t[#t + 1] = w
  end
  return t
end

local function has(tokens, list)
  for _, w in ipairs(tokens) do
    for _, x in ipairs(list) do if w == x then return true end end
  end
  return false
end

local CURRENCY_WORDS = { eur = "eur", euro = "eur", euros = "eur",
                         usd = "usd", gbp = "gbp", chf = "chf" }

-- What a field's number measures, from its name: "beach_distance_m" is
-- metres, "surface_m2" square metres, "price_eur" money in euros.
local FIELD_UNITS = {
  { "money", { "price", "prices", "rent", "rental", "cost", "costs", "fee",
               "fees", "charge", "charges", "deposit", "tax", "taxes",
               "amount", "budget" } },
  { "sqft", { "sqft", "ft2" } },
  { "m2", { "m2", "sqm", "surface", "area", "size" } },
  { "bedrooms", { "bedroom", "bedrooms", "beds" } },
  { "bathrooms", { "bathroom", "bathrooms", "bath", "baths" } },
  { "rooms", { "room", "rooms" } },
  { "km", { "km", "kilometres", "kilometers" } },
  { "min", { "min", "mins", "minute", "minutes" } },
  { "m", { "distance", "dist", "m", "metres", "meters" } },
  { "year", { "year", "built", "construction" } },
  { "floor", { "floor", "level", "storey", "story" } },
  { "percent", { "percent", "pct", "yield", "rate", "discount",
                 "commission" } },
}

local function field_unit(tokens)
  local sqft = (has(tokens, { "sq" }) and has(tokens, { "ft" }))
               or (has(tokens, { "square" }) and has(tokens, { "feet" }))
  for k, u in ipairs(FIELD_UNITS) do
    if k == 2 and sqft then return "sqft" end
    if has(tokens, u[2]) then return u[1] end
  end
  return nil
end

local CURRENCY_CODES = {
  eur = "eur", euro = "eur", euros = "eur", ["\226\130\172"] = "eur",
  usd = "usd", ["$"] = "usd", ["us$"] = "usd", dollar = "usd",
  dollars = "usd", gbp = "gbp", ["\194\163"] = "gbp", pound = "gbp",
  pounds = "gbp", chf = "chf",
}

local function topics_of(tokens)
  local set = {}
  for _, w in ipairs(tokens) do
    local t = topic(w)
    if t and not CURRENCY_WORDS[w] and not w:find("^%d") then
      set[t] = true
    end
  end
  return set
end

-- A number fact: values (normalized), raw (as written), unit ("money"
-- with cur, "m", "m2", ... or nil), by, say (for reasons), about.
local function add_fact(F, f)
  if #F.nums < MAX_FACTS then F.nums[#F.nums + 1] = f end
end

local function field_number(F, name, v, unit, tokens)
  local cur
  if unit == "money" then
    for _, w in ipairs(tokens) do cur = cur or CURRENCY_WORDS[w] end
  end
  local raw = v
  if unit == "km" then unit, v = "m", v * 1000 end
  add_fact(F, { values = { tidy(v) }, raw = { raw }, unit = unit,
                cur = cur, by = "fields." .. name,
                say = fmt("%s is %s", name, num(raw)),
                about = topics_of(tokens) })
end

local function mentions(src, phrases)
  local s, pos, neg = src.s, {}, {}
  for _, h in ipairs(hits(src, phrases, MAX_FACTS)) do
    local c = h.ph.concept
    local na, nb = negated(s, h.a, h.b)
    if na then
      neg[c] = neg[c] or span(src, na, nb)
    else
      pos[c] = pos[c] or span(src, h.a, h.b)
    end
  end
  return pos, neg
end

-- The numbers, dates and mentions of a free text (facts.text or a
-- string field); a field's unit applies to its bare numbers.
local function text_facts(F, raw, by, label, o, unit, tokens)
  local src = source(raw, by ~= "facts text")
  for _, c in ipairs(numbers(src, MAX_FACTS)) do
    local u, cur = c.unit, c.cur
    if cur or c.money then u = "money" end
    if u == nil and unit then
      u = unit
      if u == "km" then
        u = "m"
        for k, x in ipairs(c.values) do c.values[k] = tidy(x * 1000) end
      end
    end
    local text = span(src, c.at, c.stop)
    add_fact(F, { values = c.values, raw = c.raw, unit = u, cur = cur,
                  approx = c.approx, by = by,
                  say = fmt('%s says "%s"', label, text),
                  about = c.about or (tokens and topics_of(tokens)) or {} })
  end
  local pos, neg = mentions(src, o.phrases)
  F.sources[#F.sources + 1] = { by = by, label = label, pos = pos,
                                neg = neg }
  if by == "facts text" then F.text = src end
end

local YES = { yes = true, ["true"] = true, y = true }
local NO = { no = true, ["false"] = true, n = true }

local function collect(facts, o)
  local F = { nums = {}, sources = {}, flags = {} }
  local fields = facts.fields or {}
  local names = {}
  for k in pairs(fields) do names[#names + 1] = k end
  sort(names)
  for _, name in ipairs(names) do
    local v, tokens = fields[name], name_tokens(name)
    local unit, by = field_unit(tokens), "fields." .. name
    local flag = concat(tokens, "_"):gsub("^has_", ""):gsub("^is_", "")
                                    :gsub("^with_", "")
    if type(v) == "number" then
      field_number(F, name, v, unit, tokens)
      if unit == nil then
        F.flags[#F.flags + 1] = { key = flag, value = v, by = by,
                                  say = fmt("%s is %s", name, num(v)) }
      end
    elseif type(v) == "boolean" then
      F.flags[#F.flags + 1] = { key = flag, value = v, by = by,
                                say = fmt("%s is %s", name, tostring(v)) }
    elseif type(v) == "string" then
      local t = normalize(v):match("^%s*(.-)%s*$")
      local plain = t:match("^%-?%d+%.?%d*$") and tonumber(t)
      if has(tokens, { "currency" }) then
        F.currency = { code = CURRENCY_CODES[t] or t, by = by,
                       say = fmt("%s is %s", name, v) }
      elseif plain then
        field_number(F, name, plain, unit, tokens)
      elseif YES[t] or NO[t] then
        F.flags[#F.flags + 1] = { key = flag, value = YES[t] == true,
                                  by = by,
                                  say = fmt('%s is "%s"', name, v) }
      else
        text_facts(F, v, by, name, o, unit, tokens)
      end
    else
      for _, item in ipairs(v) do
        local key = normalize(item):match("^%s*(.-)%s*$")
                                    :gsub("[%s%-]+", "_")
        F.sources[#F.sources + 1] = { by = by, label = name, pos = {},
                                      neg = {}, item = key, raw = item }
      end
      for _, item in ipairs(v) do
        text_facts(F, item, by, name, o, unit, tokens)
      end
    end
  end
  if facts.text then
    text_facts(F, facts.text, "facts text", "facts text", o)
  end
  return F
end

-------------------------------------------------------------- support

local FAMILY = { eur = "money", usd = "money", gbp = "money",
                 chf = "money", money = "money", m2 = "area",
                 sqft = "area" }
local function family(u) return FAMILY[u] or u end

local function same(a, b)
  return abs(a - b) <= 1e-9 * max(1, abs(a), abs(b))
end

local function date_match(c, f)
  if c == f then return true end
  if #f ~= 10 then return false end
  if c:sub(1, 2) == "--" then return f:sub(5) == c:sub(2) end
  return #c == 7 and f:sub(1, 7) == c
end

-- Claim value cv (unit cu) against fact value fv (unit fu).
local function value_match(cu, cv, fu, fv, approx)
  if cu == "date" then
    return type(fv) == "string" and date_match(cv, fv)
  end
  if type(fv) == "string" then
    return cu == "year" and #fv >= 7 and tonumber(fv:sub(1, 4)) == cv
  end
  if family(cu) == "area" and family(cu) == family(fu) and cu ~= fu then
    local m2, sqft = fv, cv
    if cu == "m2" then m2, sqft = cv, fv end
    return same(floor(m2 * SQFT_PER_M2 + 0.5), sqft)
        or same(floor(sqft / SQFT_PER_M2 + 0.5), m2)
  end
  if approx then return abs(cv - fv) <= 0.01 * max(abs(cv), abs(fv)) end
  return same(cv, fv)
end

local UNIT_SHOW = { m2 = "m\194\178", sqft = "sq ft", m = "m",
                    min = "min", rooms = "rooms", bedrooms = "bedrooms",
                    bathrooms = "bathrooms" }

local function show(c)
  local v, u = c.value, c.unit
  if u == nil then return "the number " .. num(v) end
  if family(u) == "money" then return num(v) .. " " .. u:upper() end
  if u == "year" then return "the year " .. num(v) end
  if u == "date" then return "the date " .. v end
  if u == "floor" then return "floor " .. num(v) end
  if u == "percent" then return num(v) .. "%" end
  return num(v) .. " " .. UNIT_SHOW[u]
end

local function compatible(cu, fu)
  if fu == nil then return false end
  local cf = family(cu)
  return cf == family(fu) or (cf == "year" and fu == "date")
end

-- "300 m from the beach" is about the beach: a fact about the station
-- does not support it; a fact about nothing in particular does.
local function about_ok(topics, f)
  if not topics or not f.about or next(f.about) == nil then return true end
  for t in pairs(f.about) do if topics[t] then return true end end
  return false
end

local function any_value(c, f, unit_of_fact)
  for _, cv in ipairs(c.values) do
    for _, fv in ipairs(f.values) do
      if value_match(c.unit, cv, unit_of_fact, fv, c.approx or f.approx)
      then return true end
    end
  end
  return false
end

-- A bare number is supported by any fact that holds it, as normalized
-- or as written.
local function judge_bare(c, F)
  for _, f in ipairs(F.nums) do
    if f.unit ~= "date" then
      for _, list in ipairs { f.values, f.raw } do
        for _, fv in ipairs(list) do
          if type(fv) == "number" and same(fv, c.value) then
            return true, f.by, f.say
          end
        end
      end
    end
  end
  return false, nil, "no fact holds " .. show(c)
end

local function judge_number(c, F)
  if c.unit == nil then return judge_bare(c, F) end
  local topics = c.about and next(c.about) and c.about
  local related, mismatch = {}, nil
  local global = F.currency and F.currency.code
  for _, f in ipairs(F.nums) do
    if compatible(c.unit, f.unit) and about_ok(topics, f) then
      if any_value(c, f, f.unit) then
        local cur = f.cur or global
        if not c.cur or not cur or cur == c.cur then
          return true, f.by, f.say
        end
        mismatch = mismatch or { f = f, cur = cur }
      elseif #related < 3 and family(f.unit) == family(c.unit) then
        related[#related + 1] = f.say
      end
    end
  end
  if mismatch then
    local f = mismatch.f
    return false, nil, fmt("%s, but in %s%s, not %s", f.say,
      mismatch.cur:upper(),
      f.cur and "" or " (" .. F.currency.say .. ")", c.cur:upper())
  end
  local why = "no fact gives " .. show(c)
  if #related > 0 then why = why .. " (" .. concat(related, "; ") .. ")" end
  return false, nil, why
end

local function label(concept) return (concept:gsub("_", " ")) end

-- A flag field about the concept: its name is the concept, a phrase of
-- it, or starts with one ("parking_spaces").
local function flag_about(flag, aliases)
  for _, a in ipairs(aliases) do
    if flag == a or flag:sub(1, #a + 1) == a .. "_" then return true end
  end
  return false
end

local function concept_direct(concept, F, o)
  local denial
  local aliases = o.aliases[concept] or { concept }
  for _, fl in ipairs(F.flags) do
    if flag_about(fl.key, aliases) then
      if fl.value == true or (type(fl.value) == "number"
                              and fl.value > 0) then
        return true, fl.by, fl.say
      end
      denial = denial or fl.say
    end
  end
  for _, src in ipairs(F.sources) do
    if src.item then
      for _, a in ipairs(aliases) do
        if src.item == a then
          return true, src.by, fmt('%s lists "%s"', src.label, src.raw)
        end
      end
    elseif src.pos[concept] then
      return true, src.by, fmt('%s mentions "%s"', src.label,
                                src.pos[concept])
    elseif src.neg[concept] then
      denial = denial or fmt('%s says "%s"', src.label, src.neg[concept])
    end
  end
  return false, nil, denial
end

local function judge_concept(concept, F, o)
  local ok, by, why = concept_direct(concept, F, o)
  if ok then return ok, by, why end
  local denial = why
  for _, other in ipairs(IMPLIED_BY[concept] or {}) do
    local ok2, by2, why2 = concept_direct(other, F, o)
    if ok2 then return ok2, by2, why2 end
  end
  local rule, related = NEAR_RULES[concept], {}
  if rule then
    local limit = rule.max or o.near_m
    for _, f in ipairs(F.nums) do
      if f.unit == "m" and (not rule.topic or (f.about or {})[rule.topic])
      then
        if f.values[1] <= limit then
          return true, f.by, fmt("%s, within %s m", f.say, num(limit))
        end
        if #related < 2 then
          related[#related + 1] = fmt("%s, over %s m", f.say, num(limit))
        end
      end
    end
  end
  if denial then return false, nil, denial end
  why = "no fact mentions " .. label(concept)
  if #related > 0 then why = why .. " (" .. concat(related, "; ") .. ")" end
  return false, nil, why
end

local function judge_superlative(c, F)
  local t = F.text
  if t then
    local ph = compile_phrase(c.key)
    local pat = ph.pats[1]
    local i = 1
    while true do
      local a, b = t.s:find(pat, i)
      if not a then break end
      if not word_ending(t.s, a - 1) and not word_at(t.s, b + 1)
          and not negated(t.s, a, b) then
        return true, "facts text",
               fmt('facts text says "%s"', span(t, a, b))
      end
      i = a + 1
    end
  end
  return false, nil, fmt('the facts text does not say "%s"', c.key)
end

---------------------------------------------------------------- options

local function fail(msg) error("claims.check: " .. msg, 3) end

local function list_of_strings(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k, x in pairs(v) do
    if math.type(k) ~= "integer" or type(x) ~= "string" then
      return false
    end
    n = n + 1
  end
  return n == #v
end

local function compile_vocabulary(entries, rank, out, aliases, first_id)
  local id = first_id
  for _, e in ipairs(entries) do
    local concept, phrases = e[1], e[2]
    aliases[concept] = aliases[concept] or { concept }
    for _, text in ipairs(phrases) do
      local ph = compile_phrase(text)
      if ph then
        id = id + 1
        ph.concept, ph.rank, ph.id = concept, rank, id
        out[#out + 1] = ph
        local alias = ph.key:gsub("[%s/]+", "_")
        table.insert(aliases[concept], alias)
      end
    end
  end
  return id
end

local DEFAULT_PHRASES, DEFAULT_ALIASES = {}, {}
local DEFAULT_LAST_ID = compile_vocabulary(DEFAULT_VOCABULARY, 1,
  DEFAULT_PHRASES, DEFAULT_ALIASES, 0)

local function compile_superlatives(words)
  local out = {}
  for k, w in ipairs(words) do
    local ph = compile_phrase(w)
    if ph then ph.rank, ph.id = 1, k; out[#out + 1] = ph end
  end
  return out
end
local DEFAULT_SUPERLATIVE_PHRASES = compile_superlatives(DEFAULT_SUPERLATIVES)

local function vocabulary(user)
  if user == nil then
    return DEFAULT_PHRASES, DEFAULT_ALIASES
  end
  if type(user) ~= "table" then fail("opts.vocabulary must be a table") end
  local names = {}
  for name, v in pairs(user) do
    if type(name) ~= "string" or not name:find("^[%a_][%w_]*$") then
      fail("opts.vocabulary: concept names are words (letters, digits, _)")
    end
    local what = "opts.vocabulary." .. name
    if v ~= false then
      if type(v) ~= "table" then
        fail(what .. " must be a list of phrases, or false")
      end
      for k, x in pairs(v) do
        if k ~= "replace" and (math.type(k) ~= "integer"
            or type(x) ~= "string" or not x:find("%S")) then
          fail(what .. " must be a list of phrases, or false")
        end
      end
      if v.replace ~= nil and type(v.replace) ~= "boolean" then
        fail(what .. ".replace must be a boolean")
      end
    end
    names[#names + 1] = name
  end
  sort(names)
  local dropped = {}
  for _, name in ipairs(names) do
    local v = user[name]
    if v == false or v.replace then dropped[name] = true end
  end
  local phrases, aliases = {}, {}
  for _, ph in ipairs(DEFAULT_PHRASES) do
    if not dropped[ph.concept] then phrases[#phrases + 1] = ph end
  end
  for concept, list in pairs(DEFAULT_ALIASES) do
    if not dropped[concept] then
      aliases[concept] = { table.unpack(list) }
    end
  end
  local entries = {}
  for _, name in ipairs(names) do
    if user[name] then entries[#entries + 1] = { name, user[name] } end
  end
  compile_vocabulary(entries, 2, phrases, aliases, DEFAULT_LAST_ID)
  return phrases, aliases
end

local function options(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then fail("opts must be a table or nil") end
  local o = {}
  o.phrases, o.aliases = vocabulary(opts.vocabulary)
  local sup = opts.superlatives
  if sup == nil then
    o.superlatives = DEFAULT_SUPERLATIVE_PHRASES
  else
    if not list_of_strings(sup) then
      fail("opts.superlatives must be a list of strings")
    end
    local all = { table.unpack(DEFAULT_SUPERLATIVES) }
    for _, w in ipairs(sup) do all[#all + 1] = w end
    o.superlatives = compile_superlatives(all)
  end
  local near = opts.near_m
  if near == nil then near = NEAR_M end
  if type(near) ~= "number" or near ~= near or near < 0
      or near == math.huge then
    fail("opts.near_m must be a number of metres, 0 or more")
  end
  o.near_m = near
  local cap = opts.max_claims
  if cap == nil then cap = MAX_CLAIMS end
  if math.type(cap) ~= "integer" or cap < 1 then
    fail("opts.max_claims must be a whole number, 1 or more")
  end
  o.max_claims = cap
  return o
end

local function check_facts(facts)
  if type(facts) ~= "table" then fail("facts must be a table") end
  if facts.text ~= nil and type(facts.text) ~= "string" then
    fail("facts.text must be a string or nil")
  end
  local fields = facts.fields
  if fields == nil then return end
  if type(fields) ~= "table" then fail("facts.fields must be a table") end
  for name, v in pairs(fields) do
    if type(name) ~= "string" then
      fail("facts.fields: field names must be strings")
    end
    local t = type(v)
    if not (t == "string" or t == "number" or t == "boolean"
            or list_of_strings(v)) then
      fail("facts.fields." .. name ..
           " must be a string, number, boolean or list of strings")
    end
  end
end

------------------------------------------------------------------ check

-- The amenity or superlative claims of the post: the longest phrase of
-- each overlap, left out when the post itself negates it.
local function phrase_claims(src, phrases, cap, kind)
  local out = {}
  for _, h in ipairs(resolve(hits(src, phrases, cap))) do
    if #out >= cap then break end
    if not negated(src.s, h.a, h.b) then
      out[#out + 1] = { kind = kind, at = h.a, stop = h.b,
                        concept = h.ph.concept,
                        key = src.s:sub(h.a, h.b):gsub("[%s%-]+", " ") }
    end
  end
  return out
end

local KIND_ORDER = { number = 1, amenity = 2, superlative = 3 }

function _M.check(text, facts, opts)
  if type(text) ~= "string" then fail("text must be a string") end
  check_facts(facts)
  local o = options(opts)
  local post = source(text)
  local cap = o.max_claims + 1
  local found = numbers(post, cap)
  for _, c in ipairs(phrase_claims(post, o.phrases, cap, "amenity")) do
    found[#found + 1] = c
  end
  for _, c in ipairs(phrase_claims(post, o.superlatives, cap,
                                   "superlative")) do
    found[#found + 1] = c
  end
  for k, c in ipairs(found) do c.seq = k end
  sort(found, function(x, y)
    if x.at ~= y.at then return x.at < y.at end
    if x.kind ~= y.kind then return KIND_ORDER[x.kind] < KIND_ORDER[y.kind]
    end
    return x.seq < y.seq
  end)
  local F = collect(facts, o)
  local report = { claims = {}, unsupported = {} }
  local supported = 0
  for k, c in ipairs(found) do
    if k > o.max_claims then report.truncated = true; break end
    local ok, by, why
    if c.kind == "number" then ok, by, why = judge_number(c, F)
    elseif c.kind == "amenity" then ok, by, why = judge_concept(c.concept,
                                                               F, o)
    else ok, by, why = judge_superlative(c, F) end
    local claim = { kind = c.kind, text = span(post, c.at, c.stop),
                    concept = c.concept, value = c.value, unit = c.unit,
                    supported = ok, by = by, reason = why,
                    at = orig(post, c.at) }
    report.claims[#report.claims + 1] = claim
    if ok then
      supported = supported + 1
    else
      report.unsupported[#report.unsupported + 1] = claim
    end
  end
  report.ok = #report.unsupported == 0 and not report.truncated
  report.counts = { total = #report.claims, supported = supported,
                    unsupported = #report.unsupported }
  return report
end

-- For the regeneration prompt: what not to claim, and why.
function _M.feedback(report)
  if type(report) ~= "table" or type(report.unsupported) ~= "table" then
    error("claims.feedback: report must be a report from claims.check", 2)
  end
  local lines, seen = {}, {}
  for _, c in ipairs(report.unsupported) do
    local text = tostring(c.text):gsub("%s+", " ")
    local line = fmt("Do not claim: %s \u{2014} %s.", text,
                     tostring(c.reason))
    if not seen[line] then
      seen[line] = true
      lines[#lines + 1] = line
    end
  end
  if report.truncated then
    lines[#lines + 1] = fmt("The post makes more than %d claims; " ..
      "write a shorter post with fewer figures.", #report.claims)
  end
  return concat(lines, "\n")
end

local function copy_vocabulary()
  local t = {}
  for _, e in ipairs(DEFAULT_VOCABULARY) do
    t[e[1]] = { table.unpack(e[2]) }
  end
  return t
end

_M.VOCABULARY = copy_vocabulary()
_M.SUPERLATIVES = { table.unpack(DEFAULT_SUPERLATIVES) }

return _M
