-- ingestor-select: reserve an ingestor for a stream; prints where to
-- send the stream. The stream key (valid about 5 minutes) is masked in
-- the output like a secret; --key-file FILE writes the server and the
-- key to a file you name (mode 0600) for your streaming software.
local client = require "client"
local video = require "theta.video"
return {
  group = "Theta Video",
  description = "Select an ingestor for a live stream (the stream key " ..
                "is masked in the output)",
  params = {
    id = { type = "string", required = true, arg = "ingestor_...",
           help = "the ingestor's id (clawhost run ingestors)" },
    stream = { type = "string", required = true, arg = "stream_...",
               help = "the stream's id" },
    key_file = { type = "output", arg = "FILE",
                 help = "write the server and the stream key here (0600)" },
  },
  calls = { "PUT api.thetavideoapi.com/ingestor/{id}/select" },
  spends = false,
  run = function(ctx, args)
    local r, err = video.ingestor_select(ctx, args.id, args.stream)
    if not r then return nil, err end
    local out = client.masked(r)
    if args.key_file and type(r) == "table" and not r.dry_run then
      local v = r.stream_key and r or (type(r.ingestors) == "table" and
                                       r.ingestors[1]) or r
      ctx.output("key_file", string.format("server=%s\nkey=%s\n",
        tostring(v.stream_server), tostring(v.stream_key)))
      out.key_file = args.key_file
    end
    return out
  end,
}
