-- vocabulary_test.lua: the Threads and the Theta library give one
-- err.code for one answer. Each library's own mapping (threads.explain,
-- theta.client.http_error) runs on the same statuses, with the body each
-- service sends; the codes must match each other, the shared table
-- (lua/client/codes.lua) and the list in docs/errors.md.
--
-- Run by the host as a recipe (tests/run_lua.sh). No network.

local function response(status, body, headers)
  return { status = status, body = body or "", headers = headers or {} }
end

-- The Threads backend answers FastAPI's {"detail": ...}; Theta answers
-- {"status": "error", "message": ...}.
local function fastapi(code, message)
  return string.format('{"detail":{"code":"%s","message":"%s"}}', code,
                       message)
end

local function theta_body(message)
  return string.format('{"status":"error","message":"%s"}', message)
end

-- status, Threads body, Theta body, headers, the code both give
local SAME = {
  { 400, fastapi("bad_request", "malformed"), theta_body("malformed"),
    nil, "invalid_request" },
  { 401, '{"detail":"Not authenticated"}', theta_body("invalid token"),
    nil, "config" },
  { 409, fastapi("version_conflict", "changed meanwhile"),
    theta_body("changed meanwhile"), nil, "conflict" },
  { 413, '{"detail":{"code":"payload_too_large","limit_bytes":65536}}',
    theta_body("payload too large"), nil, "too_large" },
  { 422, '{"detail":[{"loc":["body","message"],"msg":"too long"}]}',
    theta_body("input.prompt is required"), nil, "invalid_request" },
  { 429, fastapi("threads_quota_exceeded", "reached 250 posts"),
    theta_body("10 minute quota reached"), { ["retry-after"] = "600" },
    "rate_limited" },
  { 500, fastapi("internal_error", "boom"), theta_body("boom"), nil,
    "server_error" },
  { 502, "<html>Bad gateway</html>", "<html>Bad gateway</html>", nil,
    "server_error" },
  { 503, fastapi("unavailable", "down"), theta_body("down"),
    { ["retry-after"] = "2" }, "unavailable" },
  { 504, "<html>Gateway timeout</html>", "<html>Gateway timeout</html>",
    nil, "server_error" },
}

local function cases(t, threads, theta, codes, suite)
  local eq, ok = t.eq, t.ok

  -- a queue call: no idempotency key, like Theta's calls
  local QUEUE = { base_url = "http://127.0.0.1:8000", what = "queue",
                  path = "/api/v1/threads/queue" }

  suite:case("one status, one code, in both libraries", function()
    for _, row in ipairs(SAME) do
      local st, code = row[1], row[5]
      local a = threads.explain(response(st, row[2], row[4]), QUEUE)
      local b = theta.http_error(response(st, row[3], row[4]),
                                 "infer flux")
      eq(a.code, code, st .. " from the Threads backend")
      eq(b.code, code, st .. " from Theta")
      eq(codes.for_status(st), code, st .. " in the shared table")
      eq(a.sent, b.sent, st .. ": sent")
      eq(a.status, st)
      eq(b.status, st)
    end
  end)

  suite:case("a 429 is rate_limited everywhere, with its wait", function()
    local a = threads.explain(response(429,
      fastapi("rate_limited", "slow down"), { ["retry-after"] = "60" }),
      { base_url = "http://h", what = "publish", key = "k-1",
        path = "/api/v1/threads/publish" })
    local b = theta.http_error(response(429,
      theta_body("10 minute quota reached"), { ["retry-after"] = "60" }),
      "infer flux")
    eq(a.code, "rate_limited")
    eq(b.code, "rate_limited")
    eq(a.retry_after_s, 60)
    eq(b.retry_after_s, 60)
    eq(a.retriable, true)
    eq(b.retriable, true)
    -- "quota" stays a word of Theta's message, not a code
    eq(b.message, "infer flux: quota reached: 10 minute quota reached")
  end)

  suite:case("a 404 on a named thing is not_found in both", function()
    local a = threads.explain(response(404,
      fastapi("not_found", "Queue item thq_x not found")),
      { base_url = "http://h", what = "queue", item_id = "thq_x" })
    local b = theta.http_error(response(404,
      theta_body("service not found")), "infer fluxx")
    eq(a.code, "not_found")
    eq(b.code, "not_found")
  end)

  suite:case("409 No instances available is capacity", function()
    local b = theta.http_error(response(409,
      theta_body("No instances available - try again later")), "chat")
    eq(b.code, "capacity")
    eq(b.sent, "refused", "nothing was charged")
    local a = threads.explain(response(409,
      '{"detail":"No instances available"}'), QUEUE)
    eq(a.code, "capacity")
  end)

  suite:case("where a contract says more, the code says it", function()
    -- the backend's 403 is a wrong queue secret (threads-api.md 6.2)
    local a = threads.explain(response(403,
      fastapi("invalid_queue_secret", "Invalid X-Queue-Secret")), QUEUE)
    eq(a.code, "config")
    -- Theta's 403 is an account that may not do this
    local b = theta.http_error(response(403, theta_body("denied")), "x")
    eq(b.code, "forbidden")
    -- the assistant's own failures
    local gen = threads.explain(response(502,
      '{"detail":{"code":"image_generation_failed","error":"nsfw"}}'),
      { base_url = "http://h", what = "assistant", key = "k" })
    eq(gen.code, "job_failed")
    local late = threads.explain(response(504,
      '{"detail":{"code":"image_generation_timeout",' ..
      '"prediction_id":"p1"}}'),
      { base_url = "http://h", what = "assistant", key = "k" })
    eq(late.code, "timeout")
  end)

  suite:case("every code either library gives is in the list", function()
    for st = 300, 599 do
      local a = threads.explain(response(st, ""), QUEUE)
      local b = theta.http_error(response(st, ""), "x")
      ok(codes.KNOWN[a.code], st .. ": Threads gave " .. a.code)
      ok(codes.KNOWN[b.code], st .. ": Theta gave " .. b.code)
    end
  end)
end

return {
  description = "Threads and Theta give one err.code for one answer",
  run = function()
    local t = require("testlib")
    local suite = t.new("vocabulary")
    cases(t, require "threads", require "theta.client",
          require "client.codes", suite)
    return suite:done()
  end,
}
