-- agent-create: a new AI agent (a website chatbot with a knowledge
-- base; theta-api.md 4).
--
--   clawhost run agent-create --name "Support" --system-prompt @prompt.txt
local errors = require "errors"
local json = require "json"
local agents = require "theta.agents"

return {
  group = "Theta AI agents",
  description = "Create an AI agent (a chatbot with a knowledge base)",
  params = {
    name = { type = "string", required = true, help = "its name" },
    system_prompt = { type = "string", arg = "TEXT",
                      help = "its system prompt" },
    max_tokens = { type = "integer", default = 2000, min = 1, max = 32768,
                   help = "most tokens of an answer" },
    temperature = { type = "number", default = 0.5, min = 0, max = 2,
                    help = "sampling temperature" },
    llm_endpoint_id = { type = "string", arg = "ID",
                        help = "the LLM endpoint it answers with" },
    settings = { type = "string", arg = "JSON",
                 help = "its settings object, e.g. '{\"retriever.type\": " ..
                        "\"rerank\"}'" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
  },
  calls = { "POST controller.thetaedgecloud.com/chatbot" },
  spends = false,
  run = function(ctx, args)
    local settings
    if args.settings then
      settings = json.safe.decode(args.settings)
      if type(settings) ~= "table" then
        return nil, errors.new("usage", "--settings must be a JSON object")
      end
    end
    return agents.create(ctx, { name = args.name,
      system_prompt = args.system_prompt, max_tokens = args.max_tokens,
      temperature = args.temperature, llm_endpoint_id = args.llm_endpoint_id,
      settings = settings, warm_up_messages = json.array {},
      project_id = args.project_id })
  end,
}
