"""theta_sim.multipart -- a strict multipart/form-data reader.

The chatbot document routes (reference 4) take ``multipart/form-data``.
The body is cut at its boundaries by hand, byte for byte, so that a
file part comes back exactly as sent (a CR, an LF or a line that looks
like a boundary inside a file must survive: the test compares SHA-256
digests).  Only the small header block of each part goes through
``email.parser`` with ``policy.default``, which knows the parameter
rules (quoting, RFC 2231 ``filename*=UTF-8''...``) better than a regular
expression would.

A delimiter is ``CRLF--boundary`` followed by ``--`` (the close
delimiter) or by optional spaces/tabs and CRLF; ``--boundary`` without
the CRLF in front is accepted only at the very start (RFC 2046 5.1.1).
Anything malformed raises MultipartError with a message fit for a 400.
"""
import email.message
import email.parser
import email.policy


class MultipartError(ValueError):
    pass


class Part:
    def __init__(self, name, filename, content_type, data):
        self.name = name
        self.filename = filename
        self.content_type = content_type    # None when the part had none
        self.data = data

    def text(self):
        """The part as text (form fields are UTF-8)."""
        return self.data.decode("utf-8", "replace")


def boundary_of(content_type):
    """The boundary of a ``multipart/form-data`` Content-Type value."""
    if not content_type:
        raise MultipartError("Content-Type must be multipart/form-data")
    msg = email.message.Message()
    msg["Content-Type"] = content_type
    if msg.get_content_type() != "multipart/form-data":
        raise MultipartError("Content-Type must be multipart/form-data")
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise MultipartError("multipart/form-data without a valid boundary")
    return boundary.encode("latin-1", "replace")


def _delimiter_end(body, at, delim):
    """Where the delimiter starting at ``at`` ends: (index after its
    line, closed?), or None when the bytes there are no delimiter."""
    after = at + len(delim)
    if body[after:after + 2] == b"--":
        return after + 2, True
    eol = body.find(b"\r\n", after)
    if eol < 0 or body[after:eol].strip(b" \t"):
        return None
    return eol + 2, False


def _next_delimiter(body, start, delim):
    """(index of the CRLF before the next delimiter, its end, closed?)."""
    pos = start
    while True:
        at = body.find(b"\r\n" + delim, pos)
        if at < 0:
            raise MultipartError("multipart body ends before its closing "
                                 "boundary")
        end = _delimiter_end(body, at + 2, delim)
        if end is not None:
            return at, end[0], end[1]
        pos = at + 1


def _part(raw):
    if raw.startswith(b"\r\n"):
        head, data = b"", raw[2:]
    else:
        cut = raw.find(b"\r\n\r\n")
        if cut < 0:
            raise MultipartError("multipart part without a blank line "
                                 "after its headers")
        head, data = raw[:cut], raw[cut + 4:]
    hdrs = email.parser.HeaderParser(policy=email.policy.default).parsestr(
        head.decode("utf-8", "replace"))
    disp = hdrs.get("content-disposition")
    if disp is None or disp.content_disposition != "form-data":
        raise MultipartError("every part needs Content-Disposition: "
                             "form-data")
    name = disp.params.get("name")
    if not name:
        raise MultipartError("a form-data part has no name")
    filename = hdrs.get_filename()
    ctype = hdrs.get_content_type() if "content-type" in hdrs else None
    return Part(name, filename, ctype, data)


def parse(content_type, body):
    """The parts of a multipart/form-data body, in order."""
    delim = b"--" + boundary_of(content_type)
    if body.startswith(delim):
        first = 0
    else:
        at = body.find(b"\r\n" + delim)
        first = at + 2 if at >= 0 else -1
    end = _delimiter_end(body, first, delim) if first >= 0 else None
    if end is None:
        raise MultipartError("multipart body without its boundary")
    pos, closed = end
    parts = []
    while not closed:
        at, nxt, closed = _next_delimiter(body, pos, delim)
        parts.append(_part(body[pos:at]))
        pos = nxt
    return parts
