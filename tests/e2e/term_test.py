"""Terminal output, as a person at a terminal and a script in a pipe see
it (issue 15, items 4 to 6): the streamed chat's status line erased
before the first token, Ctrl-C keeping the partial answer and saying
what was spent, one live line per task with its elapsed time, plain
lines without escape sequences in a pipe, and one message plus a hint
for a failure.

The terminal is a real pseudo-terminal (fixtures/term.py); the Theta
simulator runs as in theta_test.py, over TLS under the production names.

    /usr/bin/python3 -m pytest tests/e2e/term_test.py -q
"""
import json
import pathlib
import re
import secrets

import pytest

from tests.e2e.conftest import BIN, clean_env
from tests.e2e.fixtures.term import Term
from tests.e2e.fixtures.theta_sim import Sim
from tests.servers import harness

TOKEN = "tsim_" + secrets.token_urlsafe(24)
OD = "ondemand.thetaedgecloud.com"
ERASE = re.compile(rb"\r\x1b\[\d+A\x1b\[J")


SIM_HOSTS = (OD, "storage.googleapis.com",
             "ondemand-outputs.thetaedgecloud.com")


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_TOKEN": TOKEN})
    try:
        yield Sim(server, SIM_HOSTS, extra_env={"THETA_API_KEY": TOKEN})
    finally:
        assert server.stop() == 0


@pytest.fixture
def theta(host, sim, tmp_path):
    sim.reset()
    host.env.update(sim.env())
    host.env["CLAWHOST_STATE_DIR"] = str(tmp_path / "state")
    return host


def term(host, *args):
    env = clean_env(host.home, host.env)
    return Term([BIN, *map(str, args)], env, str(host.dir))


def no_secret(*texts):
    for t in texts:
        t = t.decode(errors="replace") if isinstance(t, bytes) else t
        assert TOKEN not in t


# ---- item 4: a streamed chat that reads well ------------------------------

def test_chat_status_is_erased_before_the_first_token(theta, sim):
    sim.config(first_byte_delay=1.2, token_interval=0.01)
    t = term(theta, "run", "chat", "--message", "Name three rivers")
    try:
        assert t.wait() == 0, t.output
    finally:
        t.close()
    out = t.output
    no_secret(out)
    first = out.index(b"Simulated qwen3 answer")
    before = out[:first]
    # the status was on screen, with its elapsed time and limit...
    assert re.search(rb"qwen3: waiting for the first token \d+s / 120s",
                     before), before
    # ...and the last thing before the answer is its erasure
    assert ERASE.search(before) and before.endswith(b"\x1b[J"), before
    # nothing of the status line sits on the answer's line
    line = out[first:].split(b"\r\n")[0]
    assert b"waiting" not in line and b"\x1b" not in line, line
    assert b"finish_reason: stop" in out


def test_ctrl_c_keeps_the_partial_answer_and_says_what_it_cost(theta, sim):
    sim.config(first_byte_delay=0.2, token_interval=0.3)
    t = term(theta, "run", "chat", "--message", "hello")
    try:
        t.read_until(b"qwen3 answer")
        t.type(b"\x03")
        status = t.wait()
    finally:
        t.close()
    out = t.output
    no_secret(out)
    assert status == 130, out
    first = out.index(b"Simulated")
    after = out[first:]
    # nothing erases the partial answer once it is on screen
    assert b"\x1b" not in after, after
    text = after.decode()
    partial = text.split("\r\n")[0]
    assert partial.startswith("Simulated qwen3 answer"), text
    assert "simulator keeps every answer" not in partial   # it was cut
    m = re.search(r"interrupted: (\d+) tokens, spent \$([0-9.]+) "
                  r"\(reserved \$([0-9.]+)\)", text)
    assert m, text
    assert int(m.group(1)) >= 1
    # no usage arrived: the call counts at its reservation, settled now
    assert m.group(2) == m.group(3)
    ledger = theta.run("ledger", "--open", "--json")
    assert ledger.code == 0, ledger
    assert json.loads(ledger.out) == []


def test_json_chat_carries_the_answer(theta):
    r = theta.run("--json", "run", "chat", "--message", "hi")
    assert r.code == 0, r
    no_secret(r.out, r.err)
    doc = json.loads(r.out)
    assert doc["answer"].startswith("Simulated qwen3 answer to “hi”")
    assert doc["answer_chars"] == len(doc["answer"])
    # without --json the answer was on screen already: counted only
    r = theta.run("run", "chat", "--message", "hi")
    assert r.code == 0, r
    assert r.out.count("Simulated qwen3 answer") == 1


# ---- item 5: long waits that do not look like hangs -----------------------

def blocks(out):
    """Each redraw of the live block: the lines after an erasure."""
    found = []
    for piece in ERASE.split(out)[1:]:
        lines = piece.split(b"\n")[:-1]
        # the terminal's line discipline sends "\n" as "\r\n"
        found.append([ln.decode(errors="replace").rstrip("\r")
                      for ln in lines])
    return found


def test_smoke_shows_one_live_line_per_service(theta, sim):
    sim.config(first_byte_delay=2.5)
    sim.faults(latency={"seconds": 1.5, "count": -1, "routes": ["infer"]})
    t = term(theta, "run", "smoke")
    try:
        assert t.wait() == 0, t.output
    finally:
        t.close()
    out = t.output
    no_secret(out)
    live = re.compile(r"^(\w+): .* \d+s( / \d+s)?$")
    seen = blocks(out)
    # a moment with several services live at once, one line each
    widest = max(seen, key=lambda b: len({ln.split(":")[0] for ln in b
                                          if live.match(ln)}))
    labels = [ln.split(":")[0] for ln in widest if live.match(ln)]
    assert len(labels) >= 3 and len(labels) == len(set(labels)), widest
    # the ticker moved qwen3's time while it waited for its first token
    waits = {ln for b in seen for ln in b
             if ln.startswith("qwen3: waiting for the first token")}
    assert any(re.search(r" [1-9]\d*s / 120s$", w) for w in waits), waits
    # each service ends with one lasting line
    text = ERASE.sub(b"", out).decode()
    for svc in ("qwen3", "flux", "blip", "grounding_dino", "whisper"):
        assert len(re.findall(rf"(?m)^{svc}: success", text)) == 1, text


def test_a_sleeping_wait_costs_almost_no_cpu(host):
    path = host.recipe("""
        local log, task = require "log", require "task"
        return { run = function()
          task.all {
            function() log.progress("a", "waiting", {limit = 9})
                       task.sleep(2.5) end,
            function() log.progress("b", "waiting") task.sleep(2.5) end,
          }
          return 1
        end }
    """)
    t = term(host, "run", path)
    try:
        assert t.wait() == 0, t.output
    finally:
        t.close()
    cpu = t.rusage.ru_utime + t.rusage.ru_stime
    assert cpu < 0.5, cpu
    seen = blocks(t.output)
    assert any(ln.startswith("a: waiting ") and ln.endswith(" / 9s")
               for b in seen for ln in b), seen
    assert any(len(b) == 2 for b in seen), seen


def test_no_escape_sequences_in_a_pipe(theta, sim):
    sim.config(first_byte_delay=1.2)
    r = theta.run("run", "smoke")
    assert r.code == 0, r
    no_secret(r.out, r.err)
    assert "\x1b" not in r.out and "\x1b" not in r.err and \
        "\r" not in r.err, r
    # a line per change of state, with the time once past a second
    assert re.search(r"(?m)^qwen3: (streaming|success) \(\d+s\)$", r.err), \
        r.err
    r = theta.run("run", "chat", "--message", "hi", env={"NO_COLOR": "1"})
    assert r.code == 0, r
    assert "\x1b" not in r.out + r.err, r


def test_control_bytes_in_a_state_never_reach_the_terminal(host):
    path = host.recipe("""
        local log = require "log"
        return { run = function()
          log.progress("x", "evil \\27]0;title\\7 \\27[2J state")
          log.progress("x", "over", {done = true})
          return 1
        end }
    """)
    t = term(host, "run", path)
    try:
        assert t.wait() == 0, t.output
    finally:
        t.close()
    assert b"\x1b]0" not in t.output and b"\x1b[2J" not in t.output
    assert b"evil ?]0;title? ?[2J state" in t.output, t.output


# ---- item 6: errors people can read ---------------------------------------

def test_a_down_service_is_one_message_and_a_hint(theta, sim):
    sim.faults(http_error={"status": 503, "count": -1})
    r = theta.run("run", "chat", "--message", "hi")
    assert r.code == 1, r
    no_secret(r.out, r.err)
    lines = r.err.splitlines()
    assert [ln for ln in lines if ln.startswith("error:")] == [
        "error: chat with qwen3: HTTP 503: simulated upstream error"], r.err
    assert lines[-1].startswith("hint: the service is down for now"), r.err
    assert not any(ln.startswith(("http ", "retrying", "debug:"))
                   for ln in lines), r.err
    # discovery failed too, and says so once
    assert sum("live service discovery failed" in ln for ln in lines) == 1
    assert len(lines) <= 4, r.err
    # the detail is one flag away
    v = theta.run("run", "chat", "--message", "hi", "--verbose")
    assert v.code == 1, v
    vl = v.err.splitlines()
    assert sum(ln.startswith("error:") for ln in vl) == 1, v.err
    assert sum(ln.startswith("debug: http ") for ln in vl) >= 2, v.err
    assert any(ln.startswith("debug: retrying GET") for ln in vl), v.err
    assert any(ln.startswith("debug: detail:") and "status=503" in ln and
               "sent=unknown" in ln for ln in vl), v.err
    assert vl[-1].startswith("hint: "), v.err


def test_discovery_is_tried_once_per_run(theta, sim):
    sim.faults(http_error={"status": 503, "count": -1})
    r = theta.run("run", "smoke")
    assert r.code == 1, r
    no_secret(r.out, r.err)
    assert r.err.count("live service discovery failed") == 1, r.err
    lines = r.err.splitlines()
    assert sum(ln.startswith("error:") for ln in lines) == 1, r.err
    assert lines[-1].startswith("hint: "), r.err
    assert not any(ln.startswith(("http ", "retrying")) for ln in lines)
    # the service list was asked for once (three attempts), not per service
    listed = sim.requests(route="list")
    assert len(listed) == 3, listed


def test_deadline_says_what_to_do(host):
    r = host.run_body("require('task').sleep(5)", "--timeout", "1")
    assert r.code == 124, r
    assert r.err.splitlines()[-1].startswith("hint: raise --timeout"), r


# Codes after which there is nothing for the user to do differently:
# a dry run's refused write, and a run the user cancelled.
NO_HINT = {"dry_run", "cancelled"}


def test_every_error_code_has_its_hint():
    """A failure's last line says what to do (host/cli/hint.c): every
    code of the vocabulary (lua/client/codes.lua) has a line there, so
    a new code cannot end a run without one."""
    root = pathlib.Path(__file__).resolve().parents[2]
    lua = (root / "lua/client/codes.lua").read_text()
    listed = lua[lua.index("local LIST = {"):]
    listed = listed[:listed.index("\n}")]
    codes = set(re.findall(r'"([a-z_]+)"', listed))
    hints = set(re.findall(r'\{"([a-z_]+)",',
                           (root / "host/cli/hint.c").read_text()))
    assert len(codes) > 20
    assert codes - NO_HINT <= hints, sorted(codes - NO_HINT - hints)
    assert hints <= codes, sorted(hints - codes)
