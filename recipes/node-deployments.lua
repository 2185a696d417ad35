-- node-deployments: what the EdgeCloud client node has run.
return require("theta.rpc").recipe {
  surface = "edgecloud", method = "edgecloud.GetDeployments",
  description = "List the deployments the EdgeCloud client node ran",
}
