-- video-upload: upload a video file you name, create the video from
-- it, and wait until it plays (theta-api.md 5.1), with progress all the
-- way. Prints the playback URL.
--
--   clawhost run video-upload --file clip.mp4 --name "Launch teaser"
local json = require "json"
local errors = require "errors"
local video = require "theta.video"

return {
  group = "Theta Video",
  description = "Upload a video file, create the video and wait until " ..
                "it plays (prints the playback URL)",
  params = {
    file = { type = "file", required = true, max_bytes = 268435456,
             help = "the video file (at most 256 MiB)" },
    name = { type = "string", help = "metadata name of the video" },
    metadata = { type = "string", arg = "JSON",
                 help = "more metadata, a JSON object" },
    wait = { type = "boolean", default = true,
             help = "wait until it is transcoded (--no-wait: return " ..
                    "once created)" },
    max_wait = { type = "integer", default = 3600, min = 10, max = 86400,
                 arg = "S", help = "longest wait for the transcoding, " ..
                                   "seconds" },
  },
  calls = { "POST api.thetavideoapi.com/upload",
            "PUT the presigned storage URL (the file)",
            "POST api.thetavideoapi.com/video",
            "GET api.thetavideoapi.com/video/{id} (until done)" },
  spends = "maybe: the Video API may bill storage and transcoding; no " ..
           "price is known to clawhost, so nothing is reserved",
  run = function(ctx, args)
    local meta = {}
    if args.metadata then
      meta = json.safe.decode(args.metadata)
      if type(meta) ~= "table" then
        return nil, errors.new("usage", "--metadata must be a JSON object")
      end
    end
    meta.name = args.name or meta.name
    local bytes = ctx.input("file")
    local up, err = video.upload_create(ctx)
    if not up then return nil, err end
    if up.dry_run then
      return { dry_run = true, plan = up.plan, file_bytes = #bytes,
               note = "then: PUT the file to the upload URL, POST " ..
                      "/video, GET /video/{id} until done" }
    end
    local put, perr = video.upload_put(ctx, up.presigned_url, bytes,
                                       "upload")
    if not put then return nil, perr end
    local v, verr = video.create(ctx, { upload_id = up.id,
                                        metadata = next(meta) and meta })
    if not v then return nil, verr end
    if args.wait then
      v, verr = video.wait(ctx, v.id, { timeout = args.max_wait,
                                        label = "video" })
      if not v then return nil, verr end
    end
    return { video_id = v.id, upload_id = up.id, bytes = #bytes,
             state = v.state, playback_uri = v.playback_uri,
             player_uri = v.player_uri }
  end,
}
