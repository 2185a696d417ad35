-- get_request_status: the MCP name of the status recipe.
local base = require "status"

local alias = {}
for k, v in pairs(base) do alias[k] = v end
alias.description = base.description .. " (MCP name of status)"
alias.alias_of = "status"
return alias
