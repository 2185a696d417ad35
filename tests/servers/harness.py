"""Start a local test server as a child process and wait until it listens.

Every server in this folder follows one contract: started with
``--port 0`` it binds a free loopback port and prints, as its first line
on stdout, ``READY <base-url>`` followed by optional ``key=value`` words
(for example ``ca=/path/ca.pem``), and after that writes nothing more
to stdout (logs go to stderr). SIGTERM stops it cleanly.
"""
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class Server:
    def __init__(self, proc, url, info):
        self.proc = proc
        self.url = url
        self.info = info

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(module, args=(), env=None, timeout=30):
    """Run ``python -m tests.servers.<module> --port 0 ARGS`` from the
    repository root and return a Server once it printed READY."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = ROOT
    cmd = [sys.executable, "-u", "-m", "tests.servers." + module,
           "--port", "0", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY "):
            break
        if not line and proc.poll() is not None:
            raise RuntimeError(f"{module} exited with {proc.returncode} "
                               "before it was ready")
    else:
        proc.kill()
        raise RuntimeError(f"{module} not ready after {timeout}s")
    words = line.split()
    info = dict(w.split("=", 1) for w in words[2:] if "=" in w)
    return Server(proc, words[1], info)
