-- validate-disposable: create a deployment, wait until it answers, try
-- it once, delete it and prove it is gone (theta-api.md 6.9), with the
-- worst case reserved first and cleanup guaranteed on every ending
-- (docs/deployments.md).
--
--   clawhost run validate-disposable --template img_... --yes
--   clawhost run validate-disposable --template img_qqu31... \
--       --probe gradio --yes
local disposable = require "theta.disposable"
local dedicated = require "theta.dedicated"

local T, I = dedicated.READY_TIMEOUT_MS, dedicated.READY_INTERVAL_MS

return {
  description = "Create, try and delete a deployment; worst case " ..
                "reserved, cleanup verified (--yes to create)",
  group = "Theta deployments",
  params = {
    template = { type = "string", arg = "img_...",
                 help = "template id (clawhost run templates)" },
    image = { type = "string", arg = "IMAGE",
              help = "a container image instead of a template" },
    vm = { type = "string", arg = "vm_...", default = "vm_gt1",
           help = "VM type (clawhost run vms)" },
    probe = { type = "enum", values = { "openai", "gradio" },
              default = "openai",
              help = "openai: /v1/models and one chat; gradio: /config" },
    ready_timeout_ms = { type = "integer", default = T.default,
                         min = T.min, max = T.max,
                         help = "how long it may take to answer" },
    interval_ms = { type = "integer", default = 10000, min = I.min,
                    max = I.max, help = "pause between readiness checks" },
    message = { type = "string", arg = "TEXT",
                help = "the smoke chat message" },
    model = { type = "string",
              help = "model id for the chat (default: from /v1/models)" },
    gradio_data = { type = "string", arg = "JSON",
                    help = "with --probe gradio: a data list for one " ..
                           "/api/predict call" },
    max_cost = { type = "number", arg = "USD", min = 0,
                 help = "the most this run may cost (reserved); default: " ..
                        "hourly price x started hours of its longest life" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
    org_id = { type = "string", arg = "org_...",
               help = "for the balance delta (default THETA_ORG_ID)" },
    yes = { type = "boolean", default = false,
            help = "create it; without it only the plan is shown" },
  },
  calls = { "GET api.thetaedgecloud.com/resource/vm/list (the price)",
            "GET .../balance (before and after)",
            "POST controller.thetaedgecloud.com/deployment",
            "GET {endpoint}/v1/models or /config (until ready)",
            "POST {endpoint}/v1/chat/completions (one smoke call)",
            "DELETE .../deployment/{shard}/{suffix}",
            "GET .../deployment/list (until it is gone)" },
  approval = "lives",
  spends = "yes: the VM's hourly price while it lives; the worst case " ..
           "is reserved first and settled from the balance delta",
  run = function(ctx, args)
    local data
    if args.gradio_data then
      local v, err = require("json").safe.decode(args.gradio_data)
      if type(v) ~= "table" then
        return nil, require("errors").new("usage", "--gradio-data must " ..
          "be a JSON list" .. (err and (": " .. err.message) or ""))
      end
      data = v
    end
    return disposable.validate(ctx, {
      template = args.template, image = args.image, vm = args.vm,
      probe = args.probe, ready_timeout_ms = args.ready_timeout_ms,
      interval_ms = args.interval_ms, smoke_message = args.message,
      model = args.model, gradio_data = data, max_cost = args.max_cost,
      project_id = args.project_id, org_id = args.org_id, yes = args.yes,
    })
  end,
}
