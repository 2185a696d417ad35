-- ready: poll a dedicated endpoint until it answers (theta-api.md 3.6):
-- a fresh deployment answers 404, then 502/503, then 401 while its
-- proxy comes up, before it is ready.
--
--   clawhost run ready                          THETA_INFERENCE_ENDPOINT
--   clawhost run ready --probe gradio --timeout-ms 600000
local log = require "log"
local dedicated = require "theta.dedicated"

local T, I = dedicated.READY_TIMEOUT_MS, dedicated.READY_INTERVAL_MS

return {
  description = "Poll a dedicated endpoint until it is ready (OpenAI " ..
                "or Gradio probe), listing every attempt",
  group = "Theta deployments",
  params = {
    endpoint = { type = "string", arg = "URL",
                 help = "https://...onthetaedgecloud.com (default " ..
                        "THETA_INFERENCE_ENDPOINT)" },
    probe = { type = "enum", values = { "openai", "gradio" },
              default = "openai",
              help = "openai: GET /v1/models; gradio: GET /config" },
    timeout_ms = { type = "integer", default = T.default, min = T.min,
                   max = T.max, help = "give up after this long" },
    interval_ms = { type = "integer", default = I.default, min = I.min,
                    max = I.max, help = "pause between attempts" },
  },
  calls = { "GET {endpoint}/v1/models or /config, until ready" },
  spends = false,
  run = function(ctx, args)
    local url, err = dedicated.endpoint(args.endpoint)
    if not url then return nil, err end
    local headers, aerr = dedicated.auth(url)
    if not headers then return nil, aerr end
    local r, rerr = dedicated.ready(ctx, { endpoint = url,
      kind = args.probe, headers = headers, timeout_ms = args.timeout_ms,
      interval_ms = args.interval_ms, on_attempt = function(a, n)
        log.progress("ready", string.format("attempt %d: %s", n, a.ok and
          "ready" or a.status and ("HTTP " .. a.status) or a.code))
      end })
    local out = r or (rerr and rerr.result)
    if out and out.attempts then
      for n, a in ipairs(out.attempts) do
        out.attempts[n] = { n = n, ok = a.ok, status = a.status,
                            code = a.code, elapsed_ms = a.elapsed_ms,
                            message = a.message }
      end
      out.columns = { "n", "ok", "status", "code", "elapsed_ms",
                      "message" }
      out.response = nil
    end
    -- a failure is the error alone: its `result` already holds the
    -- attempts (returning both would encode the table twice)
    if not r then return nil, rerr end
    return out
  end,
}
