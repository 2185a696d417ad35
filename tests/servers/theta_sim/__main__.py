"""theta_sim -- local HTTPS simulator of Theta EdgeCloud's APIs.

    /usr/bin/python3 -m tests.servers.theta_sim --port 0

prints ``READY https://127.0.0.1:PORT ca=/tmp/.../ca.pem token=TOKEN
api_key=KEY project=prj_... org=org_... video_sa=srvacc_...
video_secret=SECRET`` as its only stdout line
(tests/servers/harness.py contract), logs to stderr, and exits 0 on
SIGTERM or SIGINT, removing its temporary certificates.  See README.md
in this folder for routes, switches and the ledger.
"""
import argparse
import asyncio
import json
import logging
import os
import secrets
import shutil
import signal
import ssl
import sys
import tempfile

from . import catalog, certs
from .app import App, err
from .httpio import MAX_HEADER, Conn, HttpError
from .state import PROFILES, ConfigError, Sim, new_id

log = logging.getLogger("theta_sim")
LOOPBACK = ("127.0.0.1", "::1", "localhost")

# Credentials and ids: env var -> how to make one when it is unset.
IDENTITY = (
    ("THETA_SIM_TOKEN", lambda: "tsim_" + secrets.token_urlsafe(24)),
    ("THETA_SIM_API_KEY", lambda: "tsk_" + secrets.token_urlsafe(24)),
    ("THETA_SIM_PROJECT_ID", lambda: catalog.PROJECT_ID),
    ("THETA_SIM_ORG_ID", lambda: catalog.ORG_ID),
    ("THETA_SIM_VIDEO_SA_ID", lambda: new_id("srvacc_", 25)),
    ("THETA_SIM_VIDEO_SA_SECRET", lambda: new_id("", 32)),
)

ENV_CONFIG = {
    # env var -> (config key, type)
    "THETA_SIM_TIME_SCALE": ("time_scale", float),
    "THETA_SIM_FIRST_BYTE_DELAY": ("first_byte_delay", float),
    "THETA_SIM_TOKEN_INTERVAL": ("token_interval", float),
    "THETA_SIM_PRESIGN_SHAPE": ("presign_shape", str),
    "THETA_SIM_QUOTA_10MIN": ("quota_10min", int),
    "THETA_SIM_QUOTA_DAILY": ("quota_daily", int),
}


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m tests.servers.theta_sim",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0,
                    help="TCP port (0 = any free port)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="loopback address to bind (127.0.0.1 or ::1)")
    ap.add_argument("--profile", choices=sorted(PROFILES),
                    help="timing profile (default fast; env "
                    "THETA_SIM_PROFILE)")
    ap.add_argument("--config", help="JSON object merged into the config, "
                    "as POST /__sim__/config (env THETA_SIM_CONFIG)")
    ap.add_argument("--faults", help="JSON object of fault switches, as "
                    "POST /__sim__/faults (env THETA_SIM_FAULTS)")
    ap.add_argument("--cert-dir", help="write the CA and certificate here "
                    "and keep them (default: a temp dir removed at exit)")
    ap.add_argument("--extra-san", action="append", default=[],
                    help="another DNS name for the certificate")
    ap.add_argument("--quiet", action="store_true",
                    help="log warnings only (env THETA_SIM_LOG=quiet)")
    return ap.parse_args(argv)


def _json_arg(text, what):
    try:
        val = json.loads(text)
    except ValueError as e:
        raise ConfigError("%s is not valid JSON: %s" % (what, e))
    if not isinstance(val, dict):
        raise ConfigError("%s must be a JSON object" % what)
    return val


def build_config(args, env):
    cfg = {}
    prof = args.profile or env.get("THETA_SIM_PROFILE")
    if prof:
        cfg["profile"] = prof
    for var, (key, typ) in ENV_CONFIG.items():
        if env.get(var):
            try:
                cfg[key] = typ(env[var])
            except ValueError:
                raise ConfigError("%s: bad value %r" % (var, env[var]))
    if env.get("THETA_SIM_CONFIG"):
        cfg.update(_json_arg(env["THETA_SIM_CONFIG"], "THETA_SIM_CONFIG"))
    if args.config:
        cfg.update(_json_arg(args.config, "--config"))
    faults = {}
    if env.get("THETA_SIM_FAULTS"):
        faults.update(_json_arg(env["THETA_SIM_FAULTS"], "THETA_SIM_FAULTS"))
    if args.faults:
        faults.update(_json_arg(args.faults, "--faults"))
    return cfg, faults


def ssl_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])

    def remember_sni(ssl_obj, name, _ctx):
        try:
            ssl_obj.theta_sim_sni = name
        except AttributeError:
            pass
        return None
    ctx.sni_callback = remember_sni
    return ctx


def _quiet_loop_errors(loop, context):
    exc = context.get("exception")
    if isinstance(exc, (ssl.SSLError, ConnectionError, OSError)):
        log.debug("connection error: %s", exc)
        return
    loop.default_exception_handler(context)


async def serve(sim, ctx, host, port, ca_path):
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_loop_errors)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = App(sim)
    tasks = set()

    async def on_conn(reader, writer):
        task = asyncio.current_task()
        tasks.add(task)
        conn = Conn(reader, writer)
        conn.last_keep = False
        try:
            while True:
                try:
                    req = await asyncio.wait_for(
                        conn.read_request(),
                        float(sim.config["idle_timeout"]))
                except asyncio.TimeoutError:
                    break
                except HttpError as e:
                    resp = err(e.status, e.message)
                    await conn.send(None, e.status, [
                        ("Content-Type", resp.ctype)], resp.body())
                    break
                if req is None or not await app.handle(conn, req):
                    break
        except (ConnectionError, OSError, asyncio.IncompleteReadError,
                ssl.SSLError):
            pass
        except asyncio.CancelledError:
            conn.abort(rst=False)
            raise
        except Exception:
            log.exception("unhandled error")
        finally:
            tasks.discard(task)
            if not conn.closed:
                await conn.close()

    server = await asyncio.start_server(on_conn, host, port, ssl=ctx,
                                        ssl_handshake_timeout=10,
                                        limit=MAX_HEADER)
    bound = server.sockets[0].getsockname()[1]
    shown = "[%s]" % host if ":" in host else host
    sys.stdout.write("READY https://%s:%d ca=%s token=%s api_key=%s "
                     "project=%s org=%s video_sa=%s video_secret=%s\n"
                     % (shown, bound, ca_path, sim.token, sim.api_key,
                        sim.project_id, sim.org_id, sim.video_sa_id,
                        sim.video_sa_secret))
    sys.stdout.flush()
    sys.stdout = sys.stderr     # contract: nothing more on stdout
    log.info("listening on %s:%d", host, bound)
    await stop.wait()
    log.info("stopping")
    server.close()
    for t in list(tasks):
        t.cancel()
    if tasks:
        await asyncio.wait(list(tasks), timeout=2)


def main(argv=None):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    args = parse_args(argv)
    env = os.environ
    quiet = args.quiet or env.get("THETA_SIM_LOG") == "quiet"
    logging.basicConfig(stream=sys.stderr,
                        level=logging.WARNING if quiet else logging.INFO,
                        format="theta_sim: %(message)s")
    if args.host not in LOOPBACK:
        log.error("refusing to listen on %s: loopback only", args.host)
        return 2
    ident = {}
    for var, fresh in IDENTITY:
        val = env.get(var) or fresh()
        if any(c.isspace() for c in val) or not val.isprintable():
            log.error("%s must be printable without spaces", var)
            return 2
        ident[var] = val
    try:
        cfg, faults = build_config(args, env)
        sim = Sim(ident["THETA_SIM_TOKEN"], cfg, faults,
                  api_key=ident["THETA_SIM_API_KEY"],
                  project_id=ident["THETA_SIM_PROJECT_ID"],
                  org_id=ident["THETA_SIM_ORG_ID"],
                  video_sa_id=ident["THETA_SIM_VIDEO_SA_ID"],
                  video_sa_secret=ident["THETA_SIM_VIDEO_SA_SECRET"])
    except ConfigError as e:
        log.error("%s", e)
        return 2
    tmp = None
    try:
        if args.cert_dir:
            os.makedirs(args.cert_dir, exist_ok=True)
            cdir = args.cert_dir
        else:
            cdir = tmp = tempfile.mkdtemp(prefix="theta_sim_")
        ca, cert, key = certs.make(cdir, args.extra_san)
        ctx = ssl_context(cert, key)
        host = "127.0.0.1" if args.host == "localhost" else args.host
        asyncio.run(serve(sim, ctx, host, args.port, ca))
    except KeyboardInterrupt:
        pass
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
