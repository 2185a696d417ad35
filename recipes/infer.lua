-- infer: one on-demand inference request (the MCP name too).
--
--   clawhost run infer --service flux --prompt "a lighthouse at dusk"
--   clawhost run infer --service blip --input '{"input_img": "upload_..."}'
local errors = require "errors"
local json = require "json"
local od = require "theta.ondemand"

return {
  group = "Theta on-demand",
  description = "Run one Theta on-demand inference request " ..
                "(budget-guarded; polls until done)",
  params = {
    service = { type = "string", required = true, arg = "ALIAS",
                help = "service alias, e.g. flux, blip, whisper" },
    input = { type = "string", arg = "JSON",
              help = "the input object as JSON, e.g. '{\"prompt\": " ..
                     "\"...\"}'" },
    prompt = { type = "string", help = "shortcut for input.prompt" },
    wait = { type = "integer", default = 30, min = 0, max = 60,
             help = "seconds the API may hold the request open" },
    prediction = { type = "string",
                   help = "prediction (default: the service's own)" },
    variant = { type = "string", help = "model variant, e.g. quantized" },
    webhook = { type = "string", arg = "URL",
                help = "https URL Theta calls when the job is done" },
    poll = { type = "boolean", default = true,
             help = "poll until the job is done (--no-poll returns at " ..
                    "once)" },
    poll_interval = { type = "number", default = 3, min = 0.1, max = 60,
                      help = "seconds between status checks" },
    poll_timeout = { type = "number", default = 180, min = 1, max = 3600,
                     help = "give up polling after this many seconds" },
  },
  calls = { "GET /service/list", "POST /infer_request/{service}",
            "GET /infer_request/{id} (polling)" },
  spends = "yes: the service's price; the worst case is reserved first",
  run = function(ctx, args)
    local input = {}
    if args.input then
      local v, err = json.safe.decode(args.input)
      if type(v) ~= "table" then
        return nil, errors.new("usage", "--input must be a JSON object" ..
          (err and (": " .. tostring(err.message)) or ""))
      end
      input = v
    end
    if args.prompt then input.prompt = args.prompt end
    return od.infer(ctx, {
      service = args.service, input = input, wait = args.wait,
      prediction = args.prediction, variant = args.variant,
      webhook = args.webhook, poll = args.poll,
      poll_interval = args.poll_interval, poll_timeout = args.poll_timeout,
      on_state = function(state)
        require("log").progress(args.service, state)
      end,
    })
  end,
}
