"""theta_sim.video -- the Theta Video API, ``api.thetavideoapi.com``.

Reference section 5.1.  One service account (``x-tva-sa-id`` +
``x-tva-sa-secret``, made at start or taken from the environment) owns
uploads, videos and live streams.  Uploads reuse the presigned-URL
machinery of files.py: the URL points at ``storage.googleapis.com`` on
this same server, so a client PUTs the raw bytes there, with the
signature and expiry checks of the on-demand uploads.

A video's state is a function of time, like an inference job's:
``created`` for created_s, then ``processing`` (sub_state
``transcoding``, ``progress`` 0..99 growing with time) for
processing_s, then ``success`` (progress 100, ``playback_uri``) -- or
``error`` when the ``video_error`` fault was armed at its creation: it
fails once its progress reaches the fault's ``at_progress``.

Live streams: at most ``stream_limit`` (3) per service account; an
ingestor is selected for a stream with ``{"tva_stream": id}`` (without
it: 403, as the reference says) and answers with an RTMP server and a
stream key that lives ``stream_key_ttl`` seconds (about five minutes).
Stream keys are secrets: every key issued joins the values the request
log redacts, and the control view shows only their SHA-256.

Check order: gateway faults (app.py) -> unknown route (404) -> service
account headers (401) -> service account in the path (403) -> body
(400; the select's missing ``tva_stream`` 403) -> ids (404) -> limits
and conflicts (400/409) -> the action.

ASSUMPTIONS (not in the reference): the 401/403/404 wording; ids of
``video_``/``stream_``/``ingestor_`` + 25 characters of [0-9a-z]; the
fields of video, stream and ingestor objects beyond those the reference
names; the list shapes (``pagination``), 1-based ``page``; sub_state
null outside processing; stream ``status`` "on" while an ingestor is
selected (there is no RTMP ingest to switch it on); the ingestor filter
lists free ingestors only; unselect by ``tva_stream`` or by ingestor.
"""
import hashlib
import json
import re
import time

from . import files
from .catalog import stable_id
from .replies import Reject, err, ok
from .state import VIDEO_BASE_TIMES, iso, new_id

VIDEO_HOST = "api.thetavideoapi.com"
MEDIA_BASE = "https://media.thetavideoapi.com"
PLAYER_BASE = "https://player.thetavideoapi.com"
FORBIDDEN = "You are not allowed to perform this action"
NOT_FOUND = "Not Found"
POLICIES = ("public", "signed")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# The simulated edge ingestors, nearest first: (city, country, region,
# latitude, longitude, distance in km, IP address).
INGESTOR_SITES = (
    ("Frankfurt", "DE", "eu-central", 50.11, 8.68, 42, "198.51.100.21"),
    ("Amsterdam", "NL", "eu-west", 52.37, 4.90, 366, "198.51.100.34"),
    ("London", "GB", "eu-west", 51.51, -0.13, 638, "198.51.100.47"),
    ("Ashburn", "US", "us-east", 39.04, -77.49, 6540, "203.0.113.12"),
    ("Singapore", "SG", "ap-southeast", 1.35, 103.82, 10260,
     "203.0.113.58"),
)
INGESTORS = [
    {"id": stable_id("ingestor_", "theta_sim ingestor " + site[0], 25),
     "ip": site[6], "region": site[2], "city": site[0],
     "country": site[1], "latitude": site[3], "longitude": site[4],
     "distance_km": site[5]}
    for site in INGESTOR_SITES]
INGESTOR_BY_ID = {i["id"]: i for i in INGESTORS}
MISSING = object()


def parse(method, path):
    """(route name, path arguments) of a Video API call."""
    p = [x for x in path.split("/") if x]
    n = len(p)
    if method == "POST" and p == ["upload"]:
        return "video_upload", ()
    if method == "POST" and p == ["video"]:
        return "video_create", ()
    if method == "GET" and n == 2 and p[0] == "video":
        return "video_get", (p[1],)
    if method == "GET" and n == 3 and p[0] == "video" and \
            p[2] in ("list", "search"):
        return "video_" + p[2], (p[1],)
    if method == "POST" and p == ["stream"]:
        return "stream_create", ()
    if method == "GET" and n == 2 and p[0] == "stream":
        return "stream_get", (p[1],)
    if method == "GET" and n == 3 and p[0] == "service_account" and \
            p[2] == "streams":
        return "stream_list", (p[1],)
    if method == "GET" and p == ["ingestor", "filter"]:
        return "ingestor_list", ()
    if method == "PUT" and n == 3 and p[0] == "ingestor" and \
            p[2] in ("select", "unselect"):
        return "ingestor_" + p[2], (p[1],)
    if method == "PUT" and p == ["edge-node", "ingestor", "unselect"]:
        return "ingestor_unselect", (None,)
    return "video_other", ()


def route_name(req):
    return parse(req.method, req.path)[0]


def bad(status, message):
    return Reject(err(status, message))


def video_times(sim):
    own = sim.config["video_times"]
    if own is not None:
        return float(own[0]), float(own[1])
    s = float(sim.config["time_scale"])
    return VIDEO_BASE_TIMES[0] * s, VIDEO_BASE_TIMES[1] * s


class Video:
    """One video.  State, sub_state and progress come from the clock."""

    def __init__(self, sim, spec, created_s, processing_s, fail):
        self.id = new_id("video_", 25)
        self.sim = sim
        self.spec = spec
        self.created = time.time()
        self.t0 = time.monotonic()
        self.created_s = created_s
        self.processing_s = processing_s
        self.fail = fail            # None or (at_progress, message)

    def phase(self):
        """(state, sub_state, progress, seconds from creation to the
        last change)."""
        el = time.monotonic() - self.t0
        if el < self.created_s:
            return "created", None, 0, 0.0
        span = self.processing_s
        pct = 100.0 if span <= 0 else (el - self.created_s) / span * 100
        if self.fail is not None and pct >= self.fail[0]:
            return "error", None, int(self.fail[0]), \
                self.created_s + span * self.fail[0] / 100
        if pct < 100:
            return "processing", "transcoding", int(pct), el
        return "success", None, 100, self.created_s + span

    def to_json(self):
        state, sub, progress, changed = self.phase()
        done = state == "success"
        return {
            "id": self.id,
            "service_account_id": self.sim.video_sa_id,
            "source_upload_id": self.spec["source_upload_id"],
            "source_uri": self.spec["source_uri"],
            "playback_policy": self.spec["playback_policy"],
            "nft_collection": self.spec["nft_collection"],
            "use_drm": self.spec["use_drm"],
            "drm_rules": self.spec["drm_rules"],
            "metadata": self.spec["metadata"],
            "state": state,
            "sub_state": sub,
            "progress": progress,
            "playback_uri": ("%s/%s/master.m3u8" % (MEDIA_BASE, self.id)
                             if done else None),
            "player_uri": ("%s/video/%s" % (PLAYER_BASE, self.id)
                           if done else None),
            "error": self.fail[1] if state == "error" else None,
            "create_time": iso(self.created),
            "update_time": iso(self.created + changed),
        }

    def control_view(self):
        out = self.to_json()
        src = None
        rec = self.spec.get("_upload")
        if rec is not None:
            src = {"size": rec["size"], "sha256": rec["sha256"],
                   "content_type": rec["content_type"]}
        out.update(source=src, times=[self.created_s, self.processing_s],
                   fault=None if self.fail is None else
                   {"at_progress": self.fail[0], "message": self.fail[1]})
        return out


class Stream:
    def __init__(self, sim, name):
        self.id = new_id("stream_", 25)
        self.sim = sim
        self.name = name
        self.created = time.time()
        self.updated = self.created
        self.ingestor_id = None
        self.keys_issued = []       # every stream key, oldest first
        self.key_expires = None
        self.select_count = 0

    def status(self):
        return "on" if self.ingestor_id else "off"

    def to_json(self):
        return {"id": self.id, "name": self.name,
                "service_account_id": self.sim.video_sa_id,
                "status": self.status(),
                "playback_uri": "%s/%s/master.m3u8" % (MEDIA_BASE, self.id),
                "player_uri": "%s/stream/%s" % (PLAYER_BASE, self.id),
                "ingestor_id": self.ingestor_id,
                "create_time": iso(self.created),
                "update_time": iso(self.updated)}

    def control_view(self):
        out = self.to_json()
        key = self.keys_issued[-1] if self.keys_issued else None
        out.update(
            keys_issued=len(self.keys_issued),
            select_count=self.select_count,
            stream_key_sha256=(hashlib.sha256(key.encode()).hexdigest()
                               if key else None),
            stream_key_expires_at=iso(self.key_expires)
            if self.key_expires else None,
            stream_key_valid=bool(self.key_expires
                                  and time.time() < self.key_expires))
        return out

    def release(self):
        if self.ingestor_id:
            self.sim.ingestor_owner.pop(self.ingestor_id, None)
        self.ingestor_id = None
        self.key_expires = None
        self.updated = time.time()


def _paging(req):
    out = []
    for name, default, low, high, msg in (
            ("page", 1, 1, None, "page must be an integer >= 1"),
            ("number", 10, 1, 100,
             "number must be an integer from 1 to 100")):
        raw = req.q(name)
        if raw in (None, ""):
            out.append(default)
            continue
        try:
            val = int(raw)
        except ValueError:
            raise bad(400, msg)
        if val < low or (high is not None and val > high):
            raise bad(400, msg)
        out.append(val)
    return out


def _page(rows, page, number):
    total = len(rows)
    return rows[(page - 1) * number:page * number], {
        "current_page": page, "total_pages": -(-total // number),
        "total_count": total}


def _lookup(metadata, dotted):
    """The value at a dot path inside ``metadata``, or a marker."""
    node = metadata
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
    return node


def _matches(value, wanted):
    if value is MISSING or isinstance(value, (dict, list)):
        return False
    if isinstance(value, str):
        return value == wanted
    return json.dumps(value) == wanted


class VideoApi:
    def __init__(self, sim):
        self.sim = sim

    def handle(self, req):
        route, args = parse(req.method, req.path)
        if route == "video_other":
            return err(404, NOT_FOUND)
        self.auth(req)
        return getattr(self, route)(req, *args)

    # -- checks -----------------------------------------------------------
    def auth(self, req):
        sa = req.hdr.get("x-tva-sa-id")
        secret = req.hdr.get("x-tva-sa-secret")
        if not sa or not secret:
            raise bad(401, "missing x-tva-sa-id or x-tva-sa-secret")
        if sa != self.sim.video_sa_id or secret != self.sim.video_sa_secret:
            raise bad(401, "invalid service account id or secret")

    def own(self, sa):
        if sa != self.sim.video_sa_id:
            raise bad(403, FORBIDDEN)

    @staticmethod
    def body(req, required=True):
        if not req.body.strip():
            if required:
                raise bad(400, "request body must be a JSON object")
            return {}
        try:
            body = json.loads(req.body)
        except ValueError:
            raise bad(400, "invalid JSON body")
        if not isinstance(body, dict):
            raise bad(400, "request body must be a JSON object")
        return body

    def video(self, vid):
        v = self.sim.videos.get(vid)
        if v is None:
            raise bad(404, "video not found")
        return v

    def stream(self, sid):
        s = self.sim.streams.get(sid)
        if s is None:
            raise bad(404, "stream not found")
        return s

    @staticmethod
    def ingestor(iid):
        ing = INGESTOR_BY_ID.get(iid)
        if ing is None:
            raise bad(404, "ingestor not found")
        return ing

    # -- uploads and videos -----------------------------------------------
    def video_upload(self, req):
        self.body(req, required=False)
        url, rec = files.new_upload(self.sim, self.sim.config["video_bucket"],
                                    self.sim.video_sa_id, None, "video")
        now = time.time()
        return ok({"uploads": [{
            "id": rec["filename"],
            "service_account_id": self.sim.video_sa_id,
            "presigned_url": url,
            "presigned_url_expiration": iso(rec["expires_at"]),
            "presigned_url_expired": now > rec["expires_at"],
            "create_time": rec["created"], "update_time": rec["created"]}]})

    def _upload_of(self, upload_id):
        obj = self.sim.by_filename.get(upload_id)
        rec = self.sim.uploads.get(obj) if obj else None
        if rec is None or rec["service"] != "video" or \
                not obj.startswith("%s/%s/" % (self.sim.config[
                    "video_bucket"], self.sim.video_sa_id)):
            raise bad(400, "source_upload_id: upload not found")
        if not rec["uploaded"]:
            raise bad(400, "source_upload_id: upload not completed "
                           "(nothing was PUT to its presigned URL)")
        return rec

    def video_spec(self, body):
        up, uri = body.get("source_upload_id"), body.get("source_uri")
        if up in (None, "") and uri in (None, ""):
            raise bad(400, "source_upload_id or source_uri is required")
        if up not in (None, "") and uri not in (None, ""):
            raise bad(400, "give source_upload_id or source_uri, not both")
        spec = {"source_upload_id": None, "source_uri": None}
        if up not in (None, ""):
            if not isinstance(up, str):
                raise bad(400, "source_upload_id must be a string")
            spec["_upload"] = self._upload_of(up)
            spec["source_upload_id"] = up
        else:
            if not isinstance(uri, str) or not re.match(
                    r"https?://[^/\s]+", uri):
                raise bad(400, "source_uri must be an http(s) URL")
            spec["source_uri"] = uri
        policy = body.get("playback_policy")
        if policy is None:
            policy = "public"
        if policy not in POLICIES:
            raise bad(400, "playback_policy must be public or signed")
        spec["playback_policy"] = policy
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise bad(400, "metadata must be an object")
        spec["metadata"] = meta if meta is not None else {}
        nft = body.get("nft_collection")
        if nft is not None and not (isinstance(nft, str)
                                    and ADDRESS.fullmatch(nft)):
            raise bad(400, "nft_collection must be a 0x address")
        spec["nft_collection"] = nft
        drm = body.get("use_drm")
        if drm is not None and not isinstance(drm, bool):
            raise bad(400, "use_drm must be a boolean")
        spec["use_drm"] = bool(drm)
        rules = body.get("drm_rules")
        if rules is not None and not isinstance(rules, list):
            raise bad(400, "drm_rules must be an array")
        spec["drm_rules"] = rules if rules is not None else []
        return spec

    def video_create(self, req):
        spec = self.video_spec(self.body(req))
        created_s, processing_s = video_times(self.sim)
        f = self.sim.take_fault("video_error")
        fail = (float(f["at_progress"]), f["message"]) if f else None
        v = Video(self.sim, spec, created_s, processing_s, fail)
        self.sim.videos[v.id] = v
        return ok({"videos": [v.to_json()]})

    def video_get(self, req, vid):
        return ok({"videos": [self.video(vid).to_json()]})

    def _newest_first(self):
        return sorted(self.sim.videos.values(), key=lambda v: -v.t0)

    def video_list(self, req, sa):
        self.own(sa)
        page, number = _paging(req)
        rows, pagination = _page(self._newest_first(), page, number)
        return ok({"videos": [v.to_json() for v in rows],
                   "pagination": pagination})

    def video_search(self, req, sa):
        self.own(sa)
        page, number = _paging(req)
        op = req.q("operator") or "and"
        if op not in ("and", "or"):
            raise bad(400, "operator must be and or or")
        terms = [(k, vals[-1]) for k, vals in req.query.items()
                 if k not in ("page", "number", "operator")]
        if not terms:
            raise bad(400, "give at least one metadata key=value to "
                           "search for")
        join = all if op == "and" else any
        hits = [v for v in self._newest_first()
                if join(_matches(_lookup(v.spec["metadata"], k), want)
                        for k, want in terms)]
        rows, pagination = _page(hits, page, number)
        return ok({"videos": [v.to_json() for v in rows],
                   "pagination": pagination})

    # -- streams and ingestors --------------------------------------------
    def stream_create(self, req):
        body = self.body(req)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad(400, "name is required")
        limit = int(self.sim.config["stream_limit"])
        if len(self.sim.streams) >= limit:
            raise bad(400, "stream limit reached: a service account may "
                           "have at most %d streams" % limit)
        s = Stream(self.sim, name)
        self.sim.streams[s.id] = s
        return ok(s.to_json())

    def stream_get(self, req, sid):
        return ok(self.stream(sid).to_json())

    def stream_list(self, req, sa):
        self.own(sa)
        want = req.q("status")
        if want not in (None, "", "on", "off"):
            raise bad(400, "status must be on or off")
        return ok({"streams": [s.to_json()
                               for s in self.sim.streams.values()
                               if not want or s.status() == want]})

    def ingestor_list(self, req):
        busy = self.sim.ingestor_owner
        return ok({"ingestors": [dict(i) for i in INGESTORS
                                 if i["id"] not in busy]})

    def ingestor_select(self, req, iid):
        body = self.body(req, required=False)
        sid = body.get("tva_stream")
        if not isinstance(sid, str) or not sid:
            raise bad(403, "tva_stream is required: the stream to select "
                           "the ingestor for")
        ing = self.ingestor(iid)
        s = self.stream(sid)
        owner = self.sim.ingestor_owner.get(iid)
        if owner not in (None, s.id):
            raise bad(409, "ingestor is already selected by another "
                           "stream")
        if s.ingestor_id and s.ingestor_id != iid:
            s.release()
        key = new_id("", 32)
        s.ingestor_id = iid
        s.keys_issued.append(key)
        s.key_expires = time.time() + float(self.sim.config[
            "stream_key_ttl"])
        s.select_count += 1
        s.updated = time.time()
        self.sim.ingestor_owner[iid] = s.id
        return ok({"stream_server": "rtmp://%s:1935/live" % ing["ip"],
                   "stream_key": key})

    def ingestor_unselect(self, req, iid):
        body = self.body(req, required=False)
        if iid is not None:
            self.ingestor(iid)
            owner = self.sim.ingestor_owner.get(iid)
            if owner:
                self.sim.streams[owner].release()
            return ok({"ingestor_id": iid, "released": bool(owner)})
        sid = body.get("tva_stream")
        if not isinstance(sid, str) or not sid:
            raise bad(403, "tva_stream is required: the stream whose "
                           "ingestor to release")
        s = self.stream(sid)
        held = s.ingestor_id
        s.release()
        return ok({"ingestor_id": held, "released": held is not None})


def control_videos(sim):
    return {"videos": [v.control_view() for v in sim.videos.values()]}


def control_streams(sim):
    return {"streams": [s.control_view() for s in sim.streams.values()],
            "ingestors": [dict(i, stream=sim.ingestor_owner.get(i["id"]))
                          for i in INGESTORS]}
