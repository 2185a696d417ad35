"""theta_sim.chat -- deterministic chat answers, token counts and SSE.

Token usage (documented in README.md, stable across runs):
  tok(s)            = ceil(utf8_bytes(s) / 4)            (0 for "")
  prompt_tokens     = 3 + sum over messages of (4 + tok(text(content)))
      text(content) = the string, or the "text" parts of a content list
                      joined with "\\n", or "" for null
  completion_tokens = reasoning pieces emitted + content pieces emitted
                      (one SSE token chunk = one piece = one token)

The answer is ``answer_tokens`` (default 24) pieces built from the last
user message; it contains multi-byte UTF-8 (2, 3 and 4 byte sequences)
so split-frame faults can cut inside a character.  A call in copywriter
mode (copywriter.py) passes its post as ``text`` instead: one piece per
word, however many words the post has.  Reasoning: gpt_oss
thinks ``gpt_oss_reasoning_tokens[effort]`` pieces (low 200, medium 800,
high 2000) before answering, qwen3 thinks 24 pieces when asked
(``enable_thinking`` or config ``qwen3_reasoning``), llama never.  All of
it counts against ``max_tokens``: reasoning first, then content; when the
budget runs out the answer stops with ``finish_reason: "length"`` (so a
small gpt_oss budget yields empty content).

SSE wire format (reference section 2.7), one event per chunk::

    data: {"id":"chatcmpl-...","object":"chat.completion.chunk",
           "created":1763700000,"model":"qwen3","choices":[{"index":0,
           "delta":{"role":"assistant","content":""},
           "finish_reason":null}]}<EOL><EOL>
    data: {... "delta":{"reasoning":" Let"} ...}          (optional)
    data: {... "delta":{"content":"Simulated"} ...}
    data: {... "delta":{"content":" words."},"finish_reason":"stop"}]}
    data: {... "choices":[],"usage":{"prompt_tokens":..,
           "completion_tokens":..,"total_tokens":..,
           "prompt_tokens_details":{"cached_tokens":0},
           "completion_tokens_details":{"reasoning_tokens":..}}}
    data: [DONE]

(each JSON on one line; EOL is "\\n" unless configured otherwise).
"""
import asyncio
import math
import secrets
import time

from .state import dumps

FILLER = ("The simulator keeps every answer deterministic so that token "
          "counts and prices can be checked exactly .").split()
THOUGHT = ("Let me think about what the user asked , check the facts I "
           "was given , and plan a short answer .").split()
EOLS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def tok(text):
    return math.ceil(len(text.encode("utf-8")) / 4) if text else 0


def text_of(content):
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
        return "\n".join(parts)
    return dumps(content)


def prompt_tokens(messages):
    return 3 + sum(4 + tok(text_of(m.get("content"))) for m in messages)


def validate_messages(messages):
    """An error message, or None when ``messages`` is acceptable."""
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return "messages[%d] must be an object" % i
        if not isinstance(m.get("role"), str) or not m["role"]:
            return "messages[%d].role must be a non-empty string" % i
        c = m.get("content")
        if c is not None and not isinstance(c, (str, list)):
            return "messages[%d].content must be a string or an array" % i
    return None


def _words(text, limit):
    out = []
    for w in text.split():
        out.append(w[:24])
        if len(out) == limit:
            break
    return out


def last_user_text(messages):
    last = ""
    for m in messages:
        if m.get("role") == "user":
            last = text_of(m.get("content"))
    return last


def answer_pieces(alias, messages, n):
    snippet = " ".join(_words(last_user_text(messages), 6)) or "nothing"
    sentence = ("Simulated %s answer to \u201c%s\u201d \u2014 caf\u00e9 "
                "\u2615 na\u00efve \U0001F600 r\u00e9sum\u00e9." % (alias,
                                                                   snippet))
    words = sentence.split(" ")
    pieces = [words[0]] + [" " + w for w in words[1:]]
    i = 0
    while len(pieces) < n:
        pieces.append(" " + FILLER[i % len(FILLER)])
        i += 1
    return pieces[:max(1, n)]


def text_pieces(text):
    """A written text (a copywriter post) as token pieces: one word each,
    with the space in front; joined they give ``text`` back."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def reasoning_pieces(count):
    return [(" " if i else "") + THOUGHT[i % len(THOUGHT)]
            for i in range(count)]


class Plan:
    """What one chat call answers, fixed before anything is sent."""

    def __init__(self, sim, svc, messages, max_tokens, effort=None,
                 thinking=False, text=None):
        cfg = sim.config
        alias = svc["alias"]
        if alias == "gpt_oss_120b":
            table = cfg["gpt_oss_reasoning_tokens"]
            r_total = int(table.get(effort or "medium", table["medium"]))
        elif alias == "qwen3" and (thinking or cfg["qwen3_reasoning"]):
            r_total = int(cfg["qwen3_reasoning_tokens"])
        else:
            r_total = 0
        if text is not None:
            content = text_pieces(text)
        else:
            content = answer_pieces(alias, messages,
                                    int(cfg["answer_tokens"]))
        budget = max(1, int(max_tokens))
        r = min(r_total, budget)
        c = min(len(content), budget - r)
        self.reasoning = reasoning_pieces(r)
        self.content = content[:c]
        self.all_content = content
        self.finish = "length" if r_total + len(content) > budget else "stop"
        self.prompt_tokens = prompt_tokens(messages)
        self.completion_tokens = r + c
        self.model = svc["model_display"]
        self.reasoning_field = cfg["reasoning_field"]
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())

    def usage(self, reasoning=None, content=None):
        r = len(self.reasoning) if reasoning is None else reasoning
        c = len(self.content) if content is None else content
        return {"prompt_tokens": self.prompt_tokens,
                "completion_tokens": r + c,
                "total_tokens": self.prompt_tokens + r + c,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": r}}

    def gen_seconds(self, sim):
        return (len(self.reasoning) * sim.config["reasoning_token_interval"]
                + len(self.content) * sim.config["token_interval"])

    def message_text(self):
        return "".join(self.content)

    def reasoning_text(self):
        return "".join(self.reasoning)

    def completion_json(self):
        """OpenAI chat.completion (non-streaming, not wrapped)."""
        msg = {"role": "assistant",
               "content": self.message_text() or None}
        if self.reasoning:
            msg[self.reasoning_field] = self.reasoning_text()
        return {"id": self.id, "object": "chat.completion",
                "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": msg,
                             "logprobs": None,
                             "finish_reason": self.finish}],
                "usage": self.usage()}

    def chunk(self, delta, finish=None):
        return {"id": self.id, "object": "chat.completion.chunk",
                "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta,
                             "finish_reason": finish}]}

    def usage_chunk(self, r, c):
        return {"id": self.id, "object": "chat.completion.chunk",
                "created": self.created, "model": self.model,
                "choices": [], "usage": self.usage(r, c)}


def split_points(data):
    """Cut positions inside one encoded event: inside ``data:``, between
    every CR and LF, inside the first multi-byte UTF-8 character (after
    its lead byte, and after its second byte when it is 4 bytes long),
    and in the middle."""
    pts = {2, len(data) // 2}
    for i in range(len(data) - 1):
        if data[i] == 0x0D and data[i + 1] == 0x0A:
            pts.add(i + 1)
    for i, b in enumerate(data):
        if b >= 0xC0:
            pts.add(i + 1)
            if b >= 0xF0:
                pts.add(i + 2)
            break
    return sorted(p for p in pts if 0 < p < len(data))


class Dropped(Exception):
    pass


class EventWriter:
    """Writes SSE events, honouring the split and drop faults."""

    def __init__(self, conn, eol, split=None, drop=None):
        self.conn = conn
        self.eol = eol
        self.split = split
        self.drop = drop
        self.carry = b""
        self.events = 0

    async def _out(self, data):
        if not self.split:
            await self.conn.stream_piece(data)
            return
        cuts = split_points(data)
        pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        pieces[0] = self.carry + pieces[0]
        last = pieces.pop()
        # Hold back the final byte so that the next write spans two events.
        if len(last) > 1:
            pieces.append(last[:-1])
        self.carry = last[-1:]
        for p in pieces:
            await self.conn.stream_piece(p)
            await asyncio.sleep(float(self.split["piece_delay"]))

    async def event(self, obj):
        if self.drop is not None and self.events >= int(
                self.drop["after_events"]):
            self.conn.abort(rst=self.drop.get("how", "rst") == "rst")
            raise Dropped()
        text = obj if isinstance(obj, str) else dumps(obj)
        await self._out(("data: " + text + self.eol + self.eol)
                        .encode("utf-8"))
        self.events += 1

    async def comment(self, text):
        await self._out((": " + text + self.eol + self.eol).encode("utf-8"))

    async def flush(self):
        if self.carry:
            await self.conn.stream_piece(self.carry)
            self.carry = b""


async def _sleep(seconds):
    if seconds > 0:
        await asyncio.sleep(seconds)


async def stream(sim, conn, plan, entry, job=None, faults=None):
    """Send ``plan`` as text/event-stream.  Returns True when the
    connection can be reused.  ``entry`` (a ledger entry) is updated as
    tokens go out; ``job`` (job-path chat) follows the stream's fate."""
    faults = faults or {}
    cfg = sim.config
    split = faults.get("split_sse")
    drop = faults.get("drop_stream")
    endless = faults.get("endless_stream")
    stall = faults.get("stall_stream")
    eol = EOLS[(split or {}).get("line_ending") or cfg["sse_line_ending"]]
    chunked = cfg["sse_framing"] == "chunked"
    delay = sim.first_byte_delay(entry["service"])
    headers = [("Content-Type", "text/event-stream; charset=utf-8"),
               ("Cache-Control", "no-cache"),
               ("X-Accel-Buffering", "no")]
    entry["_stream_state"] = "streaming"
    usage = entry["usage"]
    usage["input"] = plan.prompt_tokens
    r_sent = c_sent = 0
    try:
        if cfg["first_byte_mode"] == "before_headers":
            await _sleep(delay)
        await conn.start_stream(200, headers, chunked)
        if cfg["first_byte_mode"] != "before_headers":
            await _sleep(delay)
        if stall:
            end = time.monotonic() + float(stall["seconds"])
            while not conn.client_gone() and time.monotonic() < end:
                await asyncio.sleep(0.05)
            conn.abort(rst=False)
            raise Dropped()
        w = EventWriter(conn, eol, split, drop)
        await w.event(plan.chunk({"role": "assistant", "content": ""}))
        if endless:
            interval = float(endless["interval"])
            i = 0
            while True:
                await _sleep(interval)
                if endless["mode"] == "comments":
                    await w.comment("keep-alive")
                    continue
                piece = plan.all_content[i % len(plan.all_content)]
                await w.event(plan.chunk({"content": piece}))
                i += 1
                c_sent += 1
                usage["output"] = r_sent + c_sent
        tokens = ([(plan.reasoning_field, p, cfg["reasoning_token_interval"])
                   for p in plan.reasoning]
                  + [("content", p, cfg["token_interval"])
                     for p in plan.content])
        for i, (field, piece, interval) in enumerate(tokens):
            await _sleep(float(interval))
            last = i == len(tokens) - 1
            await w.event(plan.chunk({field: piece},
                                     plan.finish if last else None))
            if field == "content":
                c_sent += 1
            else:
                r_sent += 1
            usage["output"] = r_sent + c_sent
        if not tokens:
            await w.event(plan.chunk({}, plan.finish))
        if cfg["stream_usage"]:
            await w.event(plan.usage_chunk(r_sent, c_sent))
        await w.event("[DONE]")
        await w.flush()
        keep = await conn.end_stream()
    except (Dropped, ConnectionError, OSError) as exc:
        entry["_stream_state"] = "interrupted"
        if job is not None:
            job.live_state = "error"
            job.error_message = "stream interrupted"
        if not isinstance(exc, Dropped):
            conn.abort(rst=False)
        return False
    except asyncio.CancelledError:
        entry["_stream_state"] = "interrupted"
        raise
    entry["_stream_state"] = "success"
    entry["stream_completed"] = True
    if job is not None:
        job.output = {"message": plan.message_text()}
        if plan.reasoning:
            job.output["reasoning"] = plan.reasoning_text()
        job.live_state = "success"
    return keep
