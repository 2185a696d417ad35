-- video-get: a video's state, progress and playback URL.
local video = require "theta.video"
return {
  group = "Theta Video",
  description = "Show a video (state, progress, playback URL); --wait " ..
                "until it is done",
  params = {
    id = { type = "string", required = true, arg = "video_...",
           help = "the video's id" },
    wait = { type = "boolean", default = false,
             help = "poll until success or error" },
  },
  calls = { "GET api.thetavideoapi.com/video/{id}" },
  spends = false,
  run = function(ctx, args)
    if args.wait then return video.wait(ctx, args.id, { label = "video" }) end
    return video.get(ctx, args.id)
  end,
}
