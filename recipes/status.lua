-- status: the state of one inference request (MCP: get_request_status).
local od = require "theta.ondemand"

return {
  group = "Theta on-demand",
  description = "Show the state, output and cost of an on-demand request",
  params = {
    request_id = { type = "string", required = true, arg = "ID",
                   help = "the id infer returned (infr_rqst_...)" },
  },
  calls = { "GET /infer_request/{id}" },
  spends = false,
  run = function(ctx, args)
    return od.status(ctx, { request_id = args.request_id })
  end,
}
