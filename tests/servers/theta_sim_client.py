"""A small HTTPS client for the theta_sim suites of agents and video.

Each call goes over real TLS to 127.0.0.1 with a production host name
as SNI and Host header, verified against the simulator's test CA (as
``MappedHTTPS`` in theta_sim_test.py does).  Shared by
theta_sim_agents_test.py and theta_sim_video_test.py; not a test file
itself.
"""
import http.client
import json
import socket
import ssl
import uuid
from urllib.parse import urlencode

CTL = "controller.thetaedgecloud.com"
TVA = "api.thetavideoapi.com"
GCS = "storage.googleapis.com"
CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
          "like Gecko) Chrome/131.0.0.0 Safari/537.36")


class MappedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a production name, connected to 127.0.0.1:port."""

    def __init__(self, name, port, ctx, timeout):
        super().__init__(name, 443, context=ctx, timeout=timeout)
        self._target = ("127.0.0.1", port)

    def connect(self):
        sock = socket.create_connection(self._target, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def multipart_body(fields, boundary=None):
    """(content type, body) of a form; ``fields`` is a list of (name,
    value) where value is text or (filename, content type, bytes)."""
    boundary = boundary or "----theta-test-" + uuid.uuid4().hex
    out = []
    for name, value in fields:
        out.append(b"--" + boundary.encode() + b"\r\n")
        if isinstance(value, tuple):
            filename, ctype, data = value
            out.append(('Content-Disposition: form-data; name="%s"; '
                        'filename="%s"\r\n' % (name, filename)).encode())
            if ctype:
                out.append(("Content-Type: %s\r\n" % ctype).encode())
            out.append(b"\r\n" + data + b"\r\n")
        else:
            out.append(('Content-Disposition: form-data; name="%s"\r\n\r\n'
                        % name).encode() + value.encode() + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return "multipart/form-data; boundary=" + boundary, b"".join(out)


class Client:
    def __init__(self, server):
        self.server = server
        self.port = int(server.url.rsplit(":", 1)[1])
        self.key = server.info["api_key"]
        self.project = server.info["project"]
        self.sa = server.info.get("video_sa")
        self.secret = server.info.get("video_secret")
        self.ctx = ssl.create_default_context(cafile=server.info["ca"])

    def conn(self, host, timeout=10):
        return MappedHTTPS(host, self.port, self.ctx, timeout)

    def call(self, method, path, body=None, host=CTL, key=True, ua=CHROME,
             video=True, headers=None, raw_body=None, timeout=10):
        """(status, lower-case headers, body bytes).  ``key`` (controller
        host) and ``video`` (video host): True sends the simulator's
        credentials, a value sends that, None nothing."""
        hdrs = {"Accept": "application/json, text/plain, */*"}
        if ua:
            hdrs["User-Agent"] = ua
        if host == CTL and key:
            hdrs["x-api-key"] = self.key if key is True else key
        if host == TVA and video:
            sa, secret = ((self.sa, self.secret) if video is True
                          else video)
            if sa is not None:
                hdrs["x-tva-sa-id"] = sa
            if secret is not None:
                hdrs["x-tva-sa-secret"] = secret
        if body is not None:
            raw_body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        c = self.conn(host, timeout)
        try:
            c.request(method, path, body=raw_body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def j(self, method, path, body=None, **kw):
        status, _, data = self.call(method, path, body, **kw)
        return status, json.loads(data)

    def ctl(self, method, path, body=None):
        status, data = self.j(method, "/__sim__/" + path, body, key=None,
                              ua=None, video=None)
        assert status == 200, data
        return data

    def q(self, path, **params):
        """``path`` with the project id and more query parameters."""
        params.setdefault("project_id", self.project)
        return path + "?" + urlencode({k: v for k, v in params.items()
                                       if v is not None})

    def form(self, method, path, fields, boundary=None, **kw):
        ctype, body = multipart_body(fields, boundary)
        hdrs = dict(kw.pop("headers", None) or {})
        hdrs["Content-Type"] = ctype
        status, _, data = self.call(method, path, raw_body=body,
                                    headers=hdrs, **kw)
        return status, json.loads(data)
