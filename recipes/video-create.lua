-- video-create: a video from a public URL or an earlier upload.
local errors = require "errors"
local video = require "theta.video"
return {
  group = "Theta Video",
  description = "Create a video from a URL or an upload id",
  params = {
    url = { type = "string", arg = "URL", help = "the source's https URL" },
    upload_id = { type = "string", arg = "ID", help = "an upload's id" },
    name = { type = "string", help = "metadata name" },
    wait = { type = "boolean", default = false,
             help = "wait until it is transcoded" },
  },
  calls = { "POST api.thetavideoapi.com/video" },
  spends = "maybe: the Video API may bill transcoding; nothing reserved",
  run = function(ctx, args)
    if (args.url == nil) == (args.upload_id == nil) then
      return nil, errors.new("usage", "give --url or --upload-id (one)")
    end
    if args.url and not args.url:find("^https://") then
      return nil, errors.new("usage", "--url must be an https URL")
    end
    local v, err = video.create(ctx, { source_uri = args.url,
      upload_id = args.upload_id,
      metadata = args.name and { name = args.name } or nil })
    if not v or v.dry_run or not args.wait then return v, err end
    return video.wait(ctx, v.id, { label = "video" })
  end,
}
