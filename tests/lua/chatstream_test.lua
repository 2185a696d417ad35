-- chatstream_test.lua: tests for lua/chatstream.lua without a network.
--
-- Run by the host as a recipe (`clawhost run tests/lua/chatstream_test.lua
-- --json`, as tests/run_lua.sh does). Recorded bodies go through
-- chatstream.parse, chatstream.read on a response table as http.request
-- returns it, and chatstream.from_events; the streaming path over real
-- HTTP is tested in tests/e2e/test_sse.py.

-- One chat.completion.chunk line, as qwen3 / gpt_oss / vLLM send them.
local function chunk(delta, finish, extra)
  local parts = {}
  for k, v in pairs(delta) do
    parts[#parts + 1] = string.format("%q:%q", k, v)
  end
  table.sort(parts)
  local fr = finish and string.format("%q", finish) or "null"
  return 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk",' ..
         '"model":"qwen3","choices":[{"index":0,"delta":{' ..
         table.concat(parts, ",") .. '},"finish_reason":' .. fr .. '}]' ..
         (extra or "") .. '}\n\n'
end

local USAGE = '"usage":{"prompt_tokens":12,"completion_tokens":5,' ..
              '"total_tokens":17}'
local USAGE_CHUNK = 'data: {"id":"chatcmpl-1","choices":[],' .. USAGE ..
                    '}\n\n'
local DONE = "data: [DONE]\n\n"

local QWEN = chunk({ role = "assistant", content = "" }) ..
             chunk({ reasoning = "Think" }) ..
             chunk({ reasoning = "ing." }) ..
             chunk({ content = "Hel" }) ..
             chunk({ content = "lo" }, nil, ',"usage":null') ..
             chunk({ content = "!" }, "stop") ..
             USAGE_CHUNK .. DONE

local NONSTREAM = '{"id":"chatcmpl-9","object":"chat.completion",' ..
  '"model":"gpt_oss_120b","choices":[{"index":0,"finish_reason":"stop",' ..
  '"message":{"role":"assistant","content":"Hello!",' ..
  '"reasoning":"Say hello."}}],' .. USAGE .. '}'

-- A response table shaped like http.request's (non-stream) result.
local function response(body, ctype, status)
  return { status = status or 200, ok = true, body = body,
           headers = { ["content-type"] = ctype } }
end

local function cases(t, cs, json, sse, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises

  suite:case("qwen3 stream: content, reasoning, usage, [DONE]", function()
    local log = {}
    local r, err = cs.parse(QWEN, {
      on_content = function(s) log[#log + 1] = "c:" .. s end,
      on_reasoning = function(s) log[#log + 1] = "r:" .. s end,
    })
    ok(r, tostring(err))
    eq(r.content, "Hello!")
    eq(r.reasoning, "Thinking.")
    eq(r.finish_reason, "stop")
    eq(r.usage, { prompt_tokens = 12, completion_tokens = 5,
                  total_tokens = 17 })
    eq(r.usage_received, true)
    eq(r.done, true)
    eq(r.format, "sse")
    eq(r.id, "chatcmpl-1")
    eq(r.model, "qwen3")
    eq(r.chunks, 7)
    eq(r.empty_because_reasoning, false)
    eq(r.truncated, false)
    eq(log, { "r:Think", "r:ing.", "c:Hel", "c:lo", "c:!" }, "callbacks")
  end)

  suite:case("GLM reasoning_content and on_chunk", function()
    local body = chunk({ reasoning_content = "Plan." }) ..
                 chunk({ content = "Done." }, "stop") .. DONE
    local seen = 0
    local r = cs.parse(body, { on_chunk = function(c)
      seen = seen + 1
      ok(type(c.choices) == "table", "decoded chunk")
    end })
    eq(r.reasoning, "Plan.")
    eq(r.content, "Done.")
    eq(seen, 2)
  end)

  suite:case("non-stream JSON: message.content and message.reasoning",
             function()
    local got = {}
    local r, err = cs.parse(NONSTREAM, {
      on_content = function(s) got[#got + 1] = s end })
    ok(r, tostring(err))
    eq(r.format, "json")
    eq(r.content, "Hello!")
    eq(r.reasoning, "Say hello.")
    eq(r.finish_reason, "stop")
    eq(r.usage.total_tokens, 17)
    eq(r.done, true)
    eq(r.model, "gpt_oss_120b")
    eq(got, { "Hello!" }, "one callback with the whole answer")
    local glm = NONSTREAM:gsub('"reasoning"', '"reasoning_content"')
    eq(cs.parse(glm).reasoning, "Say hello.")
  end)

  suite:case("the last usage wins; usage:null is ignored", function()
    local body = chunk({ content = "a" }, nil,
                       ',"usage":{"total_tokens":1}') ..
                 chunk({ content = "b" }, "stop", ',"usage":null') ..
                 USAGE_CHUNK .. DONE
    local r = cs.parse(body)
    eq(r.usage.total_tokens, 17)
    local r2 = cs.parse(chunk({ content = "a" }, "stop",
                              ',"usage":null') .. DONE)
    eq(r2.usage, nil)
    eq(r2.usage_received, false)
  end)

  suite:case("nothing after [DONE] is taken", function()
    local body = chunk({ content = "a" }, "stop") .. DONE ..
                 chunk({ content = "IGNORED" }) ..
                 'data: {"error":{"message":"late"}}\n\n'
    local r, err = cs.parse(body)
    ok(r, tostring(err))
    eq(r.content, "a")
    local r2 = cs.parse(chunk({ content = "a" }, "stop") ..
                        "data: [DONE] \n\n")
    eq(r2.done, true, "[DONE] prefix")
  end)

  suite:case("an error event is a remote error with what arrived",
             function()
    local body = chunk({ content = "par" }) ..
                 'data: {"error":{"message":"model overloaded",' ..
                 '"type":"server_error","code":503}}\n\n' ..
                 chunk({ content = "NOT" }) .. USAGE_CHUNK .. DONE
    local r, err = cs.parse(body)
    eq(r, nil)
    eq(err.code, "remote")
    ok(err.message:find("model overloaded", 1, true), err.message)
    eq(err.remote.type, "server_error")
    eq(err.partial.content, "par")
    eq(err.usage_received, false)
    eq(err.partial.done, false)
    -- a typed `event: error` and a bare string error
    local _, e2 = cs.parse(chunk({ content = "x" }) ..
                           'event: error\ndata: {"message":"boom"}\n\n')
    eq(e2.code, "remote")
    ok(e2.message:find("boom", 1, true), e2.message)
    local _, e3 = cs.parse('data: {"error":"quota reached"}\n\n')
    eq(e3.code, "remote")
    ok(e3.message:find("quota reached", 1, true), e3.message)
    local _, e4 = cs.parse('event: error\ndata: not json\n\n')
    eq(e4.code, "remote")
    ok(e4.message:find("not json", 1, true), e4.message)
    -- an error in a whole JSON body
    local _, e5 = cs.parse('{"error":{"message":"bad model"}}')
    eq(e5.code, "remote")
  end)

  suite:case("a stream cut mid-answer: what arrived, and an error",
             function()
    local body = chunk({ reasoning = "r" }) .. chunk({ content = "Hel" }) ..
                 chunk({ content = "lo" })
    local r, err = cs.parse(body)
    eq(r, nil)
    eq(err.code, "protocol")
    ok(err.message:find("before [DONE]", 1, true), err.message)
    eq(err.partial.content, "Hello")
    eq(err.partial.reasoning, "r")
    eq(err.usage_received, false)
    -- cut inside an event: the unfinished event is dropped, and said so
    local _, e2 = cs.parse(body .. 'data: {"choices":[{"delta":{"con')
    eq(e2.code, "protocol")
    eq(e2.dropped, true)
    eq(e2.partial.content, "Hello")
    ok(e2.message:find("dropped", 1, true), e2.message)
  end)

  suite:case("ended after finish_reason without [DONE]: accepted",
             function()
    local r, err = cs.parse(chunk({ content = "Hi" }, "stop") ..
                            USAGE_CHUNK)
    ok(r, tostring(err))
    eq(r.content, "Hi")
    eq(r.done, false)
    eq(r.usage_received, true)
    -- and a [DONE] without its blank line is dropped, as the spec says
    local r2 = cs.parse(chunk({ content = "Hi" }, "stop") ..
                        "data: [DONE]\n")
    eq(r2.done, false)
    eq(r2.usage_received, false)
  end)

  suite:case("empty content because reasoning used the budget", function()
    local body = chunk({ reasoning = "Let me think about " }) ..
                 chunk({ reasoning = "this carefully" }, "length") ..
                 USAGE_CHUNK .. DONE
    local r, err = cs.parse(body)
    ok(r, tostring(err))
    eq(r.content, "")
    eq(r.reasoning, "Let me think about this carefully")
    eq(r.finish_reason, "length")
    eq(r.empty_because_reasoning, true)
    eq(r.truncated, true)
    -- gpt_oss non-stream: content null (or ""), finish_reason length
    local js = '{"choices":[{"index":0,"finish_reason":"length",' ..
               '"message":{"role":"assistant","content":null,' ..
               '"reasoning":"The user asks"}}],' .. USAGE .. '}'
    local r2 = cs.parse(js)
    eq(r2.empty_because_reasoning, true)
    eq(r2.content, "")
    eq(r2.usage.completion_tokens, 5)
    local r3 = cs.parse((js:gsub("null", '"\\n "')))
    eq(r3.empty_because_reasoning, true, "whitespace only")
    -- partial content cut by the budget is truncated, not empty
    local r4 = cs.parse(chunk({ content = "Half an" }, "length") .. DONE)
    eq(r4.truncated, true)
    eq(r4.empty_because_reasoning, false)
  end)

  suite:case("SSE body although stream:false was asked", function()
    -- the response table of a non-stream request whose body is SSE,
    -- even labelled as JSON
    for _, ctype in ipairs { "text/event-stream", "application/json",
                             nil } do
      local r, err = cs.read(response(QWEN, ctype))
      ok(r, tostring(err))
      eq(r.format, "sse")
      eq(r.content, "Hello!")
      eq(r.content_type, ctype)
    end
  end)

  suite:case("JSON body although stream:true was asked", function()
    for _, ctype in ipairs { "text/event-stream; charset=utf-8",
                             "application/json", "text/plain" } do
      local r, err = cs.parse("\n " .. NONSTREAM,
                              { content_type = ctype })
      ok(r, tostring(err))
      eq(r.format, "json")
      eq(r.content, "Hello!")
    end
    eq(cs.parse("\239\187\191" .. NONSTREAM).content, "Hello!", "BOM")
  end)

  suite:case("CRLF and CR line ends", function()
    local crlf = QWEN:gsub("\n", "\r\n")
    local r = cs.parse(crlf)
    eq(r.content, "Hello!")
    eq(r.usage.total_tokens, 17)
    eq(r.done, true)
    local cr = QWEN:gsub("\n", "\r")
    eq(cs.parse(cr).content, "Hello!")
    local mixed = chunk({ content = "a" }):gsub("\n\n$", "\r\n\r\n") ..
                  chunk({ content = "b" }, "stop"):gsub("\n\n$", "\r\r") ..
                  DONE
    eq(cs.parse(mixed).content, "ab")
  end)

  suite:case("multi-line data is one JSON document", function()
    local body = 'data: {"choices":[{"index":0,\n' ..
                 'data:  "delta":{"content":"two lines"},\n' ..
                 'data: "finish_reason":"stop"}]}\n\n' .. DONE
    local r, err = cs.parse(body)
    ok(r, tostring(err))
    eq(r.content, "two lines")
    eq(r.chunks, 1)
  end)

  suite:case("comments, ids, retry and other event types are skipped",
             function()
    local body = "\239\187\191: keep-alive\n\nretry: 3000\n\n" ..
                 "event: ping\ndata: {}\n\n" ..
                 "id: 7\n" .. chunk({ content = "x" }, "stop") ..
                 "data:\n\n" .. ": bye\n" .. DONE
    local r, err = cs.parse(body)
    ok(r, tostring(err))
    eq(r.content, "x")
    eq(r.chunks, 1)
  end)

  suite:case("other choices, message.content and text in chunks",
             function()
    local body = 'data: {"choices":[{"index":1,"delta":{"content":"B"}},' ..
                 '{"index":0,"delta":{"content":"A"}}]}\n\n' ..
                 'data: {"choices":[{"index":0,"message":' ..
                 '{"content":"M"}}]}\n\n' ..
                 'data: {"choices":[{"index":0,"text":"T",' ..
                 '"finish_reason":"stop"}]}\n\n' .. DONE
    local r = cs.parse(body)
    eq(r.content, "AMT")
  end)

  suite:case("chunks that are not JSON or not objects", function()
    local _, err = cs.parse(chunk({ content = "ok" }) ..
                            "data: {not json\n\n" .. DONE)
    eq(err.code, "json")
    ok(err.message:find("event 2", 1, true), err.message)
    eq(err.partial.content, "ok")
    local _, e2 = cs.parse("data: 42\n\n" .. DONE)
    eq(e2.code, "protocol")
    local _, e3 = cs.parse('{"object":"list","data":[]}')
    eq(e3.code, "protocol")
    ok(e3.message:find("no choices", 1, true), e3.message)
    eq(e3.body.object, "list")
    local _, e4 = cs.parse("{truncated")
    eq(e4.code, "json")
    local _, e5 = cs.parse("[1,2]")
    eq(e5.code, "protocol")
  end)

  suite:case("a body that is neither, or empty", function()
    local _, err = cs.parse("<html>Bad gateway</html>",
                            { content_type = "text/html" })
    eq(err.code, "protocol")
    ok(err.message:find("neither JSON nor SSE", 1, true), err.message)
    ok(err.message:find("text/html", 1, true), err.message)
    local _, e2 = cs.parse(" \r\n ")
    eq(e2.code, "protocol")
    ok(e2.message:find("empty", 1, true), e2.message)
    local _, e3 = cs.parse(": only a comment\n\n")
    eq(e3.code, "protocol")
    ok(e3.message:find("no SSE events", 1, true), e3.message)
    -- unknown first word, but the content type says SSE
    local r = cs.parse("hello\n\n" .. chunk({ content = "x" }, "stop") ..
                       DONE, { content_type = "text/event-stream" })
    eq(r.content, "x")
  end)

  suite:case("a non-2xx response has its status's code", function()
    local _, err = cs.read(response('{"status":"error","message":' ..
                                    '"No instances available"}',
                                    "application/json", 409))
    eq(err.code, "capacity")
    eq(err.status, 409)
    ok(err.message:find("No instances available", 1, true), err.message)
    local _, e2 = cs.read(response("upstream down", "text/plain", 502))
    eq(e2.code, "server_error")
    eq(e2.status, 502)
    ok(e2.message:find("upstream down", 1, true), e2.message)
    local _, e3 = cs.read(response('{"error":{"message":"bad key"}}',
                                   "application/json", 401))
    eq(e3.code, "config")
    eq(e3.remote.message, "bad key")
  end)

  suite:case("parser caps: too_large", function()
    local long = 'data: {"choices":[{"delta":{"content":"' ..
                 string.rep("x", 5000) .. '"}}]}\n\n'
    local _, err = cs.parse(chunk({ content = "a" }) .. long .. DONE,
                            { max_line = 1024 })
    eq(err.code, "too_large")
    ok(err.message:find("1024", 1, true), err.message)
    eq(err.partial.done, false)
    -- (err.partial.content is "" here, not "a": sse.parser():feed drops
    -- the events it completed before the error in the same call; see
    -- test_feed_keeps_events_before_cap_error in tests/e2e/test_sse.py)
    local r = cs.parse(chunk({ content = "a" }, "stop") .. long .. DONE,
                       { max_line = 8192 })
    eq(#r.content, 5001)
  end)

  suite:case("from_events: a list and an iterator", function()
    local p = sse.parser()
    local evs = p:feed(QWEN)
    local r = cs.from_events(evs)
    eq(r.content, "Hello!")
    eq(r.done, true)
    local i = 0
    local r2 = cs.from_events(function()
      i = i + 1
      return evs[i]
    end, { on_reasoning = function() end })
    eq(r2.reasoning, "Thinking.")
    eq(i, #evs, "stops reading at [DONE]")
    local _, err = cs.from_events({ { data = '{"choices":[{"delta":' ..
                                            '{"content":"a"}}]}' } })
    eq(err.code, "protocol")
    eq(err.partial.content, "a")
  end)

  suite:case("callback errors propagate", function()
    raises(function()
      cs.parse(QWEN, { on_content = function() error("stop here") end })
    end, "stop here")
  end)

  suite:case("bad arguments raise", function()
    raises(function() cs.parse(42) end,
           "chatstream.parse: body must be a string, got number")
    raises(function() cs.parse("x", { on_content = "no" }) end,
           "opts.on_content must be a function")
    raises(function() cs.parse("x", 5) end, "opts must be a table")
    raises(function() cs.read(nil) end,
           "chatstream.read: expected a response of http.request, got nil")
    raises(function() cs.read({ status = 200 }) end, "got table")
    raises(function() cs.from_events("x") end,
           "expected a list of events or an iterator")
    raises(function() cs.from_events({ "x" }) end,
           "an event must be a table")
  end)

  suite:case("the result encodes as JSON (for --json)", function()
    local r = cs.parse(QWEN)
    local back = json.decode(json.encode(r))
    eq(back.content, "Hello!")
  end)
end

return {
  description = "Tests for lua/chatstream.lua",
  run = function(ctx)
    local t = require "testlib"
    local cs = require "chatstream"
    local json = require "json"
    local sse = require "sse"
    local suite = t.new("chatstream")
    cases(t, cs, json, sse, suite)
    return suite:done()
  end,
}
