"""Streaming responses end to end: build/clawhost runs recipes that read
text/event-stream bodies from tests/servers/sse_server.py over loopback.

What is proved here: events reach the recipe while the stream is still
open; idle and first-byte timeouts fire in bounded time; leaving an
events() loop stops the transfer (the server sees the client go); a
parser cap error stops the transfer; frames cut at awkward bytes give
the right events; lua/chatstream.lua assembles a chat answer token by
token, and copes with SSE/JSON bodies whatever the request asked for.

    /usr/bin/python3 -m pytest tests/e2e/sse_test.py -q
    CLAWHOST_BIN=$PWD/build/asan/clawhost /usr/bin/python3 -m pytest ...
"""
import json
import uuid

import pytest

from tests.servers import harness


@pytest.fixture(scope="module")
def server():
    srv = harness.start("sse_server")
    yield srv
    srv.stop()


def lua_str(s):
    return json.dumps(s)        # a JSON string literal is a Lua literal


class Streams:
    """Runs recipe bodies against the server. A body sees BASE (the
    server's URL), ID (a fresh stream id for ?id=), status() (the
    server's record of stream ID) and wait_gone() (status() once the
    server saw the client go, or after 3 s)."""

    def __init__(self, host, server):
        self.host = host
        self.base = server.url
        self.allow = server.url.split("//", 1)[1]

    def run(self, lua, *args, timeout=30, require_sse=True):
        sid = uuid.uuid4().hex[:12]
        # res:events() works without `sse` required; with it, the
        # parser is freed (see the xfail test on memory)
        body = ("local sse = require 'sse'\n" if require_sse else "")
        body += ("local http = require 'http'\n"
                "local clock = require 'clock'\n"
                "local json = require 'json'\n"
                "local task = require 'task'\n"
                f"local BASE = {lua_str(self.base)}\n"
                f"local ID = {lua_str(sid)}\n"
                "local function status()\n"
                "  local r = assert(http.get(BASE .. '/_status?id=' .. ID))\n"
                "  return json.decode(r.body)\n"
                "end\n"
                # poll the server until it saw the client go (or 3 s)
                "local function wait_gone()\n"
                "  local st, polls = status(), 0\n"
                "  while not st.disconnected and polls < 60 do\n"
                "    task.sleep(0.05); polls = polls + 1; st = status()\n"
                "  end\n"
                "  return st\n"
                "end\n" + lua)
        run = self.host.run_body(body, "--json", "--allow-host",
                                 self.allow, *args, timeout=timeout)
        assert "ERROR: AddressSanitizer" not in run.err, run
        assert "ERROR: LeakSanitizer" not in run.err, run
        assert "runtime error:" not in run.err, run
        return run


@pytest.fixture
def streams(host, server):
    return Streams(host, server)


def ok_json(run):
    assert run.code == 0, run
    return run.json()


# ---- res:events() ----

def test_first_event_arrives_before_the_stream_ends(streams):
    # the server sends 3 events at once, holds the 4th for 1.5 s
    r = ok_json(streams.run("""
        local t0 = clock.monotonic()
        local res = assert(http.request{url = BASE ..
            '/sse/timed?hold=1.5&id=' .. ID, stream = true, retries = 0})
        local got = {}
        for ev in res:events() do
          got[#got + 1] = {data = ev.data, t = clock.monotonic() - t0}
        end
        return {got = got, complete = res.complete,
                error = res.error and res.error.code}
    """))
    got = r["got"]
    assert [e["data"] for e in got] == ['{"n":1}', '{"n":2}', '{"n":3}',
                                        '{"n":4}', "[DONE]"]
    assert r["complete"] is True and r.get("error") is None
    # the first three came while the server was still holding the 4th
    assert got[3]["t"] - got[0]["t"] >= 0.8, got
    assert got[2]["t"] - got[0]["t"] < got[3]["t"] - got[0]["t"] - 0.5, got


def test_idle_timeout_fires_on_a_stalled_stream(streams):
    r = ok_json(streams.run("""
        local t0 = clock.monotonic()
        local res = assert(http.request{url = BASE .. '/sse/stall?id=' .. ID,
            stream = true, retries = 0, idle_timeout_ms = 300,
            timeout_ms = 20000})
        local n = 0
        for ev in res:events() do n = n + 1 end
        local took = clock.monotonic() - t0
        local st = wait_gone()
        return {n = n, took = took, code = res.error and res.error.code,
                message = res.error and res.error.message,
                gone = st.disconnected}
    """))
    assert r["n"] == 1
    assert r["code"] == "timeout", r
    assert "idle" in r["message"]
    assert 0.25 <= r["took"] < 5, r
    assert r["gone"] is True


def test_first_byte_timeout_fires_when_nothing_arrives(streams):
    # headers come, no body byte follows
    r = ok_json(streams.run("""
        local t0 = clock.monotonic()
        local res = assert(http.request{url = BASE ..
            '/sse/silent?id=' .. ID, stream = true, retries = 0,
            first_byte_timeout_ms = 300, timeout_ms = 20000})
        local n = 0
        for ev in res:events() do n = n + 1 end
        return {n = n, took = clock.monotonic() - t0,
                code = res.error and res.error.code,
                message = res.error and res.error.message}
    """))
    assert r["n"] == 0
    assert r["code"] == "timeout", r
    assert "nothing arrived" in r["message"]
    assert 0.25 <= r["took"] < 5, r


def test_first_byte_timeout_before_the_headers(streams):
    # not even a status line: http.request itself fails
    r = ok_json(streams.run("""
        local t0 = clock.monotonic()
        local res, err = http.request{url = BASE ..
            '/sse/silent?nohead=1&id=' .. ID, stream = true, retries = 0,
            first_byte_timeout_ms = 300, timeout_ms = 20000}
        return {res = res ~= nil, code = err and err.code,
                took = clock.monotonic() - t0}
    """))
    assert r["res"] is False
    assert r["code"] == "timeout", r
    assert 0.25 <= r["took"] < 5, r


def test_break_closes_the_transfer(streams):
    r = ok_json(streams.run("""
        local res = assert(http.request{url = BASE ..
            '/sse/endless?interval=0.05&id=' .. ID, stream = true,
            retries = 0})
        local n = 0
        for ev in res:events() do
          n = n + 1
          if n == 3 then break end
        end
        local st = wait_gone()      -- the recipe is still running here
        return {n = n, gone = st.disconnected, finished = st.finished,
                complete = res.complete}
    """))
    assert r["n"] == 3
    assert r["gone"] is True, r
    assert r["finished"] is False
    assert r["complete"] is False


@pytest.mark.xfail(strict=True, reason=(
    "BUG: Lua 5.4.4 (Debian) emits the close of a generic for's closing "
    "value at the wrong place when the loop body has a closure over a "
    "loop variable: `break` out of res:events() then does not close the "
    "transfer, and the misplaced close later raises \"attempt to call a "
    "nil value (metamethod 'close')\" on whatever reused the slot "
    "(DESIGN 9 says the host must not rely on <close> in loops)"))
def test_break_closes_the_transfer_with_a_closure_in_the_loop(streams):
    r = streams.run("""
        local res = assert(http.request{url = BASE ..
            '/sse/endless?interval=0.05&id=' .. ID, stream = true,
            retries = 0})
        local later = {}
        for ev in res:events() do
          later[#later + 1] = function() return ev.data end
          if #later == 3 then break end
        end
        local st = wait_gone()
        return {gone = st.disconnected, first = later[1]()}
    """)
    r = ok_json(r)
    assert r["gone"] is True and r["first"] == '{"n":1}'


EVENTS_MEMORY = """
    for i = 1, 40 do
      local res = assert(http.request{{url = BASE ..
          '/sse/longline?size=600000&piece=60000&gap=0.001&id=' .. ID .. i,
          stream = true, retries = 0}})
      local k = 0
      for ev in res:events() do
        k = k + 1
        if k == 2 then break end
      end
      res = nil
      collectgarbage('collect')
    end
    return {{streams = 40}}
"""


def test_events_parser_memory_is_freed(streams):
    # 40 streams whose parsers each grew to ~2 MiB, under a 48 MiB cap
    run = streams.run(EVENTS_MEMORY.format(), "--memory-mb", "48")
    assert ok_json(run) == {"streams": 40}


def test_events_parser_memory_is_freed_without_require_sse(streams):
    run = streams.run(EVENTS_MEMORY.format(), "--memory-mb", "48",
                      require_sse=False)
    assert ok_json(run) == {"streams": 40}


def test_parser_cap_error_is_too_large_and_stops_the_transfer(streams):
    # event 1, then a 256 KiB line, then events forever
    r = ok_json(streams.run("""
        local res = assert(http.request{url = BASE ..
            '/sse/longline?size=262144&gap=0.002&id=' .. ID,
            stream = true, retries = 0})
        local got = {}
        for ev in res:events{max_line = 65536} do got[#got + 1] = ev.data end
        local st = wait_gone()
        return {got = got, code = res.error and res.error.code,
                message = res.error and res.error.message,
                gone = st.disconnected, finished = st.finished,
                sent = st.sent}
    """))
    assert r["got"] == ['{"n":1}']
    assert r["code"] == "too_large", r
    assert "65536" in r["message"]
    assert r["gone"] is True
    assert r["finished"] is False
    assert r["sent"] < 262144 + 4096, r


def awkward_cuts(cuts):
    """Which awkward cuts the client saw between consecutive pieces."""
    pairs = list(zip(cuts, cuts[1:]))
    return {
        "cr|lf": any(a["last"] == 13 and b["first"] == 10
                     for a, b in pairs),
        "c3|a9": any(a["last"] == 0xC3 and b["first"] == 0xA9
                     for a, b in pairs),
        "e2|9c": any(a["last"] == 0xE2 and b["first"] == 0x9C
                     for a, b in pairs),
        "f0 9f|98": any(a["last"] == 0x9F and b["first"] == 0x98
                        for a, b in pairs),
    }


def test_frames_split_at_awkward_bytes(streams):
    # the same stream twice: as raw pieces (to see where it was cut) and
    # as events. On a loaded machine the client may take two pieces at
    # once; the run is repeated (at most 3 times) until every cut was
    # seen, and the events must be right every time.
    for _ in range(3):
        r = ok_json(streams.run("""
            local function url() return BASE .. '/sse/split?gap=0.05&id='
                                  .. ID end
            local res = assert(http.request{url = url(), stream = true,
                                            retries = 0})
            local cuts = {}
            for piece in res:chunks() do
              cuts[#cuts + 1] = {first = piece:byte(1),
                                 last = piece:byte(-1)}
            end
            res = assert(http.request{url = url(), stream = true,
                                      retries = 0})
            local evs = {}
            for ev in res:events() do
              evs[#evs + 1] = {event = ev.event, data = ev.data}
            end
            return {cuts = cuts, evs = evs, complete = res.complete}
        """))
        assert r["evs"] == [
            {"event": "message", "data": "h\u00e9llo"},
            {"event": "message", "data": "\u2713 ok\nline2"},
            {"event": "note", "data": "\U0001F600"},
            {"event": "message", "data": "[DONE]"},
        ]
        assert r["complete"] is True
        seen = awkward_cuts(r["cuts"])
        if all(seen.values()):
            break
    assert all(seen.values()), (seen, r["cuts"])


def test_feed_keeps_events_before_a_cap_error(streams):
    r = ok_json(streams.run("""
        local p = sse.parser{max_line = 64}
        local a, b, c = p:feed('data: one\\n\\ndata: ' ..
                               string.rep('x', 100) .. '\\n\\n')
        local got
        for _, v in ipairs({a or false, b or false, c or false}) do
          if type(v) == 'table' and type(v[1]) == 'table' then
            got = v[1].data
          end
        end
        local err = (a == nil) and b or c
        return {got = got, code = err and err.code}
    """))
    assert r["code"] == "too_large"
    assert r.get("got") == "one"


def test_reconnect_after_a_cut_block_keeps_the_dispatched_id(streams):
    # web-platform-tests eventsource/format-data-before-final-empty-line:
    # the stream ends inside the block with 'id:test'; that id goes with
    # the block (WHATWG HTML 9.2.6), so after the reconnect test1 comes
    # again without an id, as a browser shows it with lastEventId ''
    r = ok_json(streams.run("""
        local wpt = 'retry:1000\\ndata:test1\\n\\nid:test\\ndata:test2\\n'
        local p = sse.parser()
        local first = p:feed(wpt)
        local dropped = p:finish()
        local again = p:feed(wpt)
        local rest = p:feed('\\n')     -- this time the block ends
        return {first = first, dropped = dropped, again = again,
                rest = rest}
    """))
    test1 = {"event": "message", "data": "test1", "retry": 1000}
    assert r["dropped"] is True
    assert r["first"] == [test1]
    assert r["again"] == [test1]
    assert r["rest"] == [{"event": "message", "data": "test2",
                          "id": "test"}]


# ---- lua/chatstream.lua over HTTP ----

CONTENT = ["Hel", "lo", ", ", "w\u00f6rld", " \U0001F600", "!"]
ANSWER = "".join(CONTENT)
CHAT_REQUEST = """
    local function chat(path, extra)
      local opts = {method = 'POST', url = BASE .. path .. '&id=' .. ID,
        json = {model = 'qwen3', stream = true,
                messages = {{role = 'user', content = 'Say hello'}}},
        stream = true, retries = 0, first_byte_timeout_ms = 10000,
        idle_timeout_ms = 10000, timeout_ms = 30000}
      for k, v in pairs(extra or {}) do opts[k] = v end
      return assert(http.request(opts))
    end
    local cs = require 'chatstream'
"""


def test_chat_helper_streams_tokens_in_order(streams):
    run = streams.run(CHAT_REQUEST + """
        local t0 = clock.monotonic()
        local toks, thoughts = {}, {}
        local res = chat('/sse/chat?interval=0.05&hold=1.5')
        local r, err = cs.read(res, {
          on_content = function(text)
            toks[#toks + 1] = {text = text, t = clock.monotonic() - t0}
            ctx.write(text)
          end,
          on_reasoning = function(text)
            task.sleep(0.001)           -- callbacks may wait
            thoughts[#thoughts + 1] = text
          end,
        })
        assert(r, err)
        r.toks, r.thoughts = toks, thoughts
        r.ended = clock.monotonic() - t0
        r.sent = status().request_body
        return r
    """)
    r = ok_json(run)
    assert [t["text"] for t in r["toks"]] == CONTENT
    assert r["content"] == ANSWER
    assert r["reasoning"] == "The user wants a greeting."
    assert r["thoughts"] == ["The user ", "wants a ", "greeting."]
    assert r["usage"] == {"prompt_tokens": 12, "completion_tokens": 7,
                          "total_tokens": 19}
    assert r["usage_received"] is True
    assert r["done"] is True and r["format"] == "sse"
    assert r["finish_reason"] == "stop"
    assert r["empty_because_reasoning"] is False
    # the first tokens were in the recipe's hands while the server held
    # the last one back for 1.5 s
    times = [t["t"] for t in r["toks"]]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 0.8, times
    assert times[-2] - times[0] < times[-1] - times[0] - 0.5, times
    # ctx.write streamed them (stderr under --json)
    assert ANSWER in run.err
    assert json.loads(r["sent"])["stream"] is True


def test_chat_helper_sse_body_although_stream_false(streams):
    # a plain (non-stream) request whose answer is SSE anyway
    r = ok_json(streams.run(CHAT_REQUEST + """
        local res = assert(http.request{method = 'POST',
            url = BASE .. '/sse/chat?interval=0&hold=0&id=' .. ID,
            json = {model = 'qwen3', stream = false}, retries = 0})
        local n = 0
        local r, err = cs.read(res, {on_content = function() n = n + 1 end})
        assert(r, err)
        r.callbacks = n
        return r
    """))
    assert r["format"] == "sse"
    assert r["content"] == ANSWER
    assert r["callbacks"] == len(CONTENT)
    assert r["usage_received"] is True


def test_chat_helper_json_body_although_stream_true(streams):
    r = ok_json(streams.run(CHAT_REQUEST + """
        local got = {}
        local r, err = cs.read(chat('/sse/chat_json?x=1'), {
          on_content = function(t) got[#got + 1] = t end})
        assert(r, err)
        r.got = got
        return r
    """))
    assert r["format"] == "json"
    assert r["content"] == ANSWER
    assert r["got"] == [ANSWER]
    assert r["reasoning"] == "The user wants a greeting."
    assert r["content_type"] == "application/json"
    assert r["usage"]["total_tokens"] == 19


def test_chat_helper_error_event_closes_the_stream(streams):
    r = ok_json(streams.run(CHAT_REQUEST + """
        local r, err = cs.read(chat('/sse/chat_error?interval=0'))
        local st = wait_gone()
        return {r = r ~= nil, code = err.code, message = err.message,
                partial = err.partial.content, usage = err.usage_received,
                gone = st.disconnected}
    """))
    assert r["r"] is False
    assert r["code"] == "remote"
    assert "model overloaded" in r["message"]
    assert r["partial"] == "Hello"
    assert r["usage"] is False
    assert r["gone"] is True


@pytest.mark.parametrize("query,code", [
    ("", "protocol"),                               # clean close, no [DONE]
    ("&te=chunked&no_last_chunk=1", "protocol"),    # cut chunked body
    ("&stall=1", "timeout"),                        # stalls mid-answer
])
def test_chat_helper_stream_cut_before_done(streams, query, code):
    r = ok_json(streams.run(CHAT_REQUEST + f"""
        local t0 = clock.monotonic()
        local res = chat('/sse/chat_cut?interval=0' .. {lua_str(query)},
                         {{idle_timeout_ms = 400}})
        local r, err = cs.read(res)
        return {{r = r ~= nil, code = err.code, message = err.message,
                partial = err.partial.content, usage = err.usage_received,
                took = clock.monotonic() - t0}}
    """))
    assert r["r"] is False
    assert r["code"] == code, r
    assert "[DONE]" in r["message"]
    assert r["partial"] == "Hello"
    assert r["usage"] is False
    assert r["took"] < 10


def test_chat_helper_http_error_status(streams):
    r = ok_json(streams.run(CHAT_REQUEST + """
        local res = chat('/sse/no_such_scenario?x=1')
        local r, err = cs.read(res)
        return {status = err.status, code = err.code, message = err.message}
    """))
    assert r["code"] == "not_found"
    assert r["status"] == 404
    assert "no such scenario" in r["message"]
