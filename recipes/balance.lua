-- balance: the organization's EdgeCloud balance, and the number in it
-- (theta-api.md 3.4).
local ctl = require "theta.controller"
local client = require "client"

return {
  description = "Show the EdgeCloud organization balance (a numeric " ..
                "snapshot)",
  group = "Theta deployments",
  params = {
    org_id = { type = "string", arg = "org_...",
               help = "the organization (default THETA_ORG_ID)" },
  },
  calls = { "GET api.thetaedgecloud.com/balance?orgID=..." },
  spends = false,
  run = function(ctx, args)
    local b, err = ctl.balance(ctx, { org_id = args.org_id })
    if not b then return nil, err end
    return { org_id = b.org_id, balance = b.value,
             at = require("clock").iso(require("clock").now()),
             note = b.value == nil and "the answer holds no number" or nil,
             answer = client.masked(b.body) }
  end,
}
