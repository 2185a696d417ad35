-- deployment-start: start a deployment by shard and suffix
-- (PUT .../{shard}/{suffix}/start, theta-api.md 3.1).
local ctl = require "theta.controller"
local client = require "client"

return {
  description = "Start an EdgeCloud deployment (by shard and suffix)",
  group = "Theta deployments",
  params = {
    shard = { type = "integer", required = true, min = 0,
              help = "the deployment's shard (clawhost run deployments)" },
    suffix = { type = "string", required = true,
               help = "the deployment's suffix" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
    yes = { type = "boolean", default = false,
            help = "start it (billed by the hour while it runs)" },
  },
  calls = { "PUT controller.thetaedgecloud.com/deployment/{shard}/" ..
            "{suffix}/start (/deployments/... on 404/405)" },
  approval = "lives",
  spends = "yes: the VM is billed by the hour again while it runs",
  run = function(ctx, args)
    if not args.yes and not ctx.dry_run then
      return { started = false, note = "nothing done: add --yes to " ..
               "start it (billed by the hour while it runs)" }
    end
    local body, route = ctl.lifecycle(ctx, "start", { shard = args.shard,
      suffix = args.suffix, project_id = args.project_id })
    if not body then return nil, route end
    if body.dry_run then return body end
    return { action = "start", shard = args.shard, suffix = args.suffix,
             route = "PUT " .. route, answer = client.masked(body) }
  end,
}
