"""theta_sim.replies -- the response values every host handler returns.

Kept apart from app.py so that the controller, platform and dedicated
handlers can build replies without importing the router that imports
them.
"""
from .state import dumps

JSON_TYPE = "application/json; charset=utf-8"
# A handler may return this instead of a Response: it already wrote a
# streamed reply.
STREAMED = object()


class Response:
    def __init__(self, status, obj=None, headers=(), raw=None,
                 ctype=JSON_TYPE):
        self.status = status
        self.obj = obj
        self.headers = list(headers)
        self.raw = raw
        self.ctype = ctype

    def body(self):
        if self.raw is not None:
            return self.raw
        return dumps(self.obj).encode("utf-8")


def err(status, message, headers=()):
    return Response(status, {"status": "error", "message": message},
                    headers)


def ok(body):
    return Response(200, {"status": "success", "body": body})


def text(status, body, ctype="text/plain; charset=utf-8", headers=()):
    return Response(status, raw=body.encode("utf-8"), headers=headers,
                    ctype=ctype)


class Lost:
    """Returned instead of a Response: close the connection without a
    single reply byte (with ``rst``, by a TCP reset)."""

    def __init__(self, rst=False):
        self.rst = rst


class Reject(Exception):
    """Raised by a check deep in a handler; carries the reply."""

    def __init__(self, response):
        super().__init__(response.obj)
        self.response = response
