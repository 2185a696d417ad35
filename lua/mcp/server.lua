-- mcp/server.lua -- `clawhost mcp`: JSON-RPC 2.0 over stdio, one JSON
-- message per line (MCP 2025-11-25, docs/mcp.md for the facts used).
--
-- One loop over poll(2): stdin, and the stdout/stderr pipes of the
-- calls running as child processes. No threads, no busy wait. Every
-- byte to stdout goes through mcpproc.write (the redactor); nothing
-- else writes there.
local json = require "json"
local mcpio = require "mcpproc"
local tools = require "mcp.tools"
local calls = require "mcp.calls"
local options = require "mcp.options"

local _M = {}

local VERSIONS = { "2025-11-25", "2025-06-18", "2025-03-26" }
local MAX_LINE = 4 * 1024 * 1024        -- bytes of one message
local NAME_OK = "^[A-Za-z0-9_.-]+$"

local srv = { json = json, io = mcpio, calls = {}, queue = {},
              asks = {}, running = 0, next_ask = 0 }

local function send(msg)
  msg.jsonrpc = "2.0"
  mcpio.write(json.encode(msg) .. "\n")
end

function srv.notify(method, params)
  send({ method = method, params = params })
end

local function reply(id, result) send({ id = id, result = result }) end

local function fail(id, code, message)
  send({ id = id == nil and json.null or id,
         error = { code = code, message = message } })
end

local function say(fmt, ...)
  mcpio.log("clawhost mcp: " .. string.format(fmt, ...) .. "\n")
end

-- ---- the tools ----

local function wanted(o, name)
  return (not o.only or o.only[name]) and not (o.exclude and
                                               o.exclude[name])
end

-- Shipped recipes by name, then those of each --recipes folder by path.
local function load_tools(cfg, o)
  local refs = {}
  for _, f in ipairs(mcpio.listdir(cfg.root .. "/recipes") or {}) do
    refs[#refs + 1] = f:sub(1, -5)
  end
  for _, d in ipairs(o.recipe_dirs) do
    local list, err = mcpio.listdir(d)
    if not list then return nil, "--recipes " .. d .. ": " .. err end
    for _, f in ipairs(list) do refs[#refs + 1] = d .. "/" .. f end
  end
  local entries = json.decode(cfg.catalog(cfg.root, refs))
  local list, byname = {}, {}
  for _, e in ipairs(entries) do
    local d = e.data
    if not d then
      say("%s is not served: %s", e.ref, tostring(e.error))
    elseif not d.name:match(NAME_OK) or #d.name > 128 then
      say("%s is not served: its name is not a valid tool name", e.ref)
    elseif byname[d.name] then
      say("%s is not served: a tool named %s exists already", e.ref,
          d.name)
    elseif wanted(o, d.name) then
      local t = { name = d.name, ref = e.ref, data = d,
                  tool = tools.tool(json, d, o) }
      byname[d.name] = t
      list[#list + 1] = t
    end
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return list, byname
end

-- ---- calls ----

local function finish(call, result)
  srv.calls[call.key] = nil
  if not call.cancelled then reply(call.id, result) end
end

local function start_queued()
  while srv.running < srv.opts.max_calls and #srv.queue > 0 do
    local call = table.remove(srv.queue, 1)
    local ok, err = pcall(calls.start, srv, call)
    if ok then
      srv.running = srv.running + 1
    else
      finish(call, calls.error_result("failed", "cannot start the " ..
        "run: " .. tostring(err)))
    end
  end
end

local function ask_approval(call, why)
  srv.next_ask = srv.next_ask + 1
  local id = "clawhost-approve-" .. srv.next_ask
  srv.asks[id] = call
  call.asking = id
  send({ id = id, method = "elicitation/create", params = {
    message = string.format("Allow the tool %s to run? %s. It may " ..
      "spend up to %s USD of this server's budget.", call.tool.name,
      (why:gsub("^%l", string.upper)), srv.opts.budget_usd),
    requestedSchema = { type = "object", properties = {
      approve = { type = "boolean", title = "Approve",
                  description = "run " .. call.tool.name } },
      required = json.array({ "approve" }) } } })
end

local function tool_call(id, params)
  local name = type(params) == "table" and params.name
  local t = type(name) == "string" and srv.byname[name]
  if not t then
    return fail(id, -32602, "unknown tool: " .. tostring(name))
  end
  local args = params.arguments
  if args == json.null then args = nil end
  local flags, err, texts = tools.argv(t.data, args, srv.file_opts)
  local call = { id = id, key = json.encode(id), tool = t, flags = flags,
                 texts = texts }
  local meta = params._meta
  if type(meta) == "table" and meta.progressToken ~= nil and
      meta.progressToken ~= json.null then
    call.token = meta.progressToken
  end
  if srv.calls[call.key] then
    return fail(id, -32600, "a request with this id is still running")
  end
  if not flags then
    return reply(id, calls.error_result("usage", err))
  end
  srv.calls[call.key] = call
  local why, kind = tools.needs_approval(t.data, srv.opts)
  if why and srv.can_elicit then
    return ask_approval(call, why)
  elseif kind == "above" and not srv.opts.approve_spend then
    -- nobody can approve more: the call runs with the threshold as its
    -- own run cap, so it spends at most that much
    call.cap = srv.opts.confirm_above_usd
  elseif why and not srv.opts.approve_spend then
    return finish(call, calls.error_result("approval_required",
      name .. " needs the user's approval (" .. why .. "), and this " ..
      "client cannot ask (no elicitation capability); the user can " ..
      "start the server with --approve-spend to allow it"))
  end
  srv.queue[#srv.queue + 1] = call
  start_queued()
end

-- The client's answer to an elicitation/create we sent.
local function on_answer(msg)
  local call = srv.asks[msg.id]
  if not call then return end
  srv.asks[msg.id] = nil
  call.asking = nil
  if call.cancelled then return end
  local r = msg.result
  if type(r) == "table" and r.action == "accept" and
      type(r.content) == "table" and r.content.approve == true then
    srv.queue[#srv.queue + 1] = call
    return start_queued()
  end
  local what = type(r) == "table" and tostring(r.action) or "an error"
  finish(call, calls.error_result("declined", "the user did not " ..
    "approve " .. call.tool.name .. " (answer: " .. what .. ")"))
end

local function cancel(params)
  local id = type(params) == "table" and params.requestId
  local call = id ~= nil and srv.calls[json.encode(id)]
  if not call then return end
  call.cancelled = true
  if call.pid then
    mcpio.kill(call.pid, "TERM")     -- the run's cleanup still runs
  else
    srv.calls[call.key] = nil
    for i, q in ipairs(srv.queue) do
      if q == call then table.remove(srv.queue, i) break end
    end
  end
end

-- ---- messages ----

local function initialize(id, p)
  p = type(p) == "table" and p or {}
  local v = VERSIONS[1]
  for _, known in ipairs(VERSIONS) do
    if p.protocolVersion == known then v = known end
  end
  local caps = type(p.capabilities) == "table" and p.capabilities or {}
  srv.can_elicit = type(caps.elicitation) == "table"
  reply(id, { protocolVersion = v,
    capabilities = { tools = { listChanged = false } },
    serverInfo = { name = "clawhost", title = "clawhost recipes",
                   version = srv.cfg.version or "0" },
    instructions = "Each tool runs a clawhost recipe with the user's " ..
      "credentials, budget and cleanup; spending tools may ask the " ..
      "user first." })
end

local function request(msg)
  local id, m, p = msg.id, msg.method, msg.params
  if m == "initialize" then return initialize(id, p)
  elseif m == "ping" then return reply(id, {})
  elseif m == "tools/list" then
    local list = {}
    for i, t in ipairs(srv.tools) do list[i] = t.tool end
    return reply(id, { tools = json.array(list) })
  elseif m == "tools/call" then return tool_call(id, p)
  end
  fail(id, -32601, "method not found: " .. m)
end

local function valid_id(id)
  return math.type(id) == "integer" or type(id) == "string"
end

local function on_line(line)
  if line:sub(-1) == "\r" then line = line:sub(1, -2) end
  if line:match("^%s*$") then return end
  local msg = json.safe.decode(line)
  if msg == nil then return fail(nil, -32700, "parse error: not JSON") end
  if type(msg) ~= "table" or json.is_array(msg) or msg.jsonrpc ~= "2.0"
  then
    return fail(nil, -32600, "invalid request: one JSON-RPC 2.0 object " ..
      "per line (batches are not part of MCP)")
  end
  if msg.method == nil and valid_id(msg.id) and
      (msg.result ~= nil or msg.error ~= nil) then
    return on_answer(msg)
  end
  if type(msg.method) ~= "string" then
    return fail(valid_id(msg.id) and msg.id or nil, -32600,
                "invalid request: no method")
  end
  if msg.id == nil then
    if msg.method == "notifications/cancelled" then cancel(msg.params) end
    return              -- other notifications need nothing
  end
  if not valid_id(msg.id) then
    return fail(nil, -32600, "invalid request: id must be a string or " ..
      "an integer")
  end
  local ok, err = pcall(request, msg)
  if not ok then
    say("internal error: %s", tostring(err))
    fail(msg.id, -32603, "internal error")
  end
end

-- stdin: split into lines; a line past MAX_LINE is answered with a
-- parse error and skipped up to its end, never kept in memory.
local inbuf, inlen, skipping = {}, 0, false

local function on_stdin(bytes)
  local start = 1
  while true do
    local nl = bytes:find("\n", start, true)
    if not nl then break end
    if skipping then
      skipping = false
    else
      inbuf[#inbuf + 1] = bytes:sub(start, nl - 1)
      local line = table.concat(inbuf)
      inbuf, inlen = {}, 0
      on_line(line)
    end
    start = nl + 1
  end
  if skipping or start > #bytes then return end
  inbuf[#inbuf + 1] = bytes:sub(start)
  inlen = inlen + #bytes - start + 1
  if inlen > MAX_LINE then
    inbuf, inlen, skipping = {}, 0, true
    fail(nil, -32700, "parse error: a message longer than " .. MAX_LINE ..
      " bytes")
  end
end

-- ---- the loop ----

local function by_fd(wake)
  local fds, owner = { wake, 0 }, {}
  if srv.stdin_done then fds = { wake } end
  for _, c in pairs(srv.calls) do
    if c.out then fds[#fds + 1] = c.out; owner[c.out] = c end
    if c.err then fds[#fds + 1] = c.err; owner[c.err] = c end
  end
  return fds, owner
end

local function reap()
  for _, r in ipairs(mcpio.reap()) do
    for _, c in pairs(srv.calls) do
      if c.pid == r[1] then c.status = r[2] end
    end
  end
  for _, c in pairs(srv.calls) do
    if c.status and c.open == 0 then
      srv.running = srv.running - 1
      finish(c, calls.result(srv, c, c.status))
    end
  end
  start_queued()
end

-- A child that outlives its deadline and cleanup by far is killed.
local function backstop(now)
  local limit = srv.opts.timeout + 90
  for _, c in pairs(srv.calls) do
    if c.pid and not c.status and not c.killed and
        now - c.started > limit then
      c.killed = true
      mcpio.kill(c.pid, "KILL")
    end
  end
end

local function stop_all(now)
  if not srv.stopping then
    srv.stopping = now
    for _, c in pairs(srv.calls) do
      c.cancelled = true
      if c.pid then mcpio.kill(c.pid, "TERM") end
    end
    srv.queue = {}
  elseif now - srv.stopping > 75 then   -- past their cleanup deadline
    for _, c in pairs(srv.calls) do
      if c.pid and not c.killed then c.killed = true
        mcpio.kill(c.pid, "KILL") end
    end
  end
end

local function any_running()
  for _, c in pairs(srv.calls) do
    if c.pid then return true end
  end
  return false
end

-- Runs wake the loop once a second (their deadline backstop, the
-- stop's SIGKILL); an idle server sleeps in poll(2) until a message,
-- a closed stdin or a signal (the wake pipe) comes.
local function loop()
  while true do
    local now = mcpio.now()
    local sig, wake = mcpio.signalled()
    if sig or srv.stdin_done then stop_all(now) end
    local running = any_running()
    if srv.stopping and not running then return 0 end
    local fds, owner = by_fd(wake)
    for _, fd in ipairs(mcpio.poll(fds, running and 1000 or -1)) do
      local bytes = fd ~= wake and mcpio.read(fd) or nil
      if bytes == nil then
        -- nothing after all
      elseif fd == 0 then
        if bytes == "" then srv.stdin_done = true else on_stdin(bytes) end
      elseif owner[fd] then
        calls.feed(srv, owner[fd], fd, bytes)
      end
    end
    reap()
    backstop(mcpio.now())
  end
end

function _M.main(cfg)
  local o, err = options.parse(cfg.argv, cfg.env_budget, mcpio.realpath,
                               mcpio.usd)
  if not o then
    say("%s", err)
    return 2
  end
  srv.cfg, srv.opts = cfg, o
  local pid, t = mcpio.id()
  srv.group = string.format("mcp-%d-%d", t, pid)
  srv.file_opts = { file_dirs = o.file_dirs, realpath = mcpio.realpath,
                    isfile = mcpio.isfile }
  srv.tools, srv.byname = load_tools(cfg, o)
  if not srv.tools then
    say("%s", srv.byname)
    return 2
  end
  -- the catalog ran the runtime, whose signal handlers replaced ours
  if not mcpio.trap_signals() then
    say("cannot set the signal handlers")
    return 1
  end
  say("serving %d tools%s on stdin/stdout", #srv.tools,
      o.dry_run and " in dry-run mode" or "")
  return loop()
end

return _M
