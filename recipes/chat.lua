-- chat: talk to an on-demand LLM; tokens stream to the terminal as they
-- arrive.
--
--   clawhost run chat --message "Name three rivers"
--   clawhost run chat --service gpt_oss_120b --message "..." --show-reasoning
local chat = require "theta.chat"

return {
  group = "Theta on-demand",
  description = "Chat with a Theta on-demand LLM (qwen3 by default), " ..
                "streaming the answer",
  params = {
    service = { type = "string", default = "qwen3", arg = "ALIAS",
                help = "qwen3, gpt_oss_120b, llama_3_1_70b, ..." },
    message = { type = "string", required = true, arg = "TEXT",
                help = "what to ask" },
    system = { type = "string", arg = "TEXT", help = "a system prompt" },
    max_tokens = { type = "integer", min = 1, max = 5000,
                   help = "answer budget, reasoning included (default " ..
                          "500; gpt_oss_120b 1800)" },
    temperature = { type = "number", min = 0, max = 2,
                    help = "sampling temperature (default 0.5)" },
    reasoning_effort = { type = "enum", values = { "low", "medium", "high" },
                         help = "for reasoning models (gpt_oss_120b: low)" },
    show_reasoning = { type = "boolean", default = false,
                       help = "show the model's reasoning too" },
    stream = { type = "boolean", default = true,
               help = "stream tokens as they arrive (--no-stream: wait " ..
                      "for the whole answer)" },
  },
  calls = { "GET /service/list",
            "POST /infer_request/{service}?prediction=completions (qwen3 " ..
            "and others)",
            "POST /infer_request/chat/completions (gpt_oss_120b)" },
  spends = "yes: tokens at the service's price; prompt estimate x input " ..
           "price + max_tokens x output price is reserved first",
  run = function(ctx, args)
    return chat.to_terminal(ctx, args)
  end,
}
