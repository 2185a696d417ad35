"""Tests of the simulator's Theta Video API (api.thetavideoapi.com).

Reference section 5.1: service-account headers, presigned uploads on
storage.googleapis.com, videos whose state moves from created through
processing (transcoding, progress) to success or error, list and
metadata search, live streams (at most three), ingestors and their
select/unselect, stream keys as secrets; GET /__sim__/videos and
/__sim__/streams.

    /usr/bin/python3 -m pytest tests/servers/theta_sim_video_test.py -q
"""
import calendar
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.servers import harness
from tests.servers.theta_sim_client import GCS, TVA, Client

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
FORBIDDEN = {"status": "error",
             "message": "You are not allowed to perform this action"}
VIDEO_KEYS = {"id", "service_account_id", "source_upload_id", "source_uri",
              "playback_policy", "nft_collection", "use_drm", "drm_rules",
              "metadata", "state", "sub_state", "progress", "playback_uri",
              "player_uri", "error", "create_time", "update_time"}
STREAM_KEYS = {"id", "name", "service_account_id", "status",
               "playback_uri", "player_uri", "ingestor_id", "create_time",
               "update_time"}
QUICK = [0.05, 0.1]


@pytest.fixture(scope="module")
def sim():
    with harness.start("theta_sim", env={"THETA_SIM_LOG": "quiet"}) as s:
        yield Client(s)


@pytest.fixture(autouse=True)
def clean(sim):
    sim.ctl("POST", "reset")
    sim.ctl("POST", "config", {"video_times": QUICK})
    yield


def tva(sim, method, path, body=None, **kw):
    return sim.j(method, path, body, host=TVA, **kw)


def ok_body(result):
    st, data = result
    assert st == 200 and data["status"] == "success", data
    return data["body"]


def new_upload(sim):
    body = ok_body(tva(sim, "POST", "/upload"))
    assert set(body) == {"uploads"} and len(body["uploads"]) == 1
    return body["uploads"][0]


def put(sim, url, data, headers=None):
    assert url.startswith("https://%s/" % GCS)
    hdrs = {"Content-Type": "application/octet-stream"}
    hdrs.update(headers or {})
    st, _, body = sim.call("PUT", url[len("https://" + GCS):], host=GCS,
                           raw_body=data, headers=hdrs, ua=None)
    return st, body


def uploaded(sim, data=b"\x00\x00\x00\x18ftypmp42 fake video"):
    up = new_upload(sim)
    assert put(sim, up["presigned_url"], data)[0] == 200
    return up["id"]


def create_video(sim, **body):
    if "source_uri" not in body and "source_upload_id" not in body:
        body["source_upload_id"] = uploaded(sim)
    body.setdefault("playback_policy", "public")
    videos = ok_body(tva(sim, "POST", "/video", body))["videos"]
    assert len(videos) == 1 and set(videos[0]) == VIDEO_KEYS
    return videos[0]


def get_video(sim, vid):
    return ok_body(tva(sim, "GET", "/video/" + vid))["videos"][0]


def watch(sim, vid, limit=10):
    """Every (state, sub_state, progress) seen until the video ends."""
    seen = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        v = get_video(sim, vid)
        step = (v["state"], v["sub_state"], v["progress"])
        if not seen or seen[-1] != step:
            seen.append(step)
        if v["state"] in ("success", "error"):
            return v, seen
        time.sleep(0.01)
    raise AssertionError("video %s stuck: %s" % (vid, seen[-5:]))


def epoch(stamp):
    """Seconds since the epoch of an ISO 8601 UTC time (whole seconds)."""
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def message(result, status):
    st, data = result
    assert st == status, data
    assert data["status"] == "error"
    return data["message"]


# -- identity and auth ---------------------------------------------------
def test_ready_words_and_service_account_auth(sim):
    assert re.fullmatch(r"srvacc_[0-9a-z]{25}", sim.sa)
    assert re.fullmatch(r"[0-9a-z]{32}", sim.secret)
    for creds, text in (
            ((None, None), "missing x-tva-sa-id or x-tva-sa-secret"),
            ((sim.sa, None), "missing x-tva-sa-id or x-tva-sa-secret"),
            ((None, sim.secret), "missing x-tva-sa-id or x-tva-sa-secret"),
            ((sim.sa, "wrong"), "invalid service account id or secret"),
            (("srvacc_" + "0" * 25, sim.secret),
             "invalid service account id or secret")):
        for method, path in (("POST", "/upload"), ("GET", "/video/v"),
                             ("GET", "/ingestor/filter"),
                             ("POST", "/stream")):
            assert message(tva(sim, method, path, video=creds),
                           401) == text
    # the on-demand token or the controller key are no video credentials
    assert tva(sim, "GET", "/ingestor/filter",
               video=(sim.sa, sim.key))[0] == 401
    # unknown routes: 404 before auth
    assert tva(sim, "GET", "/nothing", video=None) == (
        404, {"status": "error", "message": "Not Found"})
    assert tva(sim, "DELETE", "/video/x")[0] == 404
    assert sim.ctl("GET", "videos") == {"videos": []}


def test_request_log_hides_the_secret(sim):
    tva(sim, "GET", "/ingestor/filter")
    tva(sim, "GET", "/ingestor/filter?s=" + sim.secret)
    tva(sim, "GET", "/ingestor/filter", video=(sim.sa, "bad"))
    rows = sim.ctl("GET", "requests?host=" + TVA)["requests"]
    assert [r["video_auth_valid"] for r in rows] == [True, True, False]
    assert [r["video_secret_in_url"] for r in rows] == [False, True, False]
    assert rows[0]["video_sa_id_present"] and rows[0]["video_secret_present"]
    assert rows[1]["target"] == "/ingestor/filter?s=[REDACTED]"
    assert sim.secret not in json.dumps(rows)
    assert {r["route"] for r in rows} == {"ingestor_list"}
    # the video credentials never reach storage
    up = new_upload(sim)
    put(sim, up["presigned_url"], b"x")
    gcs = sim.ctl("GET", "requests?host=" + GCS)["requests"]
    assert gcs and not any(r["video_secret_present"] for r in gcs)


# -- uploads -------------------------------------------------------------
def test_upload_url_and_put(sim):
    before = time.time()
    up = new_upload(sim)
    assert set(up) == {"id", "service_account_id", "presigned_url",
                       "presigned_url_expiration", "presigned_url_expired",
                       "create_time", "update_time"}
    assert re.fullmatch(r"upload_[0-9a-z]{25}", up["id"])
    assert up["service_account_id"] == sim.sa
    assert up["presigned_url_expired"] is False
    assert re.fullmatch(ISO, up["presigned_url_expiration"])
    url = up["presigned_url"]
    assert url.startswith("https://storage.googleapis.com/"
                          "tva-video-uploads/%s/%s?" % (sim.sa, up["id"]))
    assert "X-Goog-Signature=" in url and "X-Goog-Expires=900" in url
    left = epoch(up["presigned_url_expiration"]) - before
    assert 880 < left < 920
    data = os.urandom(300000)
    # a broken signature, then the real one
    assert put(sim, url.replace("X-Goog-Signature=", "X-Goog-Signature=0"),
               data)[0] == 403
    st, body = put(sim, url, data)
    assert (st, body) == (200, b"")
    rows = [u for u in sim.ctl("GET", "uploads")["uploads"]
            if u["filename"] == up["id"]]
    assert len(rows) == 1
    assert (rows[0]["service"], rows[0]["uploaded"], rows[0]["size"]) == (
        "video", True, 300000)
    assert rows[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert rows[0]["content_type"] == "application/octet-stream"
    # credentials sent to storage are refused
    up2 = new_upload(sim)
    assert put(sim, up2["presigned_url"], b"x", headers={
        "x-tva-sa-secret": sim.secret, "Authorization": "Bearer x"})[0] \
        == 400
    # an upload body is optional but must be JSON when sent
    assert tva(sim, "POST", "/upload", {})[0] == 200
    st, _, raw = sim.call("POST", "/upload", host=TVA, raw_body=b"{",
                          headers={"Content-Type": "application/json"})
    assert st == 400


def test_expired_upload_url(sim):
    sim.ctl("POST", "config", {"upload_url_ttl": 0})
    up = new_upload(sim)
    time.sleep(1.1)
    st, body = put(sim, up["presigned_url"], b"late")
    assert st == 400 and b"ExpiredToken" in body
    assert message(tva(sim, "POST", "/video", {
        "source_upload_id": up["id"]}), 400).startswith(
        "source_upload_id: upload not completed")


# -- videos --------------------------------------------------------------
def test_video_state_machine_with_progress(sim):
    sim.ctl("POST", "config", {"video_times": [0.3, 1.2]})
    meta = {"listing": {"id": "lst_1"}, "title": "Villa Azur"}
    v = create_video(sim, metadata=meta)
    assert re.fullmatch(r"video_[0-9a-z]{25}", v["id"])
    assert (v["state"], v["sub_state"], v["progress"]) == ("created", None,
                                                           0)
    assert v["playback_uri"] is None and v["error"] is None
    assert v["metadata"] == meta and v["service_account_id"] == sim.sa
    assert v["create_time"] == v["update_time"]
    done, seen = watch(sim, v["id"])
    states = [s[0] for s in seen]
    assert states[0] == "created" and states[-1] == "success"
    middle = [s for s in seen if s[0] == "processing"]
    assert len(middle) >= 5, seen
    assert all(s[1] == "transcoding" for s in middle)
    progress = [s[2] for s in middle]
    assert progress == sorted(progress) and 0 <= progress[0] < 30
    assert progress[-1] >= 70 and max(progress) <= 99
    assert states == ["created"] + ["processing"] * len(middle) + [
        "success"]
    assert (done["sub_state"], done["progress"]) == (None, 100)
    assert done["playback_uri"] == ("https://media.thetavideoapi.com/%s/"
                                    "master.m3u8" % v["id"])
    assert done["player_uri"].endswith("/video/" + v["id"])
    assert done["update_time"] > done["create_time"]
    # success stays success
    time.sleep(0.1)
    assert get_video(sim, v["id"]) == done
    assert message(tva(sim, "GET", "/video/video_missing"), 404) == \
        "video not found"


def test_video_error_fault(sim):
    sim.ctl("POST", "config", {"video_times": [0.05, 1.0]})
    sim.ctl("POST", "faults", {"video_error": {"at_progress": 40}})
    bad = create_video(sim)
    good = create_video(sim)          # count 1: only the first fails
    end, seen = watch(sim, bad["id"])
    assert (end["state"], end["progress"], end["sub_state"]) == (
        "error", 40, None)
    assert end["error"] == "transcoding failed (simulated)"
    assert end["playback_uri"] is None
    assert max(s[2] for s in seen if s[0] == "processing") < 40
    assert watch(sim, good["id"])[0]["state"] == "success"
    rows = {r["id"]: r for r in sim.ctl("GET", "videos")["videos"]}
    assert rows[bad["id"]]["fault"] == {
        "at_progress": 40, "message": "transcoding failed (simulated)"}
    assert rows[good["id"]]["fault"] is None
    # at 0: it fails as soon as it starts processing
    sim.ctl("POST", "faults", {"video_error": {"at_progress": 0,
                                               "message": "bad codec"}})
    end = watch(sim, create_video(sim)["id"])[0]
    assert (end["state"], end["progress"], end["error"]) == (
        "error", 0, "bad codec")
    for spec in ({"at_progress": 101}, {"at_progress": "x"},
                 {"nope": 1}):
        st, _ = sim.j("POST", "/__sim__/faults", {"video_error": spec},
                      key=None, ua=None)
        assert st == 400


def test_video_create_rules(sim):
    upload_id = uploaded(sim)
    v = create_video(sim, source_uri="https://example.com/a.mp4",
                     playback_policy="signed", use_drm=True,
                     drm_rules=[{"chain_id": 361}],
                     nft_collection="0x" + "ab" * 20)
    assert (v["source_uri"], v["source_upload_id"]) == (
        "https://example.com/a.mp4", None)
    assert (v["playback_policy"], v["use_drm"]) == ("signed", True)
    assert v["metadata"] == {} and v["drm_rules"] == [{"chain_id": 361}]
    lean = ok_body(tva(sim, "POST", "/video", {
        "source_upload_id": upload_id}))["videos"][0]
    assert lean["playback_policy"] == "public" and lean["use_drm"] is False
    pending = new_upload(sim)["id"]
    od = ok_body(sim.j("POST", "/infer_request/whisper/input_presigned_urls",
                       {"input_fields": ["audio_filename"]},
                       host="ondemand.thetaedgecloud.com",
                       headers={"Authorization": "Bearer "
                                + sim.server.info["token"]}))
    od_name = od["audio_filename"]["filename"]
    cases = [
        ({}, "source_upload_id or source_uri is required"),
        ({"source_upload_id": upload_id, "source_uri": "https://x/y"},
         "give source_upload_id or source_uri, not both"),
        ({"source_upload_id": "upload_" + "0" * 25},
         "source_upload_id: upload not found"),
        ({"source_upload_id": od_name},
         "source_upload_id: upload not found"),
        ({"source_upload_id": 5}, "source_upload_id must be a string"),
        ({"source_uri": "ftp://x/y"}, "source_uri must be an http(s) URL"),
        ({"source_uri": "https://x/y", "playback_policy": "private"},
         "playback_policy must be public or signed"),
        ({"source_uri": "https://x/y", "metadata": "a=b"},
         "metadata must be an object"),
        ({"source_uri": "https://x/y", "nft_collection": "0x12"},
         "nft_collection must be a 0x address"),
        ({"source_uri": "https://x/y", "use_drm": "yes"},
         "use_drm must be a boolean"),
        ({"source_uri": "https://x/y", "drm_rules": {}},
         "drm_rules must be an array"),
    ]
    for body, text in cases:
        assert message(tva(sim, "POST", "/video", body), 400) == text, body
    assert message(tva(sim, "POST", "/video",
                       {"source_upload_id": pending}), 400).startswith(
        "source_upload_id: upload not completed")
    for raw in (b"", b"[]", b"{"):
        st, _, _ = sim.call("POST", "/video", host=TVA, raw_body=raw,
                            headers={"Content-Type": "application/json"})
        assert st == 400
    rows = sim.ctl("GET", "videos")["videos"]
    assert len(rows) == 2
    src = [r["source"] for r in rows if r["source_upload_id"]][0]
    assert src["sha256"] == hashlib.sha256(
        b"\x00\x00\x00\x18ftypmp42 fake video").hexdigest()
    assert rows[0]["source"] is None


def test_list_newest_first_and_paging(sim):
    ids = [create_video(sim, source_uri="https://x/%d.mp4" % i)["id"]
           for i in range(5)]
    body = ok_body(tva(sim, "GET", "/video/%s/list?page=1&number=10"
                       % sim.sa))
    assert set(body) == {"videos", "pagination"}
    assert [v["id"] for v in body["videos"]] == ids[::-1]
    assert body["pagination"] == {"current_page": 1, "total_pages": 1,
                                  "total_count": 5}
    # defaults page 1, number 10 (states move on: compare the ids)
    again = ok_body(tva(sim, "GET", "/video/%s/list" % sim.sa))
    assert [v["id"] for v in again["videos"]] == ids[::-1]
    assert again["pagination"] == body["pagination"]
    pages = [ok_body(tva(sim, "GET", "/video/%s/list?page=%d&number=2"
                         % (sim.sa, p))) for p in (1, 2, 3, 4)]
    assert [[v["id"] for v in p["videos"]] for p in pages] == [
        ids[4:2:-1], ids[2:0:-1], ids[0:1], []]
    assert pages[0]["pagination"]["total_pages"] == 3
    for q in ("page=0", "page=-1", "page=x", "number=0", "number=101"):
        assert tva(sim, "GET", "/video/%s/list?%s" % (sim.sa, q))[0] == \
            400, q
    other = "srvacc_" + "1" * 25
    assert tva(sim, "GET", "/video/%s/list" % other) == (403, FORBIDDEN)


def test_metadata_search(sim):
    a = create_video(sim, source_uri="https://x/a", metadata={
        "listing": {"id": "lst_1", "city": "Nice"}, "kind": "tour",
        "rooms": 3, "featured": True})
    b = create_video(sim, source_uri="https://x/b", metadata={
        "listing": {"id": "lst_2", "city": "Nice"}, "kind": "ad"})
    c = create_video(sim, source_uri="https://x/c", metadata={
        "kind": "tour", "listing": "flat"})
    base = "/video/%s/search?" % sim.sa

    def hits(query):
        body = ok_body(tva(sim, "GET", base + query))
        assert set(body) == {"videos", "pagination"}
        return [v["id"] for v in body["videos"]]
    assert hits("kind=tour") == [c["id"], a["id"]]
    assert hits("listing.city=Nice") == [b["id"], a["id"]]
    assert hits("listing.city=Nice&kind=tour") == [a["id"]]
    assert hits("listing.city=Nice&kind=tour&operator=and") == [a["id"]]
    assert hits("listing.id=lst_2&kind=tour&operator=or") == [
        c["id"], b["id"], a["id"]]
    assert hits("rooms=3&featured=true") == [a["id"]]
    assert hits("listing=flat") == [c["id"]]
    assert hits("listing.id.x=1") == [] and hits("kind=TOUR") == []
    assert hits("listing=%7B%7D") == []          # objects never match
    assert hits("kind=tour&page=2&number=1") == [a["id"]]
    assert message(tva(sim, "GET", base + "kind=tour&operator=xor"),
                   400) == "operator must be and or or"
    assert message(tva(sim, "GET", base + "page=1"), 400).startswith(
        "give at least one metadata key")
    assert tva(sim, "GET", "/video/srvacc_x/search?kind=tour") == (
        403, FORBIDDEN)


# -- streams and ingestors -----------------------------------------------
def test_stream_limit_get_and_list(sim):
    made = []
    for i in range(3):
        s = ok_body(tva(sim, "POST", "/stream", {"name": "cam %d" % i}))
        assert set(s) == STREAM_KEYS
        assert re.fullmatch(r"stream_[0-9a-z]{25}", s["id"])
        assert (s["status"], s["ingestor_id"]) == ("off", None)
        assert s["playback_uri"].endswith("/%s/master.m3u8" % s["id"])
        made.append(s)
    assert message(tva(sim, "POST", "/stream", {"name": "cam 4"}), 400) == (
        "stream limit reached: a service account may have at most 3 "
        "streams")
    assert ok_body(tva(sim, "GET", "/stream/" + made[1]["id"])) == made[1]
    assert message(tva(sim, "GET", "/stream/stream_missing"), 404) == \
        "stream not found"
    for body in ({}, {"name": ""}, {"name": 3}):
        assert message(tva(sim, "POST", "/stream", body), 400) == \
            "name is required"
    path = "/service_account/%s/streams" % sim.sa
    listed = ok_body(tva(sim, "GET", path))["streams"]
    assert listed == made
    assert len(ok_body(tva(sim, "GET", path + "?status=off"))["streams"]) \
        == 3
    assert ok_body(tva(sim, "GET", path + "?status=on"))["streams"] == []
    assert tva(sim, "GET", path + "?status=live")[0] == 400
    assert tva(sim, "GET", "/service_account/srvacc_x/streams") == (
        403, FORBIDDEN)
    # the limit is a config key
    sim.ctl("POST", "config", {"stream_limit": 4})
    assert tva(sim, "POST", "/stream", {"name": "cam 4"})[0] == 200


def test_ingestors_select_and_unselect(sim):
    sim.ctl("POST", "config", {"stream_key_ttl": 300})
    ings = ok_body(tva(sim, "GET", "/ingestor/filter"))["ingestors"]
    assert len(ings) >= 3
    dist = [i["distance_km"] for i in ings]
    assert dist == sorted(dist)
    assert all(re.fullmatch(r"ingestor_[0-9a-z]{25}", i["id"])
               for i in ings)
    near = ings[0]["id"]
    s1 = ok_body(tva(sim, "POST", "/stream", {"name": "one"}))
    s2 = ok_body(tva(sim, "POST", "/stream", {"name": "two"}))
    sel = "/ingestor/%s/select" % near
    # without the stream: 403, as the reference says
    for body in (None, {}, {"tva_stream": ""}, {"stream": s1["id"]}):
        assert message(tva(sim, "PUT", sel, body), 403).startswith(
            "tva_stream is required")
    assert message(tva(sim, "PUT", "/ingestor/ingestor_x/select",
                       {"tva_stream": s1["id"]}), 404) == \
        "ingestor not found"
    assert message(tva(sim, "PUT", sel, {"tva_stream": "stream_x"}),
                   404) == "stream not found"
    got = ok_body(tva(sim, "PUT", sel, {"tva_stream": s1["id"]}))
    assert set(got) == {"stream_server", "stream_key"}
    assert got["stream_server"] == "rtmp://%s:1935/live" % ings[0]["ip"]
    key = got["stream_key"]
    assert re.fullmatch(r"[0-9a-z]{32}", key)
    now = ok_body(tva(sim, "GET", "/stream/" + s1["id"]))
    assert (now["status"], now["ingestor_id"]) == ("on", near)
    assert near not in [i["id"] for i in ok_body(
        tva(sim, "GET", "/ingestor/filter"))["ingestors"]]
    assert message(tva(sim, "PUT", sel, {"tva_stream": s2["id"]}),
                   409) == "ingestor is already selected by another stream"
    # the key is a secret: hashed in the control view, redacted in logs
    row = sim.ctl("GET", "streams")["streams"][0]
    assert row["stream_key_sha256"] == hashlib.sha256(
        key.encode()).hexdigest()
    assert row["stream_key_valid"] is True and row["keys_issued"] == 1
    assert 280 < epoch(row["stream_key_expires_at"]) - time.time() < 310
    tva(sim, "GET", "/stream/%s?key=%s" % (s1["id"], key))
    log = json.dumps(sim.ctl("GET", "requests")["requests"])
    assert key not in log and "key=[REDACTED]" in log
    # selecting again gives a new key
    again = ok_body(tva(sim, "PUT", sel, {"tva_stream": s1["id"]}))
    assert again["stream_key"] != key
    assert sim.ctl("GET", "streams")["streams"][0]["keys_issued"] == 2
    # unselect by stream (edge-node route) and by ingestor
    un = "/edge-node/ingestor/unselect"
    assert message(tva(sim, "PUT", un, {}), 403).startswith(
        "tva_stream is required")
    assert tva(sim, "PUT", un, {"tva_stream": "stream_x"})[0] == 404
    assert ok_body(tva(sim, "PUT", un, {"tva_stream": s1["id"]})) == {
        "ingestor_id": near, "released": True}
    assert ok_body(tva(sim, "PUT", un, {"tva_stream": s1["id"]})) == {
        "ingestor_id": None, "released": False}
    assert ok_body(tva(sim, "GET", "/stream/" + s1["id"]))["status"] == \
        "off"
    assert near in [i["id"] for i in ok_body(
        tva(sim, "GET", "/ingestor/filter"))["ingestors"]]
    ok_body(tva(sim, "PUT", sel, {"tva_stream": s2["id"]}))
    assert ok_body(tva(sim, "PUT", "/ingestor/%s/unselect" % near, {})) \
        == {"ingestor_id": near, "released": True}
    assert ok_body(tva(sim, "GET", "/stream/" + s2["id"]))["status"] == \
        "off"
    assert tva(sim, "PUT", "/ingestor/ingestor_x/unselect", {})[0] == 404
    streams = sim.ctl("GET", "streams")
    assert all(r["stream_key_valid"] is False for r in streams["streams"])
    assert all(i["stream"] is None for i in streams["ingestors"])


def test_stream_key_expires(sim):
    sim.ctl("POST", "config", {"stream_key_ttl": 0.3})
    s = ok_body(tva(sim, "POST", "/stream", {"name": "short"}))
    ing = ok_body(tva(sim, "GET", "/ingestor/filter"))["ingestors"][1]
    ok_body(tva(sim, "PUT", "/ingestor/%s/select" % ing["id"],
                {"tva_stream": s["id"]}))
    assert sim.ctl("GET", "streams")["streams"][0]["stream_key_valid"]
    time.sleep(0.4)
    assert not sim.ctl("GET", "streams")["streams"][0]["stream_key_valid"]


# -- faults, control, config, environment ---------------------------------
def test_faults_by_route_name(sim):
    names = {
        "video_upload": ("POST", "/upload", None),
        "video_create": ("POST", "/video", {"source_uri": "https://x/y"}),
        "video_get": ("GET", "/video/video_x", None),
        "video_list": ("GET", "/video/%s/list" % sim.sa, None),
        "video_search": ("GET", "/video/%s/search?a=b" % sim.sa, None),
        "stream_create": ("POST", "/stream", {"name": "n"}),
        "stream_get": ("GET", "/stream/stream_x", None),
        "stream_list": ("GET", "/service_account/%s/streams" % sim.sa,
                        None),
        "ingestor_list": ("GET", "/ingestor/filter", None),
        "ingestor_select": ("PUT", "/ingestor/i/select", {}),
        "ingestor_unselect": ("PUT", "/edge-node/ingestor/unselect", {}),
        "video_other": ("GET", "/elsewhere", None),
    }
    sim.ctl("POST", "faults", {"http_error": {
        "status": 503, "routes": sorted(names), "count": -1}})
    for name, (method, path, body) in names.items():
        st, data = tva(sim, method, path, body)
        assert (st, data["message"]) == (503, "simulated upstream error"), \
            name
    sim.ctl("DELETE", "faults")
    assert sim.ctl("GET", "videos") == {"videos": []}
    assert sim.ctl("GET", "streams")["streams"] == []
    routes = [r["route"] for r in sim.ctl("GET", "requests?host=" + TVA)
              ["requests"]]
    assert routes == list(names)
    sim.ctl("POST", "faults", {"latency": {"seconds": 0.3,
                                           "routes": ["video_get"]}})
    t0 = time.monotonic()
    assert tva(sim, "GET", "/video/video_x")[0] == 404
    assert time.monotonic() - t0 >= 0.3


def test_config_keys_and_reset(sim):
    for bad in ({"video_times": [1]}, {"video_times": [1, -1]},
                {"video_times": "fast"}, {"stream_limit": -1},
                {"stream_key_ttl": "x"}, {"video_bucket": 3}):
        st, _ = sim.j("POST", "/__sim__/config", bad, key=None, ua=None)
        assert st == 400, bad
    sim.ctl("POST", "config", {"video_times": None, "time_scale": 0.01})
    v = create_video(sim, source_uri="https://x/y")
    end, seen = watch(sim, v["id"])       # 0.04 s + 0.3 s
    assert end["state"] == "success"
    ok_body(tva(sim, "POST", "/stream", {"name": "n"}))
    sim.ctl("POST", "reset")
    assert sim.ctl("GET", "videos") == {"videos": []}
    assert sim.ctl("GET", "streams")["streams"] == []
    assert tva(sim, "GET", "/video/" + v["id"])[0] == 404
    assert sim.ctl("GET", "config")["config"]["video_times"] is None


def test_service_account_from_env_and_secret_kept_out_of_stderr(tmp_path):
    sa = "srvacc_" + "e" * 25
    secret = "envsecret0123456789abcdefghijklm"
    env = dict(os.environ, PYTHONPATH=harness.ROOT,
               THETA_SIM_VIDEO_SA_ID=sa, THETA_SIM_VIDEO_SA_SECRET=secret)
    bad = dict(env, THETA_SIM_VIDEO_SA_SECRET="with space")
    proc = subprocess.run([sys.executable, "-m", "tests.servers.theta_sim",
                           "--port", "0"], cwd=harness.ROOT, env=bad,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30)
    assert proc.returncode == 2
    assert b"THETA_SIM_VIDEO_SA_SECRET" in proc.stderr
    log_path = tmp_path / "stderr.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "tests.servers.theta_sim",
             "--port", "0"], cwd=harness.ROOT, env=env,
            stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            words = proc.stdout.readline().split()
            info = dict(w.split("=", 1) for w in words[2:])
            assert (info["video_sa"], info["video_secret"]) == (sa, secret)
            cli = Client(harness.Server(proc, words[1], info))
            ok_body(tva(cli, "GET", "/ingestor/filter?s=" + secret))
            s = ok_body(tva(cli, "POST", "/stream", {"name": "n"}))
            ing = ok_body(tva(cli, "GET", "/ingestor/filter"))["ingestors"]
            key = ok_body(tva(cli, "PUT", "/ingestor/%s/select"
                              % ing[0]["id"], {"tva_stream": s["id"]}))[
                "stream_key"]
            tva(cli, "GET", "/stream/%s?k=%s" % (s["id"], key))
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
    text = log_path.read_text()
    assert "/ingestor/filter" in text and "/stream/" in text
    assert secret not in text and key not in text
