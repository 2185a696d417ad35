-- route-probe: which deployment list route the controller answers
-- (/deployment/list or /deployments/list; theta-api.md 3.1).
local ctl = require "theta.controller"

return {
  description = "Try both deployment list routes and report which " ..
                "one the controller answers",
  group = "Theta deployments",
  params = {
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
  },
  calls = { "GET controller.thetaedgecloud.com/deployment/list",
            "GET controller.thetaedgecloud.com/deployments/list" },
  spends = false,
  run = function(ctx, args)
    local r, err = ctl.route_probe(ctx, { project_id = args.project_id })
    if not r then return nil, err end
    r.columns = { "route", "ok", "status", "count", "message" }
    if not r.ok then
      return r, require("errors").new(r.attempts[1].code or "remote",
        "neither list route answered: " .. tostring(r.attempts[1].message))
    end
    return r
  end,
}
