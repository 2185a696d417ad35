-- health: is EdgeCloud reachable, and does the project key work
-- (theta-api.md 3.5).
local errors = require "errors"
local caps = require "theta.capabilities"

return {
  description = "Check that EdgeCloud answers and the project key " ..
                "works (VM list, deployments list)",
  group = "Maintenance",
  params = {},
  calls = { "GET api.thetaedgecloud.com/resource/vm/list",
            "GET controller.thetaedgecloud.com/deployment/list (when " ..
            "configured)" },
  spends = false,
  run = function(ctx)
    local r = caps.health(ctx)
    if not r.ok then
      return r, errors.new("remote", r.auth_error or r.public_error or
                           "EdgeCloud is not healthy")
    end
    return r
  end,
}
