"""theta_sim.httpio -- a small HTTP/1.1 server layer over asyncio streams.

Written by hand (not a framework) because the simulator needs byte-level
control of what goes on the wire: first-byte delays, responses cut short,
chunked SSE pieces that split frames at awkward bytes, streams that never
end or stall, and connections dropped with a TCP reset.

Supported: persistent connections, Content-Length and chunked request
bodies, ``Expect: 100-continue``, HEAD.  Not supported (not needed by the
clients under test): pipelining, HTTP/2 (ALPN offers only http/1.1).
"""
import asyncio
import socket
import struct
import time
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

MAX_HEADER = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Request:
    def __init__(self, conn, method, target, version, headers, body):
        self.conn = conn
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers            # list of (name, value)
        self.hdr = {k.lower(): v for k, v in headers}
        self.body = body
        parts = urlsplit(target)
        self.raw_path = parts.path or "/"
        self.path = unquote(self.raw_path)
        self.raw_query = parts.query
        self.query = parse_qs(parts.query, keep_blank_values=True)
        host = self.hdr.get("host", "").strip().lower()
        if host.startswith("["):
            host = host.split("]")[0] + "]"
        elif ":" in host:
            host = host.rsplit(":", 1)[0]
        self.host = host.rstrip(".")
        self.sni = conn.sni
        self.received = time.time()

    def q(self, name):
        """Last value of a query parameter, or None."""
        vals = self.query.get(name)
        return vals[-1] if vals else None

    def keep_alive(self):
        tok = self.hdr.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in tok
        return "close" not in tok


def reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status %d" % status


class Conn:
    """One client connection (TLS already established)."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.closed = False
        self.sni = None
        ssl_obj = writer.get_extra_info("ssl_object")
        if ssl_obj is not None:
            self.sni = getattr(ssl_obj, "theta_sim_sni", None)
        sock = writer.get_extra_info("socket")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    # -- reading ---------------------------------------------------------
    async def read_request(self):
        """The next request, or None when the peer closed cleanly."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError:
            raise HttpError(431, "request header too large")
        except (ConnectionError, OSError):
            return None
        while head.startswith(b"\r\n"):
            head = head[2:]
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            raise HttpError(400, "malformed request line")
        if not version.startswith("HTTP/1."):
            raise HttpError(505, "HTTP version not supported")
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            if ":" not in line:
                raise HttpError(400, "malformed header line")
            name, value = line.split(":", 1)
            headers.append((name.strip(), value.strip()))
        hdr = {k.lower(): v for k, v in headers}
        te = hdr.get("transfer-encoding", "").lower()
        length = hdr.get("content-length")
        expects_body = "chunked" in te or (length not in (None, "0"))
        if expects_body and hdr.get("expect", "").lower() == "100-continue":
            await self.write_raw(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in te:
            body = await self._read_chunked()
        elif length is not None:
            try:
                n = int(length)
            except ValueError:
                raise HttpError(400, "bad Content-Length")
            if n < 0 or n > MAX_BODY:
                raise HttpError(413, "request body too large")
            try:
                body = await self.reader.readexactly(n)
            except asyncio.IncompleteReadError:
                return None
        else:
            body = b""
        return Request(self, method.upper(), target, version, headers, body)

    async def _read_chunked(self):
        parts = []
        total = 0
        while True:
            line = await self.reader.readline()
            if not line:
                raise HttpError(400, "truncated chunked body")
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise HttpError(400, "bad chunk size")
            if size == 0:
                while True:       # trailers
                    t = await self.reader.readline()
                    if t in (b"\r\n", b"\n", b""):
                        break
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise HttpError(413, "request body too large")
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    # -- writing ---------------------------------------------------------
    def client_gone(self):
        return (self.closed or self.writer.is_closing()
                or self.reader.at_eof())

    async def write_raw(self, data):
        if self.client_gone():
            raise ConnectionResetError("client went away")
        self.writer.write(data)
        await self.writer.drain()

    @staticmethod
    def head_bytes(status, headers):
        lines = ["HTTP/1.1 %d %s" % (status, reason(status))]
        names = {k.lower() for k, _ in headers}
        if "date" not in names:
            lines.append("Date: " + formatdate(usegmt=True))
        lines += ["%s: %s" % (k, v) for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(self, req, status, headers, body=b"", *, keep=True,
                   truncate=None):
        """A whole response with Content-Length.  ``truncate`` is None or
        (mode, keep_bytes): mode "short" sends a body cut to keep_bytes with
        a matching Content-Length (complete HTTP, broken JSON); mode
        "close" announces the full length, sends keep_bytes and closes."""
        keep = keep and req is not None and req.keep_alive()
        headers = list(headers)
        declared = len(body)
        if truncate and truncate[0] == "short":
            body = body[:truncate[1]]
            declared = len(body)
        elif truncate and truncate[0] == "close":
            body = body[:truncate[1]]
            keep = False
        headers.append(("Content-Length", str(declared)))
        headers.append(("Connection", "keep-alive" if keep else "close"))
        data = self.head_bytes(status, headers)
        if req is None or req.method != "HEAD":
            data += body
        await self.write_raw(data)
        if not keep:
            await self.close()
        return keep

    async def start_stream(self, status, headers, chunked=True):
        self.chunked = chunked
        headers = list(headers)
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
            headers.append(("Connection", "keep-alive"))
        else:
            headers.append(("Connection", "close"))
        await self.write_raw(self.head_bytes(status, headers))

    async def stream_piece(self, data):
        if not data:
            return
        if self.chunked:
            data = b"%x\r\n" % len(data) + data + b"\r\n"
        await self.write_raw(data)

    async def end_stream(self):
        if self.chunked:
            await self.write_raw(b"0\r\n\r\n")
            return True
        await self.close()
        return False

    async def close(self):
        """Orderly close: TLS close_notify, then FIN."""
        if self.closed:
            return
        self.closed = True
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (Exception, asyncio.CancelledError):
            pass

    def abort(self, rst=True):
        """Abrupt close without TLS close_notify; with ``rst`` the kernel
        sends a TCP reset (SO_LINGER 0) instead of a FIN."""
        if self.closed:
            return
        self.closed = True
        sock = self.writer.get_extra_info("socket")
        if rst and sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.writer.transport.abort()
