-- chat: talk to an on-demand LLM; tokens stream to the terminal as they
-- arrive.
--
--   clawhost run chat --message "Name three rivers"
--   clawhost run chat --service gpt_oss_120b --message "..." --show-reasoning
local log = require "log"
local chat = require "theta.chat"

return {
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
    local shown_reasoning, shown_answer = false, false
    local opts = {
      service = args.service, message = args.message, system = args.system,
      max_tokens = args.max_tokens, temperature = args.temperature,
      reasoning_effort = args.reasoning_effort, stream = args.stream,
    }
    if args.stream then
      opts.on_request = function()
        log.progress(args.service, "waiting for the first token")
      end
      local thinking = false
      opts.on_reasoning = function(text)
        if not args.show_reasoning then
          if not thinking then
            thinking = true
            log.progress(args.service, "reasoning (not shown; " ..
                         "--show-reasoning shows it)")
          end
          return
        end
        if not shown_reasoning then
          shown_reasoning = true
          ctx.write("[reasoning]\n")
        end
        ctx.write(text)
      end
      opts.on_content = function(text)
        if not shown_answer then
          shown_answer = true
          if shown_reasoning then ctx.write("\n[answer]\n") end
        end
        ctx.write(text)
      end
    end
    local r, err = chat.chat(ctx, opts)
    if shown_answer or shown_reasoning then ctx.write("\n") end
    if not r then
      if err.result and not args.show_reasoning then
        err.result.reasoning = nil
      end
      return nil, err
    end
    if r.dry_run then return r end
    if args.stream then
      r.answer_chars = utf8.len(r.answer) or #r.answer
      r.answer = nil
    end
    if args.show_reasoning and not args.stream then
      r.reasoning = r.reasoning ~= "" and r.reasoning or nil
    else
      r.reasoning_chars = #r.reasoning > 0 and
                          (utf8.len(r.reasoning) or #r.reasoning) or nil
      r.reasoning = nil
    end
    return r
  end,
}
