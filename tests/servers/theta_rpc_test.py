"""Tests of theta_rpc, the JSON-RPC servers of reference section 5.2.

One process serves the EdgeCloud client, chain node and thetacli
surfaces on three loopback ports (one with --surface); every call is a
real HTTP POST /rpc.  Covered: the READY words, JSON-RPC errors (-32700,
-32600, -32601, -32602, the node's -32000 and -32001), both params
forms and their record, every method, notifications, the HTTP rules
(415, 405, 404), faults, control routes, and that no password or
transaction bytes reach the call record or stderr.

    /usr/bin/python3 -m pytest tests/servers/theta_rpc_test.py -q
"""
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from tests.servers import harness

ADDRESS = r"0x[0-9a-f]{40}"
HASH = r"0x[0-9a-f]{64}"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


class Rpc:
    def __init__(self, server):
        self.server = server
        self.info = server.info
        self.urls = {s: self.info[s] for s in ("edgecloud", "chain", "cli")
                     if s in self.info}

    def post(self, surface, body, ctype="application/json",
             timeout=10, conn=None):
        """(status, headers, raw body) of a POST to a surface's /rpc."""
        u = urlsplit(self.urls[surface])
        c = conn or http.client.HTTPConnection(u.hostname, u.port,
                                               timeout=timeout)
        try:
            hdrs = {"Content-Type": ctype} if ctype else {}
            raw = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            c.request("POST", u.path, body=raw, headers=hdrs)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            if conn is None:
                c.close()

    def call(self, surface, method, params=None, rid=1, **kw):
        """The whole reply object of one call."""
        body = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            body["params"] = params
        st, _, raw = self.post(surface, body, **kw)
        assert st == 200, raw
        reply = json.loads(raw)
        assert reply["jsonrpc"] == "2.0" and reply["id"] == rid
        return reply

    def result(self, surface, method, params=None):
        reply = self.call(surface, method, params)
        assert "error" not in reply, reply
        return reply["result"]

    def error(self, surface, method, params=None, code=None):
        reply = self.call(surface, method, params)
        assert "result" not in reply, reply
        if code is not None:
            assert reply["error"]["code"] == code, reply
        return reply["error"]

    def ctl(self, method, path, body=None, status=200):
        u = urlsplit(self.server.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        try:
            c.request(method, "/__rpc__/" + path,
                      body=None if body is None else json.dumps(body))
            r = c.getresponse()
            data = json.loads(r.read())
            assert r.status == status, data
            return data
        finally:
            c.close()

    def calls(self, **filters):
        q = "&".join("%s=%s" % kv for kv in filters.items())
        return self.ctl("GET", "calls" + ("?" + q if q else ""))["calls"]


@pytest.fixture(scope="module")
def rpc():
    with harness.start("theta_rpc", env={"THETA_RPC_LOG": "quiet"}) as s:
        yield Rpc(s)


@pytest.fixture(autouse=True)
def clean(rpc):
    rpc.ctl("POST", "reset")
    rpc.ctl("POST", "config", {"tx_finalize_s": 0.2})
    yield


# -- launch ------------------------------------------------------------------
def test_ready_line_three_surfaces(rpc):
    info = rpc.info
    assert set(info) == {"edgecloud", "chain", "cli", "wallet", "cli_key",
                         "cli_password"}
    ports = set()
    for s in ("edgecloud", "chain", "cli"):
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/rpc", info[s])
        assert m, info[s]
        ports.add(m.group(1))
    assert len(ports) == 3
    assert rpc.server.url + "/rpc" == info["edgecloud"]
    assert re.fullmatch(ADDRESS, info["wallet"])
    assert re.fullmatch(ADDRESS, info["cli_key"])
    assert len(info["cli_password"]) >= 8
    for s in ("edgecloud", "chain", "cli"):
        u = urlsplit(info[s])
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        c.request("GET", "/__rpc__/health")
        assert json.loads(c.getresponse().read()) == {"ok": True,
                                                      "surface": s}
        c.close()


def test_one_surface_alone():
    with harness.start("theta_rpc", ["--surface", "chain", "--quiet"]) as s:
        one = Rpc(s)
        assert set(s.info) == {"chain", "wallet", "cli_key",
                               "cli_password"}
        assert s.info["chain"] == s.url + "/rpc"
        assert one.result("chain", "theta.GetVersion")["version"]
        err = one.error("chain", "edgecloud.GetStatus", code=-32601)
        assert err["message"] == "Method not found: edgecloud.GetStatus"


# -- JSON-RPC errors ---------------------------------------------------------
def test_parse_error_and_invalid_requests(rpc):
    for raw in (b"{", b"", b"\xff\xfe", b"{\"jsonrpc\": \"2.0\", "):
        st, _, body = rpc.post("chain", raw)
        assert st == 200
        assert json.loads(body) == {"jsonrpc": "2.0", "id": None, "error": {
            "code": -32700, "message": "Parse error"}}
    bad = [
        ([{"jsonrpc": "2.0", "id": 1, "method": "theta.GetVersion"}],
         None, "batch requests are not supported"),
        ("text", None, "the body must be a JSON object"),
        ({"id": 7, "method": "theta.GetVersion"}, 7,
         "jsonrpc must be \"2.0\""),
        ({"jsonrpc": "1.0", "id": 7, "method": "theta.GetVersion"}, 7,
         "jsonrpc must be \"2.0\""),
        ({"jsonrpc": "2.0", "id": "a"}, "a",
         "method must be a non-empty string"),
        ({"jsonrpc": "2.0", "id": 8, "method": 5}, 8,
         "method must be a non-empty string"),
        ({"jsonrpc": "2.0", "id": {"x": 1}, "method": "theta.GetVersion"},
         None, "id must be a number, a string or null"),
        ({"jsonrpc": "2.0", "id": True, "method": "theta.GetVersion"},
         None, "id must be a number, a string or null"),
        ({"jsonrpc": "2.0", "id": 9, "method": "theta.GetVersion",
          "params": "x"}, 9, "params must be an array or an object"),
        ({"jsonrpc": "2.0", "id": 9, "method": "theta.GetVersion",
          "params": 3}, 9, "params must be an array or an object"),
    ]
    for body, rid, text in bad:
        st, _, raw = rpc.post("chain", body)
        reply = json.loads(raw)
        assert st == 200 and reply["id"] == rid, body
        assert reply["error"] == {"code": -32600,
                                  "message": "Invalid Request: " + text}
    rows = rpc.calls(surface="chain")
    assert len(rows) == 4 + len(bad)
    assert {r["error"]["code"] for r in rows} == {-32700, -32600}


def test_method_not_found_and_invalid_params(rpc):
    for surface, method in (("chain", "theta.Nope"),
                            ("chain", "thetacli.ListKeys"),
                            ("cli", "edgecloud.GetStatus"),
                            ("edgecloud", "theta.GetAccount"),
                            ("edgecloud", "edgecloud.getstatus")):
        err = rpc.error(surface, method, code=-32601)
        assert err["message"] == "Method not found: " + method
    cases = [
        ("edgecloud", "edgecloud.SetPrice", [{}], "price_hr is required"),
        ("edgecloud", "edgecloud.SetPrice", [{"price_hr": "-5"}],
         "price_hr must be a non-negative decimal number"),
        ("edgecloud", "edgecloud.SetPrice", [{"price_hr": "2e3"}],
         "price_hr must be a non-negative decimal number"),
        ("edgecloud", "edgecloud.SetPrice", [{"price_hr": True}],
         "price_hr must be a decimal string"),
        ("edgecloud", "edgecloud.SetPrice",
         [{"price_hr": "1"}, {"price_hr": "2"}],
         "params must be [{...}] or {...}"),
        ("edgecloud", "edgecloud.SetPrice", ["2000"],
         "params must be [{...}] or {...}"),
        ("edgecloud", "edgecloud.GetJobs", [{"page": -1}],
         "page must be an integer >= 0"),
        ("edgecloud", "edgecloud.GetJobs", [{"size": 0}],
         "size must be an integer from 1 to 100"),
        ("edgecloud", "edgecloud.GetDeployments", {"size": "5"},
         "size must be an integer from 1 to 100"),
        ("chain", "theta.GetAccount", {}, "address is required"),
        ("chain", "theta.GetAccount", {"address": 12},
         "address must be a string"),
        ("chain", "theta.GetAccount", {"address": "0x1234"},
         "address must be 0x followed by 40 hex digits"),
        ("chain", "theta.GetAccount", [{"address": "0x" + "g" * 40}],
         "address must be 0x followed by 40 hex digits"),
        ("chain", "theta.GetTransaction", {"hash": "0xabc"},
         "hash must be 0x followed by 64 hex digits"),
        ("chain", "theta.BroadcastRawTransaction", {"tx_bytes": "abc"},
         "tx_bytes must be a non-empty hex string"),
        ("chain", "theta.BroadcastRawTransactionAsync", {"tx_bytes": ""},
         "tx_bytes must be a non-empty hex string"),
        ("chain", "theta.BroadcastRawTransaction", {"tx_bytes": "zz"},
         "tx_bytes must be a non-empty hex string"),
        ("chain", "theta.BroadcastRawTransaction", {},
         "tx_bytes is required"),
        ("cli", "thetacli.NewKey", {}, "password is required"),
        ("cli", "thetacli.NewKey", {"password": "short"},
         "password must be at least 8 characters"),
        ("cli", "thetacli.UnlockKey", {"password": "x" * 9},
         "address is required"),
    ]
    for surface, method, params, text in cases:
        err = rpc.error(surface, method, params, code=-32602)
        assert err["message"] == "Invalid params: " + text, (method, params)


def test_ids_notifications_and_keep_alive(rpc):
    for rid in (1, "abc", None, 1712345678901, 2.5):
        reply = rpc.call("chain", "theta.GetVersion", rid=rid)
        assert "result" in reply
    # a notification (no id) runs and gets no JSON-RPC reply
    st, hdrs, raw = rpc.post("edgecloud", {
        "jsonrpc": "2.0", "method": "edgecloud.SetPrice",
        "params": [{"price_hr": "1750"}]})
    assert (st, raw) == (204, b"")
    assert rpc.result("edgecloud", "edgecloud.GetStatus")["price_hr"] == \
        "1750"
    st, _, raw = rpc.post("edgecloud", {"jsonrpc": "2.0",
                                        "method": "edgecloud.Nope"})
    assert (st, raw) == (204, b"")
    rows = rpc.calls(surface="edgecloud")
    assert [r["notification"] for r in rows] == [True, False, True]
    assert rows[2]["error"]["code"] == -32601
    # several calls on one connection
    u = urlsplit(rpc.urls["chain"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    try:
        for i in range(5):
            st, hdrs, raw = rpc.post("chain", {
                "jsonrpc": "2.0", "id": i, "method": "theta.GetVersion"},
                conn=conn)
            assert st == 200 and json.loads(raw)["id"] == i
    finally:
        conn.close()


def test_http_rules(rpc):
    body = {"jsonrpc": "2.0", "id": 1, "method": "theta.GetVersion"}
    for ctype in (None, "text/plain", "application/x-www-form-urlencoded"):
        st, _, raw = rpc.post("chain", body, ctype=ctype)
        assert st == 415 and raw.startswith(
            b"rpc: unrecognized Content-Type"), ctype
    st, _, raw = rpc.post("chain", body,
                          ctype="application/json; charset=utf-8")
    assert st == 200
    assert rpc.calls()[0]["error"]["message"] == \
        "HTTP 415 unsupported Content-Type"
    rpc.ctl("POST", "config", {"require_json_content_type": False})
    assert rpc.post("chain", body, ctype="text/plain")[0] == 200
    u = urlsplit(rpc.urls["chain"])
    for method, path, status in (("GET", "/rpc", 405), ("PUT", "/rpc", 405),
                                 ("POST", "/", 404),
                                 ("GET", "/other", 404),
                                 ("GET", "/__rpc__/nope", 404)):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        c.request(method, path, body=b"{}" if method != "GET" else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status == status, (method, path)
    # a chunked body; one too large; broken chunking
    raw = json.dumps(body).encode()
    for chunks, status in (
            ([b"%x\r\n%s\r\n" % (len(raw[i:i + 5]), raw[i:i + 5])
              for i in range(0, len(raw), 5)] + [b"0\r\n\r\n"], 200),
            ([b"zz\r\n"], 400)):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        c.putrequest("POST", "/rpc")
        c.putheader("Content-Type", "application/json")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for piece in chunks:
            c.send(piece)
        r = c.getresponse()
        assert r.status == status and r.read()
        c.close()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    c.putrequest("POST", "/rpc")
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str(5 * 1024 * 1024))
    c.endheaders()
    r = c.getresponse()
    assert r.status == 413 and json.loads(r.read()) == {
        "error": "request body too large"}
    c.close()


# -- edgecloud ---------------------------------------------------------------
def test_edgecloud_status_and_rewards(rpc):
    st = rpc.result("edgecloud", "edgecloud.GetStatus")
    assert set(st) == {"wallet_address", "machine_id", "connection_status",
                       "price_hr", "recent_deployments", "recent_jobs",
                       "current_month_deployment_reward",
                       "current_month_job_reward"}
    assert st["wallet_address"] == rpc.info["wallet"]
    assert st["connection_status"] == "connected"
    assert st["price_hr"] == "1000"
    dep = st["recent_deployments"][0]
    assert set(dep) == {"id", "start_time", "end_time", "price_hr",
                        "reward_usd"}
    assert re.fullmatch(ISO, dep["start_time"]) and dep["end_time"] > \
        dep["start_time"]
    job = st["recent_jobs"][0]
    assert set(job) == {"id", "success_time", "reward_usd"}
    assert re.fullmatch(r"infr_rqst_[0-9a-z]{22}", job["id"])
    # the same whatever form of empty params
    for params in ([], {}, [{}]):
        assert rpc.result("edgecloud", "edgecloud.GetStatus", params) == st
    rw = rpc.result("edgecloud", "edgecloud.GetRewards")
    assert rw["current_month_deployment_reward"] == \
        st["current_month_deployment_reward"]
    assert rw["current_month_total_reward"] == round(
        rw["current_month_deployment_reward"]
        + rw["current_month_job_reward"], 6)
    assert rw["total_reward"] >= rw["current_month_total_reward"]
    rpc.ctl("POST", "config", {"connection_status": "disconnected"})
    assert rpc.result("edgecloud", "edgecloud.GetStatus")[
        "connection_status"] == "disconnected"


def test_set_price_both_forms_are_recorded(rpc):
    assert rpc.result("edgecloud", "edgecloud.SetPrice",
                      [{"price_hr": "2000"}]) == {"price_hr": "2000"}
    assert rpc.result("edgecloud", "edgecloud.SetPrice",
                      {"price_hr": "2100.5"}) == {"price_hr": "2100.5"}
    assert rpc.result("edgecloud", "edgecloud.SetPrice",
                      [{"price_hr": 1900}]) == {"price_hr": "1900"}
    assert rpc.result("edgecloud", "edgecloud.GetStatus")["price_hr"] == \
        "1900"
    rows = rpc.calls(method="edgecloud.SetPrice")
    assert [r["params_form"] for r in rows] == ["array", "object", "array"]
    assert rows[0]["params"] == [{"price_hr": "2000"}]
    assert rows[1]["params"] == {"price_hr": "2100.5"}
    changes = rpc.ctl("GET", "state")["edgecloud"]["price_changes"]
    assert changes == [
        {"price_hr": "2000", "params_form": "array",
         "value_type": "string"},
        {"price_hr": "2100.5", "params_form": "object",
         "value_type": "string"},
        {"price_hr": "1900", "params_form": "array", "value_type": "int"}]
    assert rpc.calls(method="edgecloud.GetStatus")[0]["params_form"] == \
        "absent"


def test_deployments_and_jobs_paging(rpc):
    all_jobs = rpc.result("edgecloud", "edgecloud.GetJobs",
                          [{"page": 0, "size": 100}])
    assert all_jobs["total"] == 137 and len(all_jobs["jobs"]) == 100
    seen = []
    for page in range(3):
        got = rpc.result("edgecloud", "edgecloud.GetJobs",
                         [{"page": page, "size": 50}])
        assert (got["page"], got["size"], got["total"]) == (page, 50, 137)
        seen += got["jobs"]
    assert len(seen) == 137 and len({j["id"] for j in seen}) == 137
    times = [j["success_time"] for j in seen]
    assert times == sorted(times, reverse=True)
    # defaults page 0, size 50; the object form pages the same
    assert rpc.result("edgecloud", "edgecloud.GetJobs")["jobs"] == seen[:50]
    assert rpc.result("edgecloud", "edgecloud.GetJobs",
                      {"page": 2, "size": 50})["jobs"] == seen[100:]
    deps = rpc.result("edgecloud", "edgecloud.GetDeployments")
    assert deps["total"] == 12 and len(deps["deployments"]) == 12
    status = rpc.result("edgecloud", "edgecloud.GetStatus")
    assert status["recent_deployments"] == deps["deployments"][:5]
    assert status["recent_jobs"] == seen[:5]
    assert rpc.result("edgecloud", "edgecloud.GetDeployments",
                      [{"page": 5, "size": 10}])["deployments"] == []


# -- chain -------------------------------------------------------------------
def test_chain_version_and_accounts(rpc):
    v = rpc.result("chain", "theta.GetVersion")
    assert set(v) == {"version", "git_hash", "timestamp"}
    acct = rpc.result("chain", "theta.GetAccount",
                      [{"address": rpc.info["wallet"]}])
    assert set(acct["coins"]) == {"thetawei", "tfuelwei"}
    assert int(acct["coins"]["tfuelwei"]) > 0 and acct["sequence"] == "0"
    upper = "0x" + rpc.info["cli_key"][2:].upper()
    assert rpc.result("chain", "theta.GetAccount",
                      {"address": upper})["coins"]
    other = "0x" + "1" * 40
    err = rpc.error("chain", "theta.GetAccount", {"address": other},
                    code=-32000)
    assert err["message"] == "Account with address %s is not found" % other


def test_broadcast_sync_async_and_get_transaction(rpc):
    tx = os.urandom(120)
    t0 = time.monotonic()
    res = rpc.result("chain", "theta.BroadcastRawTransaction",
                     [{"tx_bytes": tx.hex()}])
    assert time.monotonic() - t0 >= 0.2
    assert res["hash"] == "0x" + hashlib.sha256(tx).hexdigest()
    assert re.fullmatch(r"\d+", res["block"]["height"])
    assert re.fullmatch(HASH, res["block"]["hash"])
    got = rpc.result("chain", "theta.GetTransaction", {"hash": res["hash"]})
    assert got["status"] == "finalized"
    assert got["block_height"] == res["block"]["height"]
    # async: a hash at once, pending, then finalized
    rpc.ctl("POST", "config", {"tx_finalize_s": 0.5})
    tx2 = os.urandom(64)
    t0 = time.monotonic()
    res2 = rpc.result("chain", "theta.BroadcastRawTransactionAsync",
                      {"tx_bytes": "0x" + tx2.hex()})
    assert time.monotonic() - t0 < 0.4
    assert set(res2) == {"hash"}
    first = rpc.result("chain", "theta.GetTransaction",
                       [{"hash": res2["hash"]}])
    assert (first["status"], first["block_height"]) == ("pending", None)
    time.sleep(0.55)
    later = rpc.result("chain", "theta.GetTransaction",
                       [{"hash": res2["hash"].upper().replace("0X", "0x")}])
    assert later["status"] == "finalized"
    assert int(later["block_height"]) > int(got["block_height"])
    # the same bytes again; an unknown hash
    err = rpc.error("chain", "theta.BroadcastRawTransaction",
                    {"tx_bytes": tx.hex()}, code=-32000)
    assert err["message"] == "transaction already seen: " + res["hash"]
    nothing = rpc.result("chain", "theta.GetTransaction",
                         {"hash": "0x" + "0" * 64})
    assert nothing["status"] == "not_found"
    # recorded by size and digest, never by their bytes
    txs = rpc.ctl("GET", "state")["chain"]["transactions"]
    assert [(t["size"], t["sync"]) for t in txs] == [(120, True),
                                                    (64, False)]
    assert txs[0]["sha256"] == hashlib.sha256(tx).hexdigest()
    rows = rpc.calls(surface="chain")
    text = json.dumps(rows)
    assert tx.hex() not in text and tx2.hex() not in text
    sent = [r for r in rows if r["method"].startswith("theta.Broadcast")]
    assert [r["params_form"] for r in sent] == ["array", "object",
                                                "object"]
    assert all(json.dumps(r["params"]).count("[REDACTED]") == 1
               for r in sent)


# -- thetacli ----------------------------------------------------------------
def test_keys_new_unlock_lock_and_send(rpc):
    seeded = rpc.info["cli_key"]
    assert rpc.result("cli", "thetacli.ListKeys") == {"addresses": [seeded]}
    pw = "correct horse battery"
    addr = rpc.result("cli", "thetacli.NewKey", [{"password": pw}])[
        "address"]
    assert re.fullmatch(ADDRESS, addr)
    assert rpc.result("cli", "thetacli.ListKeys")["addresses"] == [seeded,
                                                                   addr]
    assert rpc.result("cli", "thetacli.IsKeyUnlocked",
                      {"address": addr}) == {"unlocked": False}
    send = {"chain_id": "privatenet", "from": addr, "to": seeded,
            "thetawei": "0", "tfuelwei": "1000000000000000000",
            "fee": "300000000000000000", "sequence": "1", "async": True}
    err = rpc.error("cli", "thetacli.Send", [send], code=-32001)
    assert err["message"] == ("key %s is locked: unlock it with "
                              "thetacli.UnlockKey first" % addr)
    err = rpc.error("cli", "thetacli.UnlockKey",
                    {"address": addr, "password": pw + "!"}, code=-32000)
    assert err["message"] == ("failed to unlock key %s: wrong password"
                              % addr)
    assert rpc.result("cli", "thetacli.UnlockKey",
                      [{"address": addr, "password": pw}]) == {
        "unlocked": True}
    assert rpc.result("cli", "thetacli.IsKeyUnlocked",
                      [{"address": addr}]) == {"unlocked": True}
    res = rpc.result("cli", "thetacli.Send", [send])
    assert re.fullmatch(HASH, res["hash"])
    # a synchronous send waits for its block
    sync = dict(send, sequence="2", **{"async": False})
    done = rpc.result("cli", "thetacli.Send", [sync])
    assert done["block"]["height"]
    # the chain knows both sends
    for h in (res["hash"], done["hash"]):
        tx = rpc.result("chain", "theta.GetTransaction", {"hash": h})
        assert tx["type"] == "send" and tx["status"] in ("pending",
                                                         "finalized")
    assert rpc.result("cli", "thetacli.LockKey", {"address": addr}) == {
        "unlocked": False}
    rpc.error("cli", "thetacli.Send", [dict(send, sequence="3")],
              code=-32001)
    # the seeded key opens with the READY line's password
    assert rpc.result("cli", "thetacli.UnlockKey", {
        "address": seeded, "password": rpc.info["cli_password"]}) == {
        "unlocked": True}
    for method, params in (
            ("thetacli.UnlockKey", {"address": "0x" + "2" * 40,
                                    "password": "whatever1"}),
            ("thetacli.LockKey", {"address": "0x" + "2" * 40}),
            ("thetacli.Send", dict(send, **{"from": "0x" + "2" * 40}))):
        err = rpc.error("cli", method, params, code=-32000)
        assert err["message"] == "key not found: 0x" + "2" * 40
    bad = rpc.error("cli", "thetacli.Send", dict(send, tfuelwei="1.5"),
                    code=-32602)
    assert bad["message"] == ("Invalid params: tfuelwei must be a "
                              "non-negative integer string")
    keys = rpc.ctl("GET", "state")["cli"]["keys"]
    mine = [k for k in keys if k["address"] == addr][0]
    assert (mine["unlocked"], mine["unlock_count"],
            mine["failed_unlocks"]) == (False, 1, 1)


def test_passwords_never_recorded(rpc):
    pw = "sup3r-secret-pass"
    rpc.result("cli", "thetacli.NewKey", {"password": pw})
    rpc.error("cli", "thetacli.NewKey", [{"password": "tiny"}])
    rpc.error("cli", "thetacli.UnlockKey", {"address": rpc.info["cli_key"],
                                            "password": pw})
    # a password under another name, or echoed in another field
    rpc.error("cli", "thetacli.UnlockKey", {"address": rpc.info["cli_key"],
                                            "passphrase": pw + "2"})
    rpc.error("cli", "thetacli.Nope", {"note": "my " + pw})
    rows = rpc.calls(surface="cli")
    text = json.dumps(rows)
    for secret in (pw, "tiny", pw + "2", rpc.info["cli_password"]):
        assert secret not in text
    assert rows[0]["params"] == {"password": "[REDACTED]"}
    assert rows[3]["params"]["passphrase"] == "[REDACTED]"
    assert rows[4]["params"] == {"note": "my [REDACTED]"}
    state = json.dumps(rpc.ctl("GET", "state"))
    assert pw not in state and rpc.info["cli_password"] not in state


# -- faults and control ------------------------------------------------------
def test_faults(rpc):
    rpc.ctl("POST", "faults", {"rpc_error": {
        "method": "theta.GetAccount", "code": -32000,
        "message": "node is syncing", "count": 2}})
    addr = {"address": rpc.info["wallet"]}
    assert rpc.result("chain", "theta.GetVersion")
    for _ in range(2):
        assert rpc.error("chain", "theta.GetAccount", addr) == {
            "code": -32000, "message": "node is syncing"}
    assert rpc.result("chain", "theta.GetAccount", addr)
    # HTTP errors with three bodies, a surface filter
    for body, check in (("text", lambda raw: raw.startswith(b"simulated")),
                        ("json", lambda raw: json.loads(raw)["error"]),
                        ("empty", lambda raw: raw == b"")):
        rpc.ctl("POST", "faults", {"http_error": {
            "status": 502, "body": body, "surface": "edgecloud"}})
        st, _, raw = rpc.post("chain", {"jsonrpc": "2.0", "id": 1,
                                        "method": "theta.GetVersion"})
        assert st == 200
        st, _, raw = rpc.post("edgecloud", {
            "jsonrpc": "2.0", "id": 1, "method": "edgecloud.GetStatus"})
        assert st == 502 and check(raw), body
    # latency
    rpc.ctl("POST", "faults", {"latency": {"seconds": 0.3}})
    t0 = time.monotonic()
    rpc.result("cli", "thetacli.ListKeys")
    assert time.monotonic() - t0 >= 0.3
    # a dropped connection: no reply at all
    rpc.ctl("POST", "faults", {"drop": {"method": "edgecloud.SetPrice"}})
    with pytest.raises((http.client.RemoteDisconnected,
                        ConnectionResetError)):
        rpc.post("edgecloud", {"jsonrpc": "2.0", "id": 1,
                               "method": "edgecloud.SetPrice",
                               "params": [{"price_hr": "5"}]})
    assert rpc.result("edgecloud", "edgecloud.GetStatus")["price_hr"] == \
        "1000"
    rows = rpc.calls(method="edgecloud.SetPrice")
    assert rows[-1]["http_status"] == 0
    # -1 = until cleared; DELETE clears
    rpc.ctl("POST", "faults", {"rpc_error": {"count": -1}})
    for _ in range(3):
        rpc.error("cli", "thetacli.ListKeys", code=-32000)
    assert rpc.ctl("GET", "faults")["faults"]["rpc_error"]["fired"] == 3
    rpc.ctl("DELETE", "faults")
    assert rpc.result("cli", "thetacli.ListKeys")
    for spec in ({"nope": {}}, {"rpc_error": {"code": "x"}},
                 {"http_error": {"status": 200}},
                 {"latency": {"seconds": -1}},
                 {"drop": {"surface": "moon"}},
                 {"rpc_error": {"colour": 1}}):
        rpc.ctl("POST", "faults", spec, status=400)


def test_control_config_calls_and_reset(rpc):
    cfg = rpc.ctl("GET", "config")["config"]
    assert cfg == {"connection_status": "connected",
                   "min_password_length": 8, "tx_finalize_s": 0.2,
                   "require_json_content_type": True}
    rpc.ctl("POST", "config", {"min_password_length": 12})
    rpc.error("cli", "thetacli.NewKey", {"password": "elevenchars"},
              code=-32602)
    for bad in ({"nope": 1}, {"min_password_length": -1},
                {"require_json_content_type": "yes"},
                {"connection_status": ""}):
        rpc.ctl("POST", "config", bad, status=400)
    rpc.result("edgecloud", "edgecloud.SetPrice", [{"price_hr": "3000"}])
    rpc.result("chain", "theta.GetVersion")
    assert len(rpc.calls()) == 3
    assert [r["seq"] for r in rpc.calls()] == [1, 2, 3]
    assert len(rpc.calls(surface="chain")) == 1
    assert len(rpc.calls(method="thetacli.NewKey")) == 1
    row = rpc.calls(method="edgecloud.SetPrice")[0]
    assert set(row) == {"seq", "time", "surface", "method", "id",
                        "params_form", "params", "notification", "error",
                        "http_status", "content_type", "body_bytes"}
    rpc.ctl("POST", "reset")
    assert rpc.calls() == []
    assert rpc.ctl("GET", "config")["config"]["min_password_length"] == 8
    assert rpc.result("edgecloud", "edgecloud.GetStatus")["price_hr"] == \
        "1000"
    assert rpc.ctl("GET", "state")["chain"]["transactions"] == []


def test_environment_and_nothing_secret_on_stderr(tmp_path):
    wallet = "0x" + "ab" * 20
    pw = "env-password-123"
    env = dict(os.environ, PYTHONPATH=harness.ROOT, THETA_RPC_WALLET=wallet,
               THETA_RPC_CLI_PASSWORD=pw,
               THETA_RPC_CONFIG=json.dumps({"tx_finalize_s": 0}))
    for var, val in (("THETA_RPC_WALLET", "0x12"),
                     ("THETA_RPC_CLI_PASSWORD", "short"),
                     ("THETA_RPC_CONFIG", "{bad"),
                     ("THETA_RPC_FAULTS", json.dumps({"x": {}}))):
        proc = subprocess.run(
            [sys.executable, "-m", "tests.servers.theta_rpc", "--port",
             "0"], cwd=harness.ROOT, env=dict(env, **{var: val}),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert proc.returncode == 2 and proc.stdout == b"", var
    proc = subprocess.run(
        [sys.executable, "-m", "tests.servers.theta_rpc", "--host",
         "0.0.0.0"], cwd=harness.ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=30)
    assert proc.returncode == 2
    log_path = tmp_path / "stderr.log"
    tx = "deadbeef" * 8
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "tests.servers.theta_rpc",
             "--port", "0"], cwd=harness.ROOT, env=env,
            stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            words = proc.stdout.readline().split()
            info = dict(w.split("=", 1) for w in words[2:])
            assert (info["wallet"], info["cli_password"]) == (wallet, pw)
            r = Rpc(harness.Server(proc, words[1], info))
            assert r.result("edgecloud", "edgecloud.GetStatus")[
                "wallet_address"] == wallet
            assert r.result("cli", "thetacli.UnlockKey", {
                "address": info["cli_key"], "password": pw})["unlocked"]
            r.result("chain", "theta.BroadcastRawTransaction",
                     [{"tx_bytes": tx}])
            r.error("cli", "thetacli.NewKey", {"password": "tiny"})
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
    text = log_path.read_text()
    assert "thetacli.UnlockKey" in text
    assert "theta.BroadcastRawTransaction" in text
    assert pw not in text and tx not in text and "tiny" not in text
