-- claims_test.lua: the claim check (lua/campaign/claims.lua): every
-- number, amenity and superlative of a post against the facts of a
-- listing; reasons, feedback, options, bad arguments, odd input.
--
-- Run by the host as a recipe (tests/run_lua.sh). Pure: no network.

-- The listing most cases check against.
local function listing(extra)
  local fields = {
    price = 450000, currency = "EUR", surface_m2 = 85, rooms = 3,
    bedrooms = 2, bathrooms = 1, beach_distance_m = 800,
    year_built = 1998, floor = 2, available_from = "2027-03-01",
    amenities = { "pool", "parking" }, location = "Antibes",
    sea_view = true,
  }
  for k, v in pairs(extra or {}) do fields[k] = v end
  return { fields = fields }
end

local function cases(t, claims, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  local function has(text, part)
    if not tostring(text):find(part, 1, true) then
      error(string.format("%q does not mention %q", tostring(text), part),
            2)
    end
  end

  -- the claim whose text is `text`
  local function claim(report, text)
    for _, c in ipairs(report.claims) do
      if c.text == text then return c end
    end
    local seen = {}
    for _, c in ipairs(report.claims) do seen[#seen + 1] = c.text end
    error(string.format("no claim %q; claims: %s", text,
                        table.concat(seen, " | ")), 2)
  end

  -- the post has exactly one number claim, `text`, with value and unit,
  -- and it is supported (or not) by facts
  local function number(post, facts, value, unit, supported, opts)
    local r = claims.check(post, facts, opts)
    local what = string.format("%q", post)
    eq(#r.claims, 1, what .. ": claims")
    local c = r.claims[1]
    eq(c.kind, "number", what .. ": kind")
    eq(c.text, post, what .. ": text")
    eq(c.value, value, what .. ": value")
    eq(c.unit, unit, what .. ": unit")
    eq(c.supported, supported, what .. ": supported")
    return c
  end

  -- compliant and canonical ---------------------------------------------

  suite:case("a post that keeps to the facts is ok", function()
    local r = claims.check("Bright 2-bedroom flat in Antibes: 85 m\u{B2}, "
      .. "sea view, pool and parking, 800 m from the beach. \u{20AC}450,000.",
      listing())
    eq(r.ok, true, "ok")
    eq(#r.unsupported, 0, "unsupported")
    eq(r.counts, { total = 7, supported = 7, unsupported = 0 })
    for _, c in ipairs(r.claims) do
      ok(c.supported and c.by and c.reason, c.text .. " has by and reason")
    end
    eq(claim(r, "\u{20AC}450,000").by, "fields.price")
    eq(claim(r, "sea view").by, "fields.sea_view")
    eq(claim(r, "pool").by, "fields.amenities")
    eq(claim(r, "800 m").by, "fields.beach_distance_m")
  end)

  suite:case("the canonical case: direct beach access 800 m away",
             function()
    local facts = listing { bedrooms = 3 }
    local r = claims.check("Charming 3-bedroom flat in Antibes with direct "
                           .. "beach access, \u{20AC}450,000", facts)
    eq(r.ok, false, "ok")
    eq(r.counts, { total = 3, supported = 2, unsupported = 1 })
    local c = r.unsupported[1]
    eq(c.kind, "amenity")
    eq(c.concept, "beach_access", "the most specific concept")
    eq(c.text, "direct beach access", "the span as written")
    eq(c.supported, false)
    eq(c.by, nil)
    has(c.reason, "no fact mentions beach access")
    has(c.reason, "beach_distance_m is 800")
    local bed = claim(r, "3-bedroom")
    eq({ bed.value, bed.unit, bed.by }, { 3, "bedrooms", "fields.bedrooms" })
    local price = claim(r, "\u{20AC}450,000")
    eq({ price.value, price.unit, price.supported }, { 450000, "eur", true })
    eq(claims.feedback(r), "Do not claim: direct beach access \u{2014} " ..
       c.reason .. ".")
  end)

  -- money -------------------------------------------------------------

  suite:case("a wrong price is unsupported and says the right one",
             function()
    local c = number("\u{20AC}500,000", listing(), 500000, "eur", false)
    has(c.reason, "no fact gives 500000 EUR")
    has(c.reason, "price is 450000")
  end)

  suite:case("the currency must agree with the currency field", function()
    local c = number("$450,000", listing(), 450000, "usd", false)
    has(c.reason, "in EUR")
    has(c.reason, "not USD")
    -- no currency field: the number is what counts
    local facts = listing()
    facts.fields.currency = nil
    number("$450,000", facts, 450000, "usd", true)
    -- a currency in the field's name
    number("$450,000", { fields = { price_usd = 450000 } }, 450000, "usd",
           true)
    number("\u{20AC}450,000", { fields = { price_usd = 450000 } }, 450000,
           "eur", false)
    -- a price in the facts text carries its own currency
    number("\u{20AC}450,000", { text = "Asking 450 000 \u{20AC}." }, 450000,
           "eur", true)
    number("$450,000", { text = "Asking 450 000 \u{20AC}." }, 450000, "usd",
           false)
  end)

  suite:case("every money format, supported and not", function()
    local FORMATS = {
      { "\u{20AC}450,000", 450000, "eur" },
      { "450 000 \u{20AC}", 450000, "eur" },
      { "450\u{A0}000 \u{20AC}", 450000, "eur" },
      { "450\u{202F}000\u{A0}\u{20AC}", 450000, "eur" },
      { "EUR 450k", 450000, "eur" },
      { "450K EUR", 450000, "eur" },
      { "450.000 \u{20AC}", 450000, "eur" },
      { "450,000 euros", 450000, "eur" },
      { "\u{20AC}0.45M", 450000, "eur" },
      { "\u{20AC}0.45 million", 450000, "eur" },
      { "\u{20AC}450,000.00", 450000, "eur" },
    }
    for _, f in ipairs(FORMATS) do
      local c = number(f[1], listing(), f[2], f[3], true)
      eq(c.by, "fields.price", f[1] .. ": by")
      number(f[1], listing { price = 460000 }, f[2], f[3], false)
    end
    local usd = { fields = { price = 1200000, currency = "USD" } }
    number("$1.2M", usd, 1200000, "usd", true)
    number("$1.3M", usd, 1300000, "usd", false)
    -- no currency: a bare number, held by the price field
    number("450k", listing(), 450000, nil, true)
    number("450,000", listing(), 450000, nil, true)
    number("460,000", listing(), 460000, nil, false)
  end)

  -- surfaces, rooms, distances, times -----------------------------------

  suite:case("surfaces in square metres and square feet", function()
    for _, post in ipairs { "85 m\u{B2}", "85m\u{B2}", "85 m2", "85 sqm",
                            "85 square metres", "85 sq. m" } do
      number(post, listing(), 85, "m2", true)
      number(post, listing { surface_m2 = 90 }, 85, "m2", false)
    end
    local c = number("915 sq ft", listing(), 915, "sqft", true)
    eq(c.by, "fields.surface_m2", "converted, 1 m\u{B2} = 10.7639 sq ft")
    number("1000 sq ft", listing(), 1000, "sqft", false)
    number("85 m2", { fields = { living_area_sqft = 915 } }, 85, "m2", true)
  end)

  suite:case("rooms, bedrooms and bathrooms, in digits and words",
             function()
    local facts = listing { bedrooms = 3, bathrooms = 2, rooms = 5 }
    number("3 bedrooms", facts, 3, "bedrooms", true)
    number("3-bedroom", facts, 3, "bedrooms", true)
    number("three bedrooms", facts, 3, "bedrooms", true)
    number("Three-bedroom", facts, 3, "bedrooms", true)
    number("3 double bedrooms", facts, 3, "bedrooms", true)
    number("2 bathrooms", facts, 2, "bathrooms", true)
    number("two baths", facts, 2, "bathrooms", true)
    number("two shower rooms", facts, 2, "bathrooms", true)
    number("5 rooms", facts, 5, "rooms", true)
    number("five-room", facts, 5, "rooms", true)
    number("four bedrooms", facts, 4, "bedrooms", false)
    -- a unit matches its own field: 3 bedrooms are not 3 rooms
    local c = number("3 rooms", facts, 3, "rooms", false)
    has(c.reason, "rooms is 5")
    -- a number word without a unit is no claim
    eq(#claims.check("one of a kind", facts).claims, 1, "one: only the " ..
       "superlative")
  end)

  suite:case("distances: m, km, metres, converted", function()
    local facts = listing { beach_distance_m = 300 }
    number("300 m", facts, 300, "m", true)
    number("300m", facts, 300, "m", true)
    number("0.3 km", facts, 300, "m", true)
    number("0,3 km", facts, 300, "m", true)
    number("300 metres", facts, 300, "m", true)
    number("0.8 km", facts, 800, "m", false)
    local r = claims.check("300 metres from the beach", facts)
    eq(claim(r, "300 metres").supported, true, "about the beach")
    -- a field in km
    number("800 m", { fields = { beach_distance_km = 0.8 } }, 800, "m", true)
    number("1.2 km", { fields = { beach_distance_km = 0.8 } }, 1200, "m",
           false)
  end)

  suite:case("a distance about one place is not another's", function()
    local facts = { fields = { beach_distance_m = 800,
                               station_distance_m = 300 } }
    local r = claims.check("300 m from the beach, 800 m from the station",
                           facts)
    local beach, station = claim(r, "300 m"), claim(r, "800 m")
    eq(beach.supported, false, "the beach is 800 m away")
    has(beach.reason, "beach_distance_m is 800")
    eq(station.supported, false, "the station is 300 m away")
    r = claims.check("800 m from the sea", facts)
    eq(claim(r, "800 m").by, "fields.beach_distance_m", "the sea is the beach")
  end)

  suite:case("times: min, minutes, hours", function()
    local facts = { fields = { walk_to_beach_min = 5 } }
    local r = claims.check("5 min walk to the beach", facts)
    eq(claim(r, "5 min").supported, true)
    r = claims.check("a 5-minute walk", facts)
    eq(claim(r, "5-minute").unit, "min")
    eq(claim(r, "5-minute").supported, true)
    number("five minutes", facts, 5, "min", true)
    number("10 minutes", facts, 10, "min", false)
    number("1 hour", { fields = { drive_min = 60 } }, 60, "min", true)
  end)

  -- years, dates, floors, percentages ------------------------------------

  suite:case("years: built in 1998", function()
    number("built in 1998", listing(), 1998, "year", true)
    number("Built 1998", listing(), 1998, "year", true)
    local c = number("built in 1995", listing(), 1995, "year", false)
    has(c.reason, "no fact gives the year 1995 (year_built is 1998)")
    number("since 2019", { text = "Renovated in 2019." }, 2019, "year",
           true)
  end)

  suite:case("dates in every form, against a date field", function()
    local facts = listing()
    for _, post in ipairs { "2027-03-01", "1 March 2027", "1st March 2027",
                            "March 1, 2027", "01/03/2027", "1.3.2027" } do
      local c = number(post, facts, "2027-03-01", "date", true)
      eq(c.by, "fields.available_from", post .. ": by")
    end
    number("March 2027", facts, "2027-03", "date", true)
    number("Mar. 2027", facts, "2027-03", "date", true)
    number("2027-03-01", { fields = { from = "2027-03-01T09:00:00Z" } },
           "2027-03-01", "date", true)
    number("1 March", facts, "--03-01", "date", true)
    number("2027-04-01", facts, "2027-04-01", "date", false)
    number("April 2027", facts, "2027-04", "date", false)
    -- a date in the facts text
    number("1 March 2027", { text = "Free from 2027-03-01." },
           "2027-03-01", "date", true)
    number("15 June 2027", { text = "Available 15/06/2027." },
           "2027-06-15", "date", true)
  end)

  suite:case("floors and percentages", function()
    number("2nd floor", listing(), 2, "floor", true)
    number("second floor", listing(), 2, "floor", true)
    number("floor 2", listing(), 2, "floor", true)
    number("level 2", listing(), 2, "floor", true)
    number("3rd-floor", listing(), 3, "floor", false)
    number("ground floor", listing { floor = 0 }, 0, "floor", true)
    local facts = { fields = { yield_pct = 5 } }
    number("5%", facts, 5, "percent", true)
    number("5 percent", facts, 5, "percent", true)
    number("6 %", facts, 6, "percent", false)
  end)

  suite:case("numbers in the facts text, with a compatible unit",
             function()
    local facts = { text = "Flat of 85 m2, 800 m from the beach, " ..
                           "3 bedrooms. Price 450 000 EUR." }
    local r = claims.check("85 m\u{B2}, 3 bedrooms, 800 m, \u{20AC}450,000",
                           facts)
    eq(r.ok, true, "ok")
    eq(claim(r, "85 m\u{B2}").by, "facts text")
    has(claim(r, "85 m\u{B2}").reason, 'facts text says "85 m2"')
    -- a price without a currency, said to be a price
    number("\u{20AC}450,000", { text = "Price: 450000, negotiable." },
           450000, "eur", true)
    number("\u{20AC}450,000", { text = "Plot 450000." }, 450000, "eur",
           false)
    -- the same number with another unit does not count
    number("\u{20AC}800", facts, 800, "eur", false)
    number("800 bedrooms", facts, 800, "bedrooms", false)
  end)

  suite:case("a bare number is supported by any fact that holds it",
             function()
    local r = claims.check("Sleeps 6", { fields = { sleeps = 6 } })
    eq({ r.claims[1].text, r.claims[1].value, r.claims[1].unit,
         r.claims[1].by }, { "6", 6, nil, "fields.sleeps" })
    number("1998", listing(), 1998, nil, true)
    local c = number("42", listing(), 42, nil, false)
    eq(c.reason, "no fact holds the number 42")
  end)

  -- amenities -----------------------------------------------------------

  suite:case("negated facts do not support, and the reason says so",
             function()
    local facts = { text = "No pool. Not furnished; sold without parking." }
    local r = claims.check("Pool, furnished, parking.", facts)
    eq(r.counts.unsupported, 3, "unsupported")
    eq(claim(r, "Pool").reason, 'facts text says "No pool"')
    eq(claim(r, "furnished").reason, 'facts text says "Not furnished"')
    eq(claim(r, "parking").reason, 'facts text says "without parking"')
    -- "Pool: no" and "isn't furnished" too
    r = claims.check("pool, furnished",
                     { text = "Pool: no. The flat isn't furnished." })
    eq(r.counts.unsupported, 2, "trailing and n't negations")
    -- a negation in another clause does not count
    r = claims.check("a garden", { text = "No pool, but a garden." })
    eq(r.ok, true, "but ends the negation")
  end)

  suite:case("boolean fields named after the concept", function()
    local r = claims.check("Sea views, lift, pool",
      { fields = { sea_view = true, elevator = true, pool = false } })
    eq(claim(r, "Sea views").by, "fields.sea_view", "plural, boolean")
    eq(claim(r, "lift").by, "fields.elevator", "a phrase of the concept")
    eq(claim(r, "pool").supported, false)
    eq(claim(r, "pool").reason, "pool is false")
    r = claims.check("parking and a garage",
      { fields = { parking_spaces = 2, has_garage = "yes" } })
    eq(r.ok, true, "a count and a yes")
  end)

  suite:case("list fields hold concept names or phrases", function()
    local facts = { fields = { amenities = { "Swimming pool",
      "air_conditioning", "sea view", "Private garden (200 m2)" } } }
    local r = claims.check("Air-conditioned, pool, sea-view garden, " ..
                           "fireplace", facts)
    eq(claim(r, "Air-conditioned").by, "fields.amenities")
    eq(claim(r, "pool").by, "fields.amenities")
    eq(claim(r, "sea-view").supported, true)
    eq(claim(r, "garden").supported, true)
    eq(claim(r, "fireplace").supported, false)
    eq(claim(r, "fireplace").reason, "no fact mentions fireplace")
  end)

  suite:case("near the beach and walking distance by a distance field",
             function()
    local near = listing { beach_distance_m = 800 }
    local far = listing { beach_distance_m = 1500 }
    local r = claims.check("Close to the beach", near)
    eq(r.claims[1].concept, "beach_nearby")
    eq(r.ok, true, "800 m is near")
    r = claims.check("Close to the beach", far)
    eq(r.ok, false, "1500 m is not")
    has(r.claims[1].reason, "beach_distance_m is 1500, over 1000 m")
    r = claims.check("Close to the beach", far, { near_m = 2000 })
    eq(r.ok, true, "opts.near_m")
    r = claims.check("Within walking distance of the shops",
                     { fields = { shops_distance_m = 400 } })
    eq(r.claims[1].concept, "walking_distance")
    eq(r.ok, true, "any distance field")
    -- direct beach access needs an explicit fact
    eq(claims.check("beachfront", listing { beach_distance_m = 30 }).ok,
       true, "30 m")
    eq(claims.check("beachfront", { fields = { beach_access = true } }).ok,
       true, "a true field")
    eq(claims.check("on the beach",
                    { text = "Direct access to the beach." }).ok, true,
       "a phrase in the facts")
    -- and supports being near the beach
    eq(claims.check("minutes from the beach",
                    { text = "Beachfront villa." }).ok, true, "implied")
  end)

  suite:case("overlapping phrases give the most specific concept once",
             function()
    local r = claims.check("With direct access to the beach", listing())
    eq(#r.claims, 1, "one claim")
    eq(r.claims[1].concept, "beach_access")
    eq(r.claims[1].text, "direct access to the beach")
    r = claims.check("a short walk to the beach", listing())
    eq(#r.claims, 1, "one claim")
    eq(r.claims[1].concept, "beach_nearby")
  end)

  suite:case("the user's vocabulary: a new concept and a French phrase",
             function()
    local opts = { vocabulary = {
      wine_cellar = { "wine cellar", "cave \u{E0} vin" },
      pool = { "piscine" },
    } }
    local facts = { text = "Cave \u{E0} vin. Piscine chauff\u{E9}e." }
    local r = claims.check("Wine cellar and a heated piscine", facts, opts)
    eq(claim(r, "Wine cellar").concept, "wine_cellar", "longest wins")
    eq(claim(r, "Wine cellar").supported, true, "by the French phrase")
    eq(claim(r, "piscine").concept, "pool")
    eq(claim(r, "piscine").supported, true)
    -- the defaults are still there, and a list field counts
    r = claims.check("pool, wine cellar",
                     { fields = { amenities = { "wine_cellar" } } }, opts)
    eq(claim(r, "wine cellar").supported, true, "the concept name")
    eq(claim(r, "pool").supported, false)
    -- without the option, no wine_cellar concept: only cellar
    r = claims.check("Wine cellar", facts)
    eq(r.claims[1].concept, "cellar")
    -- replace and remove
    r = claims.check("pool, piscine", {},
                     { vocabulary = { pool = { "piscine", replace = true },
                                      quiet = false } })
    eq(#r.claims, 1, "pool replaced")
    eq(r.claims[1].text, "piscine")
    eq(#claims.check("quiet street", {},
                     { vocabulary = { quiet = false } }).claims, 0,
       "quiet removed")
  end)

  -- superlatives ----------------------------------------------------------

  suite:case("superlatives and guarantees are flagged", function()
    local r = claims.check("The best deal in town, guaranteed! A unique " ..
                           "home that won\u{2019}t last. #1 choice.",
                           listing())
    local words = {}
    for _, c in ipairs(r.unsupported) do
      eq(c.kind, "superlative", c.text)
      words[#words + 1] = c.text
    end
    eq(words, { "best deal", "guaranteed", "unique",
                "won\u{2019}t last", "#1" })
    has(claim(r, "unique").reason, 'does not say "unique"')
  end)

  suite:case("a superlative the facts text says is supported", function()
    local facts = { text = "A unique property, the last one of its kind." }
    local r = claims.check("Unique and luxurious", facts)
    eq(claim(r, "Unique").supported, true)
    eq(claim(r, "Unique").by, "facts text")
    eq(claim(r, "luxurious").supported, false)
    -- the exact word: a guarantee is not guaranteed
    r = claims.check("Guaranteed", { text = "No guarantee given." })
    eq(r.ok, false, "guarantee")
    r = claims.check("unique", { text = "Uniquely placed." })
    eq(r.ok, false, "uniquely is another word")
    -- extra words
    r = claims.check("Charming flat", {},
                     { superlatives = { "charming" } })
    eq(r.claims[1].kind, "superlative")
    eq(claims.check("Charming flat", {}).claims, {}, "not by default")
  end)

  -- what is not a claim ----------------------------------------------------

  suite:case("URLs, mentions, hashtags and glued digits are not claims",
             function()
    local r = claims.check("See https://example.com/listing/12345 and " ..
                           "www.agency42.fr, ask @agent_77 or " ..
                           "info@agency9.com #Antibes2027 #2 T3 " ..
                           "example.org/p/99", listing())
    eq(r.claims, {}, "no claims")
    eq(r.ok, true)
    -- the words of a hashtag still count
    r = claims.check("#luxury", {})
    eq(r.claims[1].text, "luxury")
    -- a negated amenity in the post is not a claim
    eq(#claims.check("No pool, not furnished", {}).claims, 0, "negated")
  end)

  -- report shape, order, text -----------------------------------------------

  suite:case("claims follow the text, with spans as written", function()
    local r = claims.check("Stunning sea view \u{2013} 3\u{2013}bedroom, " ..
      "pool, 450\u{202F}000\u{A0}\u{20AC}, 2nd floor, best price!",
      listing { bedrooms = 3 })
    local got = {}
    for _, c in ipairs(r.claims) do got[#got + 1] = c.kind .. ":" .. c.text end
    eq(got, { "superlative:Stunning", "amenity:sea view",
              "number:3\u{2013}bedroom", "amenity:pool",
              "number:450\u{202F}000\u{A0}\u{20AC}", "number:2nd floor",
              "superlative:best price" })
    local at = 0
    for _, c in ipairs(r.claims) do
      ok(c.at > at, c.text .. " after the one before")
      at = c.at
    end
    eq(r.counts, { total = 7, supported = 5, unsupported = 2 })
  end)

  suite:case("feedback: one line per unsupported claim, '' when ok",
             function()
    local r = claims.check("Best price: \u{20AC}500,000. Best price!",
                           listing())
    eq(claims.feedback(r),
       'Do not claim: Best price \u{2014} the facts text does not say ' ..
       '"best price".\n' ..
       "Do not claim: \u{20AC}500,000 \u{2014} no fact gives 500000 EUR " ..
       "(price is 450000).", "deduplicated, in text order")
    eq(claims.feedback(claims.check("\u{20AC}450,000", listing())), "")
  end)

  suite:case("max_claims caps the claims and the post is not ok",
             function()
    local r = claims.check("1 2 3 4 5", { text = "1 2 3 4 5" },
                           { max_claims = 3 })
    eq(#r.claims, 3, "capped")
    eq(r.truncated, true)
    eq(r.ok, false, "not checked to the end")
    has(claims.feedback(r), "more than 3 claims")
  end)

  suite:case("the defaults are readable copies", function()
    ok(#claims.VOCABULARY.beach_access > 3, "beach_access phrases")
    ok(#claims.SUPERLATIVES > 10, "superlatives")
    claims.VOCABULARY.pool = nil
    eq(claims.check("pool", { fields = { pool = true } }).ok, true,
       "changing the copy changes nothing")
  end)

  -- arguments and odd input ---------------------------------------------

  suite:case("bad arguments raise and name the argument", function()
    raises(function() claims.check(nil, {}) end,
           "claims.check: text must be a string")
    raises(function() claims.check("x") end,
           "claims.check: facts must be a table")
    raises(function() claims.check("x", { fields = "price" }) end,
           "claims.check: facts.fields must be a table")
    raises(function() claims.check("x", { text = 3 }) end,
           "facts.text must be a string")
    raises(function() claims.check("x", { fields = { a = { 1, 2 } } }) end,
           "facts.fields.a must be a string, number, boolean or list")
    raises(function() claims.check("x", {}, "fast") end, "opts must be")
    raises(function() claims.check("x", {}, { near_m = -1 }) end,
           "opts.near_m")
    raises(function() claims.check("x", {}, { max_claims = 0 }) end,
           "opts.max_claims")
    raises(function()
      claims.check("x", {}, { vocabulary = { pool = "piscine" } })
    end, "opts.vocabulary.pool must be a list of phrases")
    raises(function()
      claims.check("x", {}, { superlatives = { 1 } })
    end, "opts.superlatives must be a list of strings")
    raises(function() claims.feedback("ok") end, "claims.feedback: report")
  end)

  suite:case("odd input never raises", function()
    local odd = "\255\254 3 bedrooms \195 pool\0\1\2 \226\130 \u{20AC}" ..
                "\240\159\143\150 450k \192\128 #\255 @\254 5\226\128\175"
    local r = claims.check(odd, listing { bedrooms = 3 })
    eq(claim(r, "3 bedrooms").supported, true, "through broken bytes")
    eq(claim(r, "pool").supported, true)
    claims.check(odd, { text = odd, fields = { note = odd,
                                               list = { odd, "" } } })
    -- 10 kB of words, digits and separators
    local parts = {}
    for k = 1, 1000 do
      parts[k] = ({ "pool ", "1,2.", "3 m", "\u{20AC}", "best", "-",
                    "\u{A0}", "x9 " })[k % 8 + 1]
    end
    local big = table.concat(parts):rep(3):sub(1, 10240)
    r = claims.check(big, { text = big })
    eq(#r.claims, 200, "capped at 200")
    eq(r.truncated, true)
    r = claims.check(("9"):rep(10240), {})
    eq(#r.claims, 1, "one long number")
    eq(claims.check("", {}).ok, true, "empty post")
    eq(claims.check("\0\0\0", {}).claims, {}, "NUL bytes")
  end)
end

return {
  description = "Tests for lua/campaign/claims.lua (the claim check)",
  run = function()
    local t = require("testlib")
    local suite = t.new("claims")
    cases(t, require "campaign.claims", suite)
    return suite:done()
  end,
}
