-- stream-create: a live stream (at most 3 per service account).
local video = require "theta.video"
return {
  group = "Theta Video",
  description = "Create a live stream (at most 3 per service account)",
  params = { name = { type = "string", required = true, help = "its name" } },
  calls = { "POST api.thetavideoapi.com/stream" },
  spends = "maybe: the Video API may bill streaming; nothing reserved",
  run = function(ctx, args)
    return video.stream_create(ctx, args.name)
  end,
}
