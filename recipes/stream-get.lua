-- stream-get: a live stream's state and URLs.
local client = require "client"
local video = require "theta.video"
return {
  group = "Theta Video",
  description = "Show a live stream",
  params = { id = { type = "string", required = true, arg = "stream_...",
                    help = "the stream's id" } },
  calls = { "GET api.thetavideoapi.com/stream/{id}" },
  spends = false,
  run = function(ctx, args)
    local s, err = video.stream_get(ctx, args.id)
    if not s then return nil, err end
    return client.masked(s)
  end,
}
