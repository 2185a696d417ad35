-- keys: the keys the thetacli daemon holds (thetacli.ListKeys).
return require("theta.rpc").recipe {
  surface = "cli", method = "thetacli.ListKeys",
  description = "List the keys of the thetacli daemon",
}
