"""End-to-end tests of campaigns (docs/campaigns.md): the campaign
recipe against the Theta simulator (its copywriter mode writes posts
from the facts and, when told, invents claims) and the Threads reference
backend, both real processes.

    /usr/bin/python3 -m pytest tests/e2e/campaign_test.py -q

The backend refuses slots more than 90 days ahead, so every campaign
starts a week from today. Each test has its own store; both servers are
reset before each test. Every run's output is checked for the token and
the queue secret.
"""
import datetime
import json
import pathlib
import re
import secrets
import signal
import time
import urllib.request
import zoneinfo

import pytest

from tests.e2e.fixtures.theta_sim import Sim
from tests.servers import harness

TOKEN = "tsim_" + secrets.token_urlsafe(24)
QUEUE_SECRET = "qs-" + secrets.token_hex(16)
ROOT = pathlib.Path(__file__).resolve().parents[2]
OD = "ondemand.thetaedgecloud.com"
OUTPUTS = []

START = datetime.date.today() + datetime.timedelta(days=7)


# ---- the servers ---------------------------------------------------------

SIM_HOSTS = (OD, "ondemand-outputs.thetaedgecloud.com")


class Backend:
    def __init__(self, server):
        self.url = server.url

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("X-Queue-Secret", QUEUE_SECRET)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def reset(self):
        self.call("POST", "/__test__/reset", {})

    def items(self):
        return self.call("GET", "/api/v1/threads/queue?limit=200")["items"]


@pytest.fixture(scope="module")
def sim():
    server = harness.start("theta_sim", ["--profile", "fast", "--quiet"],
                           env={"THETA_SIM_TOKEN": TOKEN})
    try:
        yield Sim(server, SIM_HOSTS)
    finally:
        assert server.stop() == 0


@pytest.fixture(scope="module")
def backend():
    server = harness.start("threads_backend", env={
        "THREADS_QUEUE_SECRET": QUEUE_SECRET, "REF_TEST_HOOKS": "1",
        "REF_WORKER_INTERVAL_S": "0", "REF_LOG_LEVEL": "warning"})
    try:
        yield Backend(server)
    finally:
        assert server.stop() == 0


def check_output(out, err):
    OUTPUTS.append((out, err))
    for s in (TOKEN, QUEUE_SECRET):
        assert s not in out and s not in err
    assert "AddressSanitizer" not in err and "runtime error:" not in err


class Camp:
    def __init__(self, host, sim, backend, tmp):
        self.host, self.sim, self.backend = host, sim, backend
        self.file = tmp / "c.json"
        self.procs = []
        self.env = {**sim.env(), "THETA_ONDEMAND_API_TOKEN": TOKEN,
                    "THREADS_FASTAPI_BASE_URL": backend.url,
                    "THREADS_QUEUE_SECRET": QUEUE_SECRET,
                    "CLAWHOST_STATE_DIR": str(tmp / "state")}

    def write(self, doc):
        self.file.write_text(json.dumps(doc, indent=2))

    def run(self, *args, env=None, timeout=120):
        r = self.host.run("run", "campaign", "--file", self.file, *args,
                          env={**self.env, **(env or {})},
                          timeout=timeout)
        check_output(r.out, r.err)
        return r

    def popen(self, *args):
        p = self.host.popen("run", "campaign", "--file", self.file,
                            *args, env=self.env)
        self.procs.append(p)
        return p


def campaign(cid="riviera", budget=0.50, zone="Europe/Paris",
             slots=("09:00", "18:00"), **extra):
    doc = {
        "campaign": cid, "budget_usd": budget,
        "copy": {"service": "gpt_oss_120b", "max_attempts": 3},
        "image": {"mode": "generate"},
        "schedule": {"start": START.isoformat(), "slots": list(slots),
                     "time_zone": zone},
        "threads": {"proxy_images": False},
        "items": [
            {"id": "villa-azur", "title": "Villa Azur",
             "link": "https://example.com/villa-azur",
             "facts": {"text": "Detached villa with a garden and a pool.",
                       "fields": {"type": "villa", "location": "Antibes",
                                  "price": 1250000, "currency": "EUR",
                                  "surface_m2": 180, "bedrooms": 4,
                                  "beach_distance_m": 800,
                                  "amenities": ["pool", "garden",
                                                "parking"]}}},
            {"id": "port-flat", "title": "Flat by the old port",
             "facts": {"fields": {"type": "flat", "location": "Nice",
                                  "price": 420000, "currency": "EUR",
                                  "surface_m2": 68, "bedrooms": 2,
                                  "amenities": ["lift", "balcony"]}}},
            {"id": "garden-house", "title": "Garden house",
             "facts": {"fields": {"type": "house", "location": "Vence",
                                  "price": 690000, "currency": "EUR",
                                  "surface_m2": 140, "bedrooms": 3,
                                  "amenities": ["garden", "terrace"]}}},
        ],
    }
    doc.update(extra)
    return doc


BEACH = {"when": "Villa Azur", "add": "with direct beach access"}


@pytest.fixture
def camp(host, sim, backend, tmp_path):
    sim.reset()
    backend.reset()
    c = Camp(host, sim, backend, tmp_path)
    c.write(campaign())
    yield c
    for p in c.procs:           # a failed test leaves no run behind
        if p.poll() is None:
            p.kill()
            p.communicate()


def result(r):
    return json.loads(r.out)


def slot_utc(day_offset, hhmm, zone="Europe/Paris"):
    h, m = map(int, hhmm.split(":"))
    d = START + datetime.timedelta(days=day_offset)
    local = datetime.datetime(d.year, d.month, d.day, h, m,
                              tzinfo=zoneinfo.ZoneInfo(zone))
    return local.astimezone(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def by_key(items):
    return {i["idempotency_key"]: i for i in items}


def copies_of(sim, title):
    return [g for g in sim.copies() if title in g["text"] or
            g["text"].startswith(title)]


# ---- the whole campaign --------------------------------------------------

def test_three_items_queued_at_their_slots_the_invented_claim_blocked(
        camp, sim, backend):
    sim.config(copy_hallucinations=[dict(BEACH, times=1)])
    r = camp.run("--json")
    assert r.code == 0, r
    out = result(r)
    rows = {x["item"]: x for x in out["items"]}
    assert rows["villa-azur"]["copy"] == "2 attempts"
    assert all(x["check"] == "ok" for x in out["items"])
    items = by_key(backend.items())
    assert len(items) == 3
    want = {"villa-azur": slot_utc(0, "09:00"),
            "port-flat": slot_utc(0, "18:00"),
            "garden-house": slot_utc(1, "09:00")}
    for item, at in want.items():
        q = items["campaign-riviera-%s-post" % item]
        assert q["scheduled_at"] == at, (item, q["scheduled_at"], at)
        assert len(q["images"]) == 1
        assert "beach access" not in q["message"].lower()
        assert rows[item]["queue_id"] == q["id"]
    villa = items["campaign-riviera-villa-azur-post"]
    assert villa["message"].endswith("\nhttps://example.com/villa-azur")
    assert len(villa["message"].encode()) <= 500
    # the invented claim was written once, refused, and written again
    gens = copies_of(sim, "Villa Azur")
    assert len(gens) == 2
    assert "direct beach access" in gens[0]["text"]
    assert "direct beach access" not in gens[1]["text"]
    assert "beach access" in r.err           # the refusal was reported
    assert out["spent_usd"] != "0.00"
    # a rerun does nothing at all
    n_req = len(sim.requests())
    r = camp.run("--json")
    assert r.code == 0, r
    assert len(sim.requests()) == n_req
    assert len(backend.items()) == 3


def test_a_claim_that_keeps_coming_back_is_held_never_queued(camp, sim,
                                                             backend):
    sim.config(copy_hallucinations=[dict(BEACH, times=-1)])
    r = camp.run("--json")
    assert r.code == 1, r
    out = result(r)
    assert "held for review" in r.err
    rows = {x["item"]: x for x in out["items"]}
    assert rows["villa-azur"]["check"].startswith("held")
    assert rows["villa-azur"]["queue_id"] == "-"
    keys = by_key(backend.items())
    assert set(keys) == {"campaign-riviera-port-flat-post",
                         "campaign-riviera-garden-house-post"}
    assert len(copies_of(sim, "Villa Azur")) == 3   # max_attempts
    s = camp.run("--status")
    assert s.code == 0 and "held" in s.out, s
    # a rerun does not write it again; --redo after the fix does
    r = camp.run()
    assert r.code == 1 and len(copies_of(sim, "Villa Azur")) == 3, r
    sim.config(copy_hallucinations=[])
    r = camp.run("--redo", "villa-azur", "--json")
    assert r.code == 0, r
    assert len(backend.items()) == 3


def test_wrong_prices_and_superlatives_are_caught(camp, sim, backend):
    sim.config(copy_hallucinations=[
        {"when": "Flat by the old port", "price_factor": 0.9, "times": 1},
        {"when": "Garden house", "superlative": "The best deal in town! ",
         "times": 2}])
    r = camp.run("--json")
    assert r.code == 0, r
    assert len(copies_of(sim, "Flat by the old port")) == 2
    assert len([g for g in sim.copies() if "Garden house" in g["text"]]) \
        == 3
    for q in backend.items():
        assert "best" not in q["message"].lower()
        assert "€378,000" not in q["message"]


def test_slots_in_another_time_zone(camp, sim, backend):
    camp.write(campaign(zone="America/New_York", slots=["07:30"],
                        image={"mode": "none"}))
    r = camp.run()
    assert r.code == 0, r
    got = sorted(q["scheduled_at"] for q in backend.items())
    assert got == [slot_utc(d, "07:30", "America/New_York")
                   for d in range(3)]
    assert all(q["images"] == [] for q in backend.items())


# ---- exactly once --------------------------------------------------------

def wait_for(proc, text, lines, timeout=60):
    """Read proc's stderr lines until one contains text."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError("exited before %r: %s" % (text, lines))
        lines.append(line)
        if text in line:
            return
    raise AssertionError("no %r in time" % text)


def flux_posts(sim):
    return [q for q in sim.requests() if q["method"] == "POST" and
            q["path"].startswith("/infer_request/flux")]


def kill_and_collect(camp, proc):
    proc.kill()
    out, err = proc.communicate(timeout=30)
    check_output(out, err)


def test_kill_9_at_three_points_then_rerun_pays_and_posts_once(
        camp, sim, backend):
    # slow enough steps to land a kill inside each of them
    sim.config(first_byte_delay_by_service={"gpt_oss_120b": 1.0},
               job_times={"flux": [0.5, 1.5]})
    # 1. inside a copy call of the second item
    p = camp.popen()
    lines = []
    wait_for(p, "port-flat: copy: attempt 1", lines)
    time.sleep(0.3)
    kill_and_collect(camp, p)
    assert len(backend.items()) == 1
    # 2. inside the image wait of the second item, after its job exists
    p = camp.popen()
    lines = []
    wait_for(p, "port-flat: image", lines)
    for _ in range(100):
        if len(flux_posts(sim)) >= 2:
            break
        time.sleep(0.05)
    time.sleep(0.4)            # the job exists: the run is waiting for it
    kill_and_collect(camp, p)
    assert len(flux_posts(sim)) == 2
    # 3. right after the third item's post is sent
    p = camp.popen()
    lines = []
    wait_for(p, "garden-house: queue at", lines)
    time.sleep(0.05)
    kill_and_collect(camp, p)
    # the rerun finishes
    r = camp.run("--json")
    assert r.code == 0, r
    items = backend.items()
    assert len(items) == 3
    assert len({q["idempotency_key"] for q in items}) == 3
    # one image per item: the job the killed run waited for was reused
    assert len(flux_posts(sim)) == 3
    # finished copies were not written again: villa once, the house once,
    # the flat at most twice (its first call was killed in flight)
    assert len(copies_of(sim, "Villa Azur")) == 1
    assert len(copies_of(sim, "Garden house")) == 1
    assert 1 <= len(copies_of(sim, "Flat by the old port")) <= 2
    # and nothing more on a further rerun
    n = len(sim.requests())
    assert camp.run().code == 0
    assert len(sim.requests()) == n


# ---- money ---------------------------------------------------------------

def test_the_cap_stops_before_the_first_unaffordable_step(camp, sim,
                                                          backend):
    camp.write(campaign(budget=0.015))
    r = camp.run("--json")
    assert r.code == 3, r
    assert "Raise budget_usd" in r.err
    out = result(r)
    rows = {x["item"]: x for x in out["items"]}
    assert rows["villa-azur"]["queue_id"].startswith("thq_")
    assert len(backend.items()) == 1
    assert len(flux_posts(sim)) == 1
    camp.write(campaign(budget=0.10))
    r = camp.run("--json")
    assert r.code == 0, r
    assert len(backend.items()) == 3
    assert len(flux_posts(sim)) == 3
    assert len(copies_of(sim, "Villa Azur")) == 1
    assert len(copies_of(sim, "Flat by the old port")) == 1


def test_dry_run_prints_the_plan_and_sends_nothing_but_gets(camp, sim,
                                                           backend):
    r = camp.run("--dry-run", "--json")
    assert r.code == 0, r
    p = result(r)
    assert p["dry_run"] is True and p["fits"] is True
    assert [x["slot"][:10] for x in p["items"]] == [
        START.isoformat(), START.isoformat(),
        (START + datetime.timedelta(days=1)).isoformat()]
    assert float(p["worst_case_usd"]) > 0.03
    assert all(q["method"] == "GET" for q in sim.requests())
    assert backend.items() == []
    camp.write(campaign(budget=0.01))
    r = camp.run("--dry-run")
    assert r.code == 0 and "passes the budget" in r.out, r


def test_a_bad_file_is_refused_whole_before_anything_is_sent(camp, sim,
                                                             backend):
    doc = campaign()
    doc["items"][1]["facts"]["fields"]["price"] = {"eur": 1}
    doc["schedule"]["time_zone"] = "Europe/Pariss"
    doc["items"][2]["id"] = "villa-azur"
    camp.write(doc)
    r = camp.run()
    assert r.code == 2, r
    assert "has 3 problems" in r.err
    assert "items[2] (port-flat).facts.fields.price" in r.err
    assert "Europe/Pariss" in r.err
    assert "items[3] (villa-azur).id: repeats items[1]" in r.err
    assert sim.requests() == [] and backend.items() == []


# ---- review --------------------------------------------------------------

def test_review_then_approve(camp, sim, backend, tmp_path):
    drafts = tmp_path / "drafts.md"
    r = camp.run("--review", "--drafts", drafts)
    assert r.code == 0, r
    assert backend.items() == []
    text = drafts.read_text()
    assert "## villa-azur (Villa Azur)" in text and "verdict: ok" in text
    # every claim with its decision and the fact behind it
    assert "ok  number: €1,250,000 (fields.price)" in text, text
    st = camp.run("--status", "--json")
    villa = [x for x in result(st)["items"] if x["item"] == "villa-azur"][0]
    assert villa["text"].startswith("Villa Azur")
    assert all(c["supported"] for c in villa["claims"])
    assert {"fields.price", "fields.bedrooms"} <= {c["by"] for c in
                                                  villa["claims"]}
    assert text.count("image: https://") == 3
    s = camp.run("--status")
    assert s.code == 0 and s.out.count("draft") == 3, s
    r = camp.run("--approve", "villa-azur")
    assert r.code == 0, r
    assert len(backend.items()) == 1
    r = camp.run("--approve-all")
    assert r.code == 0, r
    assert len(backend.items()) == 3
    # approving paid nothing more
    assert len(copies_of(sim, "Villa Azur")) == 1
    r = camp.run("--approve", "nope")
    assert r.code == 2 and "no item nope" in r.err, r


# ---- your own steps ------------------------------------------------------

def test_the_custom_recipe_of_the_docs(camp, sim, backend, host):
    doc = (ROOT / "docs" / "campaigns.md").read_text()
    lua = re.search(r"```lua\n(-- recipes/templated-campaign.lua.*?)```",
                    doc, re.S).group(1)
    assert len(lua.splitlines()) < 40
    path = host.recipe(lua, "templated-campaign.lua")
    camp.write(campaign(cid="templated"))
    r = host.run("run", path, "--file", camp.file, "--json",
                 env=camp.env)
    check_output(r.out, r.err)
    assert r.code == 0, r
    msgs = sorted(q["message"] for q in backend.items())
    assert msgs[0].startswith("Flat by the old port in Nice: 2 bedrooms, " +
                              "68 m², €420,000. #RealEstate")
    assert sim.copies() == []           # no model wrote anything


def test_no_secret_in_any_output():
    assert len(OUTPUTS) > 10
    for out, err in OUTPUTS:
        assert TOKEN not in out + err and QUEUE_SECRET not in out + err
