"""Frames over a byte stream (docs/protocol.md, section 1).

    offset  size  field
    0       2     magic A5 C3
    2       1     version (1)
    3       1     flags (0; anything else is a bad header in version 1)
    4       4     payload length n, little-endian, at most the receiver's limit
    8       4     CRC-32 of bytes 0..7
    12      n     payload: one protobuf message
    12+n    4     CRC-32 of the payload

CRC-32 is zlib's (reflected 0xEDB88320, initial value and final XOR 0xFFFFFFFF), which is
exactly what zlib.crc32 computes. The decoder resynchronises after anything: whenever a
check fails it drops one byte and hunts for the next magic from there, so a frame hidden
behind garbage, or behind a frame whose tail was lost, is still found.
"""

import struct
import zlib

MAGIC = b"\xa5\xc3"
VERSION = 1
HEADER_LEN = 12
TRAILER_LEN = 4
OVERHEAD = HEADER_LEN + TRAILER_LEN
# The largest Write.data a device takes (HelloReply.max_chunk) ...
MAX_CHUNK = 16384
# ... and the largest payload: a write plus its fields (HelloReply.max_frame).
MAX_PAYLOAD = MAX_CHUNK + 256
# The longest frame: what a host sends as zeros to flush a serial line.
MAX_FRAME = MAX_PAYLOAD + OVERHEAD

_HEAD = struct.Struct("<2sBBI")
_U32 = struct.Struct("<I")


def crc32(data, crc=0):
    """zlib's CRC-32 (the protocol's), as an unsigned 32-bit int."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF


def encode(payload):
    """The frame that carries payload (bytes-like)."""
    head = _HEAD.pack(MAGIC, VERSION, 0, len(payload))
    return b"".join((head, _U32.pack(crc32(head)), payload, _U32.pack(crc32(payload))))


class FrameStats:
    """What a decoder saw. Every byte fed ends up in a delivered frame, garbage_bytes, or
    the buffer (not decided yet)."""

    __slots__ = ("frames", "bad_headers", "bad_payloads", "garbage_bytes")

    def __init__(self):
        self.frames = 0
        self.bad_headers = 0
        self.bad_payloads = 0
        self.garbage_bytes = 0

    def __repr__(self):
        return "FrameStats(frames=%d, bad_headers=%d, bad_payloads=%d, garbage_bytes=%d)" % (
            self.frames, self.bad_headers, self.bad_payloads, self.garbage_bytes)


class Decoder:
    """Feed it bytes as they arrive; take complete, valid payloads with next().

    The undecided bytes are buf[start:]; they never exceed one frame of the limit plus
    what the last feed brought, because a frame start is decided as soon as its header
    (and then its payload) is there.
    """

    def __init__(self, max_payload=MAX_PAYLOAD):
        if max_payload <= 0 or max_payload > 0xFFFFFFFF:
            raise ValueError("max_payload must be 1..2**32-1")
        self.max_payload = max_payload
        self.stats = FrameStats()
        self._buf = bytearray()
        self._start = 0

    def feed(self, data):
        if self._start and self._start >= len(self._buf) // 2:
            del self._buf[:self._start]  # compact only when half the buffer is decided
            self._start = 0
        self._buf += data

    def pending(self):
        """Bytes are buffered that may be the start of a frame."""
        return len(self._buf) > self._start

    def reset(self):
        """Forget buffered bytes (counted as garbage)."""
        self.stats.garbage_bytes += len(self._buf) - self._start
        self._buf = bytearray()
        self._start = 0

    def expire(self):
        """Give up on the frame being assembled (its tail never came): drop its first
        byte and hunt again after it."""
        self._hunt()
        if self._start < len(self._buf):
            self._drop_one()

    def _hunt(self):
        # Skip to the next A5 C3, or to an A5 that is the last byte (its C3 may come).
        buf, start = self._buf, self._start
        at = buf.find(MAGIC, start)
        if at < 0:
            at = len(buf) - 1 if len(buf) > start and buf[-1] == MAGIC[0] else len(buf)
        self.stats.garbage_bytes += at - start
        self._start = at

    def _drop_one(self):
        self._start += 1
        self.stats.garbage_bytes += 1

    def next(self):
        """The next valid frame's payload (bytes), or None when more bytes are needed."""
        buf = self._buf
        while True:
            self._hunt()
            s = self._start
            avail = len(buf) - s
            if avail < HEADER_LEN:
                return None
            _, version, flags, n = _HEAD.unpack_from(buf, s)
            if (version != VERSION or flags != 0 or n > self.max_payload
                    or _U32.unpack_from(buf, s + 8)[0] != crc32(buf[s:s + 8])):
                self.stats.bad_headers += 1
                self._drop_one()
                continue
            if avail < n + OVERHEAD:
                return None
            body = bytes(buf[s + HEADER_LEN:s + HEADER_LEN + n])
            if _U32.unpack_from(buf, s + HEADER_LEN + n)[0] != crc32(body):
                self.stats.bad_payloads += 1
                self._drop_one()
                continue
            self._start = s + n + OVERHEAD
            if self._start == len(buf):
                buf.clear()
                self._start = 0
            self.stats.frames += 1
            return body

    def __iter__(self):
        """Every payload complete so far."""
        while True:
            p = self.next()
            if p is None:
                return
            yield p
