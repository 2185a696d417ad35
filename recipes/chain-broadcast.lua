-- chain-broadcast: send a signed transaction to the Theta chain
-- (theta.BroadcastRawTransaction, or ...Async). The transaction comes
-- from a file you name; its bytes are never shown.
local rpc = require "theta.rpc"
return {
  group = "Theta nodes (JSON-RPC)",
  description = "Broadcast a signed Theta transaction from a file " ..
                "(--yes to send)",
  params = {
    tx = { type = "file", required = true, max_bytes = 1048576,
           help = "the signed transaction, as hex" },
    async = { type = "boolean", default = false,
              help = "do not wait for it to be included " ..
                     "(BroadcastRawTransactionAsync)" },
    yes = { type = "boolean", default = false,
            help = "send it; without --yes only the request is shown" },
  },
  calls = { "POST {THETA_CHAIN_RPC_URL} theta.BroadcastRawTransaction" },
  spends = "yes: the transaction moves what it says, and its gas",
  run = function(ctx, args)
    local hex, err = rpc.check_hex(ctx.input("tx"))
    if not hex then return nil, err end
    local def = rpc.recipe {
      surface = "chain", mutating = true, hide = { tx_bytes = true },
      method = args.async and "theta.BroadcastRawTransactionAsync" or
               "theta.BroadcastRawTransaction",
      description = "", build = function() return { tx_bytes = hex } end,
    }
    return def.run(ctx, args)
  end,
}
