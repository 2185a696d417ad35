"""theta_sim.files -- presigned uploads, the fake GCS bucket, model outputs.

Presigned URLs (reference 2.6) point at ``storage.googleapis.com`` and
look like GCS V4 signed URLs.  The signature is an HMAC over the method,
object path and X-Goog-Date/Expires with a key made at start, so a client
that rewrites the path or drops the signature gets 403
``SignatureDoesNotMatch``.  A PUT that also carries an Authorization
header is recorded (``authorization_sent``) and, with the default
``upload_auth_policy: "reject"``, refused with 400: a presigned URL needs
no credentials, and the on-demand token must never travel to Google.

The Video API's ``POST /upload`` (video.py) makes its presigned URLs here
too, in its own bucket (config ``video_bucket``) under the service
account id; those records have ``service: "video"``.

Outputs (``image_url``) live on ``ondemand-outputs.thetaedgecloud.com`` as
``/{service_id}/{project_id}/{request_id}_{field}.png`` -- PNG, not the
WebP seen in the wild, because the simulator draws them itself.
"""
import datetime
import hashlib
import hmac
import re
import struct
import time
import zlib
from urllib.parse import quote

from .state import iso, new_id

STORAGE_HOST = "storage.googleapis.com"
OUTPUTS_HOST = "ondemand-outputs.thetaedgecloud.com"
CREDENTIAL = "theta-ondemand@theta-edgecloud.iam.gserviceaccount.com"


def _xml_error(code, message):
    return ("<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code>"
            "<Message>%s</Message></Error>" % (code, message)).encode()


def _signature(sim, obj, date, expires):
    msg = ("PUT\n/%s\n%s\n%s" % (obj, date, expires)).encode()
    # 512 hex characters, as long as a real RSA-2048 V4 signature.
    return b"".join(hmac.new(sim.signing_key, msg + bytes([i]),
                             hashlib.sha256).digest()
                    for i in range(8)).hex()


def new_upload(sim, bucket, owner, field, service):
    """One pending upload of a fresh ``upload_`` name under
    ``bucket/owner/``; return (presigned URL, upload record)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    date = now.strftime("%Y%m%dT%H%M%SZ")
    ttl = int(sim.config["upload_url_ttl"])
    cred = quote("%s/%s/auto/storage/goog4_request"
                 % (CREDENTIAL, now.strftime("%Y%m%d")), safe="")
    filename = new_id("upload_", 25)
    obj = "%s/%s/%s" % (bucket, owner, filename)
    sig = _signature(sim, obj, date, ttl)
    url = ("https://%s/%s?X-Goog-Algorithm=GOOG4-RSA-SHA256"
           "&X-Goog-Credential=%s&X-Goog-Date=%s&X-Goog-Expires=%d"
           "&X-Goog-SignedHeaders=host&X-Goog-Signature=%s"
           % (STORAGE_HOST, obj, cred, date, ttl, sig))
    rec = {"object": obj, "filename": filename, "field": field,
           "service": service, "signature": sig,
           "expires_at": time.time() + ttl, "created": iso(time.time()),
           "uploaded": False, "size": 0, "sha256": None,
           "content_type": None, "authorization_sent": False,
           "put_count": 0, "data": b""}
    sim.uploads[obj] = rec
    sim.by_filename[filename] = obj
    return url, rec


def presign(sim, svc, fields):
    """Create one pending upload per field; return {field: (url, name)}."""
    out = {}
    for field in fields:
        url, rec = new_upload(sim, sim.config["upload_bucket"],
                              sim.project_id, field, svc["alias"])
        out[field] = (url, rec["filename"])
    return out


def storage_request(sim, req):
    """(status, content type, headers, body) for the fake GCS host."""
    obj = req.path.lstrip("/")
    rec = sim.uploads.get(obj)
    xml = "application/xml; charset=UTF-8"
    if req.method != "PUT":
        return 403, xml, [], _xml_error(
            "AccessDenied", "Access denied (theta_sim: only PUT to a "
            "presigned URL is supported).")
    has_auth = "authorization" in req.hdr
    if rec is not None and has_auth:
        rec["authorization_sent"] = True
    if rec is None or req.q("X-Goog-Signature") != rec["signature"]:
        return 403, xml, [], _xml_error(
            "SignatureDoesNotMatch", "The request signature we calculated "
            "does not match the signature you provided.")
    if time.time() > rec["expires_at"]:
        return 400, xml, [], _xml_error("ExpiredToken",
                                    "The provided token has expired.")
    if has_auth and sim.config["upload_auth_policy"] == "reject":
        return 400, xml, [], _xml_error(
            "InvalidArgument", "A presigned URL must not be combined with "
            "an Authorization header (theta_sim refuses credentials sent "
            "to storage).")
    data = req.body
    rec.update(uploaded=True, size=len(data), data=data,
               sha256=hashlib.sha256(data).hexdigest(),
               content_type=req.hdr.get("content-type"),
               put_count=rec["put_count"] + 1)
    etag = '"%s"' % hashlib.md5(data).hexdigest()
    return 200, "text/html; charset=UTF-8", [
        ("ETag", etag), ("X-GUploader-UploadID", new_id("", 40))], b""


def upload_for(sim, value):
    """The upload record behind an input filename, or None."""
    obj = sim.by_filename.get(value)
    rec = sim.uploads.get(obj) if obj else None
    return rec if rec and rec["uploaded"] and rec["service"] != "video" \
        else None


def check_file_input(sim, field, value):
    """An error message, or None when ``value`` names usable input."""
    if not isinstance(value, str) or not value:
        return "input field %s must be a filename or an https URL" % field
    if value.startswith("https://"):
        return None
    obj = sim.by_filename.get(value)
    if obj is None or sim.uploads[obj]["service"] == "video":
        return "input file not found: %s" % field
    if not sim.uploads[obj]["uploaded"]:
        return "input file not uploaded yet: %s" % field
    return None


# -- generated outputs ---------------------------------------------------
def png(width, height, rgb):
    """A small valid PNG: a diagonal gradient around ``rgb``."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            k = (x + y) * 2
            row += bytes(((rgb[0] + k) % 256, (rgb[1] + k) % 256,
                          (rgb[2] + k) % 256))
        rows.append(bytes(row))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                         0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


def output_url(sim, job, field):
    path = "/%s/%s/%s_%s.png" % (job.svc["id"], sim.project_id, job.id,
                                 field)
    seed = hashlib.sha256((job.id + field).encode()).digest()
    sim.outputs[path] = (job.id, seed[:3])
    return "https://%s%s" % (OUTPUTS_HOST, path)


def outputs_request(sim, req):
    entry = sim.outputs.get(req.path)
    job = sim.jobs.get(entry[0]) if entry else None
    if req.method not in ("GET", "HEAD") or job is None or \
            job.state() != "success":
        return 404, "application/xml; charset=UTF-8", [], _xml_error(
            "NoSuchKey", "The specified key does not exist.")
    return 200, "image/png", [("Cache-Control", "public, max-age=86400")], \
        png(64, 64, entry[1])


def _describe(sim, value):
    """(text or None, size, sha-prefix) for an input file value."""
    if isinstance(value, str) and value.startswith("https://"):
        host = value.split("/")[2]
        return None, 0, "url:" + host
    rec = upload_for(sim, value)
    data = rec["data"] if rec else b""
    try:
        text = data.decode("utf-8").strip()
        if not text or any(ord(c) < 32 and c not in "\t\n\r" for c in text):
            text = None
    except UnicodeDecodeError:
        text = None
    return text, len(data), hashlib.sha256(data).hexdigest()[:8]


def _seeded(seed_text, n):
    return [b for b in hashlib.sha256(seed_text.encode()).digest()[:n]]


def make_output(sim, job):
    """The ``output`` object of a finished non-chat job."""
    svc = job.svc
    inp = job.input
    kind = svc["kind"]
    if kind == "image":
        seed = inp.get("seed")
        if seed is None:
            seed = int.from_bytes(hashlib.sha256(
                (job.id + str(inp.get("prompt"))).encode()).digest()[:8],
                "big")
        return {"image_url": output_url(sim, job, "image_url"),
                "used_seed": str(seed)}
    if kind == "detect":
        text, size, fp = _describe(sim, inp.get("input_img"))
        labels = [p.strip() for p in re.split(r"[.,;]",
                                              str(inp["detection_prompt"]))
                  if p.strip()]
        boxes, scores = [], []
        for lab in labels:
            b = _seeded(fp + lab, 5)
            x0, y0 = b[0] * 2, b[1] * 2
            boxes.append([x0, y0, x0 + 40 + b[2], y0 + 40 + b[3]])
            scores.append(round(0.5 + b[4] / 600, 3))
        return {"boxes": boxes, "labels": labels, "scores": scores,
                "image_url": output_url(sim, job, "image_url")}
    if kind == "caption":
        text, size, fp = _describe(sim, inp.get("input_img"))
        if text:
            return {"caption": "a photo of %s" % text[:200]}
        return {"caption": "a simulated photograph (%d bytes, %s)"
                % (size, fp)}
    if kind == "vqa":
        text, size, fp = _describe(sim, inp.get("input_img"))
        what = text[:200] if text else "an image of %d bytes" % size
        return {"text": "Simulated answer to \u201c%s\u201d about %s."
                % (str(inp.get("question"))[:200], what)}
    if kind == "stt":
        text, size, fp = _describe(sim, inp.get("audio_filename"))
        if not text:
            text = ("Simulated transcript of an audio clip of %d bytes "
                    "(%s)." % (size, fp))
        text = text[:4000]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
        segs, t = [], 0.0
        for s in sentences:
            d = round(0.3 + 0.06 * len(s.split()), 2)
            segs.append({"start": round(t, 2), "end": round(t + d, 2),
                         "text": s})
            t += d
        return {"text": text, "language": inp.get("language") or "en",
                "segments": segs}
    return {}
