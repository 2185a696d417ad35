-- agents: the project's AI agents.
local agents = require "theta.agents"
return {
  group = "Theta AI agents",
  description = "List the project's AI agents",
  params = {
    page = { type = "integer", default = 0, min = 0, help = "page, from 0" },
    number = { type = "integer", default = 100, min = 1, max = 100,
               help = "agents a page" },
    project_id = { type = "string", arg = "prj_...", help = "the project" },
  },
  calls = { "GET controller.thetaedgecloud.com/chatbot/list" },
  spends = false,
  run = function(ctx, args)
    local r, err = agents.list(ctx, { page = args.page,
      number = args.number, project_id = args.project_id })
    if not r then return nil, err end
    local rows = {}
    for i, a in ipairs(r.agents) do
      rows[i] = { id = a.id, name = a.name, model = a.model,
                  created_at = a.created_at }
    end
    return { agents = rows, total = r.total,
             columns = { "id", "name", "model", "created_at" } }
  end,
}
