"""End-to-end tests of the store (docs/store.md): the `store` module,
the spend ledger on SQLite and on PostgreSQL, where CLAWHOST_STORE is
read from and how it is masked, what a run does when the database is
out of reach, several "machines" sharing one PostgreSQL budget, and
SIGKILL at random moments on both engines.

The PostgreSQL tests use the throwaway cluster tests/with_pg.sh starts
(make test does); they never skip: without CLAWHOST_TEST_PG_URL they
fail and say so.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from decimal import Decimal

import pytest

from .conftest import BIN, ROOT, Host

PG_URL = os.environ.get("CLAWHOST_TEST_PG_URL", "")


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database of the test cluster."""
    if not PG_URL:
        pytest.fail("CLAWHOST_TEST_PG_URL is not set: run the suite "
                    "through tests/with_pg.sh (make test does)")
    name = "t_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", PG_URL, "-qc", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True)
    return PG_URL.replace("/clawhost?", f"/{name}?", 1)


def with_password(url, password):
    """The same URL with a user:password (trust ignores the password)."""
    return url.replace("postgresql://clawhost@",
                       f"postgresql://clawhost:{password}@", 1)


SPEND = """
local budget = require "budget"
return { run = function(ctx, args)
  local n, label = tonumber(args.n or "1"), args.label or "qwen3"
  local granted = 0
  for i = 1, n do
    local r, err = budget.reserve(tonumber(args.usd or "0.01"), label)
    if not r then
      return { granted = granted, stopped = err.code }
    end
    granted = granted + 1
    if args.settle then r:settle(tonumber(args.settle)) end
  end
  return { granted = granted }
end, params = {
  n = { type = "string" }, usd = { type = "string" },
  label = { type = "string" }, settle = { type = "string" },
} }
"""


def spend(host, *args, env=None):
    path = host.recipe(SPEND, "spend.lua")
    return host.run("run", path, "--json", *args, env=env)


def ledger(host, *args, env=None):
    r = host.run("ledger", "--json", *args, env=env)
    assert r.code == 0, r
    return r.json()


# ---- the store module ------------------------------------------------------

def test_state_round_trip_and_persistence(host):
    host.recipe("""
        local store = require "store"
        local json = require "json"
        return { run = function(ctx, args)
          local s = store.open()
          if args.write then
            assert(s:put("a/1", {n = 1, list = json.array{}, x = json.null}))
            assert(s:put("a/2", "two"))
            assert(s:put("b", 3))
          end
          local won, had = s:claim("once", args.write and "first" or "again")
          return { a1 = s:get("a/1"), a2 = s:get("a/2"), none = s:get("zz"),
                   keys = s:list("a/"), all = s:list(), won = won,
                   had = had, name = tostring(s),
                   deleted = not args.write and s:delete("b") or false,
                   again = not args.write and s:delete("b") or false }
        end, params = { write = { type = "string" } } }
        """, "state.lua")
    r = host.run("run", "state.lua", "--write", "1", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["a1"] == {"n": 1, "list": [], "x": None}
    assert doc["a2"] == "two" and "none" not in doc
    assert doc["keys"] == ["a/1", "a/2"]
    assert doc["all"] == ["a/1", "a/2", "b", "once"]
    assert doc["won"] is True
    assert doc["name"] == "clawhost.store.Space (recipe:state)"
    r = host.run("run", "state.lua", "--json")      # a later run
    doc = r.json()
    assert doc["a2"] == "two"
    assert doc["won"] is False and doc["had"] == "first"
    assert doc["deleted"] is True and doc["again"] is False
    st = host.run("store", "status", "--json").json()
    assert st["engine"] == "sqlite" and st["state_keys"] == 3


def test_store_arguments_are_checked(host):
    for lua, want in [
        ('s:put("", 1)', "a key is 1 to 256 characters"),
        ('s:put("a\\n", 1)', "a key is printable ASCII"),
        ('s:put("k", string.rep("x", 70000))', "at most 65536 bytes"),
        ('s:put("k", function() end)', "json.encode"),
        ('s:put("k")', "bad argument #2"),
    ]:
        r = host.run_body(f'local s = require("store").open()\n{lua}')
        assert r.code == 1, (lua, r)
        assert want in r.err, (lua, r)


def test_a_recipe_has_only_its_namespace(host):
    r = host.run_body('require("store").open("recipe:other")')
    assert r.code == 4, r
    assert "a recipe has only its own namespace" in r.err
    # a chunk a recipe loads itself cannot pass for library code
    r = host.run_body('''
        local f = load('return require("store").open("x")', "@lua/fake.lua")
        return f()
        ''')
    assert r.code == 4, r


def test_library_code_names_a_namespace(tmp_path):
    """An installation whose lua/ holds a module that names one."""
    inst = tmp_path / "inst"
    (inst / "bin").mkdir(parents=True)
    shutil.copy(BIN, inst / "bin" / "clawhost")
    shutil.copytree(ROOT / "lua", inst / "lua")
    (inst / "recipes").mkdir()
    (inst / "lua" / "shared_probe.lua").write_text(
        'local store = require "store"\n'
        'local _M = {}\n'
        'function _M.space() return store.open("campaign:x") end\n'
        'return _M\n')
    (inst / "recipes" / "writer.lua").write_text(
        'return { run = function()\n'
        '  local s = require("shared_probe").space()\n'
        '  assert(s:put("k", "shared"))\n'
        '  return { name = tostring(s) } end }\n')
    (inst / "recipes" / "reader.lua").write_text(
        'return { run = function()\n'
        '  return { v = require("shared_probe").space():get("k") } end }\n')
    host = Host(tmp_path)
    exe = str(inst / "bin" / "clawhost")
    r = host.run("run", "writer", "--json", binary=exe)
    assert r.code == 0, r
    assert r.json()["name"] == "clawhost.store.Space (campaign:x)"
    r = host.run("run", "reader", "--json", binary=exe)
    assert r.json()["v"] == "shared", r


def test_dry_run_writes_nothing(host):
    r = host.run_body('''
        local s = require("store").open()
        local ok, err = s:put("k", 1)
        local won, cerr = s:claim("k", 1)
        return { ok = ok == nil, code = err.code, claim = cerr.code,
                 get = s:get("k") }
        ''', "--dry-run", "--json")
    assert r.code == 0, r
    assert r.json() == {"ok": True, "code": "dry_run", "claim": "dry_run"}
    assert host.run("store", "status", "--json").json()["state_keys"] == 0


# ---- the ledger command ------------------------------------------------------

def test_ledger_since_run_and_json(host):
    r = spend(host, "--n", "3", "--usd", "0.10", "--settle", "0.04")
    assert r.code == 0 and r.json()["granted"] == 3, r
    r = spend(host, "--n", "1", "--usd", "0.25", "--label", "flux")
    assert r.code == 0, r
    led = ledger(host)
    # the flux reservation was never settled: at exit it is, at 0.25
    assert Decimal(str(led["committed"])) == Decimal("0.37")
    assert Decimal(str(led["settled"])) == Decimal("0.37")
    assert Decimal(str(led["open"])) == Decimal("0")
    svc = {g["key"]: g for g in led["service"]}
    assert svc["qwen3"]["calls"] == 3 and svc["flux"]["calls"] == 1
    runs = [g["key"] for g in led["run"]]
    assert len(runs) == 2 and all(k.startswith("spend@") for k in runs)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    since = ledger(host, "--since", today)
    assert since["since"] == today
    assert Decimal(str(since["committed"])) == Decimal("0.37")
    assert len(since["run"]) == 2
    assert ledger(host, "--since", "2999-01-01")["run"] == []
    one = ledger(host, "--run", runs[0])
    assert one["recipe"] == "spend" and one["exit"] == 0
    assert len(one["reservations"]) in (1, 3)
    text = host.run("ledger", "--run", runs[0])
    assert text.code == 0 and "recipe spend on" in text.out, text
    r = host.run("ledger", "--run", "nope")
    assert r.code == 2 and "no run nope" in r.err
    r = host.run("ledger", "--since", "yesterday")
    assert r.code == 2 and "--since takes a UTC day" in r.err
    r = host.run("ledger", "--since", today, "--open")
    assert r.code == 2 and "one at a time" in r.err


def test_open_reservations_reconciled(host):
    path = host.recipe('''
        local budget = require "budget"
        return { run = function()
          assert(budget.reserve(0.5, "qwen3"))
          require("task").sleep(30)
        end }''', "hang.lua")
    p = host.popen("run", path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        opened = json.loads(host.run("ledger", "--open", "--json").out)
        if opened:
            break
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    opened = json.loads(host.run("ledger", "--open", "--json").out)
    assert len(opened) == 1 and opened[0]["service"] == "qwen3"
    rid = str(opened[0]["id"])
    r = host.run("ledger", "--settle", rid, "0.20")
    assert r.code == 0 and "is now settled: 0.20 USD" in r.out, r
    assert Decimal(str(ledger(host)["committed"])) == Decimal("0.20")
    assert host.run("ledger", "--release", rid).code == 2


# ---- where the store is, and when it cannot be reached ------------------------

def test_store_setting_sources_and_sqlite_url(host):
    db = host.dir / "elsewhere" / "team.db"
    db.parent.mkdir()
    env = {"CLAWHOST_STORE": f"sqlite://{db}"}
    assert spend(host, env=env).code == 0
    assert db.exists() and (db.stat().st_mode & 0o777) == 0o600
    st = host.run("store", "status", "--json", env=env).json()
    assert st["where"] == str(db) and st["records"] == 1
    # from .env.local, as a secret is read
    (host.dir / ".env.local").write_text(f"CLAWHOST_STORE=sqlite://{db}\n")
    os.chmod(host.dir / ".env.local", 0o600)
    assert host.run("store", "status", "--json").json()["records"] == 1
    # a credentials folder wins
    creds = host.dir / "creds"
    creds.mkdir()
    other = host.dir / "other.db"
    (creds / "CLAWHOST_STORE").write_text(f"sqlite://{other}\n")
    r = host.run("store", "status", "--json",
                 env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert r.json()["where"] == str(other), r


def test_bad_store_setting_fails_closed_free_recipes_run(host):
    env = {"CLAWHOST_STORE": "mysql://u:Hunter2-Pa55@h/db"}
    r = spend(host, env=env)
    assert r.code == 2, r
    assert "the spend store cannot be used, so no paid call is made" in r.err
    assert "CLAWHOST_STORE must be sqlite:///" in r.err
    assert "Hunter2-Pa55" not in r.text
    r = host.run_body("return { ok = true }", "--json", env=env)
    assert r.code == 0 and r.json() == {"ok": True}


def test_config_refuses_the_store_url(host):
    r = host.run_body('return require("config").get("CLAWHOST_STORE")',
                      env={"CLAWHOST_STORE": "sqlite:///x.db"})
    assert r.code == 2 and "secret" in r.err, r


def test_unreachable_postgresql_fails_closed(host):
    url = ("postgresql://clawhost:Sekr1t-W0rd-9@/clawhost"
           "?host=/nonexistent-clawhost&connect_timeout=2")
    r = spend(host, env={"CLAWHOST_STORE": url})
    assert r.code == 2, r
    assert "the spend store cannot be used" in r.err
    assert "Sekr1t-W0rd-9" not in r.text
    r = host.run_body("return { ok = true }", "--json",
                      env={"CLAWHOST_STORE": url})
    assert r.code == 0, r


def test_postgresql_store_and_masked_password(host, pg_url):
    url = with_password(pg_url, "Mask-Me-Pa55w0rd")
    env = {"CLAWHOST_STORE": url}
    r = spend(host, "--n", "2", "--usd", "0.05", "--settle", "0.02",
              env=env)
    assert r.code == 0 and r.json()["granted"] == 2, r
    st = host.run("store", "status", "--json", env=env)
    doc = st.json()
    assert doc["engine"] == "postgresql" and doc["records"] == 2
    assert "Mask-Me-Pa55w0rd" not in st.text
    assert doc["where"].startswith("postgresql://clawhost@")
    led = ledger(host, env=env)
    assert Decimal(str(led["committed"])) == Decimal("0.04")
    # a recipe that prints the password sees it masked once the store
    # (and so the secret) is loaded
    r = host.run_body('''
        local budget = require "budget"
        budget.status()
        print("pw=Mask-Me-Pa55w0rd")
        ''', env=env)
    assert r.code == 0, r
    assert "Mask-Me-Pa55w0rd" not in r.text and "pw=" in r.text


# ---- one budget, many machines --------------------------------------------------

def test_three_machines_share_one_daily_cap(tmp_path, pg_url):
    """12 processes, 3 state folders with no shared file, one database:
    a daily cap of 1.00 USD in 0.01 USD reservations grants exactly
    100, never one more."""
    for i in range(3):
        (tmp_path / f"m{i}").mkdir()
    machines = [Host(tmp_path / f"m{i}") for i in range(3)]
    procs = []
    for m in machines:
        m.env = {"CLAWHOST_STORE": pg_url,
                 "CLAWHOST_DAILY_BUDGET_USD": "1.00"}
        path = m.recipe(SPEND, "spend.lua")
        for _ in range(4):
            procs.append(m.popen("run", path, "--json", "--n", "60",
                                 "--budget", "10"))
    granted, granting = 0, 0
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        doc = json.loads(out)
        assert doc.get("stopped") in (None, "budget_exceeded"), doc
        granted += doc["granted"]
        granting += doc["granted"] > 0
    assert granted == 100
    led = ledger(machines[0])
    assert Decimal(str(led["today_committed"])) == Decimal("1.00")
    assert sum(g["calls"] for g in led["run"]) == 100
    # one ledger row per run that was granted something: on a busy
    # machine a late starter may find the day's cap already reached
    assert len(led["run"]) == granting


# ---- SIGKILL ---------------------------------------------------------------------

LOOP = """
local budget = require "budget"
return { run = function()
  for i = 1, 100000 do
    local r = assert(budget.reserve(0.001, "loop"))
    if i % 2 == 0 then r:settle(0.0005) end
  end
end }
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_sigkill_never_loses_spend(host, engine, request):
    if engine == "postgresql":
        host.env["CLAWHOST_STORE"] = request.getfixturevalue("pg_url")
    path = host.recipe(LOOP, "loop.lua")
    before, calls = Decimal("0"), 0
    for i in range(8):
        p = host.popen("run", path, "--budget", "1000")
        time.sleep(0.15 + 0.05 * (i % 4))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        led = ledger(host)
        committed = Decimal(str(led["committed"]))
        now_calls = sum(g["calls"] for g in led["service"])
        assert committed >= before and now_calls >= calls
        assert committed == (Decimal(str(led["settled"])) +
                             Decimal(str(led["open"])))
        before, calls = committed, now_calls
    assert before > 0 and calls > 8
