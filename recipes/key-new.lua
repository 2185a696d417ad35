-- key-new: a new key in the thetacli daemon (thetacli.NewKey), sealed
-- with the password THETA_CLI_PASSWORD (a secret, never an argument).
local rpc = require "theta.rpc"
return rpc.recipe {
  surface = "cli", method = "thetacli.NewKey", mutating = true,
  description = "Create a key in the thetacli daemon, sealed with " ..
                "THETA_CLI_PASSWORD (--yes to send)",
  build = function()
    local p, err = rpc.password()
    if not p then return nil, err end
    return { password = p }
  end,
}
