-- get_upload_url: the MCP name of the upload-url recipe.
local base = require "upload-url"

local alias = {}
for k, v in pairs(base) do alias[k] = v end
alias.description = base.description .. " (MCP name of upload-url)"
alias.alias_of = "upload-url"
return alias
