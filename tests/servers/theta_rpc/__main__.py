"""theta_rpc -- local JSON-RPC 2.0 servers of Theta's three RPC surfaces.

    /usr/bin/python3 -m tests.servers.theta_rpc --port 0

serves the EdgeCloud client (``edgecloud.*``), the chain node
(``theta.*``) and the thetacli daemon (``thetacli.*``) each on its own
loopback port, plain HTTP, ``POST /rpc``, and prints as its only stdout
line (tests/servers/harness.py contract)

    READY http://127.0.0.1:P1 edgecloud=http://127.0.0.1:P1/rpc
          chain=http://127.0.0.1:P2/rpc cli=http://127.0.0.1:P3/rpc
          wallet=0x... cli_key=0x... cli_password=...

(one line).  ``--surface edgecloud|chain|cli`` serves one surface
only, on ``--port``.  Three ports rather than one because the client
takes three URLs (reference 5.2: THETA_EDGECLOUD_RPC_URL,
THETA_CHAIN_RPC_URL, THETA_CLI_RPC_URL) and a method sent to the wrong
one must fail as it would (-32601).  The three share one state, so a
thetacli.Send shows up in theta.GetTransaction.  Logs go to stderr
(method and outcome, never params); SIGTERM or SIGINT exits 0.  See
README.md for methods, errors, control routes and faults.
"""
import argparse
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import methods, rpc
from .rpc import RpcError

log = logging.getLogger("theta_rpc")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_BODY = 4 * 1024 * 1024


class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, surface, node):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.surface = surface
        self.node = node
        super().__init__(addr, Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "theta_rpc/1"

    def log_message(self, fmt, *args):
        pass        # one line per call is written by rpc_call instead

    # -- replies ----------------------------------------------------------
    def send(self, status, body=b"", ctype="application/json"):
        self.send_response(status)
        if body or status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj):
        self.send(status, (rpc.dumps(obj)).encode("utf-8"))

    def read_body(self):
        """The request body; BodyError for a bad or too large one."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyError(400, "bad chunk size")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    raise BodyError(413, "request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(8)
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BodyError(400, "bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise BodyError(413, "request body too large")
        return self.rfile.read(n)

    # -- verbs --------------------------------------------------------------
    def do_POST(self):
        path = urlsplit(self.path).path
        try:
            body = self.read_body()
        except BodyError as e:
            self.close_connection = True
            return self.send_json(e.status, {"error": e.message})
        if path.startswith("/__rpc__/"):
            return self.control("POST", path, body)
        if path != "/rpc":
            return self.send_json(404, {"error": "not found: POST %s"
                                        % path})
        self.rpc_call(body)

    def do_GET(self):
        path = urlsplit(self.path).path
        if path.startswith("/__rpc__/"):
            return self.control("GET", path, b"")
        if path == "/rpc":
            return self.send_json(405, {"error": "JSON-RPC wants POST"})
        self.send_json(404, {"error": "not found: GET %s" % path})

    def do_DELETE(self):
        path = urlsplit(self.path).path
        if path.startswith("/__rpc__/"):
            return self.control("DELETE", path, b"")
        self.send_json(405 if path == "/rpc" else 404,
                       {"error": "method not allowed"})

    do_PUT = do_DELETE

    # -- JSON-RPC -----------------------------------------------------------
    def rpc_call(self, body):
        node = self.server.node
        surface = self.server.surface
        started = time.monotonic()
        ctype = self.headers.get("Content-Type")
        entry = {"time": rpc.now_iso(), "surface": surface, "method": None,
                 "id": None, "params_form": None, "params": None,
                 "notification": False, "error": None, "http_status": 200,
                 "content_type": ctype, "body_bytes": len(body)}
        status, reply = self._answer(node, surface, ctype, body, entry)
        entry["http_status"] = status
        node.record(entry)
        log.info("%s %s -> %s (%.3fs)", surface, entry["method"] or "-",
                 "dropped" if reply is _DROP else
                 ("error %s" % entry["error"]["code"] if entry["error"]
                  else status), time.monotonic() - started)
        if reply is _DROP:
            self.close_connection = True
            return
        if isinstance(reply, bytes):
            return self.send(status, reply, "text/plain; charset=utf-8")
        if reply is None:
            return self.send(204)
        self.send_json(status, reply)

    def _answer(self, node, surface, ctype, body, entry):
        """(HTTP status, reply object | text bytes | None | _DROP)."""
        base = (ctype or "").split(";")[0].strip().lower()
        if node.config["require_json_content_type"] and \
                base != "application/json":
            entry["error"] = {"code": None, "message":
                              "HTTP 415 unsupported Content-Type"}
            return 415, ("rpc: unrecognized Content-Type: %s\n"
                         % (ctype or "")).encode()
        rid = None
        try:
            try:
                req = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise RpcError(rpc.PARSE_ERROR)
            if isinstance(req, dict):
                maybe = req.get("id")
                if isinstance(maybe, (int, float, str)) and \
                        not isinstance(maybe, bool):
                    rid = maybe
                entry["method"] = req.get("method") \
                    if isinstance(req.get("method"), str) else None
                params = req.get("params")
                node.remember_secrets(params)
                entry["params"] = node.redact(params)
                entry["params_form"] = rpc.params_form(params)
            entry["id"] = rid
            rid, method, params, notif = rpc.check_request(req)
            entry["notification"] = notif
            fault = self._faults(node, surface, method)
            if fault is not None:
                return fault
            known = methods.METHODS.get(method)
            if known is None or known[0] != surface:
                raise RpcError(rpc.METHOD_NOT_FOUND, "Method not found: %s"
                               % method)
            f = node.take_fault("rpc_error", surface, method)
            if f:
                raise RpcError(f["code"], f["message"])
            result = self._run(node, method, known[1], params)
        except RpcError as e:
            entry["error"] = e.obj()
            if entry["notification"]:
                return 204, None
            return 200, {"jsonrpc": "2.0", "id": rid, "error": e.obj()}
        if notif:
            return 204, None
        return 200, {"jsonrpc": "2.0", "id": rid, "result": result}

    @staticmethod
    def _faults(node, surface, method):
        lat = node.take_fault("latency", surface, method)
        if lat:
            time.sleep(float(lat["seconds"]))
        if node.take_fault("drop", surface, method):
            return 0, _DROP
        f = node.take_fault("http_error", surface, method)
        if f:
            status = int(f["status"])
            if f["body"] == "json":
                return status, {"error": "simulated HTTP %d" % status}
            if f["body"] == "empty":
                return status, b""
            return status, ("simulated HTTP %d\n" % status).encode()
        return None

    @staticmethod
    def _run(node, method, handler, params):
        args = rpc.one_object(params)
        with node.lock:
            if method in methods.TAKES_FORM:
                result = handler(node, args, rpc.params_form(params))
            else:
                result = handler(node, args)
        if isinstance(result, methods.Pending):
            rec = result.rec
            wait = float(node.config["tx_finalize_s"]) - (
                time.monotonic() - rec["t0"])
            if wait > 0:
                time.sleep(wait + 0.001)
            with node.lock:
                result = methods.block_reply(node, rec)
        return result

    # -- control ------------------------------------------------------------
    def control(self, verb, path, body):
        node = self.server.node
        query = parse_qs(urlsplit(self.path).query)

        def q(name):
            vals = query.get(name)
            return vals[-1] if vals else None
        try:
            payload = json.loads(body or b"{}") if verb == "POST" else None
        except ValueError:
            return self.send_json(400, {"error": "control body must be "
                                        "JSON"})
        try:
            if path == "/__rpc__/health" and verb == "GET":
                return self.send_json(200, {"ok": True,
                                            "surface": self.server.surface})
            if path == "/__rpc__/calls" and verb == "GET":
                rows = node.calls_view(q("surface"), q("method"))
                return self.send_json(200, {"calls": rows,
                                            "count": len(rows)})
            if path == "/__rpc__/state" and verb == "GET":
                return self.send_json(200, node.state_view())
            if path == "/__rpc__/reset" and verb == "POST":
                node.reset()
                return self.send_json(200, {"ok": True})
            if path == "/__rpc__/config" and verb in ("GET", "POST"):
                with node.lock:
                    if verb == "POST":
                        node.update_config(payload)
                    return self.send_json(200, {"config": node.config})
            if path == "/__rpc__/faults":
                with node.lock:
                    if verb == "POST":
                        node.set_faults(payload)
                    elif verb == "DELETE":
                        node.faults = {}
                    return self.send_json(200, {"faults": node.faults})
        except rpc.ControlError as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": "unknown control route %s %s"
                             % (verb, path)})


_DROP = object()


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m tests.servers.theta_rpc",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0,
                    help="port of the first surface (0 = any free port)")
    ap.add_argument("--chain-port", type=int, default=0,
                    help="port of the chain surface with --surface all")
    ap.add_argument("--cli-port", type=int, default=0,
                    help="port of the thetacli surface with --surface all")
    ap.add_argument("--host", default="127.0.0.1",
                    help="loopback address (127.0.0.1 or ::1)")
    ap.add_argument("--surface", default="all",
                    choices=("all",) + rpc.SURFACES,
                    help="serve all three surfaces (default) or one")
    ap.add_argument("--config", help="JSON object merged into the config "
                    "(env THETA_RPC_CONFIG)")
    ap.add_argument("--faults", help="JSON object of fault switches "
                    "(env THETA_RPC_FAULTS)")
    ap.add_argument("--quiet", action="store_true",
                    help="log warnings only (env THETA_RPC_LOG=quiet)")
    return ap.parse_args(argv)


def _json_env(env, args_value, var):
    out = {}
    for text, what in ((env.get(var), var), (args_value, "--" + var.split(
            "_")[-1].lower())):
        if not text:
            continue
        try:
            val = json.loads(text)
        except ValueError as e:
            raise rpc.ControlError("%s is not valid JSON: %s" % (what, e))
        if not isinstance(val, dict):
            raise rpc.ControlError("%s must be a JSON object" % what)
        out.update(val)
    return out


def main(argv=None):
    args = parse_args(argv)
    env = os.environ
    quiet = args.quiet or env.get("THETA_RPC_LOG") == "quiet"
    logging.basicConfig(stream=sys.stderr,
                        level=logging.WARNING if quiet else logging.INFO,
                        format="theta_rpc: %(message)s")
    if args.host not in LOOPBACK:
        log.error("refusing to listen on %s: loopback only", args.host)
        return 2
    host = "127.0.0.1" if args.host == "localhost" else args.host
    wallet = env.get("THETA_RPC_WALLET") or None
    if wallet and not methods.ADDRESS.fullmatch(wallet):
        log.error("THETA_RPC_WALLET must be 0x followed by 40 hex digits")
        return 2
    password = env.get("THETA_RPC_CLI_PASSWORD") or None
    if password and (len(password) < 8 or
                     not re.fullmatch(r"[!-~]+", password)):
        log.error("THETA_RPC_CLI_PASSWORD must be 8+ printable ASCII "
                  "characters without spaces")
        return 2
    try:
        cfg = _json_env(env, args.config, "THETA_RPC_CONFIG")
        faults = _json_env(env, args.faults, "THETA_RPC_FAULTS")
        node = methods.ThetaNode(wallet, password, cfg, faults)
    except rpc.ControlError as e:
        log.error("%s", e)
        return 2
    wanted = rpc.SURFACES if args.surface == "all" else (args.surface,)
    ports = {"edgecloud": args.port, "chain": args.chain_port,
             "cli": args.cli_port}
    if args.surface != "all":
        ports[args.surface] = args.port
    servers = []
    try:
        for surface in wanted:
            servers.append(Server((host, ports[surface]), surface, node))
    except OSError as e:
        log.error("cannot listen: %s", e)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    shown = "[%s]" % host if ":" in host else host
    urls = {s.surface: "http://%s:%d" % (shown, s.server_address[1])
            for s in servers}
    words = ["READY", urls[wanted[0]]]
    words += ["%s=%s/rpc" % (s, urls[s]) for s in wanted]
    words += ["wallet=" + node.wallet, "cli_key=" + node.cli_key,
              "cli_password=" + node.cli_password]
    sys.stdout.write(" ".join(words) + "\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr     # contract: nothing more on stdout
    log.info("serving %s", ", ".join("%s on %s" % (s, urls[s])
                                     for s in wanted))
    while not stop.wait(0.5):
        pass
    log.info("stopping")
    for srv in servers:
        srv.shutdown()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
