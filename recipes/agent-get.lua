-- agent-get: one AI agent.
local agents = require "theta.agents"
return {
  group = "Theta AI agents",
  description = "Show an AI agent",
  params = { id = { type = "string", required = true, help = "its id" },
             project_id = { type = "string", arg = "prj_...",
                            help = "the project" } },
  calls = { "GET controller.thetaedgecloud.com/chatbot/{id}" },
  spends = false,
  run = function(ctx, args)
    return agents.get(ctx, args.id, { project_id = args.project_id })
  end,
}
