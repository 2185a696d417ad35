-- services: the Theta on-demand catalog (MCP name: list_services).
local catalog = require "theta.catalog"
local od = require "theta.ondemand"

return {
  group = "Theta on-demand",
  description = "List Theta on-demand services, prices and inputs " ..
                "(live; the bundled catalog when discovery fails)",
  params = {
    category = { type = "enum", values = catalog.CATEGORIES,
                 help = "only this kind of service (decided from the " ..
                        "alias and name)" },
  },
  calls = { "GET {THETA_ONDEMAND_API_BASE_URL}/service/list (no token)" },
  spends = false,
  run = function(ctx, args)
    return od.list_services(ctx, { category = args.category })
  end,
}
