-- templates: deployment templates, standard (by category) or the
-- project's custom ones (theta-api.md 3.1, 3.4).
--
--   clawhost run templates                      serving templates
--   clawhost run templates --category prototyping
--   clawhost run templates --custom
local ctl = require "theta.controller"

return {
  description = "List EdgeCloud deployment templates (standard by " ..
                "category, or the project's custom ones)",
  group = "Theta deployments",
  params = {
    category = { type = "enum", values = { "serving", "prototyping" },
                 default = "serving", help = "standard template category" },
    custom = { type = "boolean", default = false,
               help = "the project's custom templates instead" },
    search = { type = "string", arg = "TEXT",
               help = "only names containing TEXT (any case)" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project, for --custom" },
  },
  calls = { "GET controller.thetaedgecloud.com/deployment_template/" ..
            "list_standard_templates (every page)",
            "GET .../list_custom_templates (--custom)" },
  spends = false,
  run = function(ctx, args)
    local list, err = ctl.templates(ctx, { category = args.category,
      custom = args.custom, project_id = args.project_id })
    if not list then return nil, err end
    local rows, want = {}, args.search and args.search:lower()
    for _, t in ipairs(list) do
      local name = tostring(t.name or "")
      if not want or name:lower():find(want, 1, true) then
        local images = type(t.container_images) == "table" and
                       t.container_images[1] or nil
        rows[#rows + 1] = { id = t.id, name = name,
                            category = t.category, image = images,
                            port = t.container_port }
      end
    end
    return { count = #rows, templates = rows,
             columns = { "id", "name", "category", "image", "port" } }
  end,
}
