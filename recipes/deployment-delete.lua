-- deployment-delete: delete a deployment, then list until it is gone
-- (DELETE .../{shard}/{suffix} or .../base/{id}, theta-api.md 3.1).
--
--   clawhost run deployment-delete --shard 1 --suffix abc123xyz --yes
--   clawhost run deployment-delete --base-id dpl_... --yes
local errors = require "errors"
local ctl = require "theta.controller"
local disposable = require "theta.disposable"

return {
  description = "Delete an EdgeCloud deployment and verify it is gone " ..
                "(--yes to delete)",
  group = "Theta deployments",
  params = {
    shard = { type = "integer", min = 0,
              help = "the deployment's shard (clawhost run deployments)" },
    suffix = { type = "string", help = "the deployment's suffix" },
    base_id = { type = "string", arg = "ID",
                help = "its base id, instead of shard and suffix" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
    yes = { type = "boolean", default = false,
            help = "delete it (it cannot be undone)" },
  },
  calls = { "DELETE controller.thetaedgecloud.com/deployment/{shard}/" ..
            "{suffix} or /deployment/base/{id} (/deployments/... on " ..
            "404/405)", "GET .../deployment/list (to verify)" },
  spends = false,
  run = function(ctx, args)
    local h
    if args.shard ~= nil and args.suffix then
      h = { shard = args.shard, suffix = args.suffix }
    elseif args.base_id and args.shard == nil and not args.suffix then
      h = { base_id = args.base_id }
    else
      return nil, errors.new("usage", "give --shard and --suffix " ..
        "together, or --base-id (clawhost run deployments shows them)")
    end
    if ctx.dry_run then
      h.project_id = args.project_id
      local plan, err = ctl.delete(ctx, h)
      return plan, not plan and err or nil
    end
    if not args.yes then
      return { deleted = false, note = "nothing deleted: add --yes to " ..
               "delete it" }
    end
    local project, perr = ctl.project_id(args.project_id)
    if not project then return nil, perr end
    local rep, err, partial = disposable.remove(ctx, project, h)
    local out = rep or partial or {}
    out.deleted = rep ~= nil and rep.found > 0
    if rep and rep.found == 0 then
      return out, errors.new("not_found", "no deployment " ..
        ctl.handle_text(h) .. " is listed in the project")
    end
    if not rep then return out, err end
    return out
  end,
}
