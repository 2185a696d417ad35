"""canary -- a loopback listener that only records who connected.

    /usr/bin/python3 -m tests.servers.canary --port 0

prints ``READY tcp://127.0.0.1:PORT control=http://127.0.0.1:CTRL`` as
its only stdout line (tests/servers/harness.py contract) and exits 0 on
SIGTERM. It listens on 127.0.0.1:PORT, and on [::1]:PORT too when that
port is free there, so every loopback spelling of the address lands here.
Each accepted connection is counted, up to 512 bytes of what the client
sends first are kept (a TLS ClientHello, a proxy CONNECT, a request
line), and the connection is closed. /count first accepts whatever is
still waiting in the backlog, so it is exact even when asked the moment
a client exits. A test asserts that the count stays
zero: nothing the policy refused may reach a listening socket.

The control server (plain HTTP on CTRL, never counted):

  GET /count   {"accepted": N, "first_bytes": ["...", ...]}
  GET /reset   forget everything
"""
import argparse
import json
import select
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SEEN = []
READERS = []
SOCKS = []
STOP = threading.Event()


def drain(sock):
    """Accept every connection waiting in the backlog (non-blocking)."""
    while True:
        try:
            conn, peer = sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        entry = {"peer": list(peer[:2]), "first_bytes": ""}
        t = threading.Thread(target=record, args=(conn, entry),
                             daemon=True)
        with LOCK:
            SEEN.append(entry)
            READERS.append(t)
        t.start()


def serve(sock):
    while not STOP.is_set():
        r, _, _ = select.select([sock], [], [], 0.2)
        if r:
            drain(sock)


def record(conn, entry):
    try:
        conn.settimeout(0.3)
        data = conn.recv(512)
        entry["first_bytes"] = data.decode("latin-1")
    except OSError:
        pass
    finally:
        conn.close()


def settle():
    """Count what the kernel has accepted so far and wait until the first
    bytes of each connection are read, so /count is exact when asked
    right after a client exited."""
    for sock in SOCKS:
        drain(sock)
    with LOCK:
        readers = list(READERS)
    for t in readers:
        t.join(1.0)


class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/reset":
            settle()
            with LOCK:
                SEEN.clear()
                READERS.clear()
            body = {"ok": True}
        elif self.path == "/count":
            settle()
            with LOCK:
                body = {"accepted": len(SEEN),
                        "first_bytes": [e["first_bytes"] for e in SEEN],
                        "peers": [e["peer"] for e in SEEN]}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def listen(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(64)
    s.setblocking(False)
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.servers.canary")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    socks = [listen(socket.AF_INET, "127.0.0.1", args.port)]
    port = socks[0].getsockname()[1]
    try:
        socks.append(listen(socket.AF_INET6, "::1", port))
    except OSError:
        pass
    SOCKS.extend(socks)
    for s in socks:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    ctrl = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    ctrl.daemon_threads = True

    def stop(*_):
        STOP.set()
        threading.Thread(target=ctrl.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY tcp://127.0.0.1:%d control=http://127.0.0.1:%d"
          % (port, ctrl.server_address[1]), flush=True)
    try:
        ctrl.serve_forever(poll_interval=0.1)
    finally:
        ctrl.server_close()
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
