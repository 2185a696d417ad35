-- threads_test.lua: tests for the pure parts of lua/threads/: base URL
-- checks, UTF-8 byte counting, publish validation, request bodies, and
-- how backend answers become messages (the three FastAPI detail shapes).
--
-- Run by the host as a recipe: `clawhost run tests/lua/threads_test.lua
-- --json` (tests/run_lua.sh). Nothing here touches the network.
local NOW = 1778565600         -- 2026-05-12T06:00:00Z

-- A response as http.request returns it, enough for threads.explain.
local function response(status, body, headers)
  return { status = status, body = body, headers = headers or {} }
end

local function cases(t, threads, json, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  local function has(text, part, what)
    if not tostring(text):find(part, 1, true) then
      error((what or "text") .. " " .. string.format("%q", tostring(text)) ..
            " does not mention " .. string.format("%q", part), 2)
    end
  end

  local function problems(opts)
    local list = threads.check_publish(opts, NOW)
    return list, table.concat(list, "\n")
  end

  local S = { base_url = "http://127.0.0.1:8000", tenant_id = "agency_paris" }

  -- base URL --------------------------------------------------------------

  suite:case("base URL: http and https pass, trailing slashes go", function()
    eq(threads.check_base_url("http://127.0.0.1:8000"),
       "http://127.0.0.1:8000")
    eq(threads.check_base_url("https://api.example.com/"),
       "https://api.example.com")
    eq(threads.check_base_url("https://api.example.com/threadclaw///"),
       "https://api.example.com/threadclaw")
    eq(threads.check_base_url("  HTTP://Example.com:8080/x/ "),
       "http://Example.com:8080/x")
  end)

  suite:case("base URL: other schemes, no scheme, no host", function()
    local v, why = threads.check_base_url("ftp://example.com")
    eq(v, nil)
    has(why, "ftp://", "ftp")
    v, why = threads.check_base_url("example.com:8000")
    eq(v, nil)
    has(why, "no scheme", "host:port")
    v, why = threads.check_base_url("127.0.0.1:8000/api")
    eq(v, nil)
    has(why, "no scheme", "ip:port")
    v, why = threads.check_base_url("file:///etc/passwd")
    eq(v, nil)
    has(why, "file://")
    v, why = threads.check_base_url("http://")
    eq(v, nil)
    has(why, "no host")
    v, why = threads.check_base_url("mailto:x@example.com")
    eq(v, nil)
    has(why, "mailto:")
    v, why = threads.check_base_url("")
    eq(v, nil)
    has(why, "empty")
  end)

  suite:case("base URL: credentials, queries and spaces refused", function()
    local v, why = threads.check_base_url("https://u:p@example.com")
    eq(v, nil)
    has(why, "user name or password")
    ok(not why:find("u:p", 1, true), "the credential is not repeated")
    v, why = threads.check_base_url("https://example.com/?a=1")
    eq(v, nil)
    has(why, "query")
    v, why = threads.check_base_url("https://exa mple.com")
    eq(v, nil)
    has(why, "space")
    raises(function() threads.check_base_url(42) end, "expected a string")
  end)

  -- UTF-8 -----------------------------------------------------------------

  suite:case("UTF-8 bytes, not characters", function()
    eq({ threads.utf8_bytes("") }, { 0, 0 })
    eq({ threads.utf8_bytes("hello") }, { 5, 5 })
    eq({ threads.utf8_bytes("caf\195\169") }, { 5, 4 }, "é is 2 bytes")
    eq({ threads.utf8_bytes("\226\128\153") }, { 3, 1 }, "’ is 3 bytes")
    eq({ threads.utf8_bytes("\240\159\152\128") }, { 4, 1 }, "emoji 4")
    eq({ threads.utf8_bytes("ok\255") }, { nil, 3 }, "bad byte at 3")
    raises(function() threads.utf8_bytes(nil) end, "expected a string")
  end)

  suite:case("500 bytes pass, 501 fail, counted in bytes", function()
    eq(#problems { message = string.rep("a", 500) }, 0, "500 ASCII")
    local list, text = problems { message = string.rep("a", 501) }
    eq(#list, 1)
    has(text, "--message is 501 UTF-8 bytes")
    has(text, "at most 500")
    -- 498 characters with three curly apostrophes: 504 bytes (Postiz
    -- PR #1946, threads-api.md 2.3)
    local msg = string.rep("a", 495) .. string.rep("\226\128\153", 3)
    list, text = problems { message = msg }
    eq(#list, 1)
    has(text, "504 UTF-8 bytes (498 characters)")
    -- 125 emoji = 500 bytes: fine; 126 are not
    eq(#problems { message = string.rep("\240\159\152\128", 125) }, 0)
    list, text = problems { message = string.rep("\240\159\152\128", 126) }
    has(text, "504 UTF-8 bytes (126 characters)")
  end)

  suite:case("trailing whitespace is not counted (the backend trims)",
             function()
    eq(#problems { message = string.rep("a", 500) .. "  \n" }, 0)
  end)

  suite:case("the text sent is the text checked", function()
    eq(threads.text("hi \n\t "), "hi")
    eq(threads.text("  hi"), "  hi", "leading white space stays")
    eq(threads.text(nil), "")
    local msg = string.rep("a", 498) .. "\u{e9}" .. " \n"
    eq(#problems { message = msg }, 0, "500 bytes once trimmed")
    local body = threads.publish_body(S, { message = msg })
    eq(#body.message, 500, "and exactly those 500 bytes are sent")
    eq(body.message, threads.text(msg))
    raises(function() threads.check_publish { message = 42 } end,
           "message must be a string")
  end)

  suite:case("at most 5 different links, counted as the backend", function()
    local function n(text) return #threads.links(text) end
    eq(n("https://a.com http://A.com/ www.a.com www.A.com."), 2)
    eq(n("x https://a.com,https://b.com"), 1, "one word, one link")
    eq(n("ahttp://x.y _www.z.com"), 0, "not at the start of a word")
    eq(n("(https://p.com) <https://q.com>"), 2)
    eq(n("https:// nothing"), 0)
    eq(n("\u{201c}https://q.com\u{201d}"), 1)
    eq(n("\u{e9}https://x.com"), 0, "glued to a letter")
    eq(n("https://v.com/\u{e9}t\u{e9} https://v.com/\u{c9}T\u{c9}"), 1,
       "never more than the backend counts")
    eq(threads.links("see WWW.Example.ORG/x?q=1) ok"),
       { "www.example.org/x?q=1" })
    local five = "https://a.b https://c.d https://e.f https://g.h " ..
                 "https://i.j"
    eq(#problems { message = five }, 0)
    local _, text = problems { message = five .. " www.k.l",
                               flags = { message = "--text" } }
    has(text, "--text has 6 different links (a.b, c.d, e.f, g.h, i.j, " ..
              "www.k.l); Threads allows at most 5 in a post")
  end)

  suite:case("invalid UTF-8 is refused before sending", function()
    local _, text = problems { message = "abc\192" }
    has(text, "--message is not valid UTF-8 (byte 4)")
  end)

  -- publish checks ----------------------------------------------------------

  suite:case("neither text nor image", function()
    local _, text = problems {}
    has(text, "nothing to post")
    has(text, "--message")
    has(text, "--image")
    _, text = problems { message = "   " }
    has(text, "nothing to post")
    eq(#problems { images = { "https://example.com/a.png" } }, 0,
       "image only")
  end)

  suite:case("at most 20 images", function()
    local imgs = {}
    for i = 1, 21 do imgs[i] = "https://example.com/" .. i .. ".png" end
    local list, text = problems { message = "x", images = imgs }
    eq(#list, 1)
    has(text, "21 --image given")
    has(text, "at most 20")
    imgs[21] = nil
    eq(#problems { message = "x", images = imgs }, 0, "20 is fine")
  end)

  suite:case("image URLs must be http(s), and not repeated", function()
    local _, text = problems { message = "x", images = {
      "https://example.com/a.png", "ftp://example.com/b.png",
      "/local/c.png", "https://example.com/a.png" } }
    has(text, "--image #2 'ftp://example.com/b.png' is not an http(s) URL")
    has(text, "--image #3 '/local/c.png' is not an http(s) URL")
    has(text, "--image #4 repeats #1")
    eq(#problems { message = "x", images = { "http://127.0.0.1:9/a.png",
                                             "HTTPS://Example.com/b" } }, 0)
  end)

  suite:case("time: offset required, past refused, future normalized",
             function()
    local list, sched = threads.check_publish(
      { message = "x", at = "2026-05-12T09:30:00+02:00" }, NOW - 3600)
    eq(list, {})
    eq(sched, "2026-05-12T07:30:00Z", "sent in UTC")
    local _, text = problems { message = "x", at = "2026-05-12T06:00:00" }
    has(text, "--at '2026-05-12T06:00:00' has no UTC offset")
    _, text = problems { message = "x", at = "tomorrow" }
    has(text, "--at 'tomorrow' is not an RFC 3339 time")
    _, text = problems { message = "x", at = "2026-05-12T05:00:00Z" }
    has(text, "--at 2026-05-12T05:00:00Z is in the past (60 min ago)")
    eq(#problems { message = "x", at = "2026-05-12T05:59:30Z" }, 0,
       "within the backend's 60 s grace")
  end)

  suite:case("mode now with a time is a contradiction", function()
    local _, text = problems { message = "x", mode = "now",
                               at = "2026-05-13T06:00:00Z" }
    has(text, "--mode now publishes at once")
    _, text = problems { message = "x", mode = "later" }
    has(text, "--mode must be queue or now")
  end)

  suite:case("idempotency key: printable ASCII, 1 to 255", function()
    eq(#problems { message = "x", idempotency_key = "tg-42-9876" }, 0)
    local _, text = problems { message = "x", idempotency_key = "" }
    has(text, "--idempotency-key must be 1 to 255")
    _, text = problems { message = "x", idempotency_key = "a\nb" }
    has(text, "--idempotency-key")
    _, text = problems { message = "x",
                         idempotency_key = string.rep("k", 256) }
    has(text, "--idempotency-key")
  end)

  suite:case("messages name the caller's flags when told", function()
    local _, text = problems { message = string.rep("a", 501),
                               flags = { message = "--text" } }
    has(text, "--text is 501")
  end)

  suite:case("several problems are all reported", function()
    local list = problems { message = string.rep("a", 600),
      images = { "ftp://x/y" }, at = "2020-01-01T00:00:00Z" }
    eq(#list, 3)
  end)

  suite:case("postimg problems name the caller's flags", function()
    local list = threads.check_postimg { prompt = " ", caption = "\xff",
      idempotency_key = "", api_base_url = "ftp://x",
      flags = { prompt = "--idea", caption = "--words",
                idempotency_key = "--key", api_base_url = "--public" } }
    eq(#list, 4)
    has(list[1], "--idea is empty")
    has(list[2], "--words is not valid UTF-8")
    has(list[3], "--key must be 1 to 255")
    has(list[4], "--public uses ftp://")
    eq(#threads.check_postimg { prompt = "a fox" }, 0)
  end)

  suite:case("validate: every problem of every post, nothing sent",
             function()
    local ok_, err = threads.validate({
      { message = "fine", idempotency_key = "k1" },
      { message = string.rep("a", 501) },
      { message = "", pending_images = 1 },
      { message = "", images = {} },
      { kind = "postimg", prompt = "" },
      { message = "again", idempotency_key = "k1" },
    }, { flags = { message = "--text", idempotency_key = "--key" },
         settings = false, now = NOW })
    eq(ok_, nil)
    eq(err.code, "usage")
    local posts = {}
    for i, p in ipairs(err.problems) do posts[i] = p.post end
    eq(posts, { 2, 4, 5, 6 })
    has(err.message, "post 2: --text is 501 UTF-8 bytes")
    has(err.message, "post 4: nothing to post: give --text text")
    has(err.message, "post 5: --prompt is empty")
    has(err.message, "post 6: --key k1 is also post 1's")
    ok(err.message:find("post 3", 1, true) == nil, "an image to come")
    eq(threads.validate({ { message = "ok" } }, { settings = false,
                                                   now = NOW }), true)
    local _, one = threads.validate({ { message = string.rep("a", 501),
      flags = { message = "--body" } } }, { flags = { message = "--text" },
      settings = false, now = NOW })
    has(one.message, "--body is 501", "a post's own flags win")
    ok(not one.message:find("post 1", 1, true), "one post: no number")
    raises(function() threads.validate("x") end, "list of posts")
    raises(function() threads.validate({ 1 }) end, "post 1 is not")
    raises(function()
      threads.validate({ { pending_images = -1 } }, { settings = false })
    end, "pending_images")
  end)

  suite:case("bad options raise", function()
    raises(function() threads.check_publish(nil) end, "options table")
  end)

  -- bodies --------------------------------------------------------------

  suite:case("publish body: the seed's shape, [] and null", function()
    local body = threads.publish_body(S, { message = "hi" })
    eq(json.encode(body),
       '{"auto_proxy_images":true,"images":[],"message":"hi",' ..
       '"meta":{"chat_id":null,"source":"cli","tenant_id":"agency_paris",' ..
       '"user_id":null,"username":null},"publish_mode":"queue",' ..
       '"scheduled_at":null}')
  end)

  suite:case("publish body: everything given", function()
    local body = threads.publish_body(S, {
      message = "m", images = { "https://e.x/a.png" }, mode = "now",
      proxy_images = false, tenant = "t1", source = "telegram",
      chat_id = "-100123", user_id = 42, username = "alice" },
      "2026-05-12T07:30:00Z")
    eq(json.decode(json.encode(body)), {
      message = "m", images = { "https://e.x/a.png" },
      scheduled_at = "2026-05-12T07:30:00Z", publish_mode = "now",
      auto_proxy_images = false,
      meta = { tenant_id = "t1", source = "telegram", chat_id = "-100123",
               user_id = "42", username = "alice" } })
  end)

  suite:case("chat body: the seed's shape and defaults", function()
    local body = threads.chat_body(S, { prompt = "a cat", chat_id = "99" })
    eq(body.session_id, "tg_99")
    eq(body.execute_tools, true)
    eq(body.message, "Generate and enqueue one image post")
    local c = body.context
    eq({ c.tenant_id, c.prompt, c.message, c.provider, c.model, c.source,
         c.api_base_url },
       { "agency_paris", "a cat", "a cat", "replicate",
         "black-forest-labs/flux-1.1-pro", "cli", "http://127.0.0.1:8000" })
    eq(c.campaign, json.null)
    body = threads.chat_body(S, { prompt = "p", caption = "c",
                                  execute_tools = false, tenant = "t2" })
    eq(body.session_id, "cli_t2")
    eq(body.execute_tools, false)
    eq(body.context.message, "c")
  end)

  suite:case("idempotency keys are new every time and valid", function()
    local a = threads.new_idempotency_key("clawhost")
    local b = threads.new_idempotency_key("clawhost")
    ok(a ~= b, "two keys differ")
    ok(a:match("^clawhost%-%d+T%d+%-%d%d%d%d%d%d%-%x+$"), "shape " .. a)
    eq(#problems { message = "x", idempotency_key = a }, 0)
  end)

  -- answers ---------------------------------------------------------------

  suite:case("422 list shape: field.path: message", function()
    local detail = json.decode([[
      [{"type":"threads_text_too_long","loc":["body","message"],
        "msg":"Text is 512 UTF-8 bytes; Threads allows at most 500",
        "input":"x","ctx":{"bytes":512,"limit":500}},
       {"type":"url_scheme","loc":["body","images",1],
        "msg":"URL scheme should be 'http' or 'https'","input":"ftp://x"},
       {"type":"missing","loc":["body","meta","tenant_id"],
        "msg":"Field required","input":{}},
       {"type":"threads_empty_post","loc":["body"],
        "msg":"Provide message text or at least one image"}] ]])
    eq(threads.format_detail(detail),
       "message: Text is 512 UTF-8 bytes; Threads allows at most 500; " ..
       "images.1: URL scheme should be 'http' or 'https'; " ..
       "meta.tenant_id: Field required; " ..
       "body: Provide message text or at least one image")
  end)

  suite:case("422 object and string shapes", function()
    eq(threads.format_detail(json.decode(
         '{"code":"invalid_queue_secret",' ..
         '"message":"Invalid X-Queue-Secret"}')),
       "Invalid X-Queue-Secret")
    eq(threads.format_detail("body.message: Text is 512 UTF-8 bytes"),
       "body.message: Text is 512 UTF-8 bytes")
    eq(threads.format_detail(json.decode('{"code":"not_found"}')),
       "not_found")
    eq(threads.format_detail(json.decode([[
      {"code":"enqueue_failed","message":"Could not queue the post",
       "cause":[{"loc":["body","message"],"msg":"too long"}]}]])),
       "Could not queue the post: message: too long")
    eq(threads.format_detail(json.decode("[]")), "")
    eq(threads.format_detail(nil), "")
  end)

  suite:case("pydantic v1 items (no input) format the same", function()
    eq(threads.format_detail(json.decode(
         '[{"loc":["body","meta","source"],"msg":"field required",' ..
         '"type":"value_error.missing"}]')),
       "meta.source: field required")
  end)

  local INFO = { base_url = "http://127.0.0.1:8000", what = "publish",
                 key = "k-1", path = "/api/v1/threads/publish" }

  suite:case("explain 422: one line, code invalid_request", function()
    for _, body in ipairs {
      '{"detail":[{"loc":["body","message"],"msg":"Text is 512 UTF-8 ' ..
        'bytes; Threads allows at most 500"}]}',
      '{"detail":{"code":"invalid","message":"message: Text is 512 ' ..
        'UTF-8 bytes; Threads allows at most 500"}}',
      '{"detail":"message: Text is 512 UTF-8 bytes; Threads allows at ' ..
        'most 500"}',
    } do
      local err = threads.explain(response(422, body), INFO)
      eq(err.code, "invalid_request")
      has(err.message, "rejected the post (422): message: Text is 512 " ..
          "UTF-8 bytes")
      ok(not err.message:find("\n"), "one line")
    end
  end)

  suite:case("explain 401/403: the secret, never its value", function()
    local e401 = threads.explain(response(401,
      '{"detail":"Not authenticated"}', { ["www-authenticate"] = "APIKey" }),
      INFO)
    eq(e401.code, "config")
    has(e401.message, "THREADS_QUEUE_SECRET")
    has(e401.message, "401")
    local e403 = threads.explain(response(403,
      '{"detail":{"code":"invalid_queue_secret",' ..
      '"message":"Invalid X-Queue-Secret"}}'), INFO)
    eq(e403.code, "config")
    has(e403.message, "403 invalid_queue_secret")
    has(e403.message, "THREADS_QUEUE_SECRET")
    local e422 = threads.explain(response(422,
      '{"detail":[{"loc":["header","x-queue-secret"],' ..
      '"msg":"Field required"}]}'), INFO)
    eq(e422.code, "config", "a missing header is an auth problem")
    local chat = threads.explain(response(401,
      '{"detail":"Not authenticated"}'),
      { base_url = "http://h", what = "assistant" })
    has(chat.message, "/api/v1/assistant/chat")
  end)

  suite:case("explain 307: a base URL problem", function()
    local err = threads.explain(response(307, "",
      { location = "http://127.0.0.1:8000/api/v1/threads/publish" }), INFO)
    eq(err.code, "config")
    has(err.message, "307 redirect to http://127.0.0.1:8000/api/v1/" ..
        "threads/publish")
    has(err.message, "THREADS_FASTAPI_BASE_URL")
    has(err.message, "does not follow redirects")
  end)

  suite:case("explain 409, 413, 429", function()
    local e409 = threads.explain(response(409,
      '{"detail":{"code":"idempotency_key_in_use","message":"busy"}}',
      { ["retry-after"] = "1" }), { key = "k-1", attempts = 4 })
    eq(e409.code, "in_flight")
    has(e409.message, "--idempotency-key k-1")
    has(e409.message, "after 4 attempts")
    local e413 = threads.explain(response(413,
      '{"detail":{"code":"payload_too_large","limit_bytes":65536}}'), INFO)
    eq(e413.code, "too_large")
    has(e413.message, "65536 bytes")
    local e429 = threads.explain(response(429,
      '{"detail":{"code":"threads_quota_exceeded","message":"Tenant ' ..
      'agency_paris reached 250 posts","retry_after_s":7200}}',
      { ["retry-after"] = "7200" }), INFO)
    eq(e429.code, "rate_limited")
    eq(e429.retry_after_s, 7200)
    has(e429.message, "429 threads_quota_exceeded")
    has(e429.message, "(in 2 h)")
    has(e429.message, "try again after 20")
  end)

  suite:case("explain 5xx: the base URL and the key to repeat", function()
    local err = threads.explain(response(500,
      '{"detail":{"code":"internal_error","message":"boom"}}'),
      { base_url = "http://127.0.0.1:8000", what = "publish", key = "k-9",
        attempts = 4 })
    eq(err.code, "server_error")
    has(err.message, "http://127.0.0.1:8000")
    has(err.message, "500 internal_error: boom")
    has(err.message, "after 4 attempts")
    has(err.message, "--idempotency-key k-9")
    err = threads.explain(response(502, "<html>Bad gateway</html>"), INFO)
    has(err.message, "502: <html>Bad gateway</html>")
  end)

  suite:case("explain 404 for the queue: no queue endpoints", function()
    local err = threads.explain(response(404, '{"detail":"Not Found"}'),
      { base_url = "http://h", what = "queue",
        path = "/api/v1/threads/queue" })
    eq(err.code, "unsupported")
    has(err.message, "has no queue endpoints")
    err = threads.explain(response(404,
      '{"detail":{"code":"not_found","message":"Queue item x not found"}}'),
      { base_url = "http://h", what = "queue", item_id = "thq_x" })
    eq(err.code, "not_found")
    has(err.message, "no queue item thq_x")
  end)

  -- replies of other backends -------------------------------------------

  suite:case("find_id: the contract's id, then other names", function()
    local function id(doc, o)
      local v, _, path = threads.find_id(json.decode(doc), o)
      return { v, path }
    end
    eq(id('{"id":"thq_1","job_id":"j"}'), { "thq_1", "id" })
    eq(id('{"ok":true,"job_id":"j1"}'), { "j1", "job_id" })
    eq(id('{"data":{"id":"d1"}}'), { "d1", "data.id" })
    eq(id('{"queue_item":{"id":"q1"}}'), { "q1", "queue_item.id" })
    eq(id('{"item":{"id":7}}'), { "7", "item.id" })
    eq(id('{"result":{"queue_id":"r1"}}'), { "r1", "result.queue_id" })
    eq(id('{"data":[{"id":"l1"}]}'), { "l1", "data.id" })
    eq(id('{"result":{"data":{"item":{"id":"deep"}}}}'), { nil, nil },
       "deeper than three objects is not searched")
    eq(id('{"ok":true,"id":"","data":{"id":null}}'), { nil, nil })
    eq(id('{"id":1.5}'), { nil, nil })
    eq(id('"j1"'), { nil, nil })
    eq(id('[{"id":"x"},{"id":"y"}]'), { nil, nil }, "a list of many")
    eq(id('{"id":"chat","queue_item_id":"q"}',
          { names = { "queue_item_id" } }), { "q", "queue_item_id" })
  end)

  suite:case("accepted: any 2xx, with or without an id", function()
    local r = threads.accepted(response(200, '{"ok":true,"job_id":"j1"}'),
                               "k", 1)
    eq(r.id, "j1")
    eq(r.id_field, "job_id")
    has(r.summary, "queued j1 (accepted)")
    r = threads.accepted(response(204, ""), "k", 1)
    eq(r.id, nil)
    eq(r.accepted, true)
    eq(r.summary, "accepted, no id returned: the backend answered 204: " ..
                  "(an empty reply)")
    r = threads.accepted(response(200, "thanks,\n  queued"), "k", 1)
    eq(r.reply, "thanks, queued")
    r = threads.accepted(response(202, '{"id":"a","status":"queued",' ..
      '"idempotent_replay":true}'), "k", 1)
    eq(r.already_queued, true)
    r = threads.accepted(response(200, '{"job_id":"a"}',
      { ["idempotency-replayed"] = "true" }), "k", 2)
    has(r.summary, "confirmed by a retry")
  end)

  suite:case("generated: never a plan the backend did not state", function()
    local r = threads.generated(response(200, '{"reply":"done"}'), "k", 1,
                                true)
    eq(r.planned, nil)
    eq(r.unconfirmed, true)
    eq(r.reply, "done")
    r = threads.generated(response(200, '{"reply":"done"}'), "k", 1, false)
    eq(r.planned, nil, "execute_tools false alone is not the backend's word")
    eq(r.unconfirmed, true)
    r = threads.generated(response(200, "<html>ok</html>"), "k", 1, true)
    eq(r.reply, "<html>ok</html>")
    r = threads.generated(response(200, '{"tool_calls":[{"name":' ..
      '"generate_image","status":"planned"}]}'), "k", 1, false)
    eq(r.planned, true)
    has(r.summary, "planned only (execute_tools is false)")
    r = threads.generated(response(200, '{"tool_calls":[{"name":' ..
      '"enqueue_threads_post","status":"succeeded","queue_item_id":' ..
      '"q9"}]}'), "k", 1, true)
    eq(r.id, "q9")
    r = threads.generated(response(200, '{"id":"chat-1","reply":"x"}'),
                          "k", 1, true)
    eq(r.id, nil, "the assistant's own id is not a queue item's")
  end)

  -- sending again -------------------------------------------------------

  suite:case("evidence that a backend keeps idempotency keys", function()
    local ev = threads.idempotency_evidence
    eq(ev(response(200, '{"ok":true,"job_id":"j"}'), "k"), nil)
    eq(ev(response(200, ""), "k"), nil)
    has(ev(response(200, "", { ["idempotency-replayed"] = "True" }), "k"),
        "Idempotency-Replayed")
    eq(ev(response(200, "", { ["idempotency-replayed"] = "false" }), "k"),
       nil)
    has(ev(response(500, "oops", { ["idempotency-key"] = "k" }), "k"),
        "echoed the Idempotency-Key header")
    eq(ev(response(200, "", { ["idempotency-key"] = "other" }), "k"), nil)
    has(ev(response(202, '{"id":"a","idempotent_replay":false}'), "k"),
        "idempotent_replay")
    has(ev(response(200, '{"data":{"id":"a","idempotency_key":"k"}}'),
           "k"), "carries the idempotency key")
    has(ev(response(409, '{"detail":{"code":"idempotency_key_in_use"}}'),
           "k"), "409")
    has(ev(response(422, '{"detail":[{"type":"idempotency_key_reused",' ..
           '"loc":["header","idempotency-key"],"msg":"x"}]}'), "k"),
        "reused")
    eq(ev(response(409, '{"detail":"conflict"}'), "k"), nil)
  end)

  suite:case("send again: never an unknown outcome unless honoured",
             function()
    local P = threads.PUBLISH_POLICY
    local function step(res, err, honours, attempt)
      return threads.retry_step(res, err, { attempt = attempt or 1,
        honours = honours, left_s = 40 }, P)
    end
    local dropped = { code = "protocol", sent = "unknown" }
    local late = { code = "timeout", sent = "unknown" }
    eq(step(nil, dropped, false), nil)
    eq(step(nil, late, false), nil)
    ok(step(nil, dropped, true), "dropped, honoured")
    ok(step(nil, late, true), "timeout, honoured")
    ok(step(nil, { code = "connect", sent = "no" }, false), "not sent")
    ok(step(nil, { code = "timeout", sent = "no" }, false),
       "a connect timeout sent nothing")
    eq(step(nil, { code = "tls", sent = "no" }, false), nil)
    eq(step(nil, { code = "dry_run", sent = "no" }, true), nil)
    eq(step(response(500, "x"), nil, false), nil)
    ok(step(response(500, "x"), nil, true), "500, honoured")
    eq(step(response(501, "x"), nil, true), nil)
    eq(step(response(422, "x"), nil, true), nil)
    eq(step(response(202, "{}"), nil, true), nil)
    ok(step(response(429, "", { ["retry-after"] = "2" }), nil, false),
       "429 says not now")
    eq(step(response(429, "", { ["retry-after"] = "3600" }), nil, false),
       nil, "too long a wait is reported")
    local wait, why, unknown = step(response(409,
      '{"detail":{"code":"idempotency_key_in_use"}}',
      { ["retry-after"] = "1" }), nil, false)
    eq({ wait, why, unknown }, { 1, "409", false })
    _, _, unknown = step(nil, dropped, true)
    eq(unknown, true)
    eq(step(nil, dropped, true, P.attempts), nil, "the last attempt")
    local C = threads.CHAT_POLICY
    local function chat(res, err)
      return threads.retry_step(res, err, { attempt = 1, honours = true },
                                C)
    end
    eq(chat(response(502, "x")), nil, "a failed generation costs money")
    eq(chat(response(504, "x")), nil)
    eq(chat(nil, late), nil, "a 75 s timeout is not repeated")
    ok(chat(nil, dropped), "a dropped reply to an honouring backend")
  end)

  suite:case("retry_after: body first, then the header", function()
    eq(threads.retry_after(response(429,
      '{"detail":{"retry_after_s":30}}', { ["retry-after"] = "5" })), 30)
    eq(threads.retry_after(response(429, "", { ["retry-after"] = " 5 " })),
       5)
    eq(threads.retry_after(response(429, "", {
      ["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT" })), nil)
  end)

  suite:case("durations for people", function()
    eq(threads.duration(5), "5 s")
    eq(threads.duration(89), "89 s")
    eq(threads.duration(600), "10 min")
    eq(threads.duration(7200), "2 h")
    eq(threads.duration(3 * 3600 + 12 * 60), "3 h 12 min")
    eq(threads.duration(86400), "24 h")
    eq(threads.duration(5 * 86400 + 3600), "5 days")
  end)
end

return {
  description = "Tests for lua/threads/ (pure parts)",
  run = function(ctx)
    local t = require("testlib")
    local suite = t.new("threads")
    cases(t, require "threads", require "json", suite)
    return suite:done()
  end,
}
