-- key-unlock: unlock a key of the thetacli daemon (thetacli.UnlockKey)
-- with the password THETA_CLI_PASSWORD.
local rpc = require "theta.rpc"
return rpc.recipe {
  surface = "cli", method = "thetacli.UnlockKey", mutating = true,
  description = "Unlock a key of the thetacli daemon with " ..
                "THETA_CLI_PASSWORD (--yes to send)",
  params = { address = { type = "string", required = true, arg = "0x...",
                         help = "the key's address" } },
  build = function(args)
    local a, err = rpc.check_address(args.address)
    if not a then return nil, err end
    local p, perr = rpc.password()
    if not p then return nil, perr end
    return { address = a, password = p }
  end,
}
