-- parallel: several waits at once with task.all.
local task = require "task"
local clock = require "clock"

local function round(x) return math.floor(x * 1000 + 0.5) / 1000 end

return {
  group = "Examples",
  description = "Run several timed waits at once (shows task.all)",
  params = {
    jobs = { type = "integer", default = 3, min = 1, max = 1000,
             help = "how many waits run at once" },
    seconds = { type = "number", default = 1, min = 0, max = 60,
                help = "how long each wait lasts" },
  },
  run = function(ctx, args)
    local started = clock.monotonic()
    local jobs = {}
    for i = 1, args.jobs do
      jobs[i] = function()
        task.sleep(args.seconds)
        return { job = i, done_after_s = round(clock.monotonic() - started) }
      end
    end
    local rows = task.all(jobs)
    return {
      jobs = args.jobs,
      each_s = args.seconds,
      elapsed_s = round(clock.monotonic() - started),
      one_after_another_s = args.jobs * args.seconds,
      finished = rows,
      columns = { "job", "done_after_s" },
    }
  end,
}
