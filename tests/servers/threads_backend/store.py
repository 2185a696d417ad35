"""In-memory state of the offline Threads backend: a fake clock, queue
items, idempotency records, the content-dedup index and quota counting
(threads-api.md 6.2-6.4)."""
import base64
import collections
import json
import math
import secrets
import time

from .validation import iso

WINDOW_S = 86400
PENDING = ("queued", "scheduled", "processing")
STATES = ("queued", "scheduled", "processing", "published", "failed",
          "canceled", "unconfirmed")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class Clock:
    """Wall clock plus an offset that POST /__test__/clock advances."""

    def __init__(self):
        self.offset = 0.0

    def now(self):
        return time.time() + self.offset

    def iso(self, ts=None):
        return iso(self.now() if ts is None else ts)


class Ulid:
    """Monotonic ULIDs (48-bit ms time + 80 random bits, Crockford)."""

    def __init__(self):
        self.last_ms = -1
        self.last_rand = 0

    def new(self, now):
        ms = int(now * 1000)
        if ms <= self.last_ms:
            ms = self.last_ms
            rand = self.last_rand + 1
        else:
            rand = secrets.randbits(80)
        self.last_ms, self.last_rand = ms, rand
        n = (ms << 80) | rand
        return "".join(_CROCKFORD[(n >> (5 * i)) & 31]
                       for i in range(25, -1, -1))


PUBLIC_FIELDS = ("id", "tenant_id", "status", "publish_mode", "media_type",
                 "message", "images", "scheduled_at", "created_at",
                 "updated_at", "attempts", "next_attempt_at", "meta",
                 "idempotency_key", "threads", "error")


class State:
    def __init__(self, clock):
        self.clock = clock
        self.ulid = Ulid()
        self.reset({})

    def reset(self, quota_preset):
        self.items = {}
        self.idem = {}
        self.dedup = {}
        self.dedup_inflight = {}
        self.reserved = collections.Counter()
        self.set_quota_preset(quota_preset)

    def set_quota_preset(self, preset):
        now = self.clock.now()
        self.quota_base = {t: (n, now) for t, n in preset.items()}

    # -- items -----------------------------------------------------------
    def new_item(self, *, tenant, message, images, scheduled_ts, mode,
                 meta, idempotency_key, status):
        now = self.clock.now()
        item = {
            "id": "thq_" + self.ulid.new(now),
            "tenant_id": tenant, "status": status, "publish_mode": mode,
            "media_type": ("TEXT" if not images else
                           "IMAGE" if len(images) == 1 else "CAROUSEL"),
            "message": message, "images": images,
            "meta": meta, "idempotency_key": idempotency_key,
            "attempts": 0,
            "threads": {"container_id": None, "container_status": None,
                        "media_id": None, "permalink": None},
            "error": None,
            "_scheduled_ts": scheduled_ts, "_created_ts": now,
            "_updated_ts": now, "_next_attempt_ts": None,
            "_published_ts": None, "_phase": None,
        }
        self.items[item["id"]] = item
        return item

    def public(self, item):
        out = {}
        for k in PUBLIC_FIELDS:
            if k == "scheduled_at":
                out[k] = iso(item["_scheduled_ts"])
            elif k == "created_at":
                out[k] = iso(item["_created_ts"])
            elif k == "updated_at":
                out[k] = iso(item["_updated_ts"])
            elif k == "next_attempt_at":
                out[k] = (iso(item["_next_attempt_ts"])
                          if item["status"] == "processing" else None)
            else:
                out[k] = item[k]
        out["published_at"] = (iso(item["_published_ts"])
                               if item["status"] == "published" else None)
        return json.loads(json.dumps(out))

    def touch(self, item):
        item["_updated_ts"] = self.clock.now()

    @staticmethod
    def list_key(item):
        return (item["_scheduled_ts"], item["_created_ts"], item["id"])

    @staticmethod
    def work_key(item):
        return (0 if item["publish_mode"] == "now" else 1,
                item["_scheduled_ts"], item["_created_ts"], item["id"])

    def position(self, item):
        if item["status"] not in PENDING:
            return None
        pending = sorted((i for i in self.items.values()
                          if i["tenant_id"] == item["tenant_id"]
                          and i["status"] in PENDING), key=self.work_key)
        return [i["id"] for i in pending].index(item["id"]) + 1

    def next_slot(self, tenant, spacing, now):
        if spacing <= 0:
            return now
        last = [i["_scheduled_ts"] for i in self.items.values()
                if i["tenant_id"] == tenant and i["status"] in PENDING]
        return max([now] + [t + spacing for t in last])

    # -- quota -----------------------------------------------------------
    def quota_used(self, tenant):
        now = self.clock.now()
        used = self.reserved[tenant]
        base = self.quota_base.get(tenant)
        if base and now < base[1] + WINDOW_S:
            used += base[0]
        for i in self.items.values():
            if i["tenant_id"] != tenant:
                continue
            if i["status"] in PENDING:
                used += 1
            elif (i["status"] in ("published", "unconfirmed")
                  and i["_published_ts"] is not None
                  and i["_published_ts"] > now - WINDOW_S):
                used += 1
        return used

    def quota_retry_after(self, tenant):
        now = self.clock.now()
        ends = []
        base = self.quota_base.get(tenant)
        if base and base[0] and now < base[1] + WINDOW_S:
            ends.append(base[1] + WINDOW_S)
        ends += [i["_published_ts"] + WINDOW_S for i in self.items.values()
                 if i["tenant_id"] == tenant
                 and i["status"] in ("published", "unconfirmed")
                 and i["_published_ts"] is not None
                 and i["_published_ts"] > now - WINDOW_S]
        if not ends:
            return WINDOW_S
        return max(1, math.ceil(min(ends) - now))

    # -- idempotency -----------------------------------------------------
    def idem_get(self, scope, ttl):
        """The record of a key; a finished one older than ``ttl`` seconds
        is forgotten (``ttl`` 0: kept for ever)."""
        rec = self.idem.get(scope)
        if rec and rec["done"] and ttl > 0 and \
                self.clock.now() - rec["at"] > ttl:
            del self.idem[scope]
            return None
        return rec

    def idem_begin(self, scope, body_hash):
        self.idem[scope] = {"hash": body_hash, "done": False,
                            "at": self.clock.now(), "status": None,
                            "body": None, "headers": None}

    def idem_abandon(self, scope):
        rec = self.idem.get(scope)
        if rec and not rec["done"]:
            del self.idem[scope]

    def idem_finish(self, scope, status, body, headers):
        rec = self.idem.get(scope)
        if rec is None:
            return
        rec.update(done=True, status=status, body=body, headers=headers,
                   at=self.clock.now())

    # -- dedup -----------------------------------------------------------
    def dedup_find(self, key, window):
        hit = self.dedup.get(key)
        if not hit or window <= 0:
            return None
        item_id, ts = hit
        item = self.items.get(item_id)
        if item is None or item["status"] in ("canceled", "failed") or \
                self.clock.now() - ts > window:
            return None
        return item


def encode_cursor(key):
    raw = json.dumps(list(key)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        a, b, c = json.loads(raw)
        return (float(a), float(b), str(c))
    except (ValueError, TypeError):
        return None
