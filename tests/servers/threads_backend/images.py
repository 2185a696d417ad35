"""Tiny image codecs for the offline Threads backend.

Everything here is generated in code so that the test server ships no
binary files: a PNG writer (RGB, zlib), a baseline JPEG writer that
encodes one flat colour per 8x8 block (only DC coefficients, which keeps
the encoder a few dozen lines while producing a file any decoder
accepts), type sniffing by magic bytes, and width/height readers.
"""
import hashlib
import struct
import zlib

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind, data):
    body = kind + data
    return (struct.pack(">I", len(data)) + body
            + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))


def make_png(width, height, pixel):
    """RGB PNG; pixel(x, y) -> (r, g, b)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")          # filter type 0 (None)
        for x in range(width):
            row.extend(pixel(x, y))
        rows.append(bytes(row))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (PNG_SIG + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + _png_chunk(b"IEND", b""))


class _Bits:
    """Entropy-coded segment writer: MSB first, 0xFF byte stuffing."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, nbits):
        for i in range(nbits - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc = 0
                self.n = 0

    def flush(self):
        while self.n:
            self.put(1, 1)            # pad with one-bits
        return bytes(self.out)


def _segment(marker, payload):
    return (bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2)
            + payload)


def _ycc(rgb):
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return [max(0, min(255, int(round(v)))) for v in (y, cb, cr)]


def make_jpeg(width, height, block_rgb):
    """Baseline JFIF, 4:4:4 YCbCr; block_rgb(bx, by) -> (r, g, b) gives
    the flat colour of each 8x8 block.  With every quantiser set to 8 a
    flat block's DC coefficient is exactly (sample - 128) and all AC
    coefficients are zero, so each block is a DC difference plus EOB.
    Huffman tables are our own canonical codes: DC categories 0-11 as
    4-bit codes, AC with just EOB (00) and ZRL (01)."""
    bw, bh = (width + 7) // 8, (height + 7) // 8
    head = bytearray(b"\xFF\xD8")
    head += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    head += _segment(0xDB, b"\x00" + bytes([8] * 64))
    head += _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3)
                     + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00")
    dc_counts = bytes([0, 0, 0, 12] + [0] * 12)
    ac_counts = bytes([0, 2] + [0] * 14)
    head += _segment(0xC4, b"\x00" + dc_counts + bytes(range(12))
                     + b"\x10" + ac_counts + b"\x00\xF0")
    head += _segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3F\x00")
    bits = _Bits()
    pred = [0, 0, 0]
    for by in range(bh):
        for bx in range(bw):
            for c, sample in enumerate(_ycc(block_rgb(bx, by))):
                dc = sample - 128
                diff = dc - pred[c]
                pred[c] = dc
                cat = abs(diff).bit_length()
                bits.put(cat, 4)
                if cat:
                    bits.put(diff if diff >= 0 else diff + (1 << cat) - 1,
                             cat)
                bits.put(0, 2)        # EOB
    return bytes(head) + bits.flush() + b"\xFF\xD9"


def _palette(seed):
    h = hashlib.sha256(seed.encode()).digest()
    return (h[0], h[1], h[2]), (h[3], h[4], h[5])


def sample_png(seed, width, height):
    """A deterministic two-colour diagonal pattern."""
    a, b = _palette(seed)

    def pixel(x, y):
        t = ((x + y) // 8) % 2
        return a if t else b
    return make_png(width, height, pixel)


def sample_jpeg(seed, width, height):
    """A deterministic gradient of 8x8 tiles."""
    a, b = _palette(seed)
    bw, bh = max(1, (width + 7) // 8 - 1), max(1, (height + 7) // 8 - 1)

    def block(bx, by):
        t = (bx / bw + by / bh) / 2
        return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))
    return make_jpeg(width, height, block)


# A 1x1 GIF and the first bytes of a WebP file: only used to show that
# such inputs are refused (this backend has no transcoder).
TINY_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
            b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
TINY_WEBP = (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
             b"\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")


def sniff(data):
    """MIME type from magic bytes, or None."""
    if data.startswith(PNG_SIG):
        return "image/png"
    if data.startswith(b"\xFF\xD8\xFF"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def dimensions(data, mime):
    """(width, height) of a PNG or JPEG, or (None, None)."""
    try:
        if mime == "image/png" and len(data) >= 24:
            return struct.unpack(">II", data[16:24])
        if mime == "image/jpeg":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    return None, None
                marker = data[i + 1]
                if marker == 0xFF:
                    i += 1
                    continue
                seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8,
                                                             0xCC):
                    h, w = struct.unpack(">HH", data[i + 5:i + 9])
                    return w, h
                i += 2 + seglen
    except struct.error:
        pass
    return None, None
