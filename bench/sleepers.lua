-- sleepers: recipes/parallel.lua's waits started with task.spawn and
-- waited for one by one instead of task.all. bench/run.sh measures CPU
-- against wall time with it when `clawhost run parallel` cannot run,
-- so the "no busy loops" figure is still taken.
local task = require "task"
local clock = require "clock"

return {
  description = "bench: many task.sleep waits at once, via task.spawn",
  params = {
    jobs = { type = "integer", default = 100, min = 1, max = 1000,
             help = "how many waits run at once" },
    seconds = { type = "number", default = 2, min = 0, max = 60,
                help = "how long each wait lasts" },
  },
  run = function(ctx, args)
    local started = clock.monotonic()
    local handles = {}
    for i = 1, args.jobs do
      handles[i] = task.spawn(function() task.sleep(args.seconds) end)
    end
    for i = 1, args.jobs do handles[i]:wait() end
    return { jobs = args.jobs, each_s = args.seconds,
             elapsed_s = clock.monotonic() - started }
  end,
}
