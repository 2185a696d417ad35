-- client_test.lua: the shared client layer (lua/client/): the status
-- table of the one error vocabulary, err.sent, Retry-After, JSON null,
-- excerpts, base URL and idempotency key checks, settings.
--
-- Run by the host as a recipe (tests/run_lua.sh). No network: answers
-- are tables shaped like the responses of http.request.

-- A response as http.request returns it.
local function response(status, body, headers)
  return { status = status, body = body or "", headers = headers or {} }
end

local THETA_409 = '{"status":"error","message":"No instances available ' ..
                  '- try again later"}'

local function cases(t, client, json, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises
  local codes = client.codes

  local function has(text, part)
    if not tostring(text):find(part, 1, true) then
      error(string.format("%q does not mention %q", tostring(text), part),
            2)
    end
  end

  -- the status table ---------------------------------------------------

  -- status, body, headers, request keyed -> code, sent, retriable
  local TABLE = {
    { 400, nil, nil, false, "invalid_request", "refused", false },
    { 401, nil, nil, false, "config", "refused", false },
    { 403, nil, nil, false, "forbidden", "refused", false },
    { 404, nil, nil, false, "not_found", "refused", false },
    { 409, '{"message":"version mismatch"}', nil, false, "conflict",
      "refused", false },
    { 409, '{"message":"busy"}', nil, true, "in_flight", "refused", true },
    { 409, THETA_409, nil, false, "capacity", "refused", true },
    { 409, THETA_409, nil, true, "capacity", "refused", true },
    { 413, nil, nil, false, "too_large", "refused", false },
    { 422, nil, nil, false, "invalid_request", "refused", false },
    { 429, nil, { ["retry-after"] = "30" }, false, "rate_limited",
      "refused", true },
    { 500, nil, nil, false, "server_error", "unknown", true },
    { 502, "<html>Bad gateway</html>", nil, false, "server_error",
      "unknown", true },
    { 503, nil, { ["retry-after"] = "2" }, false, "unavailable",
      "unknown", true },
    { 504, nil, nil, false, "server_error", "unknown", true },
  }

  suite:case("status table: code, sent and retriable", function()
    for _, row in ipairs(TABLE) do
      local st, body, headers, keyed = row[1], row[2], row[3], row[4]
      local what = st .. (body and " " .. body or "") ..
                   (keyed and " keyed" or "")
      local e = client.status_error(response(st, body, headers),
                                    { what = "call", keyed = keyed })
      eq(e.code, row[5], what .. ": code")
      eq(e.status, st, what .. ": status")
      eq(e.sent, row[6], what .. ": sent")
      eq(e.retriable, row[7], what .. ": retriable")
      ok(codes.KNOWN[e.code], what .. ": in the list")
      ok(require("errors").is(e), what .. ": a clawhost.Error")
    end
  end)

  suite:case("429 and 503 carry the Retry-After they asked for", function()
    local e = client.status_error(response(429,
      '{"message":"10 minute quota reached"}', { ["retry-after"] = "30" }),
      { what = "infer flux" })
    eq(e.retry_after_s, 30)
    eq(e.remote_message, "10 minute quota reached")
    eq(e.message, "infer flux: HTTP 429: 10 minute quota reached")
    e = client.status_error(response(503, "", { ["retry-after"] = " 2 " }))
    eq(e.retry_after_s, 2)
    e = client.status_error(response(429, ""))
    eq(e.retry_after_s, nil, "no header, no wait")
  end)

  suite:case("the rest of the table", function()
    local function code(st) return codes.for_status(st) end
    eq(code(402), "forbidden")
    eq(code(405), "unsupported")
    eq(code(408), "timeout")
    eq(code(410), "not_found")
    eq(code(418), "invalid_request", "another 4xx")
    eq(code(425), "unavailable")
    eq(code(501), "unsupported")
    eq(code(505), "server_error")
    eq(code(599), "server_error", "another 5xx")
    eq(code(301), "config", "a redirect")
    eq(code(308), "config")
    eq(codes.sent_for_status(501), "refused")
    eq(codes.sent_for_status(505), "refused")
    eq(codes.sent_for_status(502), "unknown")
    eq(codes.sent_for_status(307), "unknown")
    for st = 300, 599 do
      ok(codes.KNOWN[codes.for_status(st)], st .. " maps into the list")
    end
  end)

  suite:case("capacity is matched in any case and spacing", function()
    eq(codes.for_status(409, { text = "NO  instances\tAVAILABLE" }),
       "capacity")
    eq(codes.for_status(409, { text = "no instance available" }),
       "conflict")
  end)

  suite:case("a 2xx or a non-number is not an error status", function()
    raises(function() codes.for_status(200) end, "not an error status")
    raises(function() codes.for_status("429") end, "expected an HTTP")
    raises(function() codes.sent_for_status(204) end, "not an error")
  end)

  suite:case("a redirect says which setting to fix", function()
    local e = client.status_error(response(307, "",
      { location = "https://elsewhere.example/x" }),
      { what = "list", setting = "EXAMPLE_BASE_URL" })
    eq(e.code, "config")
    has(e.message, "307 redirect to https://elsewhere.example/x")
    has(e.message, "check EXAMPLE_BASE_URL")
  end)

  suite:case("a library's code and wording win over the table", function()
    local e = client.status_error(response(403,
      '{"detail":"Invalid X-Queue-Secret"}'),
      { code = "config", message = "wrong secret",
        fields = { reason = "invalid_queue_secret" } })
    eq(e.code, "config")
    eq(e.message, "wrong secret")
    eq(e.reason, "invalid_queue_secret")
    eq(e.sent, "refused")
    e = client.status_error(response(404, '{"message":"gone"}'), {
      what = "x", describe = function(err, o)
        return o.what .. " said " .. err.remote_message .. " as " ..
               err.code
      end })
    eq(e.message, "x said gone as not_found")
  end)

  suite:case("transport codes: sent or not", function()
    for _, c in ipairs { "dns", "connect", "tls", "blocked", "dry_run" } do
      eq(codes.sent_for_transport(c), "no", c)
    end
    for _, c in ipairs { "timeout", "protocol", "too_large", "cancelled" } do
      eq(codes.sent_for_transport(c), "unknown", c)
      ok(codes.KNOWN[c], c .. " in the list")
    end
    ok(codes.retriable("connect") and codes.retriable("timeout"))
    ok(not codes.retriable("blocked") and not codes.retriable("config"))
  end)

  suite:case("one vocabulary: no quota, rejected or http code", function()
    for _, c in ipairs { "quota", "rejected", "http", "upload_failed",
                         "generation_failed", "generation_timeout" } do
      ok(not codes.KNOWN[c], c .. " is not a code")
    end
  end)

  -- answers ------------------------------------------------------------

  suite:case("JSON null reads as nil, everything else as it is",
             function()
    local v = json.decode('{"a":null,"b":false,"c":0,"d":""}')
    ok(v.a ~= nil, "null decodes to something that is not nil")
    eq(client.val(v.a), nil)
    eq(client.val(v.b), false)
    eq(client.val(v.c), 0)
    eq(client.val(v.d), "")
    eq(client.val(nil), nil)
    eq(client.val(json.null), nil)
    local list = json.decode('[null]')
    eq(client.val(list[1]), nil)
  end)

  suite:case("a body that may not be JSON", function()
    eq(client.json(""), nil)
    eq(client.json(nil), nil)
    eq(client.json("<html>oops</html>"), nil)
    eq(client.json('{"id":"x"}').id, "x")
    eq(client.whole(3.0), "3")
    eq(client.whole(2.5), "2.5")
    eq(client.whole("x"), "x")
  end)

  suite:case("excerpts: one line, cut after max bytes", function()
    eq(client.excerpt("a  b\n\tc", 10), "a b c")
    eq(client.excerpt("abcdef", 6), "abcdef", "max bytes is kept whole")
    eq(client.excerpt("abcdefg", 6), "abcdef...")
    -- é is 2 bytes: never cut in the middle of it
    eq(client.excerpt("abcde\195\169fgh", 6), "abcde...")
    eq(client.excerpt("abcd\195\169fgh", 6), "abcd\195\169...")
    eq(client.excerpt("\240\159\152\128\240\159\152\128", 5),
       "\240\159\152\128...", "an emoji is 4 bytes")
    eq(client.excerpt(nil, 10), nil)
    eq(client.excerpt({}, 10), nil)
    raises(function() client.excerpt("x", 0) end, "whole number")
    raises(function() client.excerpt("x", 2.5) end, "whole number")
  end)

  suite:case("the message of an error body", function()
    eq(client.remote_message('{"status":"error","message":"m1"}'), "m1")
    eq(client.remote_message('{"error":{"message":"m2"}}'), "m2")
    eq(client.remote_message('{"detail":"m3"}'), "m3")
    eq(client.remote_message('{"message":null,"error":"m4"}'), "m4")
    eq(client.remote_message("<html><b>Bad</b>  gateway</html>"),
       " Bad gateway ")
    eq(client.remote_message(""), nil)
    local long = client.remote_message(string.rep("x", 300))
    eq(#long, 203)
    eq(long:sub(-3), "...")
  end)

  suite:case("Retry-After: seconds only", function()
    eq(client.retry_after(response(429, "", { ["retry-after"] = "7" })), 7)
    eq(client.retry_after(response(429, "", {
      ["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT" })), nil)
    eq(client.retry_after(response(429, "")), nil)
    eq(client.retry_after(nil), nil)
  end)

  suite:case("durations for people", function()
    eq(client.duration(59.6), "60 s")
    eq(client.duration(3600), "60 min")
    eq(client.duration(2 * 86400), "2 days")
  end)

  -- checks ---------------------------------------------------------------

  suite:case("base URL: one rule for every client", function()
    eq(client.check_base_url("https://Api.Example.com/v1//"),
       "https://Api.Example.com/v1")
    local v, why = client.check_base_url("https://u:p@x.example", {
      owner = "the on-demand API", secret = "THETA_ONDEMAND_API_TOKEN" })
    eq(v, nil)
    has(why, "the on-demand API's credential goes in " ..
        "THETA_ONDEMAND_API_TOKEN")
    v, why = client.check_base_url("https://u:p@x.example")
    has(why, "its own secret setting")
    v, why = client.check_base_url("https://x.example/#top")
    has(why, "query or fragment")
    raises(function() client.check_base_url(nil) end, "expected a string")
  end)

  suite:case("idempotency keys: the http module's rule", function()
    ok(client.check_idempotency_key("k"))
    ok(client.check_idempotency_key(string.rep("k", 255)))
    ok(not client.check_idempotency_key(""))
    ok(not client.check_idempotency_key(string.rep("k", 256)))
    ok(not client.check_idempotency_key("a b\127"))
    ok(not client.check_idempotency_key("caf\195\169"))
    ok(not client.check_idempotency_key(42))
    local a = client.new_idempotency_key("x")
    ok(a:match("^x%-%d+T%d+%-%d%d%d%d%d%d%-%x+$"), a)
    ok(client.check_idempotency_key(a))
    ok(a ~= client.new_idempotency_key("x"), "two keys differ")
  end)

  -- a client -----------------------------------------------------------

  suite:case("settings: the default, missing ones named, bad ones",
             function()
    local api = client.new { name = "the example API",
      base = { "CLAWHOST_TEST_NOT_SET_BASE_URL",
               default = "https://api.example.com" } }
    eq(api:base_url(), "https://api.example.com")
    eq(api:settings().base_url, "https://api.example.com")
    api = client.new { base = { "CLAWHOST_TEST_NOT_SET_BASE_URL",
                                help = "the example's URL" },
                       secret = { "CLAWHOST_TEST_NOT_SET_TOKEN",
                                  help = "its token" } }
    local s, err = api:settings { secret = true }
    eq(s, nil)
    eq(err.code, "config")
    eq(err.sent, "no")
    eq(err.missing, { "CLAWHOST_TEST_NOT_SET_BASE_URL",
                      "CLAWHOST_TEST_NOT_SET_TOKEN" })
    has(err.message, "missing settings: CLAWHOST_TEST_NOT_SET_BASE_URL " ..
        "(the example's URL); CLAWHOST_TEST_NOT_SET_TOKEN (its token)")
    -- HOME is set (run_lua.sh keeps it) and is not a URL
    api = client.new { base = { "CLAWHOST_TEST_NOT_SET_BASE_URL", "HOME",
                                default = "https://api.example.com" } }
    s, err = api:settings()
    eq(s, nil)
    eq(err.code, "config")
    has(err.message, "HOME '")
    has(err.message, "has no scheme")
  end)

  suite:case("a client without a base raises", function()
    raises(function() client.new {} end, "client.new")
    raises(function() client.new { base = { "X" }, secret = {} } end,
           "secret must be")
    raises(function() client.send(nil) end, "request table")
  end)
end

return {
  description = "Tests for lua/client (the shared client layer)",
  -- the base URLs of the example clients (config reads only declared
  -- names and the ones clawhost documents)
  settings = {
    CLAWHOST_TEST_NOT_SET_BASE_URL = "an example client's base URL",
    HOME = "a variable that is set and is not a URL",
  },
  run = function()
    local t = require("testlib")
    local suite = t.new("client")
    cases(t, require "client", require "json", suite)
    return suite:done()
  end,
}
