-- deployments: the project's deployments, one row each (theta-api.md
-- 3.3); passwords and other auth fields are masked.
--
--   clawhost run deployments
--   clawhost run deployments --template "Jupyter Notebook"
--   clawhost run deployments --exclude-template "GPU Node" --full --json
local ctl = require "theta.controller"
local client = require "client"

return {
  description = "List the project's EdgeCloud deployments (filters " ..
                "by template; auth fields masked)",
  group = "Theta deployments",
  params = {
    template = { type = "string", arg = "NAME",
                 help = "only deployments of this template name" },
    exclude_template = { type = "list", arg = "NAME",
                         help = "leave out this template name (repeat)" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
    full = { type = "boolean", default = false,
             help = "every field of each deployment, masked, not a table" },
  },
  calls = { "GET controller.thetaedgecloud.com/deployment/list " ..
            "(/deployments/list on 404/405)" },
  spends = false,
  run = function(ctx, args)
    local items, route = ctl.list(ctx, {
      project_id = args.project_id, template_name = args.template,
      not_template_name = args.exclude_template })
    if not items then return nil, route end
    local rows = {}
    for i, it in ipairs(items) do
      local h = ctl.handle(it)
      rows[i] = args.full and client.masked(it) or {
        name = h.name, template = it.TemplateName or it.template_name,
        vm = it.MachineType or it.vm_id, status = it.EndpointStatus or
        it.status, shard = h.shard, suffix = h.suffix,
        endpoint = h.endpoint }
    end
    return { count = #rows, route = "GET " .. route, deployments = rows,
             columns = not args.full and { "name", "template", "vm",
               "status", "shard", "suffix", "endpoint" } or nil }
  end,
}
