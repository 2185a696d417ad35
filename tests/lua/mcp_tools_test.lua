-- mcp_tools_test.lua: lua/mcp/tools.lua, a recipe's params as an MCP
-- inputSchema and a call's arguments as the recipe's flags.
--
-- Run by the host as a recipe (tests/run_lua.sh). No network, no files.

local function data()
  return {
    name = "t", description = "A test", spends = false,
    calls = { "GET https://example.com/x" },
    params = {
      { name = "n", flag = "--n", type = "integer", min = 1, max = 3,
        default = 1, required = false },
      { name = "word", flag = "--word", type = "string", required = true,
        max_bytes = 10 },
      { name = "tag", flag = "--tag", type = "list", of = "enum",
        values = { "a", "b" } },
      { name = "at", flag = "--at", type = "time" },
      { name = "yes", flag = "--yes", type = "boolean" },
      { name = "doc", flag = "--doc", type = "file" },
      { name = "key_file", flag = "--key-file", type = "output" },
    },
  }
end

local function cases(t, suite)
  local eq, ok = t.eq, t.ok
  local json = require "json"
  local tools = require "mcp.tools"
  local none = { file_dirs = {} }

  suite:case("schema from params", function()
    local s = tools.schema(json, data())
    eq(s.type, "object")
    eq(s.additionalProperties, false)
    eq(s.properties.n.minimum, 1)
    eq(s.properties.n.maximum, 3)
    eq(s.properties.word.maxLength, 10)
    eq(s.properties.tag.type, "array")
    eq(s.properties.tag.items.enum[2], "b")
    eq(s.properties.at.format, "date-time")
    ok(("2026-01-02T03:04:05+01:00"):find("^%d%d%d%d%-") ~= nil)
    eq(s.properties.key_file, nil, "output params are not offered")
    eq(json.encode(s.required), '["word"]')
  end)

  suite:case("annotations", function()
    local a = tools.annotations(data())
    eq(a.readOnlyHint, true)
    eq(a.openWorldHint, true)
    local d = data()
    d.calls = { "DELETE https://example.com/x" }
    a = tools.annotations(d)
    eq(a.readOnlyHint, false)
    eq(a.destructiveHint, true)
  end)

  suite:case("approval", function()
    -- amounts as options.parse leaves them: nano-USD and their text
    local two = { budget = 2000000000, budget_usd = "2.00" }
    local function with(above, text)
      return { budget = two.budget, budget_usd = two.budget_usd,
               confirm_above = above, confirm_above_usd = text }
    end
    local d = data()
    eq(tools.needs_approval(d, two), nil)
    d.approval = "lives"
    ok(tools.needs_approval(d, two))
    d.approval, d.spends = nil, "yes"
    local why, kind = tools.needs_approval(d, with(1000000000, "1.00"))
    ok(why and why:find("1.00", 1, true) and why:find("2.00", 1, true))
    eq(kind, "above")
    ok(tools.description(d, with(1000000000, "1.00")):find(
      "at most 1.00 USD", 1, true))
    eq(tools.needs_approval(d, with(3000000000, "3.00")), nil)
    eq(tools.needs_approval(d, with(2000000000, "2.00")), nil)
    d.approval = "lives"
    why, kind = tools.needs_approval(d, with(1000000000, "1.00"))
    eq(kind, "lives")
  end)

  suite:case("arguments to flags", function()
    local argv = tools.argv(data(), { word = "-x", n = 2, tag = { "a",
      "b" }, yes = false }, none)
    eq(table.concat(argv, " "), "--n=2 --tag=a --tag=b --word=-x --yes=false")
    argv = tools.argv(data(), { word = "@me" }, none)
    eq(argv[1], "--word=@@me")
  end)

  suite:case("long texts, '-' and NUL go to the run as files", function()
    local long = string.rep("x", tools.LONG_TEXT + 1)
    local argv, err, texts = tools.argv(data(), { word = long, n = 1 },
                                        none)
    eq(err, nil)
    eq(table.concat(argv, " "), "--n=1 --word=@/dev/fd/3")
    eq(#texts, 1)
    eq(texts[1], long)
    argv, err, texts = tools.argv(data(), { word = "-" }, none)
    eq(argv[1], "--word=@/dev/fd/3")
    eq(texts[1], "-")
    argv, err, texts = tools.argv(data(), { word = "a\0b" }, none)
    eq(argv[1], "--word=@/dev/fd/3")
    eq(texts[1], "a\0b")
    -- a list item cannot be a file: too long or NUL is an error
    argv, err = tools.argv(data(), { tag = { long } }, none)
    eq(argv, nil)
    ok(err:find("at most", 1, true))
    argv, err = tools.argv(data(), { tag = { "a\0b" } }, none)
    eq(argv, nil)
    ok(err:find("NUL", 1, true))
    argv, err, texts = tools.argv(data(), { word = "short" }, none)
    eq(#texts, 0)
    local many = {}
    for i = 1, 40 do many[i] = string.rep("t", tools.LONG_TEXT) end
    argv, err = tools.argv(data(), { tag = many }, none)
    eq(argv, nil)
    ok(err:find("bytes of flags", 1, true))
  end)

  suite:case("bad arguments", function()
    local _, err = tools.argv(data(), { nope = 1 }, none)
    ok(err:find("unknown argument nope", 1, true))
    _, err = tools.argv(data(), { tag = { "-" } }, none)
    ok(err:find("stdin", 1, true))
    _, err = tools.argv(data(), { n = 1.5 }, none)
    ok(err:find("integer", 1, true))
    _, err = tools.argv(data(), { tag = "a" }, none)
    ok(err:find("array", 1, true))
    _, err = tools.argv(data(), { doc = "/etc/passwd" }, none)
    ok(err:find("--allow-file-dir", 1, true))
    _, err = tools.argv(data(), { doc = "/d/../etc/passwd" }, {
      file_dirs = { "/d" }, realpath = function() return "/etc/passwd" end,
      isfile = function() return true end })
    ok(err:find("not a file under", 1, true))
    local argv = tools.argv(data(), { doc = "/d/x" }, {
      file_dirs = { "/d" }, realpath = function(p) return p end,
      isfile = function() return true end })
    eq(argv[1], "--doc=/d/x")
  end)
end

return {
  description = "Tests for lua/mcp/tools.lua",
  run = function(ctx)
    local t = require "testlib"
    local suite = t.new("mcp_tools")
    cases(t, suite)
    return suite:done()
  end,
}
