-- node-set-price: the node's hourly price (edgecloud.SetPrice; sent as
-- the node docs show it, [{"price_hr": "2000"}]).
return require("theta.rpc").recipe {
  surface = "edgecloud", method = "edgecloud.SetPrice", mutating = true,
  description = "Set the EdgeCloud client node's hourly price " ..
                "(--yes to send)",
  params = {
    price_hr = { type = "string", required = true, arg = "PRICE",
                 help = "the price per hour, as the node takes it " ..
                        "(e.g. 2000)" },
  },
  build = function(args)
    if not args.price_hr:find("^%d+%.?%d*$") then
      return nil, require("errors").new("usage", "--price-hr must be a " ..
        "number like 2000, got '" .. args.price_hr .. "'")
    end
    return { price_hr = args.price_hr }
  end,
}
