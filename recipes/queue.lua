-- queue: list queued Threads posts, show one, or cancel one, through the
-- backend's queue endpoints (threads-api.md 6.4).
local threads = require "threads"

return {
  group = "Threads",
  description = "List, show or cancel queued Threads posts on your " ..
                "FastAPI backend",
  calls = { "GET {THREADS_FASTAPI_BASE_URL}/api/v1/threads/queue[/ID]",
            "DELETE {THREADS_FASTAPI_BASE_URL}/api/v1/threads/queue/ID " ..
            "(with --cancel)" },
  spends = false,
  params = {
    id = { type = "string", arg = "ID", help = "show this item" },
    cancel = { type = "string", arg = "ID",
               help = "cancel this queued or scheduled item" },
    status = { type = "string", arg = "STATUS[,STATUS]",
               help = "only items in these states (queued, scheduled, " ..
               "processing, published, failed, unconfirmed, canceled)" },
    tenant = { type = "string", help = "tenant id (default: " ..
               "THREADS_TENANT_ID, else agency_paris; * for all)" },
    source = { type = "string", help = "only items from this source" },
    limit = { type = "integer", min = 1, max = 200, default = 50,
              help = "at most this many items" },
    cursor = { type = "string", help = "continue a listing (from its " ..
               "next_cursor)" },
  },
  run = function(ctx, args)
    if args.id and args.cancel then
      return nil, require("errors").new("usage",
        "give --id (show) or --cancel (cancel), not both")
    end
    if args.cancel then return threads.queue_cancel(ctx, args.cancel) end
    if args.id then return threads.queue_show(ctx, args.id) end
    return threads.queue_list(ctx, {
      tenant = args.tenant, status = args.status, source = args.source,
      limit = args.limit, cursor = args.cursor,
    })
  end,
}
