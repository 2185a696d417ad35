-- campaign_test.lua: the campaign file's checks (every problem named by
-- item and field, all at once), slots in a time zone across summer
-- time, the prompt the copy step sends, and the clock's zone functions.
--
-- Run by the host as a recipe (tests/run_lua.sh). No network.

local function cases(t, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises
  local json = require "json"
  local clock = require "clock"
  local file = require "campaign.file"
  local schedule = require "campaign.schedule"
  local steps = require "campaign.steps"

  local function has(text, part)
    if not tostring(text):find(part, 1, true) then
      error(string.format("%q does not mention %q", tostring(text), part),
            2)
    end
  end

  local function good()
    return {
      campaign = "c1", budget_usd = 1.5,
      schedule = { start = "2027-03-27", slots = { "18:00", "09:00" },
                   time_zone = "Europe/Paris" },
      items = {
        { id = "a", title = "A", facts = { fields = { price = 1 } } },
        { id = "b", title = "B", facts = { text = "a flat" },
          images = { "https://example.com/b.jpg" },
          link = "https://example.com/b" },
        { id = "c", title = "C", facts = { text = "a house" } },
      },
    }
  end

  suite:case("a good file loads with its defaults", function()
    local c, err = file.load(json.encode(good()), "c.json")
    eq(err, nil)
    eq(c.id, "c1")
    eq(c.copy.service, "gpt_oss_120b")
    eq(c.copy.max_attempts, 3)
    eq(c.image.mode, "generate")
    eq(#c.items, 3)
    eq(c.by_id.b.link, "https://example.com/b")
    eq(c.schedule.slot_times[1].hour, 9)     -- sorted
  end)

  suite:case("every problem at once, each naming item and field",
             function()
    local v = good()
    v.budget_usd = nil
    v.copy = { service = "flux", max_attempts = 0, colour = "red" }
    v.schedule.time_zone = "Europe/Pariss"
    v.schedule.slots = { "25:00" }
    v.items[2].facts = { fields = { price = { bad = true } } }
    v.items[3].id = "a"
    v.items[1].images = { "ftp://x" }
    v.extra = 1
    local c, err = file.load(json.encode(v), "c.json")
    eq(c, nil)
    eq(err.code, "usage")
    local m = err.message
    has(m, "c.json has 10 problems")
    has(m, "budget_usd: is required")
    has(m, "copy: unknown field 'colour'")
    has(m, "copy.service: 'flux' is not a chat service")
    has(m, "copy.max_attempts: must be a whole number from 1 to 10")
    has(m, "no time zone 'Europe/Pariss' in the tz database")
    has(m, "schedule.slots[1]: '25:00' is not a time like 09:00")
    has(m, "items[2] (b).facts.fields.price: must be text, a number")
    has(m, "items[3] (a).id: repeats items[1]")
    has(m, "items[1] (a).images[1]: 'ftp://x' is not an http(s) URL")
    has(m, "extra: is not a campaign field")
    eq(#err.problems, 10)
  end)

  suite:case("not JSON, not an object, nothing given", function()
    local c, err = file.load("{", "c.json")
    eq(c, nil)
    has(err.message, "c.json is not a JSON object")
    c, err = file.load("[1]", "c.json")
    has(err.message, "is not a JSON object")
    c, err = file.load(nil, "c.json")
    has(err.message, "give the file with --file")
    c, err = file.load(json.encode { campaign = "x", budget_usd = 1,
      schedule = { start = "2027-13-01" }, items = {} })
    has(err.message, "schedule.start: must be a date like 2027-03-01")
    has(err.message, "items: is required")
  end)

  suite:case("own images need images; a bad id and title", function()
    local v = good()
    v.image = { mode = "own" }
    v.items[1].id = "has space"
    v.items[1].title = ""
    local _, err = file.load(json.encode(v))
    has(err.message, "items[1].id: must be 1 to 64 letters")
    has(err.message, "items[1].title: is required")
    has(err.message, "items[3] (c).images: is empty, but image.mode is own")
  end)

  -- slots -----------------------------------------------------------------

  suite:case("slots follow the time zone across the summer time change",
             function()
    local c = assert(file.load(json.encode(good())))
    local s = assert(schedule.slots(c.schedule, 5))
    -- 2027-03-28: Paris moves from +01:00 to +02:00
    eq(s[1].iso, "2027-03-27T09:00:00+01:00")
    eq(s[1].utc, "2027-03-27T08:00:00Z")
    eq(s[2].iso, "2027-03-27T18:00:00+01:00")
    eq(s[3].iso, "2027-03-28T09:00:00+02:00")
    eq(s[3].utc, "2027-03-28T07:00:00Z")
    eq(s[5].day, "2027-03-29")
    eq(s[5].time, "09:00")
  end)

  suite:case("slots on chosen days only, over a month and a year end",
             function()
    local v = good()
    v.schedule = { start = "2027-12-30", slots = { "10:30" },
                   days = { "mon", "Friday" },
                   time_zone = "America/New_York" }
    local c = assert(file.load(json.encode(v)))
    local s = assert(schedule.slots(c.schedule, 3))
    eq(s[1].iso, "2027-12-31T10:30:00-05:00")      -- a Friday
    eq(s[2].iso, "2028-01-03T10:30:00-05:00")      -- a Monday
    eq(s[3].iso, "2028-01-07T10:30:00-05:00")
  end)

  suite:case("a wall time in the gap is moved and said so", function()
    local v = good()
    v.schedule = { start = "2027-03-28", slots = { "02:30" },
                   time_zone = "Europe/Paris" }
    local c = assert(file.load(json.encode(v)))
    local s = assert(schedule.slots(c.schedule, 2))
    eq(s[1].gap, true)
    eq(s[1].iso, "2027-03-28T03:30:00+02:00")
    eq(s[2].gap, nil)
    eq(s[2].iso, "2027-03-29T02:30:00+02:00")
  end)

  suite:case("clock.from_zone and clock.in_zone", function()
    local t = assert(clock.from_zone { year = 2027, month = 7, day = 1,
                                       hour = 9, zone = "Europe/Paris" })
    eq(clock.iso(t), "2027-07-01T07:00:00Z")
    local l = clock.in_zone(t, "Asia/Tokyo")
    eq(l.iso, "2027-07-01T16:00:00+09:00")
    eq(l.wday, 4)                                   -- a Thursday
    eq(l.offset, 9 * 3600)
    local x, err = clock.from_zone { year = 2027, month = 2, day = 29,
                                     zone = "UTC" }
    eq(x, nil)
    has(err.message, "2027-02 has no day 29")
    x, err = clock.in_zone(0, "../etc/passwd")
    eq(x, nil)
    has(err.message, "is not a time zone name")
    raises(function() clock.from_zone { year = 2027, month = 13, day = 1,
                                        zone = "UTC" } end,
           "month must be 1 to 12")
    raises(function() clock.from_zone { year = 2027, month = 1,
                                        day = 1 } end, "zone is required")
  end)

  -- the copy prompt --------------------------------------------------------

  suite:case("the prompt carries the facts as one JSON object and the " ..
             "rules", function()
    local c = assert(file.load(json.encode(good())))
    local item = c.by_id.b
    local m = steps.messages(c, item, { limit = 460,
                                        feedback = "Do not claim: pool." })
    eq(#m, 2)
    has(m[1].content, "Use only the facts given in FACTS")
    has(m[1].content, "#RealEstate")
    has(m[2].content, "FACTS (JSON):\n" .. steps.facts_json(item))
    has(m[2].content, "The last draft was refused. Do not claim: pool.")
    eq(json.decode(steps.facts_json(item)).text, "a flat")
    eq(steps.facts_json(item), steps.facts_json(item))
    local p = steps.image_prompt(c, c.by_id.a)
    has(p, "A;")
    has(p, "photograph")
  end)
end

return {
  description = "Tests for lua/campaign (file, schedule, steps)",
  run = function()
    local t = require("testlib")
    local suite = t.new("campaign")
    cases(t, suite)
    return suite:done()
  end,
}
