-- http_get: the clawhost side of the HTTP figures of `make bench`.
-- GETs `url` `requests` times, `concurrency` at once (task.all over that
-- many loops, each doing its share one after another on its own
-- keep-alive connection), and returns what it measured inside the
-- process after `warmup` untimed GETs (libcurl start, first connection):
-- requests, seconds, rps, failures. Run by bench/run.sh with
-- --allow-host 127.0.0.1:PORT against bench/httpd.c.
local http = require "http"
local task = require "task"
local clock = require "clock"

return {
  description = "bench: many GETs of one URL, sequential or concurrent",
  params = {
    url = { type = "string", required = true, help = "the URL to GET" },
    requests = { type = "integer", default = 2000, min = 1,
                 max = 1000000, help = "how many GETs in all" },
    concurrency = { type = "integer", default = 1, min = 1, max = 256,
                    help = "how many GETs in flight at once" },
    body_bytes = { type = "integer", default = 13, min = 0,
                   help = "the body size every response must have" },
    warmup = { type = "integer", default = 1, min = 0, max = 1000,
               help = "GETs before the clock starts (not counted)" },
    via = { type = "enum", values = { "all", "spawn" }, default = "all",
            help = "all: task.all over the loops; spawn: task.spawn "
                   .. "each loop, then wait for each" },
  },
  run = function(ctx, args)
    local url, want = args.url, args.body_bytes
    local failures, first_err = 0, nil

    local function one()
      local res, err = http.get(url, { retries = 0 })
      if not res or res.status ~= 200 or #res.body ~= want then
        failures = failures + 1
        first_err = first_err or (err and err.message) or
                    ("status " .. tostring(res and res.status))
      end
    end

    local n, c = args.requests, args.concurrency
    for _ = 1, args.warmup do one() end
    if failures > 0 then
      error("warm-up GET failed: " .. first_err, 0)
    end
    local started = clock.monotonic()
    if c == 1 then
      for _ = 1, n do one() end
    else
      local workers = {}
      for w = 1, c do
        -- n split as evenly as possible over c loops
        local share = n // c + (w <= n % c and 1 or 0)
        workers[w] = function()
          for _ = 1, share do one() end
        end
      end
      if args.via == "spawn" then
        local handles = {}
        for w = 1, c do handles[w] = task.spawn(workers[w]) end
        for w = 1, c do handles[w]:wait() end
      else
        task.all(workers)
      end
    end
    local seconds = clock.monotonic() - started
    return {
      requests = n,
      concurrency = c,
      via = c == 1 and "loop" or args.via,
      seconds = seconds,
      rps = n / seconds,
      failures = failures,
      first_error = first_err,
    }
  end,
}
