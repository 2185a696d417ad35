-- mcp/calls.lua -- one tools/call as a child process: the command line,
-- the bytes it writes, and the tool result made from them.
--
-- The child is `clawhost run --json --log-json RECIPE --flag=value ...`:
-- its own memory cap, deadline, signals and cleanup, so nothing it does
-- reaches the server or another call. Its stdout is the result JSON,
-- its stderr JSON log lines (progress among them).
local _M = {}

local MAX_RESULT = 16 * 1024 * 1024     -- bytes of one result
local MAX_LOG_LINE = 64 * 1024          -- bytes of one stderr line

function _M.command(srv, tool, flags, cap)
  local o = srv.opts
  local argv = { srv.cfg.exe, "run", "--json", "--log-json",
                 "--timeout=" .. string.format("%g", o.timeout),
                 "--memory-mb=" .. string.format("%d", o.memory_mb) }
  if o.dry_run then argv[#argv + 1] = "--dry-run" end
  if cap then argv[#argv + 1] = "--budget=" .. cap end
  argv[#argv + 1] = tool.ref
  for _, f in ipairs(flags) do argv[#argv + 1] = f end
  return argv
end

-- The server's environment, with its budget group and settings file.
function _M.environment(srv)
  local env, skip = {}, { CLAWHOST_BUDGET_GROUP = true,
    CLAWHOST_BUDGET_GROUP_CAP = true, CLAWHOST_ENV_FILE = true }
  for _, e in ipairs(srv.io.environ()) do
    if not skip[e:match("^([^=]*)")] then env[#env + 1] = e end
  end
  env[#env + 1] = "CLAWHOST_BUDGET_GROUP=" .. srv.group
  env[#env + 1] = "CLAWHOST_BUDGET_GROUP_CAP=" .. srv.opts.budget_usd
  if srv.cfg.env_file ~= "" then
    env[#env + 1] = "CLAWHOST_ENV_FILE=" .. srv.cfg.env_file
  end
  return env
end

function _M.start(srv, call)
  local argv = _M.command(srv, call.tool, call.flags, call.cap)
  local pid, out, err = srv.io.spawn(argv, _M.environment(srv),
                                     call.texts)
  call.pid, call.out, call.err = pid, out, err
  call.stdout, call.outlen, call.errbuf = {}, 0, ""
  call.started = srv.io.now()
  call.open = 2
end

-- One stderr line: progress goes to the client when it asked for it,
-- the rest to the server's stderr (already masked by the child, and
-- masked again on the way out).
local function log_line(srv, call, line)
  local ev = srv.json.safe.decode(line)
  if type(ev) == "table" and ev.level == "progress" then
    if call.token ~= nil then
      call.progress = (call.progress or 0) + 1
      srv.notify("notifications/progress", {
        progressToken = call.token, progress = call.progress,
        message = tostring(ev.label) .. ": " .. tostring(ev.state) })
    end
    return
  end
  if type(ev) == "table" and ev.level == "error" and
      type(ev.msg) == "string" then
    call.last_error = ev.msg
  end
  srv.io.log(string.format("clawhost mcp: %s #%s: %s\n", call.tool.name,
                           tostring(call.id), line))
end

-- Bytes from one of the child's pipes; "" is its end.
function _M.feed(srv, call, fd, bytes)
  local is_out = fd == call.out
  if bytes == "" then
    srv.io.close(fd)
    if is_out then call.out = nil else call.err = nil end
    call.open = call.open - 1
    if not is_out and call.errbuf ~= "" then
      log_line(srv, call, call.errbuf)
      call.errbuf = ""
    end
    return
  end
  if is_out then
    call.outlen = call.outlen + #bytes
    if call.outlen > MAX_RESULT then
      call.too_large = true
      srv.io.kill(call.pid, "KILL")
    else
      call.stdout[#call.stdout + 1] = bytes
    end
    return
  end
  local buf, start = call.errbuf .. bytes, 1
  while true do
    local nl = buf:find("\n", start, true)
    if not nl then break end
    log_line(srv, call, buf:sub(start, nl - 1))
    start = nl + 1
  end
  call.errbuf = buf:sub(start)
  if #call.errbuf > MAX_LOG_LINE then
    log_line(srv, call, call.errbuf:sub(1, MAX_LOG_LINE))
    call.errbuf = ""
  end
end

local SIGNALS = { [6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE",
  [9] = "SIGKILL", [11] = "SIGSEGV", [15] = "SIGTERM" }

local STATUS_CODES = { [2] = "usage", [3] = "budget_exceeded",
  [4] = "blocked", [124] = "deadline", [130] = "cancelled" }

function _M.error_result(code, message)
  return { isError = true,
           content = { { type = "text", text = code .. ": " .. message } },
           structuredContent = { error = { code = code,
                                           message = message } } }
end

-- The tool result of a finished child (exit status `status`).
function _M.result(srv, call, status)
  local json = srv.json
  if call.too_large then
    return _M.error_result("too_large", "the result was larger than " ..
      MAX_RESULT .. " bytes")
  end
  local text = table.concat(call.stdout)
  local v = text ~= "" and json.safe.decode(text) or nil
  if status == 0 and v ~= nil then
    if type(v) ~= "table" or json.is_array(v) then v = { result = v } end
    return { content = { { type = "text", text = text } },
             structuredContent = v }
  end
  if type(v) == "table" and type(v.error) == "table" then
    return _M.error_result(tostring(v.error.code or "error"),
                           tostring(v.error.message or "failed"))
  end
  local code = STATUS_CODES[status] or (status > 128 and "crashed" or
                                        "failed")
  local msg = call.last_error or string.format("the run ended with " ..
    "status %d and no result; the server's stderr has its log", status)
  if call.killed then
    msg = string.format("the run was still going %gs past its deadline " ..
      "and cleanup, and was killed; check for anything it created " ..
      "(clawhost run sweep for deployments)", srv.opts.timeout + 90)
  elseif status > 128 and not STATUS_CODES[status] then
    local sig = status - 128
    msg = string.format("the run died of %s before it gave a result; " ..
      "no other call was affected. Try again; if it repeats, the " ..
      "server's stderr has the run's log", SIGNALS[sig] or
      ("signal " .. sig))
  elseif status == 127 and not call.last_error then
    msg = "the run could not start: " .. srv.cfg.exe .. " could not " ..
      "be executed (moved or replaced while the server runs?); " ..
      "restart clawhost mcp"
  elseif status == 124 then
    msg = call.last_error or string.format("the run passed its deadline " ..
      "(%gs; clawhost mcp --timeout)", srv.opts.timeout)
  end
  return _M.error_result(code, msg)
end

return _M
