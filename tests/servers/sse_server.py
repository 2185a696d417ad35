"""A loopback server that sends text/event-stream bodies byte by byte,
with pauses, for the streaming tests (tests/e2e/sse_test.py).

    python3 -m tests.servers.sse_server --port 0
    READY http://127.0.0.1:PORT

Harness contract (tests/servers/harness.py): binds 127.0.0.1, prints one
READY line, logs to stderr only, stops on SIGTERM. Standard library only.

Every stream is a script of byte pieces and pauses. Each piece is one
send() on a TCP_NODELAY socket, followed by a short pause, so the client
really receives the stream cut where the script cuts it (between a CR
and its LF, inside a UTF-8 character). Routes:

    GET|POST /sse/NAME?id=ID&...   run scenario NAME (table SCENARIOS)
    GET      /_status?id=ID        what happened to stream ID, as JSON

/_status answers {"id", "scenario", "sent" (bytes), "pieces",
"finished" (the script ran to its end), "disconnected" (a send failed or
the client closed its side), "disconnected_after_s", "request_body"}.

Query parameters shared by the scenarios: `te=chunked` frames the body
with chunked transfer coding (default: no length, the body ends when the
server closes, so a cut stream looks like a clean end); `gap` is the
pause after each piece (seconds, default 0.02); `hold` and `interval`
are scenario timings; `eol` picks the line end (lf, crlf, cr).
"""
import argparse
import json
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EOLS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}
STATUS = {}
LOCK = threading.Lock()


class Gone(Exception):
    """The client closed the connection."""


class Pause:
    def __init__(self, seconds):
        self.seconds = seconds


class Wait:
    """Send nothing until the client goes away or `seconds` pass."""

    def __init__(self, seconds):
        self.seconds = seconds


class Repeat:
    """Call make(i) for i = 0, 1, ... and send what it returns, `every`
    seconds apart, until the client goes away or `seconds` pass."""

    def __init__(self, make, every, seconds):
        self.make = make
        self.every = every
        self.seconds = seconds


def chunk(delta, finish=None, usage=None, choices=True, model="qwen3"):
    """One OpenAI chat.completion.chunk as compact JSON bytes."""
    obj = {"id": "chatcmpl-sse1", "object": "chat.completion.chunk",
           "created": 1767225600, "model": model}
    obj["choices"] = ([{"index": 0, "delta": delta,
                        "finish_reason": finish}] if choices else [])
    if usage is not None:
        obj["usage"] = usage
    return json.dumps(obj, separators=(",", ":"),
                      ensure_ascii=False).encode()


def event(data, eol=b"\n"):
    if isinstance(data, str):
        data = data.encode()
    return b"data: " + data + eol + eol


USAGE = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
REASONING = ["The user ", "wants a ", "greeting."]
CONTENT = ["Hel", "lo", ", ", "w\u00f6rld", " \U0001F600", "!"]


# ---- scenarios: each returns (headers, script) ----

def sc_timed(q, eol):
    """Events 1..n at once (gap apart), then `hold` seconds, then the last
    event and [DONE]."""
    n = int(q.get("n", 3))
    script = [event('{"n":%d}' % i, eol) for i in range(1, n + 1)]
    script += [Pause(float(q.get("hold", 1.0))),
               event('{"n":%d}' % (n + 1), eol), event("[DONE]", eol)]
    return {}, script


def sc_stall(q, eol):
    """One event, then silence until the client gives up."""
    return {}, [event('{"n":1}', eol), Wait(float(q.get("hold", 15)))]


def sc_silent(q, eol):
    """Headers, then no body byte at all."""
    return {}, [Wait(float(q.get("hold", 15)))]


def sc_endless(q, eol):
    """An event every `interval` seconds until the client goes away."""
    every = float(q.get("interval", 0.05))
    return {}, [Repeat(lambda i: event('{"n":%d}' % (i + 1), eol), every,
                       float(q.get("hold", 15)))]


def sc_longline(q, eol):
    """One event, then a `size`-byte data line sent in `piece`-byte
    pieces (4096), then events forever: a client whose max_line is
    smaller must stop."""
    size = int(q.get("size", 256 << 10))
    piece = int(q.get("piece", 4096))
    script = [event('{"n":1}', eol), b"data: "]
    script += [b"x" * piece] * (size // piece)
    script += [eol + eol]
    script.append(Repeat(lambda i: event('{"n":%d}' % (i + 2), eol), 0.05,
                         float(q.get("hold", 15))))
    return {}, script


def sc_split(q, eol):
    """Events cut at awkward bytes: between CR and LF, inside 2-, 3- and
    4-byte UTF-8 characters, inside 'data:', between the two line ends
    that close an event."""
    e1 = "data: h\u00e9llo\r\n\r\n".encode()       # é = C3 A9
    e2 = "data: \u2713 ok\r\ndata: line2\r\n\r\n".encode()  # ✓ = E2 9C 93
    e3 = "event: note\rdata: \U0001F600\r\r".encode()   # 😀 = F0 9F 98 80
    e4 = b"data: [DONE]\n\n"
    pieces = []
    i = e1.index(b"\xc3")
    pieces += [e1[:i + 1], e1[i + 1:-3], e1[-3:-2], e1[-2:]]  # C3|A9, CR|LF
    j = e2.index(b"\xe2")
    k = e2.index(b"\r\ndata: line2")
    pieces += [e2[:j + 1], e2[j + 1:j + 2], e2[j + 2:k + 1], e2[k + 1:k + 4],
               e2[k + 4:-2], e2[-2:-1], e2[-1:]]
    m = e3.index(b"\xf0")
    pieces += [e3[:m + 2], e3[m + 2:m + 3], e3[m + 3:-1], e3[-1:]]
    pieces += [e4[:3], e4[3:]]
    return {}, pieces


def chat_script(q, eol, cut=False, error=False):
    reasoning_field = q.get("reasoning_field", "reasoning")
    every = float(q.get("interval", 0.05))
    script = [event(chunk({"role": "assistant", "content": ""}), eol)]
    for piece in REASONING:
        script += [event(chunk({reasoning_field: piece}), eol), Pause(every)]
    for i, piece in enumerate(CONTENT):
        if cut and i == 2:
            return script
        if error and i == 2:
            script.append(event(json.dumps({"error": {
                "message": "model overloaded", "type": "server_error",
                "code": 503}}), eol))
            script.append(Wait(float(q.get("hold", 15))))
            return script
        last = i == len(CONTENT) - 1
        if last:
            script.append(Pause(float(q.get("hold", 1.0))))
        script += [event(chunk({"content": piece},
                               "stop" if last else None), eol),
                   Pause(every)]
    script.append(event(chunk({}, usage=USAGE, choices=False), eol))
    script.append(event("[DONE]", eol))
    return script


def sc_chat(q, eol):
    """An OpenAI-style chat stream: reasoning, content tokens `interval`
    apart, the last token held back `hold` seconds, usage, [DONE]."""
    return {}, chat_script(q, eol)


def sc_chat_cut(q, eol):
    """A chat stream that stops after two content tokens (with `stall`,
    then stays silent instead of ending)."""
    script = chat_script(q, eol, cut=True)
    if q.get("stall"):
        script.append(Wait(float(q.get("hold", 15))))
    return {}, script


def sc_chat_error(q, eol):
    """A chat stream with an {"error": ...} event after two tokens."""
    return {}, chat_script(q, eol, error=True)


def sc_chat_json(q, eol):
    """A whole chat.completion JSON body (what a server may answer even
    when stream:true was asked)."""
    body = json.dumps({
        "id": "chatcmpl-json1", "object": "chat.completion",
        "model": "gpt_oss_120b",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "".join(CONTENT),
            "reasoning": "".join(REASONING)}}],
        "usage": USAGE}).encode()
    return {"Content-Type": "application/json"}, [body[:20], body[20:]]


SCENARIOS = {
    "timed": sc_timed, "stall": sc_stall, "silent": sc_silent,
    "endless": sc_endless, "longline": sc_longline, "split": sc_split,
    "chat": sc_chat, "chat_cut": sc_chat_cut, "chat_error": sc_chat_error,
    "chat_json": sc_chat_json,
}


# ---- the server ----

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sse-test/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("sse_server: " + (fmt % args) + "\n")

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/_status":
            with LOCK:
                rec = public(STATUS.get(q.get("id"), {}))
            return self.reply(200, json.dumps(rec).encode(),
                              "application/json")
        name = url.path[len("/sse/"):] if url.path.startswith("/sse/") \
            else ""
        if name not in SCENARIOS:
            return self.reply(404, b'{"error":"no such scenario"}',
                              "application/json")
        if q.get("nohead"):
            return self.hold_without_headers(q)
        self.stream(name, q, body)

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def hold_without_headers(self, q):
        """Accept the request and answer nothing at all."""
        rec = self.record(q, "nohead", b"")
        self.wait_gone(rec, float(q.get("hold", 15)))
        self.close_connection = True

    def record(self, q, name, body):
        rec = {"id": q.get("id", ""), "scenario": name, "sent": 0,
               "pieces": 0, "finished": False, "disconnected": False,
               "disconnected_after_s": None,
               "request_body": body.decode("utf-8", "replace"),
               "_start": time.monotonic()}
        with LOCK:
            STATUS[rec["id"]] = rec
        return rec

    def stream(self, name, q, body):
        eol = EOLS[q.get("eol", "lf")]
        headers, script = SCENARIOS[name](q, eol)
        rec = self.record(q, name, body)
        self.chunked = q.get("te") == "chunked"
        self.gap = float(q.get("gap", 0.02))
        self.close_connection = True
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.send_response(200)
        self.send_header("Content-Type", headers.get(
            "Content-Type", "text/event-stream; charset=utf-8"))
        self.send_header("Cache-Control", "no-cache")
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        try:
            self.run_script(script, rec)
            with LOCK:
                rec["finished"] = True
            if self.chunked and not q.get("no_last_chunk"):
                self.send_raw(b"0\r\n\r\n", rec)
        except Gone:
            self.gone(rec)

    def run_script(self, script, rec):
        for step in script:
            if isinstance(step, Pause):
                self.sleep(step.seconds, rec)
            elif isinstance(step, Wait):
                self.wait_gone(rec, step.seconds)
            elif isinstance(step, Repeat):
                end = time.monotonic() + step.seconds
                i = 0
                while time.monotonic() < end:
                    self.send_piece(step.make(i), rec)
                    self.sleep(step.every, rec)
                    i += 1
            else:
                self.send_piece(step, rec)
                self.sleep(self.gap, rec)

    def send_piece(self, data, rec):
        if self.chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.send_raw(data, rec)
        with LOCK:
            rec["pieces"] += 1

    def send_raw(self, data, rec):
        try:
            self.connection.sendall(data)
        except OSError:
            raise Gone()
        with LOCK:
            rec["sent"] += len(data)

    def client_closed(self):
        """True when the client closed its side (readable with EOF)."""
        sock = self.connection
        sock.setblocking(False)
        try:
            data = sock.recv(1, socket.MSG_PEEK)
            return data == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            sock.setblocking(True)

    def sleep(self, seconds, rec):
        end = time.monotonic() + seconds
        while True:
            if self.client_closed():
                raise Gone()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.01))

    def wait_gone(self, rec, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.client_closed():
                self.gone(rec)
                return
            time.sleep(0.01)

    def gone(self, rec):
        with LOCK:
            if not rec["disconnected"]:
                rec["disconnected"] = True
                rec["disconnected_after_s"] = round(
                    time.monotonic() - rec["_start"], 3)


def public(rec):
    return {k: v for k, v in rec.items() if not k.startswith("_")}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    srv = Server(("127.0.0.1", args.port), Handler)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
