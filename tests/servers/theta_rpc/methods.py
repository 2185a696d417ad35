"""theta_rpc.methods -- the three surfaces and what they remember.

Reference 5.2 names the methods and, for edgecloud.GetStatus, the
result fields; everything else here is an ASSUMPTION shaped after the
native Theta node (``theta.*``), the thetacli daemon (``thetacli.*``)
and the EdgeCloud client docs, kept small and deterministic:

* edgecloud: a provider node with a wallet, a price per hour (a decimal
  string, as the docs' ``[{"price_hr":"2000"}]``), 12 past deployments
  and 137 past jobs (so paging matters) and the rewards they earned;
* chain: the node's version, accounts (the EdgeCloud wallet and the
  thetacli key made at start have balances), transactions broadcast
  here (pending, finalized after ``tx_finalize_s``; their hash is the
  SHA-256 of the bytes, not Theta's Keccak);
* cli: a keystore with one locked key at start (its password in the
  READY line); keys are unlocked with their password; Send needs an
  unlocked key (-32001 otherwise) and becomes a chain transaction.

A method is (surface, handler); a handler gets the node and the
argument object (SetPrice also the params form) and returns the result,
or a Pending transaction whose reply waits for its block outside the
lock, or raises RpcError.  Passwords are kept as salted SHA-256 only.
"""
import hashlib
import re
import secrets
import time

from . import rpc
from .rpc import NODE_ERROR, KEY_LOCKED, RpcError, invalid_params

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
HASH = re.compile(r"0x[0-9a-fA-F]{64}")
HEX = re.compile(r"(0x)?([0-9a-fA-F]{2})+")
PRICE = re.compile(r"[0-9]+(\.[0-9]+)?")
WEI = re.compile(r"[0-9]+")
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
VERSION = {"version": "4.1.0",
           "git_hash": hashlib.sha1(b"theta_rpc").hexdigest(),
           "timestamp": "2026-05-06T10:00:00Z"}
MAX_TX_BYTES = 64 * 1024
START_HEIGHT = 27000000


def seeded(seed, n, alphabet=ALPHABET):
    num = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = []
    for _ in range(n):
        num, rem = divmod(num, len(alphabet))
        out.append(alphabet[rem])
    return "".join(out)


def seeded_address(seed):
    return "0x" + seeded(seed, 40, "0123456789abcdef")


def new_address():
    return "0x" + secrets.token_hex(20)


def _pw_hash(salt, password):
    return hashlib.sha256(salt + password.encode("utf-8")).hexdigest()


class Key:
    def __init__(self, address, password):
        self.address = address
        self.salt = secrets.token_bytes(16)
        self.pw = _pw_hash(self.salt, password)
        self.unlocked = False
        self.unlock_count = 0
        self.failed_unlocks = 0

    def check(self, password):
        return _pw_hash(self.salt, password) == self.pw


class ThetaNode(rpc.Node):
    def __init__(self, wallet=None, cli_password=None, config=None,
                 faults=None):
        super().__init__(config, faults)
        self.wallet = wallet or seeded_address("theta_rpc wallet")
        self.cli_password = cli_password or secrets.token_urlsafe(12)
        self.cli_key = seeded_address("theta_rpc cli key")
        self.machine_id = seeded("theta_rpc machine", 32,
                                 "0123456789abcdef")
        self.started = time.time()
        self.reset()

    def reset(self):
        with self.lock:
            self.reset_common()
            self.price_hr = "1000"
            self.price_changes = []
            self.keys = {self.cli_key.lower():
                         Key(self.cli_key, self.cli_password)}
            self.secrets = {self.cli_password}
            self.txs = {}           # hash -> record
            self.height = START_HEIGHT
            self.deployments, self.jobs = self._history()

    def _history(self):
        """Past deployments and jobs, newest first, fixed per start."""
        t = self.started
        deps = []
        for i in range(12):
            start = t - (i + 1) * 86400 * 1.5
            hours = 2 + (i * 7) % 11
            price = 800 + 100 * (i % 5)
            deps.append({
                "id": "dpl_" + seeded("dep %d" % i, 28),
                "start_time": rpc.iso(start),
                "end_time": rpc.iso(start + hours * 3600),
                "price_hr": str(price),
                "reward_usd": round(price / 1000.0 * hours * 0.35, 6)})
        jobs = []
        for i in range(137):
            jobs.append({
                "id": "infr_rqst_" + seeded("job %d" % i, 22),
                "success_time": rpc.iso(t - (i + 1) * 1800),
                "reward_usd": round(0.0004 + (i % 9) * 0.0003, 6)})
        return deps, jobs

    # -- chain helpers --------------------------------------------------
    def add_tx(self, raw, kind, extra=None):
        h = "0x" + hashlib.sha256(raw).hexdigest()
        if h in self.txs:
            raise RpcError(NODE_ERROR, "transaction already seen: %s" % h)
        rec = {"hash": h, "type": kind, "size": len(raw),
               "sha256": h[2:], "t0": time.monotonic(),
               "received": time.time(), "block_height": None}
        rec.update(extra or {})
        self.txs[h] = rec
        return rec

    def tx_status(self, rec):
        if time.monotonic() - rec["t0"] < float(
                self.config["tx_finalize_s"]):
            return "pending"
        if rec["block_height"] is None:
            self.height += 1
            rec["block_height"] = self.height
        return "finalized"

    def tx_view(self, rec):
        status = self.tx_status(rec)
        done = status == "finalized"
        return {"hash": rec["hash"], "status": status,
                "type": rec["type"],
                "block_height": str(rec["block_height"]) if done else None,
                "block_hash": ("0x" + hashlib.sha256(
                    str(rec["block_height"]).encode()).hexdigest()
                    if done else None)}

    def state_view(self):
        with self.lock:
            return {
                "edgecloud": {"wallet_address": self.wallet,
                              "price_hr": self.price_hr,
                              "price_changes": list(self.price_changes),
                              "connection_status":
                              self.config["connection_status"]},
                "chain": {"transactions": [
                    dict(self.tx_view(r), size=r["size"],
                         sha256=r["sha256"], sync=r.get("sync"),
                         **({"from": r["from"], "to": r["to"]}
                            if "from" in r else {}))
                    for r in self.txs.values()]},
                "cli": {"keys": [
                    {"address": k.address, "unlocked": k.unlocked,
                     "unlock_count": k.unlock_count,
                     "failed_unlocks": k.failed_unlocks}
                    for k in self.keys.values()]},
            }


# -- argument checks -------------------------------------------------------
def _str(args, name, required=True):
    v = args.get(name)
    if v is None:
        if required:
            raise invalid_params("%s is required" % name)
        return None
    if not isinstance(v, str):
        raise invalid_params("%s must be a string" % name)
    return v


def _address(args, name="address"):
    v = _str(args, name)
    if not ADDRESS.fullmatch(v):
        raise invalid_params("%s must be 0x followed by 40 hex digits"
                             % name)
    return v


def _paging(args):
    page = args.get("page", 0)
    size = args.get("size", 50)
    if not isinstance(page, int) or isinstance(page, bool) or page < 0:
        raise invalid_params("page must be an integer >= 0")
    if not isinstance(size, int) or isinstance(size, bool) or \
            not 1 <= size <= 100:
        raise invalid_params("size must be an integer from 1 to 100")
    return page, size


# -- edgecloud ---------------------------------------------------------------
def _month_rewards(node):
    month = time.strftime("%Y-%m", time.gmtime())
    dep = sum(d["reward_usd"] for d in node.deployments
              if d["end_time"].startswith(month))
    job = sum(j["reward_usd"] for j in node.jobs
              if j["success_time"].startswith(month))
    return round(dep, 6), round(job, 6)


def edgecloud_get_status(node, args):
    dep, job = _month_rewards(node)
    return {"wallet_address": node.wallet,
            "machine_id": node.machine_id,
            "connection_status": node.config["connection_status"],
            "price_hr": node.price_hr,
            "recent_deployments": node.deployments[:5],
            "recent_jobs": node.jobs[:5],
            "current_month_deployment_reward": dep,
            "current_month_job_reward": job}


def edgecloud_set_price(node, args, form):
    v = args.get("price_hr")
    if v is None:
        raise invalid_params("price_hr is required")
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise invalid_params("price_hr must be a decimal string")
    text = v if isinstance(v, str) else repr(v)
    if not PRICE.fullmatch(text):
        raise invalid_params("price_hr must be a non-negative decimal "
                             "number")
    node.price_hr = text
    node.price_changes.append({"price_hr": text, "params_form": form,
                               "value_type": type(v).__name__
                               .replace("str", "string")})
    return {"price_hr": text}


def edgecloud_get_deployments(node, args):
    page, size = _paging(args)
    rows = node.deployments
    return {"deployments": rows[page * size:(page + 1) * size],
            "total": len(rows), "page": page, "size": size}


def edgecloud_get_jobs(node, args):
    page, size = _paging(args)
    rows = node.jobs
    return {"jobs": rows[page * size:(page + 1) * size],
            "total": len(rows), "page": page, "size": size}


def edgecloud_get_rewards(node, args):
    dep, job = _month_rewards(node)
    total = sum(d["reward_usd"] for d in node.deployments) + \
        sum(j["reward_usd"] for j in node.jobs)
    return {"current_month_deployment_reward": dep,
            "current_month_job_reward": job,
            "current_month_total_reward": round(dep + job, 6),
            "total_reward": round(total, 6), "currency": "USD"}


# -- chain -------------------------------------------------------------------
def theta_get_version(node, args):
    return dict(VERSION)


def theta_get_account(node, args):
    addr = _address(args).lower()
    funded = {node.wallet.lower(): ("250000000000000000000",
                                    "1234500000000000000000"),
              node.cli_key.lower(): ("1000000000000000000000",
                                     "5000000000000000000000")}
    if addr not in funded:
        raise RpcError(NODE_ERROR, "Account with address %s is not found"
                       % addr)
    theta, tfuel = funded[addr]
    sent = sum(1 for t in node.txs.values()
               if t.get("from", "").lower() == addr)
    return {"sequence": str(sent), "coins": {"thetawei": theta,
                                             "tfuelwei": tfuel},
            "reserved_funds": [],
            "last_updated_block_height": str(node.height),
            "root": "0x" + "0" * 64, "code": "0x" + "0" * 64}


def theta_get_transaction(node, args):
    h = _str(args, "hash")
    if not HASH.fullmatch(h):
        raise invalid_params("hash must be 0x followed by 64 hex digits")
    rec = node.txs.get(h.lower())
    if rec is None:
        return {"hash": h.lower(), "status": "not_found", "type": None,
                "block_height": None, "block_hash": None}
    return node.tx_view(rec)


def _tx_bytes(args):
    raw = _str(args, "tx_bytes")
    if not raw or not HEX.fullmatch(raw):
        raise invalid_params("tx_bytes must be a non-empty hex string")
    data = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
    if len(data) > MAX_TX_BYTES:
        raise invalid_params("tx_bytes longer than %d bytes"
                             % MAX_TX_BYTES)
    return data, raw.startswith("0x")


class Pending:
    """A synchronous broadcast: the reply comes when the transaction is
    in a block."""

    def __init__(self, rec):
        self.rec = rec


def theta_broadcast(node, args):
    data, prefixed = _tx_bytes(args)
    return Pending(node.add_tx(data, "raw", {"sync": True,
                                             "prefixed": prefixed}))


def theta_broadcast_async(node, args):
    data, prefixed = _tx_bytes(args)
    rec = node.add_tx(data, "raw", {"sync": False, "prefixed": prefixed})
    return {"hash": rec["hash"]}


def block_reply(node, rec):
    """The reply of a synchronous broadcast once its block is there."""
    view = node.tx_view(rec)
    return {"hash": rec["hash"], "block": {
        "height": view["block_height"], "hash": view["block_hash"]}}


# -- cli ---------------------------------------------------------------------
def _key(node, args, name="address"):
    addr = _address(args, name)
    key = node.keys.get(addr.lower())
    if key is None:
        raise RpcError(NODE_ERROR, "key not found: %s" % addr)
    return key


def cli_list_keys(node, args):
    return {"addresses": [k.address for k in node.keys.values()]}


def cli_new_key(node, args):
    pw = _str(args, "password")
    least = int(node.config["min_password_length"])
    if len(pw) < least:
        raise invalid_params("password must be at least %d characters"
                             % least)
    addr = new_address()
    node.keys[addr.lower()] = Key(addr, pw)
    return {"address": addr}


def cli_unlock_key(node, args):
    key = _key(node, args)
    pw = _str(args, "password")
    if not key.check(pw):
        key.failed_unlocks += 1
        raise RpcError(NODE_ERROR, "failed to unlock key %s: wrong "
                       "password" % key.address)
    key.unlocked = True
    key.unlock_count += 1
    return {"unlocked": True}


def cli_lock_key(node, args):
    key = _key(node, args)
    key.unlocked = False
    return {"unlocked": False}


def cli_is_key_unlocked(node, args):
    return {"unlocked": _key(node, args).unlocked}


def cli_send(node, args):
    key = _key(node, args, "from")
    to = _address(args, "to")
    amounts = {}
    for name in ("thetawei", "tfuelwei", "fee"):
        v = args.get(name, "0")
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            v = str(v)
        if not isinstance(v, str) or not WEI.fullmatch(v):
            raise invalid_params("%s must be a non-negative integer "
                                 "string" % name)
        amounts[name] = v
    chain_id = _str(args, "chain_id", required=False) or "mainnet"
    if not key.unlocked:
        raise RpcError(KEY_LOCKED, "key %s is locked: unlock it with "
                       "thetacli.UnlockKey first" % key.address)
    seq = args.get("sequence")
    body = ("%s|%s|%s|%s|%s" % (chain_id, key.address, to, amounts,
                                seq)).encode() + secrets.token_bytes(8)
    sync = not args.get("async")
    rec = node.add_tx(body, "send", {"from": key.address, "to": to,
                                     "sync": sync})
    return Pending(rec) if sync else {"hash": rec["hash"]}


# method -> (surface, handler)
METHODS = {
    "edgecloud.GetStatus": ("edgecloud", edgecloud_get_status),
    "edgecloud.SetPrice": ("edgecloud", edgecloud_set_price),
    "edgecloud.GetDeployments": ("edgecloud", edgecloud_get_deployments),
    "edgecloud.GetJobs": ("edgecloud", edgecloud_get_jobs),
    "edgecloud.GetRewards": ("edgecloud", edgecloud_get_rewards),
    "theta.GetVersion": ("chain", theta_get_version),
    "theta.GetAccount": ("chain", theta_get_account),
    "theta.GetTransaction": ("chain", theta_get_transaction),
    "theta.BroadcastRawTransaction": ("chain", theta_broadcast),
    "theta.BroadcastRawTransactionAsync": ("chain", theta_broadcast_async),
    "thetacli.ListKeys": ("cli", cli_list_keys),
    "thetacli.NewKey": ("cli", cli_new_key),
    "thetacli.UnlockKey": ("cli", cli_unlock_key),
    "thetacli.LockKey": ("cli", cli_lock_key),
    "thetacli.IsKeyUnlocked": ("cli", cli_is_key_unlocked),
    "thetacli.Send": ("cli", cli_send),
}
TAKES_FORM = frozenset({"edgecloud.SetPrice"})
