-- postimg: the skill's /postimg: the backend's assistant generates one
-- image and queues a post with it (POST {BASE}/api/v1/assistant/chat).
local threads = require "threads"

return {
  group = "Threads",
  description = "Generate an image with your backend's assistant and " ..
                "queue it for Threads",
  calls = { "POST {THREADS_FASTAPI_BASE_URL}/api/v1/assistant/chat" },
  spends = "your backend pays its image provider (about $0.04 per " ..
           "flux-1.1-pro image); clawhost's budget is not charged",
  params = {
    prompt = { type = "string", required = true,
               help = "what the image should show" },
    caption = { type = "string", help = "post text (default: the prompt)" },
    message = { type = "string", default = threads.DEFAULT_CHAT_MESSAGE,
                help = "instruction for the assistant" },
    chat_id = { type = "string", help = "chat id; the session becomes " ..
                "tg_<chat id>" },
    session_id = { type = "string", help = "assistant session (default " ..
                   "tg_<chat id>, else cli_<tenant>)" },
    tenant = { type = "string", help = "tenant id (default: " ..
               "THREADS_TENANT_ID, else agency_paris)" },
    source = { type = "string", default = "cli",
               help = "where the request comes from (context.source)" },
    campaign = { type = "string", help = "campaign tag" },
    provider = { type = "string", default = threads.DEFAULT_PROVIDER,
                 help = "image provider" },
    model = { type = "string", default = threads.DEFAULT_MODEL,
              help = "image model" },
    api_base_url = { type = "string", arg = "URL",
                     help = "base the backend builds public image URLs " ..
                     "on (default: THREADS_FASTAPI_BASE_URL)" },
    execute_tools = { type = "boolean", default = true,
                      help = "generate and queue; --no-execute-tools " ..
                      "only plans" },
    idempotency_key = { type = "string", arg = "KEY",
                        help = "reuse the key of an earlier attempt to " ..
                        "retry it safely (default: a new one)" },
  },
  run = function(ctx, args)
    return threads.postimg(ctx, {
      prompt = args.prompt, caption = args.caption, message = args.message,
      chat_id = args.chat_id, session_id = args.session_id,
      tenant = args.tenant, source = args.source, campaign = args.campaign,
      provider = args.provider, model = args.model,
      api_base_url = args.api_base_url, execute_tools = args.execute_tools,
      idempotency_key = args.idempotency_key,
    })
  end,
}
