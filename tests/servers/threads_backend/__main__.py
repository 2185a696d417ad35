"""Launcher: ``/usr/bin/python3 -m tests.servers.threads_backend --port 0``.

Follows tests/servers/harness.py: binds the port itself (0 = a free
one), prints ``READY http://127.0.0.1:PORT uploads_dir=DIR`` as the first
and only stdout line once the app has started, logs to stderr, and exits
0 on SIGTERM (in-flight requests get about a second, then it stops).
"""
import argparse
import asyncio
import os
import shutil
import socket
import sys

from .config import ConfigError, Static

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _log_config(level):
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {
            "format": "threads_backend %(levelname)s %(name)s: "
                      "%(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler",
                                "formatter": "plain",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper()},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING",
                               "propagate": False},
            "threads_backend": {"handlers": ["stderr"],
                                "level": level.upper()},
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.servers.threads_backend",
        description="Offline stand-in for the ThreadClaw FastAPI backend.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    if host not in LOOPBACK and not host.startswith("127."):
        print("threads_backend: --host must be a loopback address",
              file=sys.stderr)
        return 2
    try:
        static = Static(os.environ)
    except ConfigError as e:
        print(f"threads_backend: {e}", file=sys.stderr)
        return 2

    import uvicorn                       # after the cheap checks
    from .app import build

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, args.port))
    except OSError as e:
        print(f"threads_backend: cannot bind {host}:{args.port}: {e}",
              file=sys.stderr)
        sock.close()
        if static.own_state_dir:
            shutil.rmtree(static.state_dir, ignore_errors=True)
        return 2
    sock.listen(128)
    port = sock.getsockname()[1]
    url = f"http://[{host}]:{port}" if family == socket.AF_INET6 else \
        f"http://{host}:{port}"
    asgi, backend = build(static, port)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if not self.should_exit:
                print(f"READY {url} uploads_dir={static.uploads_dir}",
                      flush=True)
                sys.stdout = sys.stderr  # nothing more on stdout, ever

        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            backend.stopping.set()      # wake injected delays and waits
            # Give in-flight requests about a second, then stop anyway.
            asyncio.get_event_loop().call_later(1.0, self._force)

        def _force(self):
            self.force_exit = True

    level = static.log_level if static.log_level in (
        "critical", "error", "warning", "info", "debug") else "warning"
    config = uvicorn.Config(asgi, log_level=level, access_log=False,
                            lifespan="on", proxy_headers=False,
                            log_config=_log_config(level),
                            timeout_keep_alive=5)
    server = Server(config)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        if static.own_state_dir:
            shutil.rmtree(static.state_dir, ignore_errors=True)
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
