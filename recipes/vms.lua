-- vms: the VM types deployments run on (public list, theta-api.md 3.4).
local ctl = require "theta.controller"

return {
  description = "List the EdgeCloud VM types deployments run on",
  group = "Theta deployments",
  params = {},
  calls = { "GET api.thetaedgecloud.com/resource/vm/list (no key sent)" },
  spends = false,
  run = function(ctx)
    local vms, err = ctl.vms(ctx)
    if not vms then return nil, err end
    local rows, cols, seen = {}, {}, {}
    for i, v in ipairs(vms) do
      rows[i] = type(v) == "table" and v or { id = tostring(v) }
      for k in pairs(rows[i]) do
        if type(rows[i][k]) ~= "table" and not seen[k] then
          seen[k] = true
          cols[#cols + 1] = k
        end
      end
    end
    table.sort(cols, function(a, b)
      if a == "id" or b == "id" then return a == "id" end
      return a < b
    end)
    return { count = #rows, vms = rows, columns = cols }
  end,
}
