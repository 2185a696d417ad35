-- list_services: the MCP name of the services recipe.
local base = require "services"

local alias = {}
for k, v in pairs(base) do alias[k] = v end
alias.description = base.description .. " (MCP name of services)"
alias.alias_of = "services"
return alias
