"""End-to-end tests of the Theta on-demand recipes (services, infer,
status, upload-url, chat, smoke and their MCP names) and lua/theta/,
against the simulator in tests/servers/theta_sim running as a real
process over TLS under the production host names.

    /usr/bin/python3 -m pytest tests/e2e/theta_test.py -q
    CLAWHOST_BIN=build/asan/clawhost /usr/bin/python3 -m pytest ...

The simulator is started once (fast profile) and reset before every
test. Every test has its own CLAWHOST_STATE_DIR, so its spend ledger
starts empty. Every clawhost run goes through `Theta.run`/`Theta.popen`,
which keep stdout and stderr; each test checks that the token appears in
none of them, and the last test checks the whole collection once more.
"""
import json
import os
import secrets
import select
import signal
import subprocess
import time
from decimal import Decimal

import pytest

from tests.e2e.fixtures import theta_sim
from tests.servers import harness

TOKEN = "tsim_" + secrets.token_urlsafe(24)
OD = "ondemand.thetaedgecloud.com"
SMOKE_DEFAULT = ["qwen3", "flux", "blip", "grounding_dino", "whisper"]

# (stdout, stderr) of every clawhost run in this module
OUTPUTS = []

# what ASan, LSan and UBSan print (CLAWHOST_BIN=.../build/asan/clawhost)
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def check_output(out, err):
    OUTPUTS.append((out, err))
    assert TOKEN not in out and TOKEN not in err, (out, err)
    for mark in SANITIZER_MARKS:
        assert mark not in err, err


# ---- the simulator -----------------------------------------------------

SIM_HOSTS = (OD, "storage.googleapis.com",
             "ondemand-outputs.thetaedgecloud.com")


class Sim(theta_sim.Sim):
    def __init__(self, server):
        super().__init__(server, SIM_HOSTS)

    def paid_posts(self):
        return [r for r in self.requests(method="POST")
                if r["route"] in ("infer", "chat")]


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_TOKEN": TOKEN})
    assert server.info["token"] == TOKEN
    try:
        yield Sim(server)
    finally:
        assert server.stop() == 0


class Theta:
    """clawhost runs wired to the simulator, with their own ledger."""

    def __init__(self, host, sim, state):
        self.host = host
        self.sim = sim
        self.state = state
        self.base = {**sim.env(), "THETA_API_KEY": TOKEN,
                     "CLAWHOST_STATE_DIR": str(state)}

    def env(self, env=None, token=True):
        e = {**self.base, **(env or {})}
        if not token:
            e.pop("THETA_API_KEY")
        return e

    def run(self, *args, env=None, token=True, timeout=60):
        r = self.host.run(*args, env=self.env(env, token), timeout=timeout)
        check_output(r.out, r.err)
        return r

    def popen(self, *args, env=None):
        return self.host.popen(*args, env=self.env(env))

    def finish(self, proc, timeout=30):
        out, err = proc.communicate(timeout=timeout)
        check_output(out, err)
        return out, err

    def ledger(self):
        r = self.run("ledger", "--json")
        assert r.code == 0, r
        return r.json()

    def open_reservations(self):
        r = self.run("ledger", "--open", "--json")
        assert r.code == 0, r
        return json.loads(r.out)


@pytest.fixture
def theta(host, sim, tmp_path):
    sim.reset()
    return Theta(host, sim, tmp_path / "state")


def dec(x):
    return Decimal(str(x))


def by_service(ledger):
    return {g["key"]: g for g in ledger["service"]}


# ---- services ------------------------------------------------------------

def test_services_live_with_category_filter(theta):
    r = theta.run("run", "services", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["source"] == "live"
    aliases = {s["alias"] for s in doc["services"]}
    assert {"qwen3", "gpt_oss_120b", "flux", "blip", "whisper"} <= aliases
    qwen = next(s for s in doc["services"] if s["alias"] == "qwen3")
    assert qwen["price"] == "$0.20 / $0.40 per 1M tokens (in / out)"
    assert "parallax_32b_fp8" in qwen["variants"]
    # the category filter is client-side; MCP name works too
    r = theta.run("run", "list_services", "--category", "vision", "--json")
    assert r.code == 0, r
    assert sorted(s["alias"] for s in r.json()["services"]) == \
        ["blip", "grounding_dino", "llava"]
    r = theta.run("run", "services", "--category", "music")
    assert r.code == 2, r
    # listing needs no token and sends none
    r = theta.run("run", "services", "--category", "audio", token=False)
    assert r.code == 0, r
    assert "whisper" in r.out
    assert not any(q["authorization_present"]
                   for q in theta.sim.requests(route="list"))


def test_services_fall_back_to_the_bundled_catalog(theta):
    theta.sim.faults(http_error={"status": 500, "routes": ["list"],
                                 "count": -1})
    r = theta.run("run", "services", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["source"] == "catalog"
    assert "live service discovery failed" in doc["warning"]
    assert "warning: live service discovery failed" in r.err
    assert "step_video" in {s["alias"] for s in doc["services"]}
    # a stale bundled alias reaches the API, whose 404 lists close names
    r = theta.run("run", "infer", "--service", "step_video", "--prompt", "x")
    assert r.code == 1, r
    assert "'step_video' does not exist" in r.err
    assert theta.ledger()["committed"] == 0


# ---- infer, status, upload-url ---------------------------------------------

def test_infer_polls_and_settles_from_usage(theta):
    r = theta.run("run", "infer", "--service", "flux", "--prompt",
                  "a lighthouse", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["state"] == "success"
    assert doc["output"]["image_url"].startswith(
        "https://ondemand-outputs.thetaedgecloud.com/")
    assert doc["reserved_usd"] == "0.01" and doc["spent_usd"] == "0.01"
    req = theta.sim.requests(route="infer")[0]
    assert req["target"].startswith("/infer_request/flux?")
    assert "prediction=generate_image" in req["target"]
    body = json.loads(req["body"])
    assert body == {"input": {"prompt": "a lighthouse"}}
    led = theta.ledger()
    assert dec(led["settled"]) == Decimal("0.01") and led["open"] == 0
    assert by_service(led)["flux"]["calls"] == 1


def test_infer_no_poll_then_status_and_mcp_names(theta):
    theta.sim.config(job_times={"blip": [0.3, 0.3]})
    up = theta.run("run", "get_upload_url", "--service", "blip", "--json")
    assert up.code == 0, up
    slot = up.json()["uploads"]["input_img"]
    assert slot["presigned_url"].startswith("https://storage.googleapis.com/")
    # --file uploads through the presigned URL with no Theta token
    png = theta.host.dir / "in.png"
    png.write_bytes(b"a cat on a mat")
    r = theta.run("run", "upload-url", "--service", "blip", "--file", png,
                  "--json")
    assert r.code == 0, r
    filename = r.json()["filename"]
    ups = theta.sim.uploads()
    assert any(u["filename"] == filename and u["uploaded"] for u in ups)
    assert not any(u["authorization_sent"] for u in ups)
    assert not any(q["authorization_present"] for q in
                   theta.sim.requests(host="storage.googleapis.com"))
    r = theta.run("run", "infer", "--service", "blip", "--input",
                  json.dumps({"input_img": filename}), "--wait", "0",
                  "--no-poll", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["state"] == "pending"
    assert doc["spent_usd"] == "0.01" and "not known yet" in doc["note"]
    rid = doc["request_id"]
    deadline = time.monotonic() + 10
    while True:
        s = theta.run("run", "get_request_status", "--request-id", rid,
                      "--json")
        assert s.code == 0, s
        if s.json()["state"] == "success" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    st = s.json()
    assert st["state"] == "success"
    assert st["output"]["caption"] == "a photo of a cat on a mat"
    assert st["cost_usd"] == "0.01"
    r = theta.run("run", "status", "--request-id", "infr_rqst_nope")
    assert r.code == 1 and "not found" in r.err, r


def test_an_unreadable_answer_is_counted_at_the_reservation(theta):
    # the job ran (and was billed) but its answer was cut: unknown cost
    theta.sim.faults(truncate_json={"mode": "close", "routes": ["infer"]})
    r = theta.run("run", "infer", "--service", "flux", "--prompt", "x")
    assert r.code == 1, r
    led = theta.ledger()
    assert dec(led["settled"]) == Decimal("0.01") and led["open"] == 0
    assert dec(theta.sim.ledger()["total_usd_decimal"]) == Decimal("0.01")


def test_unknown_service_lists_close_names_and_sends_nothing(theta):
    r = theta.run("run", "infer", "--service", "fluxx", "--prompt", "x")
    assert r.code == 1, r
    assert "'fluxx' does not exist" in r.err and "flux" in r.err
    r = theta.run("run", "chat", "--service", "qwen", "--message", "hi")
    assert r.code == 1, r
    assert "did you mean qwen3?" in r.err
    assert theta.sim.requests(method="POST") == []
    assert theta.ledger()["committed"] == 0


def test_a_call_that_stops_early_gives_back_the_callers_reservation(theta):
    # The smoke run reserves before it calls; a call that then stops
    # before sending (no key, unknown service, not a chat service) must
    # release that reservation, not leave it to be counted as spent.
    probe = theta.host.recipe("""
        local budget = require "budget"
        local od = require "theta.ondemand"
        local chat = require "theta.chat"
        local catalog = require "theta.catalog"
        local entry = catalog.bundled_entry("qwen3")
        local MSG = { { role = "user", content = "hi" } }
        local function try(fn, args)
          local r = assert(od.reserve(nil, entry, { max_tokens = 100 }))
          args.reservation = r
          local res, err = fn(args)
          return { ok = res ~= nil, code = err and err.code,
                    open = r.open, spent = r.spent,
                    reserved = budget.status().reserved }
        end
        return { run = function(ctx)
          return {
            no_key = try(function(a) return chat.chat(ctx, a) end,
                         { service = "qwen3", messages = MSG }),
            unknown = try(function(a) return od.infer(ctx, a) end,
                          { service = "fluxx", input = { prompt = "x" } }),
            not_chat = try(function(a) return chat.chat(ctx, a) end,
                           { service = "flux", messages = MSG }),
          }
        end }
    """)
    r = theta.run("run", probe, "--json", token=False)
    assert r.code == 0, r
    doc = r.json()
    assert doc["no_key"]["code"] == "config", doc
    assert doc["unknown"]["code"] == "not_found", doc
    assert doc["not_chat"]["code"] == "usage", doc
    for case in doc.values():
        assert case["ok"] is False and case["open"] is False, doc
        assert case["spent"] == 0 and case["reserved"] == 0, doc
    assert theta.sim.requests(method="POST") == []
    assert theta.ledger()["committed"] == 0
    assert theta.open_reservations() == []


# ---- chat ------------------------------------------------------------------

def test_chat_streams_tokens_before_the_stream_ends(theta):
    theta.sim.config(first_byte_delay=0.2, token_interval=0.08)
    proc = theta.popen("run", "chat", "--message", "Name three rivers")
    fd = proc.stdout.fileno()
    got, first_at, seen_streaming, alive_at_first = b"", None, None, None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        piece = os.read(fd, 4096)
        if not piece:
            break
        got += piece
        if first_at is None and b"Simulated" in got:
            first_at = time.monotonic()
            alive_at_first = proc.poll() is None
            entry = theta.sim.ledger()["entries"][-1]
            seen_streaming = (entry["state"], entry["stream_completed"])
    rest_out, err = theta.finish(proc)
    ended_at = time.monotonic()
    out = got.decode() + rest_out
    assert proc.returncode == 0, (out, err)
    # the first token reached stdout while the process still ran and the
    # simulator was still sending the stream
    assert first_at is not None and alive_at_first, out
    assert seen_streaming == ("streaming", False)
    assert first_at < ended_at
    answer = out.split("\n")[0]
    assert answer.startswith(
        "Simulated qwen3 answer to “Name three rivers”")
    assert "café ☕ naïve 😀 résumé" in answer
    assert "spent_usd:" in out and "finish_reason: stop" in out
    # the job path: qwen3?prediction=completions, parallax, stream, wait 60
    req = theta.sim.requests(route="infer", service="qwen3")[0]
    assert "prediction=completions" in req["target"]
    assert "wait=60" in req["target"]
    body = json.loads(req["body"])
    assert body["variant"] == "parallax_32b_fp8"
    assert body["input"]["stream"] is True
    assert body["input"]["max_tokens"] == 500
    sim_entry = theta.sim.ledger()["entries"][0]
    led = theta.ledger()
    assert dec(led["settled"]) == dec(sim_entry["usd_decimal"])


def test_chat_gpt_oss_openai_path_and_reasoning(theta):
    r = theta.run("run", "chat", "--service", "gpt_oss_120b", "--message",
                  "Say hello", "--no-stream", "--show-reasoning", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["answer"].startswith("Simulated gpt_oss_120b answer")
    assert doc["reasoning"].startswith("Let me think")
    assert doc["reasoning"] not in doc["answer"]
    req = theta.sim.requests(route="chat")[0]
    assert req["path"] == "/infer_request/chat/completions"
    body = json.loads(req["body"])
    assert body["model"] == "gpt_oss_120b"
    assert body["max_tokens"] == 1800
    assert body["reasoning_effort"] == "low"
    assert body["stream"] is False
    assert "input" not in body
    sim_usd = dec(theta.sim.ledger()["entries"][0]["usd_decimal"])
    assert dec(doc["spent_usd"]) == sim_usd
    # streamed: reasoning and answer shown apart, on stdout as they come
    r = theta.run("run", "chat", "--service", "gpt_oss_120b", "--message",
                  "Say hello", "--show-reasoning")
    assert r.code == 0, r
    assert r.out.index("[reasoning]") < r.out.index("[answer]") < \
        r.out.index("Simulated gpt_oss_120b answer")


def test_chat_empty_answer_because_of_reasoning_is_not_success(theta):
    r = theta.run("run", "chat", "--service", "gpt_oss_120b", "--message",
                  "Say hello", "--max-tokens", "100")
    assert r.code == 1, r
    assert "returned no answer: its reasoning used the token budget" in r.err
    assert "raise --max-tokens" in r.err
    # it was paid for all the same: settled from its usage
    sim_usd = dec(theta.sim.ledger()["entries"][0]["usd_decimal"])
    led = theta.ledger()
    assert dec(led["settled"]) == sim_usd > 0 and led["open"] == 0


def test_capacity_409_is_retried_then_succeeds(theta):
    theta.sim.faults(capacity={"count": 1, "service": "qwen3"})
    r = theta.run("run", "chat", "--message", "hi", "--json", "--verbose")
    assert r.code == 0, r
    assert r.json()["answer_chars"] > 0
    statuses = [q["status"] for q in
                theta.sim.requests(route="infer", service="qwen3")]
    assert statuses == [409, 200]
    # the retry is logged, as detail (--verbose) since issue 15
    assert "409 no instances available" in r.err
    led = theta.ledger()
    assert by_service(led)["qwen3"]["calls"] == 1 and led["open"] == 0


def test_capacity_409_exhausted_releases_the_reservation(theta):
    theta.sim.faults(capacity={"count": -1, "service": "qwen3"})
    r = theta.run("run", "chat", "--message", "hi",
                  env={"THETA_HTTP_MAX_RETRIES": "1"})
    assert r.code == 1, r
    assert "capacity exhaustion" in r.err
    led = theta.ledger()
    assert led["committed"] == 0 and led["open"] == 0


def test_dropped_stream_is_reported_and_settled_at_reservation(theta):
    theta.sim.faults(drop_stream={"after_events": 4, "service": "qwen3"})
    r = theta.run("run", "chat", "--message", "Name three rivers")
    assert r.code == 1, r
    assert r.out.startswith("Simulated")            # what arrived was shown
    assert "cut before [DONE]" in r.err
    assert "counted at the reserved" in r.err
    led = theta.ledger()
    qwen = by_service(led)["qwen3"]
    assert qwen["open"] == 0
    assert dec(qwen["settled"]) == dec(led["settled"]) > 0
    entry = theta.sim.ledger()["entries"][0]
    assert entry["state"] == "interrupted"
    # settled at the reservation: never less than what was billed
    assert dec(qwen["settled"]) >= dec(entry["usd_decimal"])
    # the reservation: prompt estimate x 20 + 500 x 40 cents per 1M
    prompt = 16 + 8 + len("user") + len("Name three rivers".encode())
    assert dec(qwen["settled"]) == Decimal(prompt * 20 + 500 * 40) / \
        Decimal(10**8)


def test_endless_stream_is_cut_at_max_tokens(theta):
    theta.sim.faults(endless_stream={"interval": 0.002, "service": "qwen3"})
    r = theta.run("run", "chat", "--message", "hi", "--max-tokens", "40")
    assert r.code == 1, r
    assert "went on past max_tokens (40 tokens" in r.err
    # counted at least at what arrived (57 pieces), above the reservation
    prompt = 16 + 8 + len("user") + len("hi")
    qwen = by_service(theta.ledger())["qwen3"]
    assert dec(qwen["settled"]) == Decimal(prompt * 20 + 57 * 40) / \
        Decimal(10**8)
    deadline = time.monotonic() + 5
    while theta.sim.ledger()["entries"][0]["state"] == "streaming":
        assert time.monotonic() < deadline     # the server saw us leave
        time.sleep(0.05)


def test_missing_token_is_exit_2_except_in_dry_run(theta):
    for args in (("chat", "--message", "hi"),
                 ("infer", "--service", "flux", "--prompt", "x"),
                 ("status", "--request-id", "infr_rqst_x"),
                 ("upload-url", "--service", "blip"),
                 ("smoke",)):
        r = theta.run("run", *args, token=False)
        assert r.code == 2, r
        assert "THETA_ONDEMAND_API_TOKEN is not set" in r.err
    r = theta.run("run", "chat", "--message", "hi", "--dry-run", "--json",
                  token=False)
    assert r.code == 0, r
    doc = r.json()
    assert doc["dry_run"] is True
    assert doc["plan"]["method"] == "POST"
    assert doc["plan"]["headers"]["Authorization"].startswith("Bearer <")
    assert theta.sim.requests(method="POST") == []


def test_base_url_comes_only_from_the_environment(theta):
    # THETA_ONDEMAND_API_BASE_URL wins over THETA_API_BASE_URL; a
    # trailing slash is fine
    env = {"THETA_ONDEMAND_API_BASE_URL": "https://%s/" % OD,
           "THETA_API_BASE_URL": "https://other.thetaedgecloud.com"}
    r = theta.run("run", "chat", "--message", "hi", "--json", env=env)
    assert r.code == 0, r
    # THETA_API_BASE_URL alone moves every call (and the token's
    # binding): here to a host the simulator serves, but not the
    # on-demand API (its routes are unknown there: 404)
    other = "controller.thetaedgecloud.com"
    theta.sim.reset()
    theta.sim.config(cloudflare_1010=False)
    env = {"THETA_API_BASE_URL": "https://" + other,
           "CLAWHOST_CONNECT_TO": theta.sim.env()["CLAWHOST_CONNECT_TO"] +
           f",{other}:443:127.0.0.1:{theta.sim.port}"}
    r = theta.run("run", "infer", "--service", "flux", "--prompt", "x",
                  env=env)
    assert r.code == 1, r
    assert "Not Found" in r.err
    seen = theta.sim.requests()
    assert {q["host"] for q in seen} == {other}
    post = [q for q in seen if q["method"] == "POST"]
    assert post and post[0]["authorization_present"]
    flux = by_service(theta.ledger())["flux"]       # 404: released
    assert flux["committed"] == 0 and flux["open"] == 0
    # never per call
    r = theta.run("run", "chat", "--message", "hi", "--base-url",
                  "https://evil.example")
    assert r.code == 2, r


# ---- smoke -----------------------------------------------------------------

def test_smoke_default_cap_runs_all_and_matches_the_simulator(theta):
    r = theta.run("run", "smoke", "--json",
                  env={"THETA_POLL_INTERVAL_SECONDS": "0.2"})
    assert r.code == 0, r
    doc = r.json()
    rows = {row["service"]: row for row in doc["services"]}
    assert list(rows) == SMOKE_DEFAULT
    assert all(row["state"] == "success" for row in rows.values()), rows
    assert doc["budget"]["cap_usd"] == "2.00"
    for name in SMOKE_DEFAULT:
        assert f"{name}: " in r.err                   # progress lines
    assert "labels: square, circle" == rows["grounding_dino"]["detail"]
    # the media were generated, uploaded with no token, and used
    ups = {u["service"]: u for u in theta.sim.uploads()}
    assert set(ups) == {"blip", "grounding_dino", "whisper"}
    assert not any(u["authorization_sent"] for u in ups.values())
    assert ups["whisper"]["size"] == 44 + 2 * 16000
    # our ledger against the simulator's own record of usage
    simled = theta.sim.ledger()
    led = theta.ledger()
    assert led["open"] == 0
    assert abs(dec(led["settled"]) - dec(simled["total_usd_decimal"])) <= \
        Decimal("1e-9") * simled["count"]
    assert dec(doc["budget"]["spent_usd"]) == dec(led["settled"])
    mine = by_service(led)
    for e in simled["entries"]:
        assert abs(dec(mine[e["service"]]["settled"]) -
                   dec(e["usd_decimal"])) <= Decimal("1e-9")
    # and not what cost_usd would have said for the LLM
    assert dec(simled["total_cost_usd_field"]) != dec(led["settled"])


@pytest.mark.parametrize("route,words", [
    ("presign", "upload URL: "), ("upload", "upload: ")])
def test_smoke_input_not_uploaded_means_not_called_and_not_charged(
        theta, route, words):
    theta.sim.faults(http_error={"status": 403, "routes": [route],
                                 "message": "denied (simulated)"})
    r = theta.run("run", "smoke", "--services", "blip", "--json")
    assert r.code == 1, r
    row = r.json()["services"][0]
    assert row["service"] == "blip" and row["state"] == "error", row
    assert row["detail"].startswith(words), row
    assert dec(row["spent_usd"]) == 0
    assert theta.sim.requests(route="infer") == []
    led = theta.ledger()
    assert led["committed"] == 0 and led["open"] == 0


def test_smoke_over_the_cap_calls_nothing_paid_and_exits_3(theta):
    r = theta.run("run", "smoke", "--budget", "0.0001")
    assert r.code == 3, r
    assert "skipped for the budget" in r.err
    assert r.out.count("skipped (budget)") == 5
    assert "total: 0.00 USD spent of the 0.0001 USD cap" in r.out
    assert theta.sim.requests(method="POST") == []
    assert theta.sim.requests(method="PUT") == []
    assert theta.ledger()["committed"] == 0


def test_smoke_skips_only_what_does_not_fit(theta):
    # 0.025: qwen3 (0.000216) and flux (0.01) fit, blip fits, the rest not
    r = theta.run("run", "smoke", "--budget", "0.025", "--services",
                  "qwen3,flux,blip,whisper", "--json")
    assert r.code == 3, r
    doc = r.json()
    states = {row["service"]: row["state"] for row in doc["services"]}
    assert states == {"qwen3": "success", "flux": "success",
                      "blip": "success", "whisper": "skipped (budget)"}
    assert doc["error"]["code"] == "budget_exceeded"
    paid = {q["service"] for q in theta.sim.paid_posts()}
    assert paid == {"qwen3", "flux", "blip"}


def test_smoke_dry_run_sends_nothing_but_gets(theta):
    r = theta.run("run", "smoke", "--dry-run", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["dry_run"] is True
    assert all(row["state"] == "planned" for row in doc["services"])
    assert doc["budget"]["worst_case_usd"] == "0.040216"
    assert "nothing but GETs" in doc["total"]
    methods = {q["method"] for q in theta.sim.requests()}
    assert methods == {"GET"}, methods
    # the other recipes too; THETA_DRY_RUN=1 is the same as --dry-run
    for args in (("infer", "--service", "flux", "--prompt", "x"),
                 ("chat", "--service", "gpt_oss_120b", "--message", "hi"),
                 ("upload-url", "--service", "whisper")):
        r = theta.run("run", *args, "--json", env={"THETA_DRY_RUN": "1"})
        assert r.code == 0, r
        assert r.json()["dry_run"] is True
    assert {q["method"] for q in theta.sim.requests()} == {"GET"}
    assert theta.ledger()["committed"] == 0


def test_dry_run_plan_respects_the_daily_cap(theta):
    env = {"CLAWHOST_DAILY_BUDGET_USD": "0.015"}
    live = theta.run("run", "smoke", "--json", env=env)
    assert live.code == 3, live
    live_states = {r["service"]: r["state"] for r in live.json()["services"]}
    assert live_states["blip"] == "skipped (budget)"
    # a new day's worth of room is gone; the plan should say so too
    r = theta.run("run", "smoke", "--dry-run", "--json", env=env)
    states = {row["service"]: row["state"] for row in r.json()["services"]}
    assert states["flux"] == "skipped (budget)", states
    assert r.code == 3, r


def test_two_smoke_runs_never_pass_a_shared_daily_cap(theta):
    env = {"CLAWHOST_DAILY_BUDGET_USD": "0.05",
           "THETA_POLL_INTERVAL_SECONDS": "0.2"}
    procs = [theta.popen("run", "smoke", "--json", env=env)
             for _ in range(2)]
    codes = []
    for p in procs:
        theta.finish(p, timeout=60)
        codes.append(p.returncode)
    assert sorted(codes) in ([0, 3], [3, 3]), codes
    led = theta.ledger()
    assert dec(led["today_committed"]) <= Decimal("0.05")
    assert led["open"] == 0
    assert dec(theta.sim.ledger()["total_usd_decimal"]) <= Decimal("0.05")
    # 2 x 0.040216 worst case cannot fit in 0.05: something was skipped
    assert len(theta.sim.paid_posts()) < 10


def test_killed_run_leaves_its_reservation_counted(theta):
    theta.sim.faults(stall_stream={"seconds": 30, "service": "qwen3"})
    proc = theta.popen("run", "chat", "--message", "hello")
    deadline = time.monotonic() + 15
    while not theta.sim.requests(route="infer", service="qwen3"):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)                   # headers are in; the stream stalls
    proc.send_signal(signal.SIGKILL)
    theta.finish(proc)
    assert proc.returncode == -signal.SIGKILL
    opened = theta.open_reservations()
    assert len(opened) == 1
    assert opened[0]["service"] == "qwen3" and not opened[0]["running"]
    reserved = dec(opened[0]["reserved"])
    assert reserved > 0
    text = theta.run("ledger", "--open")
    assert "qwen3" in text.out
    # the next run sees it: the daily total counts it...
    probe = theta.host.recipe("""
        return { run = function() return require("budget").status() end }
    """)
    daily = {"CLAWHOST_DAILY_BUDGET_USD": "0.0003"}
    st = theta.run("run", probe, "--json", env=daily)
    assert st.code == 0, st
    assert dec(st.json()["daily_committed"]) == reserved
    # ...so a second reservation of the same size no longer fits
    before = len(theta.sim.requests(method="POST"))
    r = theta.run("run", "chat", "--message", "hello", env=daily)
    assert r.code == 3, r
    assert "daily cap" in r.err
    assert len(theta.sim.requests(method="POST")) == before


# ---- the token -------------------------------------------------------------

def test_the_token_appears_in_no_output():
    assert len(OUTPUTS) > 30
    for out, err in OUTPUTS:
        assert TOKEN not in out and TOKEN not in err
