-- stream_get: the clawhost side of the streaming figure of `make bench`
-- (section 7). Streams one large body with http.request{stream = true}
-- and counts it piece by piece in a `for piece in s:chunks()` loop, the
-- way a recipe reads a download or a long answer. Timed inside the
-- process from the request to the end of the loop, after one untimed
-- GET (libcurl start, the connection). With `secret`, a secret is
-- loaded first (BENCH_SECRET from the environment), so every piece goes
-- through the redactor. Run by bench/run.sh with --allow-host
-- 127.0.0.1:PORT against bench/httpd.c's /bytes/N.
local http = require "http"
local clock = require "clock"
local secret = require "secret"

return {
  description = "bench: one large streamed body, counted in chunks()",
  params = {
    url = { type = "string", required = true,
            help = "the URL of the body (bench/httpd.c /bytes/N)" },
    bytes = { type = "integer", required = true, min = 0,
              help = "the body size the stream must have" },
    warm = { type = "string", required = true,
             help = "a small URL for the untimed GET" },
    secret = { type = "boolean", default = false,
               help = "load BENCH_SECRET first (pieces pass the "
                      .. "redactor)" },
  },
  run = function(ctx, args)
    if args.secret then secret.require("BENCH_SECRET") end
    assert(http.get(args.warm, { retries = 0 }))
    local started = clock.monotonic()
    local s = assert(http.request{ url = args.url, stream = true,
                                   retries = 0, max_bytes = 256 << 20,
                                   timeout_ms = 120000 })
    local n, pieces = 0, 0
    for piece in s:chunks() do
      n = n + #piece
      pieces = pieces + 1
    end
    local seconds = clock.monotonic() - started
    if not s.complete or n ~= args.bytes then
      error(string.format("stream ended after %d of %d bytes: %s", n,
                          args.bytes, tostring(s.error)), 0)
    end
    return {
      bytes = n,
      pieces = pieces,
      seconds = seconds,
      bps = n / seconds,
      secret = args.secret,
    }
  end,
}
