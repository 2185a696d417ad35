-- deployment-stop: stop a deployment by shard and suffix
-- (PUT .../{shard}/{suffix}/stop, theta-api.md 3.1).
local ctl = require "theta.controller"
local client = require "client"

return {
  description = "Stop an EdgeCloud deployment (by shard and suffix)",
  group = "Theta deployments",
  params = {
    shard = { type = "integer", required = true, min = 0,
              help = "the deployment's shard (clawhost run deployments)" },
    suffix = { type = "string", required = true,
               help = "the deployment's suffix" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
  },
  calls = { "PUT controller.thetaedgecloud.com/deployment/{shard}/" ..
            "{suffix}/stop (/deployments/... on 404/405)" },
  spends = false,
  run = function(ctx, args)
    local body, route = ctl.lifecycle(ctx, "stop", { shard = args.shard,
      suffix = args.suffix, project_id = args.project_id })
    if not body then return nil, route end
    if body.dry_run then return body end
    return { action = "stop", shard = args.shard, suffix = args.suffix,
             route = "PUT " .. route, answer = client.masked(body) }
  end,
}
