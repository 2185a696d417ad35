-- agent-update: change some fields of an AI agent (a partial update).
local errors = require "errors"
local agents = require "theta.agents"
return {
  group = "Theta AI agents",
  description = "Update an AI agent's name, prompt, tokens or temperature",
  params = {
    id = { type = "string", required = true, help = "its id" },
    name = { type = "string", help = "a new name" },
    system_prompt = { type = "string", arg = "TEXT",
                      help = "a new system prompt" },
    max_tokens = { type = "integer", min = 1, max = 32768,
                   help = "most tokens of an answer" },
    temperature = { type = "number", min = 0, max = 2,
                    help = "sampling temperature" },
    project_id = { type = "string", arg = "prj_...", help = "the project" },
  },
  calls = { "PUT controller.thetaedgecloud.com/chatbot/{id}" },
  spends = false,
  run = function(ctx, args)
    local f = { name = args.name, system_prompt = args.system_prompt,
                max_tokens = args.max_tokens, temperature = args.temperature,
                project_id = args.project_id }
    if not (f.name or f.system_prompt or f.max_tokens or f.temperature) then
      return nil, errors.new("usage", "nothing to update: give --name, " ..
        "--system-prompt, --max-tokens or --temperature")
    end
    return agents.update(ctx, args.id, f)
  end,
}
