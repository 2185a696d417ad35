-- dedicated-chat: chat with the model a dedicated deployment serves
-- (OpenAI-compatible, streamed; theta-api.md 3.6).
--
--   clawhost run dedicated-chat --message "Hello"
--   clawhost run dedicated-chat --message "Hi" --model deepseek-ai/... \
--       --endpoint https://...onthetaedgecloud.com
local dedicated = require "theta.dedicated"

return {
  description = "Chat with a dedicated deployment's model " ..
                "(OpenAI-compatible, streamed)",
  group = "Theta deployments",
  params = {
    message = { type = "string", required = true, arg = "TEXT",
                help = "what to say" },
    system = { type = "string", arg = "TEXT", help = "a system prompt" },
    model = { type = "string",
              help = "model id (default: the first of /v1/models)" },
    endpoint = { type = "string", arg = "URL",
                 help = "https://...onthetaedgecloud.com (default " ..
                        "THETA_INFERENCE_ENDPOINT)" },
    max_tokens = { type = "integer", default = 500, min = 1, max = 32768,
                   help = "most tokens in the answer" },
    temperature = { type = "number", default = 0.5, min = 0, max = 2,
                    help = "sampling temperature" },
    stream = { type = "boolean", default = true,
               help = "print the answer as it comes (--no-stream: at " ..
                      "the end)" },
  },
  calls = { "GET {endpoint}/v1/models (when --model is not given)",
            "POST {endpoint}/v1/chat/completions" },
  spends = "no per-call price: the deployment is billed by the hour " ..
           "whether it is called or not",
  run = function(ctx, args)
    local url, err = dedicated.endpoint(args.endpoint)
    if not url then return nil, err end
    local headers, aerr = dedicated.auth(url)
    if not headers then return nil, aerr end
    local model = args.model
    if not model then
      local ids, merr = dedicated.models(ctx, { endpoint = url,
                                                headers = headers })
      if not ids and ctx.dry_run then ids = { "(the first of /v1/models)" } end
      if not ids then return nil, merr end
      model = ids[1]
      if not model then
        return nil, require("errors").new("protocol", "/v1/models " ..
          "lists no model: give --model")
      end
    end
    local messages = {}
    if args.system then
      messages[1] = { role = "system", content = args.system }
    end
    messages[#messages + 1] = { role = "user", content = args.message }
    local streamed = false
    local r, cerr = dedicated.chat(ctx, { endpoint = url,
      headers = headers, model = model, messages = messages,
      max_tokens = args.max_tokens, temperature = args.temperature,
      stream = args.stream, on_content = args.stream and function(t)
        streamed = true
        ctx.write(t)
      end or nil })
    if streamed then ctx.write("\n") end
    if not r then return nil, cerr end
    if r.dry_run then return r end
    return { model = model, answer = not streamed and r.content or nil,
             finish_reason = r.finish_reason, usage = r.usage }
  end,
}
