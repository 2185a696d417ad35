"""End-to-end tests of the EdgeCloud controller recipes and the
disposable-deployment validator (docs/deployments.md), against the
simulator in tests/servers/theta_sim running as a real process over TLS
under the production host names (controller, api, and the dedicated
endpoints through a '.onthetaedgecloud.com' connect-to entry).

    /usr/bin/python3 -m pytest tests/e2e/deployments_test.py -q

The simulator's own record is the judge: GET /__sim__/deployments lists
every deployment since its last reset, deleted ones too. Before every
reset the fixture checks that no deployment the tests created through
the API is still alive, so a leak anywhere fails the test that caused
it. Every clawhost run's stdout and stderr are checked for the API key,
the on-demand token, a chosen endpoint password and every generated
deployment password (the simulator publishes their SHA-256 only).
"""
import hashlib
import json
import os
import random
import re
import secrets
import signal
import time

import pytest

from tests.e2e.fixtures import theta_sim
from tests.servers import harness

TOKEN = "tsim_" + secrets.token_urlsafe(24)
API_KEY = "tsk_" + secrets.token_urlsafe(24)
PROJECT = "prj_" + "".join(random.choice("abcdefghijkmnpqrstuvwxyz0123456789")
                           for _ in range(28))
ORG = "org_" + "".join(random.choice("abcdefghijkmnpqrstuvwxyz0123456789")
                       for _ in range(28))
ENDPOINT_PASS = "chosen-endpoint-password-" + secrets.token_hex(6)

DEEPSEEK = "img_gf070dbq0kttgz1atmiatyunhdxm"       # openai flavour
DINO = "img_qqu31asazaig666jtzp7gjd4pway"           # gradio flavour
FAST_WARMUP = {"openai": [[404, 0.15], [503, 0.15], [401, 0.15]],
               "gradio": [[404, 0.15], [502, 0.15]],
               "html": [[404, 0.1]]}

OUTPUTS = []            # (stdout, stderr) of every run
B64URL_24 = re.compile(r"[A-Za-z0-9_-]{24}")


# ---- the simulator -----------------------------------------------------

SIM_HOSTS = ("controller.thetaedgecloud.com", "api.thetaedgecloud.com",
             "ondemand.thetaedgecloud.com", ".onthetaedgecloud.com")


class Sim(theta_sim.Sim):
    def __init__(self, server):
        super().__init__(server, SIM_HOSTS,
                         reset_config={"warmup": FAST_WARMUP})

    def password_hashes(self):
        return {d["auth_password_sha256"] for d in self.deployments()
                if d.get("auth_password_sha256")}


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_TOKEN": TOKEN,
                                "THETA_SIM_API_KEY": API_KEY,
                                "THETA_SIM_PROJECT_ID": PROJECT,
                                "THETA_SIM_ORG_ID": ORG})
    assert server.info["api_key"] == API_KEY
    s = Sim(server)
    try:
        yield s
    finally:
        assert server.stop() == 0


def leaked_generated_password(text, hashes):
    for m in B64URL_24.finditer(text):
        if hashlib.sha256(m.group(0).encode()).hexdigest() in hashes:
            return m.group(0)
    return None


def check_output(sim, out, err):
    OUTPUTS.append((out, err))
    for needle in (API_KEY, TOKEN, ENDPOINT_PASS):
        assert needle not in out and needle not in err, (needle, out, err)
    hashes = sim.password_hashes()
    assert leaked_generated_password(out + err, hashes) is None, (out, err)
    assert "AddressSanitizer" not in err and "runtime error:" not in err


class Ec:
    """clawhost runs wired to the simulator, with their own store."""

    def __init__(self, host, sim, tmp):
        self.host = host
        self.sim = sim
        self.base = {**sim.env(), "THETA_EC_API_KEY": API_KEY,
                     "THETA_EC_PROJECT_ID": PROJECT, "THETA_ORG_ID": ORG,
                     "THETA_API_KEY": TOKEN,
                     "CLAWHOST_STATE_DIR": str(tmp / "state")}

    def run(self, *args, env=None, timeout=90):
        r = self.host.run(*args, env={**self.base, **(env or {})},
                          timeout=timeout)
        check_output(self.sim, r.out, r.err)
        return r

    def popen(self, *args, env=None):
        return self.host.popen(*args, env={**self.base, **(env or {})})

    def finish(self, proc, timeout=90):
        out, err = proc.communicate(timeout=timeout)
        check_output(self.sim, out, err)
        return proc.returncode, out, err

    def validate(self, *extra, template=DEEPSEEK, **kw):
        return self.run("run", "validate-disposable", "--template",
                        template, "--interval-ms", "500", *extra, **kw)


@pytest.fixture
def ec(host, sim, tmp_path):
    sim.reset()
    yield Ec(host, sim, tmp_path)
    # no test leaves a deployment it created alive
    left = sim.live()
    assert left == [], [d["Name"] for d in left]


def result(r):
    assert r.out.strip(), r
    return json.loads(r.out)


# ---- the validator -----------------------------------------------------

def test_plan_without_yes_creates_nothing(ec, sim):
    r = ec.validate("--json")
    assert r.code == 0, r
    plan = result(r)
    assert plan["created"] is False and "--yes" in plan["note"]
    assert plan["worst_case_usd"] == 0.5         # 0.50/h, one started hour
    assert plan["price_from"] == "the VM list"
    assert plan["payload"]["auth_password"] == "***"
    assert plan["payload"]["auth_username"] == "***"
    assert sim.mutating() == [] and sim.deployments() == []


def distinct(seq):
    """The sequence with repeats in a row removed."""
    return [x for i, x in enumerate(seq) if i == 0 or seq[i - 1] != x]


# phases longer than the 500 ms poll interval, so each is seen
SLOW_WARMUP = {"openai": [[404, 0.6], [503, 0.6], [401, 0.6]],
               "gradio": [[404, 0.6], [502, 0.6]]}


def test_validate_openai_waits_through_the_warm_up(ec, sim):
    sim.config(warmup=SLOW_WARMUP)
    r = ec.validate("--yes", "--json")
    assert r.code == 0, r
    v = result(r)
    statuses = [a["status"] for a in v["readiness"]["attempts"]]
    assert distinct(statuses) == [404, 503, 401, 200], statuses
    assert v["readiness"]["ready"] is True
    assert v["smoke"]["model"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
    assert "Simulated" in v["smoke"]["reply"]
    assert v["delete"]["ok"] is True
    assert v["cleanup"]["verified"] is True
    assert v["balance"]["before"] > v["balance"]["after"]
    assert v["balance"]["delta"] < 0
    assert v["budget"]["settled_usd"] == pytest.approx(
        -v["balance"]["delta"], abs=1e-6)
    assert v["budget"]["from"] == "the balance delta"
    assert v["create"]["AuthPassword"] == "***"
    [d] = sim.deployments()
    assert d["deleted"] and d["Name"] == v["nickname"]
    # the endpoint saw the generated credentials, and only them
    dedicated = [q for q in sim.requests() if
                 q["host"].endswith(".onthetaedgecloud.com")]
    assert dedicated and all(q["auth_scheme"] == "Basic" for q in dedicated)
    assert dedicated[-1]["endpoint_auth_valid"] is True
    # a browser User-Agent everywhere the controller is called: no 1010
    ctl = [q for q in sim.requests() if q["host"].endswith(
        "thetaedgecloud.com") and not q["host"].endswith("onthetaedgecloud"
                                                         ".com")]
    assert all("Mozilla/5.0" in q["user_agent"] for q in ctl)
    assert all(q["status"] != 403 for q in ctl)
    # the journal is closed
    s = ec.run("sweep", "--json")
    assert s.code == 0 and result(s)["count"] == 0, s
    # the text summary says the same things
    assert "x-api-key" not in r.err


def test_validate_gradio(ec, sim):
    sim.config(warmup=SLOW_WARMUP)
    r = ec.validate("--yes", "--json", "--probe", "gradio", template=DINO)
    assert r.code == 0, r
    v = result(r)
    statuses = [a["status"] for a in v["readiness"]["attempts"]]
    assert distinct(statuses) == [404, 502, 200], statuses
    assert v["smoke"]["probe"] == "/config"
    assert v["cleanup"]["verified"] and v["balance"]["delta"] < 0
    paths = [q["path"] for q in sim.requests() if
             q["host"].endswith(".onthetaedgecloud.com")]
    assert "/config" in paths and not any(p.startswith("/v1") for p in paths)


def test_gradio_predict_and_a_text_summary(ec, sim):
    r = ec.validate("--yes", "--probe", "gradio", "--gradio-data",
                    '["a cat"]', template=DINO)
    assert r.code == 0, r
    assert "verified: true" in r.out and "delta: -" in r.out
    assert "predict:" in r.out
    assert "attempts:" in r.out and "n  ok" in r.out


def test_budget_cap_refuses_before_anything_is_created(ec, sim):
    r = ec.validate("--yes", "--budget", "0.10")
    assert r.code == 3, r
    assert "would pass the run cap of 0.10 USD" in r.err
    assert not [q for q in sim.requests(method="POST")
                if q["path"] == "/deployment"]
    r = ec.validate("--yes", "--max-cost", "0.05", "--json")
    assert r.code == 0, r
    assert result(r)["budget"]["reserved_usd"] == 0.05


def test_no_price_known_needs_max_cost(ec, sim):
    r = ec.validate("--vm", "vm_unlisted", "--json")
    assert r.code == 0, r
    assert "worst_case_usd" not in result(r)
    r = ec.validate("--yes", "--vm", "vm_nothere")
    assert r.code == 2, r
    assert "--max-cost" in r.err
    assert sim.mutating() == []


def test_a_run_too_short_for_the_readiness_timeout_is_refused(ec, sim):
    r = ec.validate("--yes", "--timeout", "60", "--ready-timeout-ms",
                    "600000")
    assert r.code == 2, r
    assert "raise --timeout to" in r.err
    assert sim.mutating() == []


def test_not_ready_in_time_is_deleted_anyway(ec, sim):
    sim.config(warmup_override=[[503, 60]])
    r = ec.validate("--yes", "--json", "--ready-timeout-ms", "1500")
    assert r.code == 1, r
    v = result(r)
    assert v["readiness"]["ready"] is False
    assert all(a["status"] == 503 for a in v["readiness"]["attempts"])
    assert v["cleanup"]["verified"] is True
    assert "not ready after" in r.err and "HTTP 503" in r.err


def test_create_reply_lost_is_still_found_and_deleted(ec, sim):
    sim.faults(create_reply_lost={"count": 1})
    r = ec.validate("--yes", "--json")
    assert r.code != 0, r
    v = result(r)
    [d] = sim.deployments()
    assert d["deleted"], d
    assert v["cleanup"]["verified"] is True
    assert v["delete"]["deleted"] == [f'{d["Shard"]}/{d["Suffix"]}']


def test_create_refused_leaves_nothing_and_releases_the_reservation(
        ec, sim):
    sim.faults(create_error={"count": 1, "status": 400,
                             "message": "quota of deployments reached"})
    r = ec.validate("--yes")
    assert r.code == 1, r
    assert "quota of deployments reached" in r.err
    assert sim.deployments() == []
    led = ec.run("ledger", "--json")
    assert led.code == 0, led
    assert json.loads(led.out)["committed"] == 0


def test_a_failed_delete_is_tried_again(ec, sim):
    sim.faults(delete_error={"count": 2})
    r = ec.validate("--yes", "--json")
    assert r.code == 0, r
    assert result(r)["cleanup"]["verified"] is True
    deletes = sim.requests(method="DELETE")
    assert [q["status"] for q in deletes] == [500, 500, 200]


def test_a_list_that_lags_behind_the_delete(ec, sim):
    sim.config(list_lag_seconds=2)
    r = ec.validate("--yes", "--json")
    assert r.code == 0, r
    v = result(r)
    assert v["cleanup"]["verified"] is True and v["cleanup"]["lists"] >= 3


def test_controller_down_longer_than_the_cleanup_deadline(ec, sim):
    """The delete cannot get through: the run says so, exits non-zero,
    and the journal keeps the entry; a later sweep finishes it."""
    sim.config(warmup_override=[[503, 60]])
    sim.faults(delete_error={"count": -1, "status": 503})
    r = ec.validate("--yes", "--ready-timeout-ms", "1000",
                    "--cleanup-timeout", "4", timeout=120)
    assert r.code == 1, r
    assert "clawhost sweep" in r.err and "journal entry" in r.err
    assert len(sim.live()) == 1
    s = ec.run("sweep", "--dry-run", "--json")
    assert s.code == 0
    [row] = result(s)["entries"]
    assert "would delete" in row["action"], row
    sim.faults(delete_error=None)
    s = ec.run("sweep", "--json")
    assert s.code == 0, s
    [row] = result(s)["entries"]
    assert row["state"] == "gone" and "verified absent" in row["action"]
    assert sim.live() == []


# ---- routes ------------------------------------------------------------

@pytest.mark.parametrize("missing", [404, 405])
def test_plural_routes_only(ec, sim, missing):
    sim.config(deployment_routes="plural", missing_route_status=missing)
    r = ec.run("run", "route-probe", "--json")
    assert r.code == 0, r
    p = result(r)
    assert p["selected_route"] == "GET /deployments/list"
    assert [a["status"] for a in p["attempts"]] == [missing, 200]
    r = ec.validate("--yes", "--json")
    assert r.code == 0, r
    assert result(r)["cleanup"]["verified"]
    injected = sim.inject(template_id=DEEPSEEK, vm_id="vm_gt1",
                          nickname="from-the-dashboard", ready=True)
    shard, suffix = str(injected["Shard"]), injected["Suffix"]
    for recipe, extra in (("deployment-stop", ()),
                          ("deployment-start", ("--yes",)),
                          ("deployments", ())):
        args = ("--shard", shard, "--suffix", suffix) \
            if recipe != "deployments" else ()
        r = ec.run("run", recipe, *args, *extra, "--json")
        assert r.code == 0, (recipe, r)
    assert result(r)["route"] == "GET /deployments/list"
    r = ec.run("run", "deployment-delete", "--shard", shard, "--suffix",
               suffix, "--yes", "--json")
    assert r.code == 0, r
    assert result(r)["verified"] is True
    assert sim.live(source="dashboard") == []
    singular = [q for q in sim.requests() if
                q["path"].startswith("/deployment/") and
                q["path"] != "/deployment"]
    assert all(q["status"] == missing for q in singular)


def test_any_other_error_is_not_a_reason_to_fall_back(ec, sim):
    sim.faults(http_error={"count": -1, "status": 500,
                           "routes": ["ctl_list"]})
    r = ec.run("run", "deployments")
    assert r.code == 1, r
    assert "HTTP 500" in r.err
    lists = [q["path"] for q in sim.requests() if q["path"].endswith(
        "/list")]
    # retried (a GET), never sent to the plural route
    assert set(lists) == {"/deployment/list"} and len(lists) == 3


def test_another_project_is_refused_with_a_pointer(ec, sim):
    r = ec.run("run", "deployments", "--project-id", "prj_someoneelse")
    assert r.code == 1, r
    assert "403" in r.err and "THETA_EC_PROJECT_ID" in r.err
    r = ec.run("run", "deployments", env={"THETA_EC_PROJECT_ID": "proj-1"})
    assert r.code == 2, r
    assert "is not a project id" in r.err


def test_the_create_shapes_all_give_a_handle(ec, sim):
    for shape in ("nested", "string", "object"):
        sim.config(create_shape=shape)
        r = ec.validate("--yes", "--json")
        assert r.code == 0, (shape, r)
        v = result(r)
        assert v["cleanup"]["verified"], shape
    assert len(sim.deployments()) == 3


# ---- cleanup on every ending --------------------------------------------

def live_after(sim, proc_code):
    return [d["Name"] for d in sim.live()]


def test_sigterm_at_20_random_moments(ec, sim):
    """Whenever SIGTERM lands (before, during or after the create, while
    polling, in the smoke call), the deployment is deleted and verified
    absent before the process exits."""
    rng = random.Random(0x5167)
    sim.config(warmup={"openai": [[404, 0.3], [503, 0.3], [401, 0.3]]})
    sim.faults(latency={"count": -1, "seconds": 0.15,
                        "routes": ["ctl_create", "ded_chat"]})
    codes = []
    for trial in range(20):
        p = ec.popen("run", "validate-disposable", "--template", DEEPSEEK,
                     "--yes", "--interval-ms", "500")
        time.sleep(rng.uniform(0.02, 1.6))
        p.send_signal(signal.SIGTERM)
        code, out, err = ec.finish(p)
        codes.append(code)
        assert code in (0, 130), (trial, code, err)
        assert sim.live() == [], (trial, err)
    assert codes.count(130) >= 10, codes
    s = ec.run("sweep", "--json")
    assert s.code == 0 and result(s)["count"] == 0, s


def test_sigkill_at_20_random_moments_then_sweep(ec, sim):
    """A killed process cleans up nothing; the next sweep, or the next
    validate-disposable before it creates anything, deletes every leaked
    deployment."""
    rng = random.Random(0x9111)
    sim.config(warmup={"openai": [[404, 0.3], [503, 0.3], [401, 0.3]]})
    leaked_total = 0
    for trial in range(20):
        p = ec.popen("run", "validate-disposable", "--template", DEEPSEEK,
                     "--yes", "--interval-ms", "500")
        time.sleep(rng.uniform(0.02, 1.4))
        p.kill()
        ec.finish(p)
        leaked = sim.live()
        leaked_total += len(leaked)
        if trial % 2 == 0:
            s = ec.run("sweep", "--json")
            assert s.code == 0, s
        else:
            before = len(sim.requests())
            r = ec.validate("--yes", "--json")
            assert r.code == 0, r
            swept = result(r)["swept"]
            assert len([x for x in swept if "verified" in x["action"]]) \
                == len(leaked), swept
            log = sim.requests()[before:]
            creates = [i for i, q in enumerate(log)
                       if q["method"] == "POST" and q["path"] ==
                       "/deployment"]
            deletes = [i for i, q in enumerate(log)
                       if q["method"] == "DELETE"]
            assert len(creates) == 1
            # every leaked one is deleted before the new create
            assert len([i for i in deletes if i < creates[0]]) >= \
                len(leaked)
        assert sim.live() == [], trial
    assert leaked_total >= 5        # the kills did land mid-way
    s = ec.run("sweep", "--json")
    assert s.code == 0 and result(s)["count"] == 0, s


def test_sweep_leaves_a_running_run_alone(ec, sim):
    sim.config(warmup_override=[[503, 60]])
    p = ec.popen("run", "validate-disposable", "--template", DEEPSEEK,
                 "--yes", "--interval-ms", "500", "--ready-timeout-ms",
                 "6000")
    for _ in range(100):
        if sim.live():
            break
        time.sleep(0.05)
    s = ec.run("sweep", "--json")
    assert s.code == 0, s
    [row] = result(s)["entries"]
    assert "still running" in row["action"], row
    assert len(sim.live()) == 1
    p.send_signal(signal.SIGINT)
    code, _, _ = ec.finish(p)
    assert code == 130
    assert sim.live() == []


# ---- the other recipes -----------------------------------------------------

def test_listing_recipes(ec, sim):
    sim.inject(template_id=DEEPSEEK, vm_id="vm_gt1", nickname="keep-me",
               auth_username="someone", auth_password=ENDPOINT_PASS,
               ready=True)
    r = ec.run("run", "deployments", "--full", "--json")
    assert r.code == 0, r
    [d] = result(r)["deployments"]
    assert d["AuthPassword"] == "***" and d["AuthUsername"] == "***"
    r = ec.run("run", "deployments")
    assert r.code == 0 and "keep-me" in r.out, r
    r = ec.run("run", "deployments", "--exclude-template",
               "DeepSeek R1 Distill-Qwen-7B", "--json")
    assert result(r)["count"] == 0
    r = ec.run("run", "templates", "--json")
    assert r.code == 0, r
    t = result(r)
    assert t["count"] > 50          # every page was read
    assert DEEPSEEK in [x["id"] for x in t["templates"]]
    r = ec.run("run", "templates", "--category", "prototyping", "--search",
               "jupyter")
    assert r.code == 0 and "Jupyter Notebook" in r.out, r
    r = ec.run("run", "vms", "--json")
    assert r.code == 0 and result(r)["count"] >= 6, r
    r = ec.run("run", "balance", "--json")
    assert r.code == 0, r
    assert 999 < result(r)["balance"] < 1000    # the dashboard's one runs
    r = ec.run("run", "health", "--json")
    assert r.code == 0 and result(r)["auth_verified"] is True, r
    sim.call("POST", "/__sim__/reset")      # the dashboard's, not ours


def test_deploy_then_ready_chat_stop_start_delete(ec, sim):
    auth = {"THETA_INFERENCE_AUTH_USER": "me_user",
            "THETA_INFERENCE_AUTH_PASS": ENDPOINT_PASS}
    r = ec.run("run", "deploy", "--template", DEEPSEEK, "--json", env=auth)
    assert r.code == 0 and result(r)["created"] is False, r
    assert sim.mutating() == []
    r = ec.run("run", "deploy", "--template", DEEPSEEK, "--nickname",
               "mine", "--yes", "--json", env=auth)
    assert r.code == 0, r
    d = result(r)
    endpoint, shard, suffix = d["endpoint"], str(d["shard"]), d["suffix"]
    assert endpoint.endswith(".onthetaedgecloud.com")
    # the credentials go only to THETA_INFERENCE_ENDPOINT's host: with
    # it unset (or elsewhere) --endpoint is refused before any request
    before = len(sim.requests())
    for extra in ({}, {"THETA_INFERENCE_ENDPOINT":
                       "https://other.s1.tec-s1.onthetaedgecloud.com"}):
        for recipe in (("ready",), ("dedicated-chat", "--message", "hi")):
            r = ec.run("run", *recipe, "--endpoint", endpoint,
                       env={**auth, **extra})
            assert r.code == 2, r
            assert "sent only to the host of THETA_INFERENCE_ENDPOINT" \
                in r.err and "blocked" not in r.err, r
            assert ENDPOINT_PASS not in r.out + r.err
    assert len(sim.requests()) == before
    env = {**auth, "THETA_INFERENCE_ENDPOINT": endpoint}
    r = ec.run("run", "ready", "--interval-ms", "500", "--json", env=env)
    assert r.code == 0, r
    r = ec.run("run", "ready", "--endpoint", endpoint, "--json", env=env)
    assert r.code == 0, r
    rd = result(r)
    assert rd["ready"] is True and rd["attempts"][-1]["status"] == 200
    r = ec.run("run", "dedicated-chat", "--message", "hello there", env=env)
    assert r.code == 0, r
    assert "Simulated" in r.out and "hello there" in r.out
    r = ec.run("run", "dedicated-chat", "--message", "hi", "--no-stream",
               "--json", env=env)
    assert r.code == 0 and "Simulated" in result(r)["answer"], r
    r = ec.run("run", "deployment-stop", "--shard", shard, "--suffix",
               suffix, "--json")
    assert r.code == 0, r
    r = ec.run("run", "ready", "--interval-ms", "500", "--timeout-ms",
               "1500", env=env)
    assert r.code == 1 and "HTTP 503" in r.err, r
    r = ec.run("run", "ready", "--interval-ms", "500", "--timeout-ms",
               "1500", "--json", env=env)
    assert r.code == 1 and "cannot report" not in r.err, r
    err = r.json()["error"]
    assert err["code"] == "timeout", err
    r = ec.run("run", "deployment-start", "--shard", shard, "--suffix",
               suffix, "--yes")
    assert r.code == 0, r
    r = ec.run("run", "deployment-delete", "--shard", shard, "--suffix",
               suffix)
    assert r.code == 0 and "--yes" in r.out, r
    r = ec.run("run", "deployment-delete", "--shard", shard, "--suffix",
               suffix, "--yes", "--json")
    assert r.code == 0 and result(r)["verified"], r
    r = ec.run("run", "deployment-delete", "--shard", shard, "--suffix",
               suffix, "--yes")
    assert r.code == 1 and "no deployment" in r.err, r
    # the chosen credentials reached the endpoint, Basic
    ded = [q for q in sim.requests() if q["host"] == endpoint[8:]]
    assert all(q["auth_scheme"] == "Basic" for q in ded)


def test_endpoint_allow_list(ec, sim):
    for url, why in (("http://a.onthetaedgecloud.com", "https:// only"),
                     ("https://127.0.0.1:8443", "local or private"),
                     ("https://evil.example", "not under"),
                     ("https://a.onthetaedgecloud.com.evil.example",
                      "not under")):
        r = ec.run("run", "ready", env={"THETA_INFERENCE_ENDPOINT": url})
        assert r.code == 2, r
        assert why in r.err and "THETA_INFERENCE_ENDPOINT is refused" in \
            r.err, r.err
    # a password in the URL: config itself refuses to hand it out
    r = ec.run("run", "ready", env={"THETA_INFERENCE_ENDPOINT":
                                    "https://u:pw1234567@a.onthetaedgecloud"
                                    ".com"})
    assert r.code == 2 and "user name or password" in r.err, r
    r = ec.run("run", "ready", "--endpoint", "https://u:p@a.onthetaedgecloud"
               ".com")
    assert r.code == 2 and "user name or password" in r.err, r
    assert sim.requests() == []


def test_capabilities_and_check_online(ec, sim):
    r = ec.run("run", "capabilities", "--json")
    assert r.code == 0, r
    caps = {c["name"]: c for c in result(r)["capabilities"]}
    assert caps["controller.project"]["verified"] is True
    assert caps["billing.balance"]["verified"] is True
    assert caps["ondemand.catalog"]["verified"] is True
    assert caps["ondemand.inference"]["verified"] is True
    assert caps["inference.endpoint"]["configured"] is False
    r = ec.run("check")
    assert r.code == 0 and "nothing was called" in r.out, r
    assert " ready " not in r.out
    r = ec.run("check", "--online")
    assert r.code == 0, r
    assert "controller.project" in r.out and "online" in r.out
    r = ec.run("check", "--online", env={"THETA_EC_API_KEY": "wrong-key-"
                                         "0123456789"})
    assert r.code == 1, r
    assert "configured but not verified: controller.project" in r.err


DRY_RUNS = [
    ("deployments",), ("route-probe",), ("templates",), ("vms",),
    ("balance",), ("capabilities",), ("health",), ("sweep",),
    ("deploy", "--template", DEEPSEEK, "--yes"),
    ("deployment-start", "--shard", "1", "--suffix", "abc", "--yes"),
    ("deployment-stop", "--shard", "1", "--suffix", "abc"),
    ("deployment-delete", "--shard", "1", "--suffix", "abc", "--yes"),
    ("deployment-delete", "--base-id", "dpl_abc", "--yes"),
    ("ready",), ("dedicated-chat", "--message", "hi"),
    ("validate-disposable", "--template", DEEPSEEK, "--yes"),
    ("validate-disposable", "--template", DINO, "--probe", "gradio",
     "--yes"),
]


@pytest.mark.parametrize("args", DRY_RUNS, ids=[a[0] + "-" + str(i)
                                                 for i, a in
                                                 enumerate(DRY_RUNS)])
def test_dry_run_sends_nothing_but_gets(ec, sim, args):
    env = {"THETA_INFERENCE_AUTH_USER": "me_user",
           "THETA_INFERENCE_AUTH_PASS": ENDPOINT_PASS}
    if args[0] in ("ready", "dedicated-chat"):
        env["THETA_INFERENCE_ENDPOINT"] = \
            "https://x-0123456789abcdef.tec-s1.onthetaedgecloud.com"
    r = ec.run("run", args[0], *args[1:], "--dry-run", "--json", env=env)
    assert r.code == 0, r
    assert sim.mutating() == []
    out = result(r)
    text = json.dumps(out)
    assert ENDPOINT_PASS not in text
    if args[0] in ("deploy", "deployment-start", "deployment-stop",
                   "deployment-delete", "dedicated-chat"):
        assert out["dry_run"] is True, out
        plan = out["plan"]
        assert plan["method"] in ("POST", "PUT", "DELETE")
        for k, v in plan["headers"].items():
            if k.lower() in ("x-api-key", "authorization"):
                assert v == "***", (k, v)
        body = plan.get("body") or {}
        for k in ("auth_password", "auth_username"):
            if k in body:
                assert body[k] == "***"
    if args[0] == "validate-disposable":
        assert out["created"] is False and out["note"].startswith("dry run")


def test_no_secret_in_any_output_of_this_module():
    """The last test: every run's output once more, with every generated
    password the simulator has seen hashed."""
    assert len(OUTPUTS) > 40
    for out, err in OUTPUTS:
        for needle in (API_KEY, TOKEN, ENDPOINT_PASS):
            assert needle not in out and needle not in err
