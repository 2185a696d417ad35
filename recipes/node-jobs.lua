-- node-jobs: the inference jobs the EdgeCloud client node served.
return require("theta.rpc").recipe {
  surface = "edgecloud", method = "edgecloud.GetJobs",
  description = "List the jobs the EdgeCloud client node served, a " ..
                "page at a time",
  params = {
    page = { type = "integer", default = 0, min = 0, help = "page, from 0" },
    size = { type = "integer", default = 50, min = 1, max = 500,
             help = "jobs a page" },
  },
  build = function(args) return { page = args.page, size = args.size } end,
}
