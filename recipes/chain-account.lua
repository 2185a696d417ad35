-- chain-account: an account on the Theta chain (theta.GetAccount).
local rpc = require "theta.rpc"
return rpc.recipe {
  surface = "chain", method = "theta.GetAccount",
  description = "Show an account of the Theta chain (balances, sequence)",
  params = { address = { type = "string", required = true, arg = "0x...",
                         help = "the account's address" } },
  build = function(args)
    local a, err = rpc.check_address(args.address)
    if not a then return nil, err end
    return { address = a }
  end,
}
