-- agent-docs: the documents of an AI agent.
local agents = require "theta.agents"
return {
  group = "Theta AI agents",
  description = "List the documents of an AI agent",
  params = { agent = { type = "string", required = true,
                       help = "the agent's id" },
             page = { type = "integer", default = 0, min = 0,
                      help = "page, from 0" },
             number = { type = "integer", default = 30, min = 1, max = 100,
                        help = "documents a page" },
             project_id = { type = "string", arg = "prj_...",
                            help = "the project" } },
  calls = { "GET controller.thetaedgecloud.com/chatbot/{id}/document/list" },
  spends = false,
  run = function(ctx, args)
    local r, err = agents.doc_list(ctx, args.agent, { page = args.page,
      number = args.number, project_id = args.project_id })
    if not r then return nil, err end
    local rows = {}
    for i, d in ipairs(r.documents) do
      local m = type(d.metadata) == "table" and d.metadata or {}
      rows[i] = { id = d.id, filename = m.filename, type = m.query_type,
                  tokens = d.embedding_token_count,
                  created_at = d.created_at }
    end
    return { documents = rows, total = r.total, pages = r.pages,
             columns = { "id", "filename", "type", "tokens", "created_at" } }
  end,
}
