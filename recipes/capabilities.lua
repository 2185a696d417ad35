-- capabilities: each Theta capability the settings allow, checked
-- with one harmless GET (theta-api.md 3.5). `clawhost check --online`
-- runs it. Fails (exit 1) when a configured capability did not verify.
local errors = require "errors"
local caps = require "theta.capabilities"

return {
  description = "Check each configured Theta capability with one " ..
                "harmless call (what clawhost check --online runs)",
  group = "Maintenance",
  params = {},
  calls = { "GET controller .../deployment/list", "GET api .../balance",
            "GET ondemand .../service/list",
            "GET ondemand .../infer_request/{a request that is not there}",
            "GET {THETA_INFERENCE_ENDPOINT}/v1/models",
            "GET api.thetavideoapi.com/video/{sa}/list" },
  spends = false,
  run = function(ctx)
    local r = caps.probe(ctx)
    local failed = {}
    for _, c in ipairs(r.capabilities) do
      if c.configured and not c.verified then
        failed[#failed + 1] = c.name
      end
    end
    if #failed > 0 then
      return r, errors.new("remote", "configured but not verified: " ..
        table.concat(failed, ", "))
    end
    return r
  end,
}
