-- node-rewards: the EdgeCloud client node's rewards.
return require("theta.rpc").recipe {
  surface = "edgecloud", method = "edgecloud.GetRewards",
  description = "Show the EdgeCloud client node's rewards",
}
