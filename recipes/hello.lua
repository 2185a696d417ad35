-- hello: the smallest recipe; shows params, ctx and a result table.
local clock = require "clock"

return {
  group = "Examples",
  description = "Say hello (a first recipe to copy)",
  params = {
    name = { type = "string", default = "world", help = "who to greet" },
    times = { type = "integer", default = 1, min = 1, max = 10,
              help = "how many greetings" },
  },
  run = function(ctx, args)
    local greetings = {}
    for i = 1, args.times do
      greetings[i] = "hello, " .. args.name
    end
    return {
      greeting = greetings[1],
      greetings = greetings,
      dry_run = ctx.dry_run,
      at = clock.iso(clock.now()),
    }
  end,
}
