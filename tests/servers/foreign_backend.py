"""foreign_backend -- a Threads backend that is not ours.

    /usr/bin/python3 -m tests.servers.foreign_backend --port 0

prints ``READY http://127.0.0.1:PORT`` as its only stdout line
(tests/servers/harness.py contract), logs to stderr, exits 0 on
SIGTERM. Standard library only, loopback only, one thread per
connection.

Real users run their own backends, and those answer in their own
shapes. This one takes the skill's POSTs (``/api/v1/threads/publish``
and ``/api/v1/assistant/chat``), stores every one it accepts as a
"post", and answers the way a test tells it to. It never checks the
queue secret or the body: it is about replies, not validation.

Control (JSON bodies; not recorded):

  POST /__foreign__/reset        forget posts, keys and the config
  POST /__foreign__/config       merge settings into the config:
      publish: {status, body, content_type, headers}
      chat:    the same, for /api/v1/assistant/chat
          the reply of a stored post. ``body`` is text in which
          ``{id}`` becomes the new post's id (p1, p2, ...) and
          ``{key}`` the request's Idempotency-Key; status 204 sends
          no body. Default: 200 {"ok": true, "id": "{id}"}.
      keys: "ignore" (default: every POST stores a new post) or
          "honour" (a key seen before gets the first reply again,
          and nothing new is stored)
      echo_key: true        every reply carries the request's
                            Idempotency-Key header back
      replay_header: true   a replayed reply has Idempotency-Replayed:
                            true
      replay_body: true     a replayed JSON object reply has
                            "idempotent_replay": true
      drop: N               the next N POSTs are stored, then the
                            connection is closed without any reply
      fail: N               the next N POSTs are stored, then answered
                            500 with a text/plain body
      delay_ms: MS          the next POST is stored, then answered MS
                            ms later (a client's timeout)
  GET /__foreign__/posts     {"posts": [{id, path, key, body}, ...]}:
                             every stored post, in order
  GET /__foreign__/requests  {"requests": [{path, key}, ...]}: every
                             POST that arrived, stored or not
"""
import argparse
import json
import logging
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PUBLISH = "/api/v1/threads/publish"
CHAT = "/api/v1/assistant/chat"
DEFAULT_REPLY = {"status": 200, "body": '{"ok": true, "id": "{id}"}',
                 "content_type": "application/json", "headers": {}}

log = logging.getLogger("foreign_backend")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.config = {"keys": "ignore", "echo_key": False,
                       "replay_header": False, "replay_body": False,
                       "drop": 0, "fail": 0, "delay_ms": 0}
        self.posts = []
        self.requests = []
        self.replies = {}          # (path, key) -> (status, headers, body)

    def take(self, name):
        if self.config.get(name, 0) > 0:
            self.config[name] -= 1
            return True
        return False


STATE = State()


def reply_spec(path):
    name = "chat" if path == CHAT else "publish"
    spec = dict(DEFAULT_REPLY)
    spec.update(STATE.config.get(name) or {})
    return spec


def render(spec, post_id, key):
    text = str(spec.get("body", ""))
    text = text.replace("{id}", post_id).replace("{key}", key or "")
    headers = {"Content-Type": spec.get("content_type") or
               "application/json"}
    headers.update(spec.get("headers") or {})
    return int(spec.get("status", 200)), headers, text.encode()


def mark_replay(reply):
    status, headers, body = reply
    headers = dict(headers)
    if STATE.config.get("replay_header"):
        headers["Idempotency-Replayed"] = "true"
    if STATE.config.get("replay_body"):
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            doc["idempotent_replay"] = True
            body = json.dumps(doc).encode()
    return status, headers, body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, headers, body, key=None):
        try:
            self._send(status, headers, body, key)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True    # the client gave up

    def _send(self, status, headers, body, key):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if key is not None and STATE.config.get("echo_key"):
            self.send_header("Idempotency-Key", key)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def send_json(self, doc, status=200):
        self.send(status, {"Content-Type": "application/json"},
                  json.dumps(doc).encode())

    def drop(self):
        """Close the connection without a single byte of reply."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        path = self.path.split("?")[0]
        with STATE.lock:
            if path == "/__foreign__/posts":
                return self.send_json({"posts": list(STATE.posts)})
            if path == "/__foreign__/requests":
                return self.send_json({"requests": list(STATE.requests)})
        self.send_json({"detail": "Not Found"}, 404)

    def do_POST(self):
        path = self.path.split("?")[0]
        raw = self.read_body()
        if path.startswith("/__foreign__/"):
            return self.control(path, raw)
        if path not in (PUBLISH, CHAT):
            return self.send_json({"detail": "Not Found"}, 404)
        key = self.headers.get("Idempotency-Key")
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with STATE.lock:
            STATE.requests.append({"path": path, "key": key})
            honour = STATE.config.get("keys") == "honour" and key
            known = STATE.replies.get((path, key)) if honour else None
            if known is not None:
                reply = mark_replay(known)
                drop = fail = False
            else:
                post_id = "p%d" % (len(STATE.posts) + 1)
                STATE.posts.append({"id": post_id, "path": path,
                                    "key": key, "body": body})
                reply = render(reply_spec(path), post_id, key)
                if honour:
                    STATE.replies[(path, key)] = reply
                drop = STATE.take("drop")
                fail = not drop and STATE.take("fail")
            delay = STATE.config.get("delay_ms", 0)
            STATE.config["delay_ms"] = 0
        if delay:
            time.sleep(delay / 1000)
        if drop:
            return self.drop()
        if fail:
            return self.send(500, {"Content-Type": "text/plain"},
                             b"Internal Server Error", key)
        self.send(*reply, key=key)

    def control(self, path, raw):
        try:
            doc = json.loads(raw or b"{}")
        except ValueError:
            return self.send_json({"detail": "bad JSON"}, 400)
        with STATE.lock:
            if path == "/__foreign__/reset":
                STATE.reset()
            elif path == "/__foreign__/config" and isinstance(doc, dict):
                STATE.config.update(doc)
            else:
                return self.send_json({"detail": "Not Found"}, 404)
            config = dict(STATE.config)
        self.send_json({"ok": True, "config": config})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tests.servers.foreign_backend")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(stream=sys.stderr,
                        level=logging.INFO if args.verbose else
                        logging.WARNING,
                        format="foreign_backend: %(message)s")
    srv = Server(("127.0.0.1", args.port), Handler)

    def stop(*_):
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
