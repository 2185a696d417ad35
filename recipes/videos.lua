-- videos: the service account's videos, or those whose metadata match.
--
--   clawhost run videos
--   clawhost run videos --where name=teaser --where listing.city=Nice
local errors = require "errors"
local video = require "theta.video"
return {
  group = "Theta Video",
  description = "List the service account's videos, or search them " ..
                "by metadata",
  params = {
    where = { type = "list", arg = "KEY=VALUE",
              help = "a metadata match: name=teaser, listing.city=Nice " ..
                     "(dots for nested keys; repeat)" },
    any = { type = "boolean", default = false,
            help = "any match is enough (default: all of them)" },
    page = { type = "integer", default = 1, min = 1, help = "page" },
    number = { type = "integer", default = 10, min = 1, max = 100,
               help = "videos a page" },
  },
  calls = { "GET api.thetavideoapi.com/video/{sa}/list or .../search" },
  spends = false,
  run = function(ctx, args)
    local list, err
    if args.where then
      local q = {}
      for _, kv in ipairs(args.where) do
        local k, v = kv:match("^([%w_%.]+)=(.*)$")
        if not k then
          return nil, errors.new("usage", "--where '" .. kv .. "' is not " ..
                                 "KEY=VALUE")
        end
        q[k] = v
      end
      list, err = video.search(ctx, q, args.any and "or" or "and")
    else
      list, err = video.list(ctx, { page = args.page, number = args.number })
    end
    if not list then return nil, err end
    local rows = {}
    for i, v in ipairs(list) do
      rows[i] = { id = v.id, state = v.state, progress = v.progress,
                  name = type(v.metadata) == "table" and v.metadata.name,
                  playback_uri = v.playback_uri }
    end
    return { videos = rows, count = #rows,
             columns = { "id", "state", "progress", "name",
                         "playback_uri" } }
  end,
}
