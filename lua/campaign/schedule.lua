-- campaign.schedule: the slot of each item, in the campaign's time zone.
--
--   schedule.slots(sched, n)   the first n slots: {t (epoch seconds),
--                              iso ("2027-03-01T09:00:00+01:00"),
--                              utc, day, time}, or nil, err
--
-- Slots go day by day from schedule.start, at schedule.slots' times of
-- each day schedule.days allows (every day when not given); item k of
-- the file takes slot k, so a rerun gives every item the same slot. The
-- instant of "09:00 in Europe/Paris" comes from the tz database for
-- that date (clock.from_zone): summer time moves it, a fixed offset
-- would not. A wall time that does not exist that day (the clocks jump
-- over it) is moved as the C library moves it, and said so (gap).
local clock = require "clock"

local _M = {}

local function leap(y)
  return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
end

local function days_in(y, m)
  local d = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  return d[m] + ((m == 2 and leap(y)) and 1 or 0)
end

local function next_day(d)
  local y, m, day = d.year, d.month, d.day + 1
  if day > days_in(y, m) then
    day, m = 1, m + 1
    if m > 12 then m, y = 1, y + 1 end
  end
  return { year = y, month = m, day = day }
end

-- slots(sched, n) -> list, or nil, err. sched: the checked schedule of
-- campaign.file (start_date, slot_times, day_set, time_zone).
function _M.slots(sched, n)
  local out, day, guard = {}, sched.start_date, 0
  while #out < n do
    guard = guard + 1
    if guard > 3700 then          -- ten years of days without a slot
      return nil, require("errors").new("usage", "schedule.days leaves " ..
        "no day for a slot")
    end
    local noon, err = clock.from_zone { year = day.year, month = day.month,
      day = day.day, hour = 12, zone = sched.time_zone }
    if not noon then return nil, err end
    local wday = clock.in_zone(noon, sched.time_zone).wday
    if not sched.day_set or sched.day_set[wday] then
      for _, s in ipairs(sched.slot_times) do
        if #out >= n then break end
        local t, gap = clock.from_zone { year = day.year,
          month = day.month, day = day.day, hour = s.hour, min = s.min,
          zone = sched.time_zone }
        if not t then return nil, gap end
        out[#out + 1] = {
          t = t, iso = clock.in_zone(t, sched.time_zone).iso,
          utc = clock.iso(t), gap = gap or nil,
          day = string.format("%04d-%02d-%02d", day.year, day.month,
                              day.day),
          time = string.format("%02d:%02d", s.hour, s.min),
        }
      end
    end
    day = next_day(day)
  end
  return out
end

return _M
