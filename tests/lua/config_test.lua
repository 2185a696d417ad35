-- config_test.lua: tests for the config module (host/runtime/config.c).
--
-- Run by tests/run_lua.sh with the ordinary environment (PATH and HOME
-- are set there). tests/e2e/config_test.py runs it again with the
-- CFGTEST_* variables below set, which turns on the parsing and
-- clamping cases; without them those cases are skipped, not failed.
-- config reads only the names clawhost documents and the ones a recipe
-- declares: this suite declares its own in `settings` at the bottom
-- (PATH, not HOME: HOME is the name that is set and not declared).

local function cases(t, config, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  -- Cases that need the CFGTEST_* variables.
  local have_values = config.get("CFGTEST_SET") == "1"
  local function valued(name, fn)
    if have_values then suite:case(name, fn) end
  end

  suite:case("a variable from the environment", function()
    local path = config.get("PATH")
    ok(type(path) == "string" and #path > 0, "PATH")
    eq(config.source("PATH"), "env")
  end)

  suite:case("missing variables: nil or the default", function()
    eq(config.get("CLAWHOST_TEST_NOT_SET_1"), nil)
    eq(config.get("CLAWHOST_TEST_NOT_SET_1", "dflt"), "dflt")
    eq(config.source("CLAWHOST_TEST_NOT_SET_1"), nil)
    eq(config.bool("CLAWHOST_TEST_NOT_SET_1"), false)
    eq(config.bool("CLAWHOST_TEST_NOT_SET_1", true), true)
    eq(config.number("CLAWHOST_TEST_NOT_SET_1"), nil)
    eq(config.number("CLAWHOST_TEST_NOT_SET_1", 5), 5)
    eq(config.number("CLAWHOST_TEST_NOT_SET_1", 5, 10, 20), 5,
       "a default is not clamped")
  end)

  suite:case("values that do not parse are config errors", function()
    local e = raises(function() config.number("PATH") end,
                     "expected a number")
    eq(e.code, "config")
    ok(e.message:find("(from env)", 1, true), "names the source")
    e = raises(function() config.bool("PATH") end,
               "expected one of 1/true/yes/on or 0/false/no/off")
    eq(e.code, "config")
  end)

  suite:case("credential-looking names point to secret.get", function()
    for _, name in ipairs({ "THREADS_QUEUE_SECRET", "X_TOKEN", "X_API_KEY",
                            "DB_PASSWORD", "GITHUB_TOKEN", "ssh_private_key",
                            "MY_APIKEY", "X_KEY", "X_PASS", "X_PWD",
                            "SOME_CREDENTIALS", "GH_PAT", "SENTRY_DSN",
                            "GIT_CRED", "GIT_CREDS", "GPG_PASSPHRASE",
                            "SESSION_COOKIE", "HTTP_AUTHORIZATION",
                            "PROXY_AUTH", "CLAWHOST_PROXY" }) do
      for _, fn in ipairs({ "get", "bool", "number", "source" }) do
        local e = raises(function() config[fn](name) end,
                         "secret.get('" .. name .. "')", fn .. " " .. name)
        eq(e.code, "config", name)
        ok(e.message:find("config." .. fn, 1, true), "names the function")
      end
    end
  end)

  suite:case("ordinary names are not credentials", function()
    for _, name in ipairs({ "TOKEN_COUNT", "KEYBOARD_LAYOUT", "MONKEY",
                            "PASSAGE", "THETA_HTTP_TIMEOUT_MS", "PATH",
                            "PATHWAY", "AUTHOR", "DSN_HOST" }) do
      local okc = pcall(config.get, name)
      ok(okc, name)
    end
  end)

  suite:case("undeclared names are refused, set or not", function()
    -- HOME is set (run_lua.sh keeps it): refused all the same
    for _, name in ipairs({ "HOME", "CLAWHOST_TEST_UNDECLARED",
                            "CLAWHOST_STORE_X", "DATABASE_URL" }) do
      for _, fn in ipairs({ "get", "bool", "number", "source" }) do
        local e = raises(function() config[fn](name, "dflt") end,
                         "config." .. fn .. "('" .. name .. "'): " ..
                         name .. " is not a setting this recipe declares",
                         fn .. " " .. name)
        eq(e.code, "config", name)
        ok(e.message:find("add settings = { " .. name ..
                          ' = "what it is" } to the recipe', 1, true),
           "says how to declare it")
        ok(e.message:find("secret.get('" .. name .. "')", 1, true),
           "points to secret.get")
      end
    end
  end)

  suite:case("documented names need no declaration", function()
    for _, name in ipairs({ "THREADS_FASTAPI_BASE_URL", "THREADS_TENANT_ID",
                            "THETA_ONDEMAND_API_BASE_URL",
                            "THETA_API_BASE_URL", "THETA_HTTP_MAX_RETRIES",
                            "THETA_DRY_RUN", "THETA_MAX_BUDGET_USD",
                            "CLAWHOST_DAILY_BUDGET_USD", "SERVICES",
                            "THETA_POLL_UNTIL_DONE" }) do
      local okc, err = pcall(config.source, name)
      ok(okc, name .. ": " .. tostring(err and err.message))
    end
    -- and only those: the host's plumbing is not a recipe's business
    for _, name in ipairs({ "CLAWHOST_HOME", "CLAWHOST_STATE_DIR",
                            "CLAWHOST_CA_FILE", "CLAWHOST_CONNECT_TO",
                            "THETA_INFERENCE_AUTH_USER" }) do
      raises(function() config.get(name) end, "is not a setting", name)
    end
  end)

  suite:case("names must be variable names", function()
    for _, name in ipairs({ "1ABC", "A-B", "A B", "", "A.B", "A=B" }) do
      raises(function() config.get(name) end, "not a variable name", name)
    end
    raises(function() config.get() end, "bad argument #1")
    raises(function() config.get({}) end, "bad argument #1")
  end)

  valued("get and source with values", function()
    eq(config.get("CFGTEST_TEXT"), "hello world")
    eq(config.source("CFGTEST_TEXT"), "env")
    eq(config.get("CFGTEST_BLANK", "dflt"), "dflt", "blank is unset")
  end)

  valued("bool parsing", function()
    for _, v in ipairs({ "1", "TRUE", "yes", "On" }) do
      eq(config.bool("CFGTEST_BOOL_" .. v:upper()), true, v)
    end
    for _, v in ipairs({ "0", "false", "NO", "off" }) do
      eq(config.bool("CFGTEST_BOOL_" .. v:upper(), true), false, v)
    end
    raises(function() config.bool("CFGTEST_BOOL_BAD") end,
           "CFGTEST_BOOL_BAD=maybe (from env)")
  end)

  valued("number parsing", function()
    eq(config.number("CFGTEST_INT"), 42)
    eq(math.type(config.number("CFGTEST_INT")), "integer")
    eq(config.number("CFGTEST_FLOAT"), 2.5)
    eq(math.type(config.number("CFGTEST_FLOAT")), "float")
    eq(config.number("CFGTEST_NEG"), -7)
    eq(config.number("CFGTEST_SPACES"), 12, "surrounding spaces")
    eq(config.number("CFGTEST_EXP"), 1500, "1.5e3")
    raises(function() config.number("CFGTEST_NUM_BAD") end,
           "expected a number")
    raises(function() config.number("CFGTEST_NUM_INF") end,
           "expected a number")
  end)

  valued("a value with a login is refused, never shown", function()
    for _, fn in ipairs({ "get", "bool", "number", "source" }) do
      local e = raises(function() config[fn]("CFGTEST_DB_URL") end,
                       "holds a user name or password", fn)
      eq(e.code, "config")
      ok(e.message:find("CFGTEST_DB_URL (from env)", 1, true), "the name")
      ok(e.message:find("secret.get", 1, true), "points to secret")
      ok(not e.message:find("Pa55", 1, true), "never the value")
    end
    eq(config.get("CFGTEST_PLAIN_URL"), "https://example.com/@team",
       "an @ in the path is no login")
  end)

  valued("number clamping", function()
    eq(config.number("CFGTEST_INT", 0, 0, 10), 10, "clamped to max")
    eq(config.number("CFGTEST_INT", 0, 50, 100), 50, "clamped to min")
    eq(config.number("CFGTEST_INT", 0, 0, 100), 42, "inside")
    eq(config.number("CFGTEST_INT", 0, nil, 40), 40, "max only")
    eq(config.number("CFGTEST_NEG", 0, 0), 0, "min only")
    eq(config.number("CFGTEST_FLOAT", 0, 0, 2), 2)
    eq(math.type(config.number("CFGTEST_FLOAT", 0, 0, 2)), "integer",
       "a whole clamped value is an integer")
    raises(function() config.number("CFGTEST_INT", 0, "x") end,
           "bad argument #3")
  end)
end

-- The names this suite reads, besides the documented ones.
local SETTINGS = {
  PATH = "set in every environment",
  CLAWHOST_TEST_NOT_SET_1 = "never set",
  TOKEN_COUNT = "an ordinary name", KEYBOARD_LAYOUT = "an ordinary name",
  MONKEY = "an ordinary name", PASSAGE = "an ordinary name",
  PATHWAY = "an ordinary name", AUTHOR = "an ordinary name",
  DSN_HOST = "an ordinary name",
}
for _, n in ipairs({ "SET", "TEXT", "BLANK", "BOOL_1", "BOOL_TRUE",
                     "BOOL_YES", "BOOL_ON", "BOOL_0", "BOOL_FALSE",
                     "BOOL_NO", "BOOL_OFF", "BOOL_BAD", "INT", "FLOAT",
                     "NEG", "SPACES", "EXP", "NUM_BAD", "NUM_INF",
                     "DB_URL", "PLAIN_URL" }) do
  SETTINGS["CFGTEST_" .. n] = "set by tests/e2e/config_test.py"
end

return {
  description = "Tests for the config module",
  settings = SETTINGS,
  run = function(ctx)
    local t = require "testlib"
    local config = require "config"
    local suite = t.new("config")
    cases(t, config, suite)
    return suite:done()
  end,
}
