-- chatstream: assemble an OpenAI-compatible chat answer from a stream
-- of chunks (SSE) or from one whole JSON body, whichever the server sent.
--
--   local chatstream = require "chatstream"
--
--   local res = http.request{method = "POST", url = ..., json = body,
--                            stream = true, first_byte_timeout_ms = 60000,
--                            idle_timeout_ms = 30000, timeout_ms = 120000}
--   local r, err = chatstream.read(res, {
--     on_content = function(text) ctx.write(text) end,  -- as it arrives
--   })
--   if not r then return nil, err end       -- err.partial: what arrived
--   if r.empty_because_reasoning then ... end  -- 200, but no answer
--
--   chatstream.read(res[, opts])         a response of http.request, with
--                                        or without stream = true
--   chatstream.parse(body[, opts])       a whole body (a string)
--   chatstream.from_events(evs[, opts])  events already parsed: a list of
--                                        {event =, data =} or an iterator
--                                        (res:events(), a closure)
--
-- Each returns a result, or nil, err. opts (all optional):
--   on_content(text, chunk)    each piece of the answer, in order
--   on_reasoning(text, chunk)  each piece of reasoning, in order
--   on_chunk(chunk)            every decoded chunk (tool calls, logprobs)
--   content_type               parse() only: the body's Content-Type
--   max_line, max_event        SSE parser caps (default 1 MiB each)
-- A body that is one JSON document calls each callback once with the
-- whole text. Callbacks may yield (ctx.write, log, task.sleep); an error
-- raised in one closes the response and propagates.
--
-- The result:
--   content, reasoning     the joined text ("" when none)
--   finish_reason          the last one seen ("stop", "length", ...), or nil
--   usage                  the last non-null `usage` table, or nil
--   usage_received         whether one arrived
--   id, model              from the first chunk that had them
--   format                 "sse" or "json": what the body turned out to be
--   content_type           the Content-Type header, when known
--   done                   [DONE] was seen (always true for "json")
--   chunks                 chat chunks processed
--   truncated              finish_reason == "length"
--   empty_because_reasoning  finish_reason == "length" and no content
--                          (only whitespace): the token budget went on
--                          reasoning. Not an answer; report it.
--
-- What the body is gets decided from its first non-blank bytes, not from
-- the `stream` flag of the request (Theta sends SSE to stream:false and
-- JSON to stream:true at times): `{` or `[` is JSON, a line starting with
-- `data`, `event`, `id`, `retry` or `:` is SSE; otherwise the
-- Content-Type decides (text/event-stream or */json); otherwise it is an
-- error.
--
-- SSE: events of type "message" carry chat.completion.chunk objects;
-- choices[1] with index 0 (other choices are ignored) gives
-- delta.content, delta.reasoning / delta.reasoning_content (also
-- message.* and text, which some servers send). `data: [DONE]` ends the
-- answer: nothing after it is read and the response is closed. Events of
-- other types are ignored, except "error". A stream that ends without
-- [DONE] is accepted when it ended cleanly after a finish_reason (result
-- with done = false, usage_received tells about usage); otherwise it
-- is an error.
--
-- Errors (err.code; err.partial is the result so far, err.usage_received
-- whether usage arrived -- budget code must assume the worst without it):
--   remote     an {"error": ...} object in the body or an `error` event
--              (HTTP status 200); err.remote is the error value
--   not_found, rate_limited, server_error, ...  a non-2xx response:
--              the status's code (lua/client/codes.lua); err.status, and
--              err.remote when the body was JSON with an error
--   protocol   the stream ended before [DONE] and before a finish_reason,
--              the body is neither JSON nor SSE, or a JSON body has no
--              choices (err.body is the decoded body)
--   json       a chunk or the body is not valid JSON
--   too_large  a line or event over the parser's caps
--   timeout, connect, ...  the transport's error (res.error) on a
--              stream cut before [DONE]
-- A bad argument raises.
local sse = require "sse"
local json = require "json"
local errors = require "errors"
local answer = require "client.answer"
local codes = require "client.codes"

local _M = {}

local BOM = "\239\187\191"
local SSE_FIELDS = { data = true, event = true, id = true, retry = true }
local SNIFF_MAX = 64        -- bytes looked at to tell SSE from JSON

local function is_stream(res)
  return type(res) == "userdata" and
         tostring(res):find("clawhost.http.Stream", 1, true) == 1
end

local function excerpt(s)
  s = s:sub(1, 40)
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

local function check_opts(fname, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(fname .. ": opts must be a table, got " .. type(opts), 3)
  end
  for _, k in ipairs { "on_content", "on_reasoning", "on_chunk" } do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      error(fname .. ": opts." .. k .. " must be a function, got " ..
            type(opts[k]), 3)
    end
  end
  if opts.content_type ~= nil and type(opts.content_type) ~= "string" then
    error(fname .. ": opts.content_type must be a string", 3)
  end
  return opts
end

---- the assembler: chunks in, a result out ----

local function new_state(opts, content_type)
  return {
    opts = opts,
    content = {}, reasoning = {},
    r = { content = "", reasoning = "", usage_received = false,
          done = false, chunks = 0, content_type = content_type },
  }
end

-- The result as it stands (also the partial result of an error).
local function result(st)
  local r = st.r
  r.content = table.concat(st.content)
  r.reasoning = table.concat(st.reasoning)
  r.truncated = r.finish_reason == "length"
  r.empty_because_reasoning = r.truncated and
                              r.content:find("%S") == nil
  return r
end

local function fail(st, code, message, fields)
  local e = errors.new(code, "chatstream: " .. message, fields)
  local partial = result(st)
  e.partial = partial
  e.usage_received = partial.usage_received
  return nil, e
end

local function text_of(v)
  return type(v) == "string" and v ~= "" and v or nil
end

local function add_reasoning(st, text, obj)
  if not text then return end
  st.reasoning[#st.reasoning + 1] = text
  if st.opts.on_reasoning then st.opts.on_reasoning(text, obj) end
end

local function add_content(st, text, obj)
  if not text then return end
  st.content[#st.content + 1] = text
  if st.opts.on_content then st.opts.on_content(text, obj) end
end

-- choices[i] with index 0, or the first one without an index.
local function first_choice(choices)
  if type(choices) ~= "table" then return nil end
  for _, c in ipairs(choices) do
    if type(c) == "table" and (answer.val(c.index) == nil or
                               c.index == 0) then
      return c
    end
  end
  return nil
end

-- A delta (stream) or a message (whole answer): reasoning, then content.
local function take_part(st, part, obj)
  if type(part) ~= "table" then return end
  add_reasoning(st, text_of(part.reasoning) or
                    text_of(part.reasoning_content), obj)
  add_content(st, text_of(part.content), obj)
end

-- One chat.completion(.chunk) object.
local function take_chunk(st, obj)
  local r = st.r
  r.chunks = r.chunks + 1
  if r.id == nil and type(obj.id) == "string" then r.id = obj.id end
  if r.model == nil and type(obj.model) == "string" then
    r.model = obj.model
  end
  if type(obj.usage) == "table" then
    r.usage = obj.usage
    r.usage_received = true
  end
  local c = first_choice(obj.choices)
  if c then
    take_part(st, c.delta, obj)
    take_part(st, c.message, obj)
    add_content(st, text_of(c.text), obj)
    if type(c.finish_reason) == "string" then
      r.finish_reason = c.finish_reason
    end
  end
  if st.opts.on_chunk then st.opts.on_chunk(obj) end
end

local function remote_error(st, value, status)
  local msg = value
  if type(value) == "table" then
    msg = value.message or value.error or value.detail
    if type(msg) == "table" then msg = msg.message end
  end
  if type(msg) ~= "string" or msg == "" then msg = "(no message)" end
  if status then
    return fail(st, codes.for_status(status, { text = msg }),
                "HTTP " .. status .. ": " .. msg,
                { status = status, remote = value })
  end
  return fail(st, "remote", "the server reported an error: " .. msg,
              { remote = value })
end

-- One SSE event. Returns true at [DONE], nil, err on a failure, false
-- to go on.
local function take_event(st, ev)
  local data, kind = ev.data or "", ev.event or "message"
  if kind == "message" and data:sub(1, 6) == "[DONE]" then
    st.r.done = true
    return true
  end
  if kind ~= "message" and kind ~= "error" then return false end
  if data:find("^%s*$") then
    if kind == "error" then return remote_error(st, "(empty error event)") end
    return false
  end
  local obj = json.safe.decode(data)
  if kind == "error" then
    local v = obj
    if type(obj) == "table" and obj.error ~= nil then v = obj.error end
    return remote_error(st, v == nil and data or v)
  end
  if obj == nil then
    return fail(st, "json", "event " .. st.r.chunks + 1 ..
                " is not JSON: " .. excerpt(data))
  end
  if type(obj) ~= "table" then
    return fail(st, "protocol", "event " .. st.r.chunks + 1 ..
                " is not a JSON object: " .. excerpt(data))
  end
  if answer.val(obj.error) ~= nil then
    return remote_error(st, obj.error)
  end
  take_chunk(st, obj)
  return false
end

-- The end of an SSE body. `cut` is the transport's error, if any.
local function sse_end(st, cut, dropped)
  local r = st.r
  r.format = "sse"
  if r.done then return result(st) end
  local note = dropped and " (an unfinished event at the end was dropped)"
               or ""
  if cut then
    return fail(st, cut.code or "protocol", "the stream was cut before " ..
                "[DONE]: " .. tostring(cut.message or cut) .. note,
                { dropped = dropped or nil })
  end
  if r.finish_reason then return result(st) end
  if r.chunks == 0 and not dropped then
    return fail(st, "protocol", "the body has no SSE events")
  end
  return fail(st, "protocol", "the stream ended before [DONE] and " ..
              "before a finish_reason" .. note,
              { dropped = dropped or nil })
end

-- A whole JSON body.
local function take_json(st, body, status)
  st.r.format = "json"
  if body:sub(1, 3) == BOM then body = body:sub(4) end
  local obj, jerr = json.safe.decode(body)
  if obj == nil then
    if status then return remote_error(st, excerpt(body), status) end
    return fail(st, "json", "the body is not valid JSON: " ..
                tostring(jerr and jerr.message or jerr))
  end
  if type(obj) ~= "table" then
    return fail(st, "protocol", "the JSON body is not an object")
  end
  if answer.val(obj.error) ~= nil then
    return remote_error(st, obj.error, status)
  end
  if status then return remote_error(st, obj, status) end
  if type(obj.choices) ~= "table" then
    return fail(st, "protocol", "the JSON body has no choices",
                { body = obj })
  end
  take_chunk(st, obj)
  st.r.done = true
  return result(st)
end

---- telling SSE from JSON ----

-- "sse", "json", "unknown", or nil when more bytes are needed (and
-- `final` is false).
local function sniff(s, ctype, final)
  local i = s:sub(1, 3) == BOM and 4 or 1
  i = s:find("[^ \t\r\n]", i)
  if i then
    local c = s:sub(i, i)
    if c == "{" or c == "[" then return "json" end
    if c == ":" then return "sse" end
    local word, after = s:match("^(%a*)(.?)", i)
    if after == "" and not final and #s - i < SNIFF_MAX then return nil end
    if SSE_FIELDS[word] and (after == ":" or after == "\r" or
                             after == "\n") then
      return "sse"
    end
  elseif not final then
    return nil
  end
  ctype = (ctype or ""):lower()
  if ctype:find("text/event-stream", 1, true) then return "sse" end
  if ctype:find("json", 1, true) then return "json" end
  return "unknown"
end

local function neither(st, s, ctype)
  if not s:find("[^ \t\r\n]") then
    return fail(st, "protocol", "the body is empty")
  end
  return fail(st, "protocol", "the body is neither JSON nor SSE " ..
              "(content type " .. (ctype or "none") .. ", starts with " ..
              excerpt(s) .. ")")
end

local function new_parser(opts)
  return sse.parser { max_line = opts.max_line, max_event = opts.max_event }
end

-- Feed SSE bytes; true at [DONE], nil, err, or false to go on.
local function feed(st, p, bytes)
  local evs, perr = p:feed(bytes)
  if not evs then
    return fail(st, perr.code, tostring(perr.message))
  end
  for i = 1, #evs do
    local stop, err = take_event(st, evs[i])
    if stop ~= false then return stop, err end
  end
  return false
end

---- entry points ----

local function parse_body(st, body, ctype, status)
  if status then return take_json(st, body, status) end
  local kind = sniff(body, ctype, true)
  if kind == "json" then return take_json(st, body) end
  if kind ~= "sse" then return neither(st, body, ctype) end
  st.r.format = "sse"
  local p = new_parser(st.opts)
  local stop, err = feed(st, p, body)
  if stop == nil then return nil, err end
  if stop then return result(st) end
  return sse_end(st, nil, p:finish())
end

function _M.parse(body, opts)
  if type(body) ~= "string" then
    error("chatstream.parse: body must be a string, got " .. type(body), 2)
  end
  opts = check_opts("chatstream.parse", opts)
  local st = new_state(opts, opts.content_type)
  return parse_body(st, body, opts.content_type)
end

function _M.from_events(evs, opts)
  local t = type(evs)
  if t ~= "table" and t ~= "function" then
    error("chatstream.from_events: expected a list of events or an " ..
          "iterator, got " .. t, 2)
  end
  opts = check_opts("chatstream.from_events", opts)
  local st = new_state(opts)
  st.r.format = "sse"
  local i = 0
  local next_event = t == "function" and evs or function()
    i = i + 1
    return evs[i]
  end
  for ev in next_event do
    if type(ev) ~= "table" then
      error("chatstream.from_events: an event must be a table, got " ..
            type(ev), 2)
    end
    local stop, err = take_event(st, ev)
    if stop == nil then return nil, err end
    if stop then return result(st) end
  end
  return sse_end(st, nil, false)
end

-- A streaming response: sniff the first bytes, then parse as they come.
local function read_stream(st, res, ctype)
  local next_piece = res:chunks()
  local head, kind = {}, nil
  local p, pieces
  for piece in next_piece, res do
    if not kind then
      head[#head + 1] = piece
      local s = table.concat(head)
      kind = sniff(s, ctype, false)
      if kind then
        head = nil
        if kind == "unknown" then return neither(st, s, ctype) end
        if kind == "json" then
          pieces = { s }
        else
          st.r.format = "sse"
          p = new_parser(st.opts)
          piece = s
        end
      end
    elseif pieces then
      pieces[#pieces + 1] = piece
    end
    if p then
      local stop, err = feed(st, p, piece)
      if stop == nil then return nil, err end
      if stop then return result(st) end
    end
  end
  local cut = res.error
  if not kind then
    local s = table.concat(head)
    if cut then return fail(st, cut.code, tostring(cut.message)) end
    kind = sniff(s, ctype, true)
    if kind == "json" then return take_json(st, s) end
    if kind ~= "sse" then return neither(st, s, ctype) end
    st.r.format = "sse"
    p = new_parser(st.opts)
    local stop, err = feed(st, p, s)
    if stop == nil then return nil, err end
    if stop then return result(st) end
  end
  if pieces then
    st.r.format = "json"
    if cut then
      return fail(st, cut.code or "protocol", "the body was cut: " ..
                  tostring(cut.message))
    end
    return take_json(st, table.concat(pieces))
  end
  return sse_end(st, cut, p:finish())
end

local function status_of(res)
  local s = res.status
  if type(s) == "number" and (s < 200 or s > 299) then return s end
  return nil
end

function _M.read(res, opts)
  opts = check_opts("chatstream.read", opts)
  if is_stream(res) then
    local ctype = res.headers and res.headers["content-type"]
    local st = new_state(opts, ctype)
    local status = status_of(res)
    local ok, r, err
    if status then
      local body, rerr = res:read()
      if not body then
        ok, r, err = true, fail(st, rerr.code, tostring(rerr.message),
                                { status = status })
      else
        ok, r, err = true, take_json(st, body, status)
      end
    else
      ok, r, err = pcall(read_stream, st, res, ctype)
    end
    res:close()
    if not ok then error(r, 0) end
    return r, err
  end
  if type(res) ~= "table" or type(res.body) ~= "string" then
    error("chatstream.read: expected a response of http.request, got " ..
          type(res), 2)
  end
  local ctype = res.headers and res.headers["content-type"]
  local st = new_state(opts, ctype)
  return parse_body(st, res.body, ctype, status_of(res))
end

return _M
