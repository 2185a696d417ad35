-- chain-tx: a transaction of the Theta chain (theta.GetTransaction).
local rpc = require "theta.rpc"
return rpc.recipe {
  surface = "chain", method = "theta.GetTransaction",
  description = "Show a transaction of the Theta chain by its hash",
  params = { hash = { type = "string", required = true, arg = "0x...",
                      help = "the transaction's hash" } },
  build = function(args)
    local h, err = rpc.check_hash(args.hash)
    if not h then return nil, err end
    return { hash = h }
  end,
}
