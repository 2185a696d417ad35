-- agent-doc-add: give an AI agent a document for its knowledge base.
-- The content comes from the file you name (--file) or from --text;
-- nothing else is read.
local errors = require "errors"
local json = require "json"
local agents = require "theta.agents"
return {
  group = "Theta AI agents",
  description = "Add a document to an AI agent's knowledge base " ..
                "(from --file or --text)",
  params = {
    agent = { type = "string", required = true, help = "the agent's id" },
    file = { type = "file", max_bytes = 20971520,
             help = "the document (at most 20 MiB)" },
    text = { type = "string", help = "the document's text, instead" },
    filename = { type = "string", help = "its name (default: the file's)" },
    content_type = { type = "string", arg = "TYPE",
                     help = "its type (default text/plain)" },
    metadata = { type = "string", arg = "JSON",
                 help = "metadata, e.g. '{\"description\": \"FAQ\"}'" },
    project_id = { type = "string", arg = "prj_...", help = "the project" },
  },
  calls = { "POST controller.thetaedgecloud.com/chatbot/{id}/document" },
  spends = false,
  run = function(ctx, args)
    local content = args.file and ctx.input("file") or args.text
    if not content or (args.file and args.text) then
      return nil, errors.new("usage", "give the document with --file " ..
        "PATH or --text TEXT (one of them)")
    end
    local meta = {}
    if args.metadata then
      meta = json.safe.decode(args.metadata)
      if type(meta) ~= "table" then
        return nil, errors.new("usage", "--metadata must be a JSON object")
      end
    end
    local name = args.filename or (args.file and args.file:match("[^/]+$"))
                 or "document.txt"
    local doc = { filename = name, content = content, metadata = meta,
                  content_type = args.content_type,
                  project_id = args.project_id }
    return agents.doc_create(ctx, args.agent, doc)
  end,
}
