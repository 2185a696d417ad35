-- chain-version: the Theta chain node's version (theta.GetVersion).
return require("theta.rpc").recipe {
  surface = "chain", method = "theta.GetVersion",
  description = "Show the Theta chain node's version",
}
