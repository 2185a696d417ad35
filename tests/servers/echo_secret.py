"""A loopback server that echoes the credential it receives, encoded.

The worst server a secret can meet: it takes the Authorization header of
each request and hands the secret inside it back, in the encodings the
request asks for, in the place the request asks for. The secret-leak
suites (tests/e2e/secrets_test.py) point recipes at it and check that
none of it reaches clawhost's stdout or stderr.

Follows tests/servers/harness.py: ``--port 0`` binds a free loopback
port and prints ``READY http://127.0.0.1:PORT`` first on stdout; logs go
to stderr (never a header value); SIGTERM stops it.

Routes (any method):

``/echo?enc=raw,hex,...&where=WHERE&piece=N&at=K``
    The secret is the Authorization value after ``Bearer ``, or the
    password of ``Basic base64(user:pass)``. ``enc`` picks encodings
    (see ENCODINGS; default: all). ``where``, one of body, header,
    error, stream, split, sse, header_split:

    - ``body`` (default): 200, text/plain, one ``NAME=VALUE`` per line;
    - ``header``: 200, each encoding in an ``X-Echo-NAME`` response
      header (encodings that cannot live in a header are skipped);
    - ``error``: 401, a FastAPI-style error JSON
      ``{"detail": {"code": "bad_token", "message": ..., "echo": {...}}}``;
    - ``stream``: 200, the ``body`` text sent in chunks of ``piece``
      bytes (default 1), each flushed on its own;
    - ``split``: 200, the ``body`` text with every value cut in two
      chunks at its middle, or after its first ``at`` bytes (a client
      that masks chunk by chunk sees neither half as a secret);
    - ``sse``: 200, text/event-stream: the pieces of ``split`` (or, with
      ``piece``, of ``stream``), each the data of one event in a chunk
      of its own (a line break in a piece becomes a second ``data:``
      line, so the data of the events joined is the ``body`` text);
    - ``header_split``: 200, each header-safe value cut like ``split``
      into ``X-Echo-NAME-A`` and ``X-Echo-NAME-B``, and a value that
      holds ", " also sent as two ``X-Echo-Join-NAME`` lines split
      there (which a client joins with ", ").

    ``delay=MS`` sets the pause between stream chunks (default 1).

``/body``
    200, the request body sent back as it came, with its Content-Type
    (a server that echoes a credential it received in a JSON body).

``/redirect?to=URL``
    307 to URL (clawhost must not follow it with the credential).

``/_seen``
    JSON ``{"requests": N, "authorization": [...], "headers": [...],
    "bodies": [...]}``:
    every Authorization header received so far (other than on
    ``/_seen``), every request's full header list as [name, value]
    pairs, verbatim (latin-1), and ``bodies``: every non-empty request
    body (first 64 KiB, latin-1). Tests read it directly, never through
    clawhost.

``/anything-else``
    200 ``{"ok": true, "path": ...}``; the request is still recorded.
"""
import argparse
import base64
import binascii
import json
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAD = b"<~"         # bytes before the secret for base64 alignments 1, 2
TAIL = b"~>"        # bytes after it, so the secret sits inside a blob


def _b64(data, url):
    out = base64.urlsafe_b64encode(data) if url else base64.b64encode(data)
    return out.decode("ascii")


def encodings(secret, authorization):
    """name -> text for one secret (bytes); `authorization` is the raw
    header value it came in (for the Basic form)."""
    enc = {
        "raw": secret.decode("utf-8", "replace"),
        "hex": binascii.hexlify(secret).decode("ascii"),
        "HEX": binascii.hexlify(secret).decode("ascii").upper(),
        "url": urllib.parse.quote(secret, safe=""),
        "form": urllib.parse.quote_plus(secret, safe=""),
        "json": json.dumps(secret.decode("utf-8", "replace"))[1:-1],
    }
    for k in range(3):
        # at the end of a blob (padding is the secret's) ...
        enc[f"b64_{k}"] = _b64(PAD[:k] + secret, False)
        # ... and inside one (padding belongs to the blob)
        enc[f"b64in_{k}"] = _b64(PAD[:k] + secret + TAIL, False)
        enc[f"b64url_{k}"] = _b64(PAD[:k] + secret + TAIL, True).rstrip("=")
    if authorization.startswith("Basic "):
        enc["basic"] = authorization[6:]
    return enc


ENCODINGS = ["raw", "hex", "HEX", "url", "form", "json",
             "b64_0", "b64_1", "b64_2", "b64in_0", "b64in_1", "b64in_2",
             "b64url_0", "b64url_1", "b64url_2", "basic"]


def secret_of(authorization):
    """The secret inside an Authorization value, as bytes, or None."""
    if authorization.startswith("Bearer "):
        # http.server reads header bytes as latin-1: undo that
        return authorization[7:].encode("latin-1")
    if authorization.startswith("Basic "):
        try:
            pair = base64.b64decode(authorization[6:], validate=True)
        except (binascii.Error, ValueError):
            return None
        return pair.split(b":", 1)[1] if b":" in pair else None
    return None


def header_safe(value):
    return all(32 <= ord(c) < 127 for c in value)


def _pieces(text, q):
    """The text in pieces of `piece` bytes (default 1)."""
    data = text.encode("utf-8", "surrogateescape")
    step = max(1, int(q.get("piece", ["1"])[0]))
    return [data[i:i + step] for i in range(0, len(data), step)]


def _at(q, value):
    """Where a value (bytes) is cut: `at`, clipped, or its middle."""
    if "at" in q:
        return max(0, min(len(value), int(q["at"][0])))
    return len(value) // 2


def _cut(picked, q):
    """Each NAME=VALUE line in two pieces, cut inside the value."""
    parts = []
    for n, v in picked:
        value = v.encode("utf-8", "surrogateescape")
        head = f"{n}=".encode()
        cut = _at(q, value)
        parts += [head + value[:cut], value[cut:] + b"\n"]
    return parts


def _event(piece):
    """One SSE event whose data is `piece` (line breaks included)."""
    return b"".join(b"data: " + line + b"\n"
                    for line in piece.split(b"\n")) + b"\n"


def _split_headers(picked, q):
    hdrs = []
    for n, v in picked:
        if not header_safe(v):
            continue
        cut = _at(q, v.encode())
        hdrs += [("X-Echo-%s-A" % n, v[:cut]), ("X-Echo-%s-B" % n, v[cut:])]
        if ", " in v:
            left, right = v.split(", ", 1)
            hdrs += [("X-Echo-Join-" + n, left), ("X-Echo-Join-" + n, right)]
    return hdrs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "echo-secret/1"
    disable_nagle_algorithm = True      # small writes go out at once

    def log_message(self, fmt, *args):   # no header values in logs
        if self.server.verbose:
            sys.stderr.write("echo_secret: %s %s\n" % (
                self.command, self.path.split("?")[0]))

    def _send(self, status, body, ctype="application/json",
              headers=()):
        data = body.encode("utf-8", "surrogateescape")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _drain_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        body = self._drain_body()
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_seen":
            with self.server.lock:
                seen = {"requests": self.server.requests,
                        "authorization": list(self.server.auth),
                        "headers": list(self.server.headers),
                        "bodies": list(self.server.bodies)}
            return self._send(200, json.dumps(seen))
        auth = self.headers.get("Authorization")
        with self.server.lock:
            self.server.requests += 1
            if auth is not None:
                self.server.auth.append(auth)
            self.server.headers.append([list(h) for h in
                                        self.headers.items()])
            if body:
                self.server.bodies.append(body[:65536].decode("latin-1"))
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/redirect":
            return self._send(307, "{}", headers=[
                ("Location", q.get("to", ["/"])[0])])
        if url.path == "/body":
            return self._send(200, body.decode("latin-1"),
                              ctype=self.headers.get("Content-Type") or
                              "application/octet-stream")
        if url.path != "/echo":
            return self._send(200, json.dumps({"ok": True,
                                               "path": url.path}))
        where = q.get("where", ["body"])[0]
        names = (q.get("enc", [",".join(ENCODINGS)])[0]).split(",")
        secret = secret_of(auth or "")
        if secret is None:
            return self._send(400, json.dumps(
                {"detail": {"code": "no_secret",
                            "message": "send Authorization: Bearer or "
                                       "Basic"}}))
        enc = encodings(secret, auth)
        picked = [(n, enc[n]) for n in names if n in enc]
        if where == "header":
            hdrs = [("X-Echo-" + n, v) for n, v in picked
                    if header_safe(v)]
            return self._send(200, "ok\n", "text/plain", hdrs)
        if where == "header_split":
            return self._send(200, "ok\n", "text/plain",
                              _split_headers(picked, q))
        if where == "error":
            doc = {"detail": {"code": "bad_token",
                              "message": "token rejected: " +
                                         "; ".join(v for _, v in picked),
                              "echo": dict(picked)}}
            return self._send(401, json.dumps(doc), headers=[
                ("WWW-Authenticate", "Bearer")])
        text = "".join(f"{n}={v}\n" for n, v in picked)
        delay = float(q.get("delay", ["1"])[0]) / 1000
        if where == "stream":
            return self._stream(_pieces(text, q), delay)
        if where == "split":
            return self._stream(_cut(picked, q), delay)
        if where == "sse":
            parts = _pieces(text, q) if "piece" in q else _cut(picked, q)
            return self._stream([_event(p) for p in parts], delay,
                                "text/event-stream")
        return self._send(200, text, "text/plain; charset=utf-8")

    def _stream(self, parts, delay, ctype="text/plain; charset=utf-8"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.flush()
        for part in parts:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
            time.sleep(delay)    # so the client reads each piece apart
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def do_HEAD(self):
        self._send(200, "")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--verbose", action="store_true",
                    help="log each request (method and path) on stderr")
    args = ap.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.requests = 0
    server.verbose = args.verbose
    server.auth = []
    server.headers = []
    server.bodies = []

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    print(f"READY http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
