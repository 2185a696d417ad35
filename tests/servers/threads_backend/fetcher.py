"""Image fetching for ``auto_proxy_images`` -- offline by design.

Only three kinds of URL are ever fetched:

* the backend's own URLs (``http://127.0.0.1:<own port>/...``, also
  ``localhost`` / ``[::1]`` with that port, plus loopback ``host:port``
  entries of ``REF_PROXY_ALLOW``) -- real HTTP over loopback;
* fake Replicate delivery URLs: those are own URLs too
  (``/__fake__/replicate.delivery/...``); ``https://replicate.delivery/
  xezq/<id>/out-0.jpg`` is answered in-process from the fake;
* the magic host ``unreachable.test``, which always fails like a host
  that cannot be reached.

Any other host is not resolved or contacted at all: the image fails
with ``image_fetch_failed`` and the reason ``OFFLINE_REASON``.
"""
import asyncio
from urllib.parse import urljoin, urlsplit

import httpx

from . import images

OFFLINE_REASON = "offline test backend: only local images can be proxied"
SUPPORTED = ("image/jpeg", "image/png")
MAX_REDIRECTS = 3


class FetchError(Exception):
    def __init__(self, type_, msg, ctx):
        super().__init__(msg)
        self.type = type_
        self.msg = msg
        self.ctx = ctx


def _key(url):
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme.lower() == "https" else 80
    return host, port


class Fetcher:
    def __init__(self, replicate, allow=()):
        self.replicate = replicate
        self.allowed = set()
        for entry in allow:
            host, _, port = entry.rpartition(":")
            self.allowed.add((host.strip("[]"), int(port)))
        self.client = None

    def set_own_port(self, port):
        for host in ("127.0.0.1", "localhost", "::1"):
            self.allowed.add((host, port))

    async def start(self):
        self.client = httpx.AsyncClient(trust_env=False, timeout=None)

    async def close(self):
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def route(self, url):
        """'http', 'replicate' or raise FetchError -- before any I/O."""
        host, port = _key(url)
        if host == "unreachable.test":
            raise FetchError("image_fetch_failed",
                             "Could not fetch image: host unreachable.test "
                             "cannot be reached",
                             {"reason": "unreachable"})
        if host == "replicate.delivery":
            return "replicate"
        if (host, port) in self.allowed and \
                urlsplit(url).scheme.lower() == "http":
            return "http"
        raise FetchError("image_fetch_failed",
                         f"Could not fetch image: {OFFLINE_REASON}",
                         {"reason": OFFLINE_REASON})

    async def fetch(self, url, timeout, max_bytes):
        """-> dict(data, content_type, width, height) or FetchError."""
        try:
            data = await asyncio.wait_for(self._fetch(url, max_bytes),
                                          timeout)
        except asyncio.TimeoutError:
            raise FetchError("image_fetch_failed",
                             f"Could not fetch image: no answer within "
                             f"{timeout:g} s", {"reason": "timeout"}) \
                from None
        mime = images.sniff(data)
        if mime not in SUPPORTED:
            raise FetchError(
                "image_unsupported_type",
                f"Image type {mime or 'unknown'} is not supported; Threads "
                "takes JPEG or PNG (this offline backend does not "
                "transcode)",
                {"content_type": mime, "supported": list(SUPPORTED)})
        w, h = images.dimensions(data, mime)
        return {"data": data, "content_type": mime, "width": w,
                "height": h}

    async def _fetch(self, url, max_bytes):
        for _ in range(MAX_REDIRECTS + 1):
            kind = self.route(url)
            if kind == "replicate":
                return self._replicate(url, max_bytes)
            result = await self._get(url, max_bytes)
            if isinstance(result, bytes):
                return result
            url = result                     # redirect target
        raise FetchError("image_fetch_failed",
                         "Could not fetch image: too many redirects",
                         {"reason": "too_many_redirects"})

    def _replicate(self, url, max_bytes):
        parts = urlsplit(url).path.strip("/").split("/")
        data = None
        if len(parts) == 3 and parts[0] == "xezq":
            data = self.replicate.delivery(parts[1])
        if data is None:
            raise FetchError("image_fetch_failed",
                             "Could not fetch image: HTTP 404",
                             {"status": 404})
        return data

    async def _get(self, url, max_bytes):
        try:
            async with self.client.stream("GET", url,
                                          follow_redirects=False) as r:
                if r.status_code in (301, 302, 303, 307, 308) and \
                        r.headers.get("location"):
                    return urljoin(url, r.headers["location"])
                if r.status_code != 200:
                    raise FetchError(
                        "image_fetch_failed",
                        f"Could not fetch image: HTTP {r.status_code}",
                        {"status": r.status_code})
                length = r.headers.get("content-length", "")
                if length.isdigit() and int(length) > max_bytes:
                    raise FetchError(
                        "image_too_large",
                        f"Image is {int(length)} bytes; the limit is "
                        f"{max_bytes}",
                        {"bytes": int(length), "limit": max_bytes})
                buf = bytearray()
                async for chunk in r.aiter_bytes():
                    buf += chunk
                    if len(buf) > max_bytes:
                        raise FetchError(
                            "image_too_large",
                            f"Image is larger than {max_bytes} bytes",
                            {"bytes": None, "limit": max_bytes})
                return bytes(buf)
        except httpx.TimeoutException:
            raise FetchError("image_fetch_failed",
                             "Could not fetch image: timeout",
                             {"reason": "timeout"}) from None
        except httpx.HTTPError as e:
            raise FetchError("image_fetch_failed",
                             f"Could not fetch image: {type(e).__name__}",
                             {"reason": "connect_error"}) from None
