-- ingestors: edge ingestors for a live stream, nearest first.
local video = require "theta.video"
return {
  group = "Theta Video",
  description = "List the ingestors a live stream can use, nearest first",
  params = {},
  calls = { "GET api.thetavideoapi.com/ingestor/filter" },
  spends = false,
  run = function(ctx)
    local list, err = video.ingestors(ctx)
    if not list then return nil, err end
    local rows = {}
    for i, g in ipairs(list) do
      rows[i] = { id = g.id, ip = g.ip, region = g.region or g.location,
                  state = g.state }
    end
    return { ingestors = rows, columns = { "id", "region", "ip", "state" } }
  end,
}
