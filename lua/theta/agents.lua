-- theta.agents: AI agents (website chatbots with a knowledge base) and
-- their documents, on the controller host (theta-api.md 4), through
-- theta.controller (x-api-key, the browser User-Agent, project scope).
--
--   agents.create(ctx, spec)            the agent, or nil, err
--   agents.get(ctx, id)                 the agent
--   agents.update(ctx, id, fields)      the agent (a partial update)
--   agents.list(ctx, {page, number})    {agents, total}
--   agents.doc_create(ctx, id, doc)     {id}
--   agents.doc_update(ctx, id, doc_id, doc)   {id, created}: a 404
--                                       creates it instead, as the
--                                       reference client does
--   agents.doc_get(ctx, id, doc_id)     {id, content, metadata}
--   agents.doc_list(ctx, id, {page, number})   {documents, total, pages}
--
-- doc = {filename, content (bytes), content_type, metadata (table)}.
-- The content comes from a file the user named (a file param) or from a
-- string: a recipe reads no other file. It goes up as multipart/form-data
-- (file, project_id, metadata as JSON) built by the host; a dry run's
-- plan shows the file's size and SHA-256, never its bytes. Every call
-- returns its value, or nil, err; a mutating call in a dry run returns
-- {dry_run = true, plan = ...}.
local errors = require "errors"
local json = require "json"
local ctl = require "theta.controller"

local _M = {}

local fmt = string.format

local function check_id(v, what)
  if type(v) ~= "string" or not v:find("^[%w][%w_%.%-]*$") or #v > 200 then
    error(fmt("agents: %s must be an id (letters, digits, _ . -), got %s",
              what, tostring(v)), 3)
  end
  return v
end

local function project(spec)
  return ctl.project_id(spec and spec.project_id)
end

local function with_project(t, p)
  local out = {}
  for k, v in pairs(t or {}) do out[k] = v end
  out.project_id = p
  return out
end

function _M.create(ctx, spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" or
     spec.name == "" then
    error("agents.create: spec.name is required", 2)
  end
  local p, err = project(spec)
  if not p then return nil, err end
  return ctl.request(ctx, { method = "POST", path = "/chatbot",
    json = with_project(spec, p), what = "create agent" })
end

function _M.get(ctx, id, o)
  local p, err = project(o)
  if not p then return nil, err end
  return ctl.request(ctx, { path = "/chatbot/" .. check_id(id, "id"),
    query = { project_id = p }, what = "get agent " .. id })
end

function _M.update(ctx, id, fields)
  local p, err = project(fields)
  if not p then return nil, err end
  return ctl.request(ctx, { method = "PUT",
    path = "/chatbot/" .. check_id(id, "id"),
    json = with_project(fields, p), what = "update agent " .. id })
end

-- The list's shape is not documented (theta-api.md 8.12): a body that
-- is the list, or holds it under chatbots/agents/items.
local function list_of(body, keys)
  if type(body) ~= "table" then return {} end
  if json.is_array(body) then return body end
  for _, k in ipairs(keys) do
    if type(body[k]) == "table" then return body[k] end
  end
  return {}
end

function _M.list(ctx, o)
  o = o or {}
  local p, err = project(o)
  if not p then return nil, err end
  local body, lerr = ctl.request(ctx, { path = "/chatbot/list",
    query = { project_id = p, page = o.page or 0, number = o.number or 100 },
    what = "list agents" })
  if body == nil then return nil, lerr end
  local items = list_of(body, { "chatbots", "agents", "items" })
  return { agents = items, total = type(body) == "table" and
           tonumber(body.total) or #items }
end

-- The form of a document: the file, the project, the metadata as JSON
-- (with type "file" and the file name, as the reference client adds).
local function doc_form(doc, p)
  if type(doc) ~= "table" or type(doc.filename) ~= "string" or
     doc.filename == "" or type(doc.content) ~= "string" then
    error("agents: a document needs filename and content (a string)", 3)
  end
  local meta = {}
  for k, v in pairs(doc.metadata or {}) do meta[k] = v end
  meta.type = meta.type or "file"
  meta.filename = meta.filename or doc.filename
  return {
    { name = "file", filename = doc.filename,
      content_type = doc.content_type or "text/plain", data = doc.content },
    { name = "project_id", value = p },
    { name = "metadata", value = json.encode(meta) },
  }
end

function _M.doc_create(ctx, id, doc)
  local p, err = project(doc)
  if not p then return nil, err end
  return ctl.request(ctx, { method = "POST",
    path = "/chatbot/" .. check_id(id, "agent id") .. "/document",
    form = doc_form(doc, p), what = "add document " .. doc.filename,
    progress = #doc.content > 1048576 and doc.filename or nil })
end

function _M.doc_update(ctx, id, doc_id, doc)
  local p, err = project(doc)
  if not p then return nil, err end
  local body, uerr = ctl.request(ctx, { method = "PUT",
    path = "/chatbot/" .. check_id(id, "agent id") .. "/document/" ..
           check_id(doc_id, "document id"),
    form = doc_form(doc, p), what = "update document " .. doc_id })
  if body == nil and uerr and uerr.status == 404 then
    local created, cerr = _M.doc_create(ctx, id, doc)
    if created == nil then return nil, cerr end
    if type(created) == "table" then created.created = true end
    return created
  end
  return body, uerr
end

function _M.doc_get(ctx, id, doc_id, o)
  local p, err = project(o)
  if not p then return nil, err end
  return ctl.request(ctx, { path = "/chatbot/" .. check_id(id, "agent id")
    .. "/document/" .. check_id(doc_id, "document id"),
    query = { project_id = p }, what = "get document " .. doc_id })
end

function _M.doc_list(ctx, id, o)
  o = o or {}
  local p, err = project(o)
  if not p then return nil, err end
  local body, lerr = ctl.request(ctx, { path = "/chatbot/" ..
    check_id(id, "agent id") .. "/document/list",
    query = { project_id = p, page = o.page or 0, number = o.number or 30 },
    what = "list documents" })
  if body == nil then return nil, lerr end
  return { documents = list_of(body, { "documents", "items" }),
           total = type(body) == "table" and
                   tonumber(body.total_documents) or nil,
           pages = type(body) == "table" and tonumber(body.total_pages)
                   or nil }
end

return _M
