"""fault_http -- a loopback HTTP/1.1 server that misbehaves on request.

    /usr/bin/python3 -m tests.servers.fault_http --port 0 [--tls]

prints ``READY http://127.0.0.1:PORT`` (with ``--tls``: ``READY
https://127.0.0.1:PORT ca=/tmp/.../ca.pem``, a certificate for
``fault.test`` and 127.0.0.1) as its only stdout line
(tests/servers/harness.py contract), logs to stderr, exits 0 on SIGTERM.
Standard library only; one thread per connection; connections are kept
alive (HTTP/1.1), and every connection gets an id, so tests can prove
keep-alive reuse.

Behaviour is picked by the path; every request except ``/__*`` is
recorded *before* it is answered (see ``/__requests``).

  /status/CODE?body=TEXT&retry_after=S&retry_after_date=S&header=N:V
        answer CODE with TEXT; Retry-After as seconds, or as an HTTP
        date S seconds from now; `header` may repeat
  /slow?ms=N              wait N ms, then 200 "slow"
  /drip?interval_ms=N&count=C&first_ms=F&abort=1
        chunked: a piece ("drip I\\n") every N ms, the first after F ms;
        with abort=1 the socket is closed instead of the last chunk
  /forever?interval_ms=N&size=B
        chunked body that never ends (B bytes every N ms, default 10/1024)
  /stall?ms=N             headers (chunked), then silence for N ms
                          (default 30000), then close
  /size?bytes=N&chunked=1 N bytes of "x" (Content-Length unless chunked)
  /gzip?bytes=N           N zero bytes, gzip-compressed on the wire
  /redirect?to=URL&code=C Location: URL with status C (default 302)
  /echo                   JSON {method, path, headers, body, conn}
  /headers                repeated and mixed-case response headers
  /json                   a small JSON document
  /reset?rst=1            read the request, close without a response
                          (rst=1: TCP reset instead of FIN)
  /flaky?key=K&fail=N&mode=M&retry_after=S&retry_after_date=S
        the first N requests per key fail (counted first), then 200
        JSON {"ok": true, "attempt": n}; M is 500 (default), drop
        (close without answer), capacity (409 "No instances
        available"), or any status code
  /sse?events=N&interval_ms=M   text/event-stream, N events "data: I"
  /__requests             JSON list of recorded requests: seq, method,
                          path (with query), headers (Authorization and
                          Proxy-Authorization only as "<present>"),
                          body_len, conn (connection id), t (monotonic s),
                          outcome (running, answered, dropped, or
                          client_gone: the client went away while the
                          body was being written)
  /__reset                forget recorded requests and flaky counters
  /__stats                {"connections": accepted data connections}
"""
import argparse
import gzip
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("fault_http")
STOP = threading.Event()
HIDDEN = ("authorization", "proxy-authorization")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.flaky = {}
        self.conn_ids = itertools.count(1)
        self.data_conns = set()
        self.seq = itertools.count(1)

    def record(self, entry):
        with self.lock:
            entry["seq"] = next(self.seq)
            self.requests.append(entry)
            self.data_conns.add(entry["conn"])

    def bump(self, key):
        with self.lock:
            n = self.flaky.get(key, 0) + 1
            self.flaky[key] = n
            return n

    def reset(self):
        with self.lock:
            self.requests = []
            self.flaky = {}
            self.data_conns = set()


STATE = State()


def _int(q, name, default):
    try:
        return int(q.get(name, [default])[-1])
    except (TypeError, ValueError):
        return default


def retry_after(q):
    """Retry-After from ?retry_after=S (as given) or ?retry_after_date=S
    (an HTTP date S seconds from now)."""
    out = []
    if "retry_after" in q:
        out.append(("Retry-After", q["retry_after"][-1]))
    if "retry_after_date" in q:
        at = time.time() + float(q["retry_after_date"][-1])
        out.append(("Retry-After", formatdate(at, usegmt=True)))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault_http/1"

    def setup(self):
        self.conn_id = next(STATE.conn_ids)
        # headers and body go out in separate writes: without NODELAY,
        # Nagle and the client's delayed ACK add 40 ms to each answer
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            # the handshake here, not in accept(): a client that never
            # finishes it must not stall the listener
            self.request.settimeout(5)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):
        log.debug("conn %s: " + fmt, self.conn_id, *args)

    # ---- plumbing ----

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n",
                                                        b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, code, body=b"", ctype="text/plain", headers=()):
        if isinstance(body, str):
            body = body.encode()
        if code in (204, 304) or code < 200:
            body = b""          # these never carry a body (RFC 9110 6.4.1)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if code != 204 and code >= 200:
            self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code, obj, headers=()):
        self.send(code, json.dumps(obj), "application/json", headers)

    def start_chunked(self, code=200, ctype="text/plain", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    def drop(self, rst=False):
        """Close the connection without answering."""
        self.close_connection = True
        self.dropped = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET,
                                           socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        # socketserver closes the socket after handle() returns

    def sleep(self, seconds):
        return STOP.wait(max(0.0, seconds))

    # ---- dispatch ----

    def do_any(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query, keep_blank_values=True)
        body = self.read_body()
        path = url.path
        if path.startswith("/__"):
            return self.control(path, q)
        hdrs = {}
        for k, v in self.headers.items():
            lk = k.lower()
            val = "<present>" if lk in HIDDEN else v
            hdrs[lk] = hdrs[lk] + ", " + val if lk in hdrs else val
        entry = {"method": self.command, "path": self.path,
                 "headers": hdrs, "body_len": len(body),
                 "conn": self.conn_id, "t": time.monotonic(),
                 "outcome": "running"}
        STATE.record(entry)
        self.body = body
        self.dropped = False
        parts = path.strip("/").split("/")
        route = getattr(self, "r_" + parts[0], None) if parts[0] else None
        try:
            if route is None:
                self.send(404, "no route %s\n" % path)
            else:
                route(q, parts[1:])
            entry["outcome"] = ("dropped" if self.dropped else
                                "stopped" if STOP.is_set() else "answered")
        except (BrokenPipeError, ConnectionResetError):
            entry["outcome"] = "client_gone"
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_any
    do_HEAD = do_any

    def control(self, path, q):
        if path == "/__requests":
            with STATE.lock:
                data = list(STATE.requests)
            return self.send_json(200, data)
        if path == "/__reset":
            STATE.reset()
            return self.send_json(200, {"ok": True})
        if path == "/__stats":
            with STATE.lock:
                n = len(STATE.data_conns)
            return self.send_json(200, {"connections": n})
        return self.send(404, "unknown control path\n")

    # ---- routes ----

    def r_status(self, q, rest):
        code = int(rest[0]) if rest and rest[0].isdigit() else 200
        headers = retry_after(q)
        for h in q.get("header", []):
            k, _, v = h.partition(":")
            headers.append((k, v.strip()))
        self.send(code, q.get("body", ["status %d\n" % code])[-1],
                  headers=headers)

    def r_slow(self, q, rest):
        self.sleep(_int(q, "ms", 1000) / 1000)
        self.send(200, "slow\n")

    def r_drip(self, q, rest):
        interval = _int(q, "interval_ms", 100) / 1000
        count = _int(q, "count", 5)
        self.start_chunked()
        self.sleep(_int(q, "first_ms", 0) / 1000)
        for i in range(count):
            if i:
                if self.sleep(interval):
                    break
            self.chunk("drip %d\n" % i)
        if q.get("abort"):
            return self.drop()
        self.end_chunks()

    def r_forever(self, q, rest):
        interval = _int(q, "interval_ms", 10) / 1000
        piece = b"f" * _int(q, "size", 1024)
        self.start_chunked()
        while not self.sleep(interval):
            self.chunk(piece)
        self.drop()

    def r_stall(self, q, rest):
        self.start_chunked()
        self.sleep(_int(q, "ms", 30000) / 1000)
        self.drop()

    def r_size(self, q, rest):
        n = _int(q, "bytes", 0)
        if q.get("chunked"):
            self.start_chunked()
            step = 1 << 16
            for off in range(0, n, step):
                self.chunk(b"x" * min(step, n - off))
            return self.end_chunks()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        step = 1 << 16
        for off in range(0, n, step):
            self.wfile.write(b"x" * min(step, n - off))

    def r_gzip(self, q, rest):
        data = gzip.compress(b"\0" * _int(q, "bytes", 0), 9)
        self.send(200, data, "application/octet-stream",
                  [("Content-Encoding", "gzip")])

    def r_redirect(self, q, rest):
        code = _int(q, "code", 302)
        to = q.get("to", ["/echo"])[-1]
        self.send(code, "see %s\n" % to, headers=[("Location", to)])

    def r_echo(self, q, rest):
        hdrs = {}
        for k, v in self.headers.items():
            lk = k.lower()
            hdrs[lk] = hdrs[lk] + ", " + v if lk in hdrs else v
        self.send_json(200, {"method": self.command, "path": self.path,
                             "headers": hdrs,
                             "body": self.body.decode("utf-8", "replace"),
                             "conn": self.conn_id})

    def r_headers(self, q, rest):
        self.send(200, "headers\n", headers=[
            ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
            ("X-Multi", "one"), ("X-Multi", "two"),
            ("X-Mixed-CASE", "Value")])

    def r_json(self, q, rest):
        self.send_json(200, {"hello": "world", "n": [1, 2, 3]})

    def r_reset(self, q, rest):
        self.drop(rst=bool(q.get("rst")))

    def r_flaky(self, q, rest):
        key = q.get("key", [""])[-1]
        fail = _int(q, "fail", 1)
        mode = q.get("mode", ["500"])[-1]
        n = STATE.bump(key)
        if n > fail:
            return self.send_json(200, {"ok": True, "attempt": n})
        headers = retry_after(q)
        if mode == "drop":
            return self.drop()
        if mode == "capacity":
            return self.send_json(409, {"error": "No instances available",
                                        "attempt": n}, headers)
        code = int(mode) if mode.isdigit() else 500
        self.send(code, "failing on purpose (attempt %d)\n" % n,
                  headers=headers)

    def r_sse(self, q, rest):
        interval = _int(q, "interval_ms", 10) / 1000
        self.start_chunked(ctype="text/event-stream",
                           headers=[("Cache-Control", "no-cache")])
        for i in range(_int(q, "events", 3)):
            if i and self.sleep(interval):
                break
            self.chunk("id: %d\ndata: %d\n\n" % (i + 1, i))
        self.end_chunks()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ValueError)):
            log.debug("connection error: %s", exc)
            return
        super().handle_error(request, client_address)


def make_certs(directory):
    """A throwaway CA and a certificate for fault.test and 127.0.0.1."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=fault_http test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/CN=fault.test")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:fault.test,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "2",
        "-extfile", "ext.cnf")
    return (os.path.join(directory, "ca.pem"),
            os.path.join(directory, "leaf.pem"),
            os.path.join(directory, "leaf.key"))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.servers.fault_http")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls", action="store_true",
                    help="serve https with a throwaway CA")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if args.verbose else
                        logging.WARNING,
                        format="fault_http: %(message)s")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("--host must be a loopback address")
    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    srv = Server((args.host, args.port), Handler)
    tmp = None
    extra = ""
    scheme = "http"
    if args.tls:
        tmp = tempfile.mkdtemp(prefix="fault_http-")
        ca, cert, key = make_certs(tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
        scheme, extra = "https", " ca=" + ca

    def stop(*_):
        STOP.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host = "[%s]" % args.host if ":" in args.host else args.host
    print("READY %s://%s:%d%s" % (scheme, host, srv.server_address[1],
                                  extra), flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.server_close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
