-- mcp/tools.lua -- a recipe as an MCP tool: its inputSchema, annotations
-- and description from `clawhost help --json` data, and a call's
-- arguments turned back into the recipe's command-line flags.
--
-- Pure functions: no I/O. The server (mcp/server.lua) passes in what
-- the process knows (which folders file params may name, realpath).
local _M = {}

-- RFC 3339 date-time with a required offset (docs/recipes.md, `time`).
_M.TIME_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:" ..
  "[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"

-- JSON Schema of one value of type `t` (a list's element too).
local function value_schema(p, t)
  if t == "integer" or t == "number" then
    return { type = t, minimum = p.min, maximum = p.max }
  elseif t == "boolean" then
    return { type = "boolean" }
  elseif t == "enum" then
    return { type = "string", enum = p.values }
  elseif t == "time" then
    return { type = "string", format = "date-time",
             pattern = _M.TIME_PATTERN }
  elseif t == "file" then
    return { type = "string", minLength = 1 }
  end
  return { type = "string", maxLength = p.max_bytes }
end

local function param_schema(json, p)
  local s
  if p.type == "list" then
    s = { type = "array", items = value_schema(p, p.of or "string") }
    if p.default ~= nil then s.default = json.array(p.default) end
  else
    s = value_schema(p, p.type)
    s.default = p.default
  end
  local help = p.help or p.name
  if p.type == "file" then
    help = help .. " (the path of a file under a folder the user " ..
      "allowed with --allow-file-dir)"
  end
  s.description = help
  return s
end

-- Output params (a file the recipe writes) are not offered: a client
-- must not make the server write files.
function _M.schema(json, data)
  local props, required = {}, {}
  for _, p in ipairs(data.params or {}) do
    if p.type ~= "output" then
      props[p.name] = param_schema(json, p)
      if p.required then required[#required + 1] = p.name end
    end
  end
  local s = { type = "object", properties = props,
              additionalProperties = false }
  if #required > 0 then
    table.sort(required)
    s.required = json.array(required)
  end
  return s
end

local function method_of(call)
  return type(call) == "string" and call:match("^(%u+) ") or nil
end

-- Hints from what the recipe declares: `calls` (each a "METHOD url"
-- sentence), `spends` and `approval`. Only hints (spec: a client must
-- not trust them); the server enforces what matters itself.
function _M.annotations(data)
  local calls = data.calls or {}
  local reads, deletes = true, false
  for _, c in ipairs(calls) do
    local m = method_of(c)
    if m ~= "GET" and m ~= "HEAD" then reads = false end
    if m == "DELETE" then deletes = true end
  end
  local ro = reads and not data.spends and data.approval == nil
  return { title = data.description, readOnlyHint = ro,
           destructiveHint = (not ro) and deletes,
           idempotentHint = ro, openWorldHint = #calls > 0 }
end

-- Why a call needs the user's approval, and which kind: "lives" (it
-- makes something billed while it lives: always asked) or "above" (it
-- spends and the server's budget is above --confirm-above: asked, or
-- run with its own cap lowered to the threshold when nobody can ask).
function _M.needs_approval(data, opts)
  if data.approval == "lives" then
    return "it creates something billed for as long as it lives", "lives"
  end
  if data.spends and opts.confirm_above and
      opts.budget > opts.confirm_above then
    return string.format("it may spend more than --confirm-above %s " ..
      "USD, up to the server's budget of %s USD",
      opts.confirm_above_usd, opts.budget_usd), "above"
  end
  return nil
end

function _M.description(data, opts)
  local d = data.description or data.name
  if type(data.spends) == "string" then
    d = d .. "\nSpends money: " .. data.spends
  elseif data.spends then
    d = d .. "\nSpends money."
  else
    d = d .. "\nSpends no money."
  end
  local why, kind = _M.needs_approval(data, opts)
  if kind == "lives" then
    d = d .. "\nThe user is asked to approve each call (" .. why .. ")."
  elseif kind == "above" then
    d = d .. "\nA call may spend at most " .. opts.confirm_above_usd ..
      " USD unless the user approves more when asked."
  end
  if data.alias_of then
    d = d .. "\nAnother name of " .. data.alias_of .. "."
  end
  return d
end

function _M.tool(json, data, opts)
  return { name = data.name, description = _M.description(data, opts),
           inputSchema = _M.schema(json, data),
           annotations = _M.annotations(data) }
end

local function number_text(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v == math.floor(v) and math.abs(v) < 2^53 then
    return string.format("%d", math.tointeger(v))
  end
  return string.format("%.17g", v)
end

-- A text value as the command line must see it: `@x` would read a
-- file and `-` stdin there (docs/recipes.md), so `@` is doubled and a
-- lone `-` refused.
local function text(name, v)
  if type(v) ~= "string" then
    return nil, name .. " must be a string"
  end
  if v == "-" then      -- a list item; a plain text goes as a file
    return nil, name .. ": '-' is not an item a tool call can give " ..
      "(it means stdin on the command line)"
  end
  local nul = v:find("\0", 1, true)
  if nul then
    return nil, string.format("%s: a NUL byte at byte %d; text " ..
      "arguments are text", name, nul)
  end
  if v:sub(1, 1) == "@" then return "@" .. v end
  return v
end

-- Only a file under a folder the user named, after every link is
-- resolved; never an arbitrary path.
local function file(name, v, opts)
  if type(v) ~= "string" or v == "" then
    return nil, name .. " must be a file path"
  end
  if #opts.file_dirs == 0 then
    return nil, name .. ": this server reads no file; start it with " ..
      "--allow-file-dir DIR to let tools read files under DIR"
  end
  local real = opts.realpath(v)
  if real and opts.isfile(real) then
    for _, d in ipairs(opts.file_dirs) do
      if real:sub(1, #d + 1) == d .. "/" then return real end
    end
  end
  return nil, name .. ": not a file under a folder allowed with " ..
    "--allow-file-dir (" .. table.concat(opts.file_dirs, ", ") .. ")"
end

local function one_value(p, t, v, opts)
  if t == "integer" then
    if math.type(v) ~= "integer" and not (type(v) == "number" and
        v == math.floor(v)) then
      return nil, p.name .. " must be an integer"
    end
    return number_text(v)
  elseif t == "number" then
    if type(v) ~= "number" then return nil, p.name .. " must be a number" end
    return number_text(v)
  elseif t == "boolean" then
    if type(v) ~= "boolean" then
      return nil, p.name .. " must be true or false"
    end
    return v and "true" or "false"
  elseif t == "file" then
    return file(p.name, v, opts)
  end
  return text(p.name, v)
end

-- Texts longer than this, and a lone "-", reach the child as files
-- (`--flag=@/dev/fd/N`, a memfd: mcpproc.spawn) rather than as argv
-- items, which the kernel caps at 128 KiB each.
_M.LONG_TEXT = 32 * 1024
_M.FIRST_TEXT_FD = 3
_M.MAX_ARGV = 1024 * 1024

-- The flags of a call: `--flag=value` items, so a value that begins
-- with `-` is never read as an option; a list repeats its flag. Also
-- returns the texts handed over as files (see LONG_TEXT), in fd order.
function _M.argv(data, args, opts)
  local byname, out, texts = {}, {}, {}
  for _, p in ipairs(data.params or {}) do
    if p.type ~= "output" then byname[p.name] = p end
  end
  if args ~= nil and type(args) ~= "table" then
    return nil, "arguments must be an object"
  end
  local names = {}
  for k in pairs(args or {}) do
    if type(k) ~= "string" or not byname[k] then
      return nil, "unknown argument " .. tostring(k)
    end
    names[#names + 1] = k
  end
  table.sort(names)
  for _, k in ipairs(names) do
    local p, v = byname[k], args[k]
    local list = p.type == "list" and v or { v }
    if p.type == "list" and (type(v) ~= "table" or
        (next(v) ~= nil and #v == 0)) then
      return nil, k .. " must be an array"
    end
    local plain = p.type == nil or p.type == "string"
    -- a NUL would end an argv item early: as a file, the run refuses
    -- it with the command line's own message
    if plain and type(v) == "string" and (#v > _M.LONG_TEXT or
        v == "-" or v:find("\0", 1, true)) then
      texts[#texts + 1] = v
      out[#out + 1] = string.format("%s=@/dev/fd/%d", p.flag,
                                    _M.FIRST_TEXT_FD + #texts - 1)
    else
      for _, one in ipairs(list) do
        local s, err = one_value(p, p.type == "list" and
                                 (p.of or "string") or p.type, one, opts)
        if not s then return nil, err end
        if #s > _M.LONG_TEXT then
          return nil, string.format("%s: an item of %d bytes; a list " ..
            "item is at most %d", k, #s, _M.LONG_TEXT)
        end
        out[#out + 1] = p.flag .. "=" .. s
      end
    end
  end
  -- the kernel also caps argv and environment together (ARG_MAX, 2 MiB
  -- here): past 1 MiB of flags say so, not "the run ended with 127"
  local total = 0
  for _, f in ipairs(out) do total = total + #f + 1 end
  if total > _M.MAX_ARGV then
    return nil, string.format("the arguments make %d bytes of flags; " ..
      "a call takes at most %d outside its text arguments (shorten " ..
      "the lists)", total, _M.MAX_ARGV)
  end
  return out, nil, texts
end

return _M
