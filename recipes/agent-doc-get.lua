-- agent-doc-get: one document of an AI agent, its content and metadata.
local agents = require "theta.agents"
return {
  group = "Theta AI agents",
  description = "Show a document of an AI agent (content and metadata)",
  params = { agent = { type = "string", required = true,
                       help = "the agent's id" },
             doc = { type = "string", required = true,
                     help = "the document's id" },
             project_id = { type = "string", arg = "prj_...",
                            help = "the project" } },
  calls = { "GET controller.thetaedgecloud.com/chatbot/{id}/document/{doc}" },
  spends = false,
  run = function(ctx, args)
    return agents.doc_get(ctx, args.agent, args.doc,
                          { project_id = args.project_id })
  end,
}
