-- node-status: the EdgeCloud client node's status (edgecloud.GetStatus).
return require("theta.rpc").recipe {
  surface = "edgecloud", method = "edgecloud.GetStatus",
  description = "Show the EdgeCloud client node's status: wallet, " ..
                "machine, price, recent deployments and jobs, rewards",
}
