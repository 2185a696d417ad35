-- publish: queue (or publish at once) a Threads post through the user's
-- ThreadClaw FastAPI backend (POST {BASE}/api/v1/threads/publish).
local threads = require "threads"

return {
  group = "Threads",
  description = "Queue or publish a Threads post through your FastAPI " ..
                "backend",
  calls = { "POST {THREADS_FASTAPI_BASE_URL}/api/v1/threads/publish " ..
            "(X-Queue-Secret)" },
  spends = false,
  params = {
    message = { type = "string", help = "post text (at most 500 UTF-8 " ..
                "bytes)" },
    image = { type = "list", arg = "URL", help = "public http(s) image " ..
              "URL; 2 to 20 make a carousel" },
    at = { type = "time", help = "when to publish (default: the next " ..
           "free slot)" },
    mode = { type = "enum", values = { "queue", "now" }, default = "queue",
             help = "queue in order, or publish at once" },
    proxy_images = { type = "boolean", default = true,
                     help = "let the backend re-host the images " ..
                     "(auto_proxy_images)" },
    tenant = { type = "string", help = "tenant id (default: " ..
               "THREADS_TENANT_ID, else agency_paris)" },
    source = { type = "string", default = "cli",
               help = "where the post comes from (meta.source)" },
    chat_id = { type = "string", help = "chat id (meta.chat_id)" },
    user_id = { type = "string", help = "user id (meta.user_id)" },
    username = { type = "string", help = "user name (meta.username)" },
    idempotency_key = { type = "string", arg = "KEY",
                        help = "reuse the key of an earlier attempt to " ..
                        "retry it safely (default: a new one)" },
  },
  run = function(ctx, args)
    return threads.publish(ctx, {
      message = args.message, images = args.image, at = args.at,
      mode = args.mode, proxy_images = args.proxy_images,
      tenant = args.tenant, source = args.source, chat_id = args.chat_id,
      user_id = args.user_id, username = args.username,
      idempotency_key = args.idempotency_key,
    })
  end,
}
