"""Framing (docs/protocol.md section 1): the CRC, the documented examples, resync after
garbage and after damaged frames, the length limit, byte-at-a-time arrival."""

import os
import random
import struct
import sys
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from otakit_host import frame  # noqa: E402
from otakit_host.frame import Decoder, encode  # noqa: E402


def unhex(text):
    return bytes.fromhex(text.replace(" ", ""))


def payloads(dec):
    return list(dec)


class Crc(unittest.TestCase):
    def test_check_value(self):
        # CRC-32/ISO-HDLC (zlib's): init and final XOR 0xFFFFFFFF, reflected 0xEDB88320.
        self.assertEqual(frame.crc32(b"123456789"), 0xCBF43926)
        self.assertEqual(frame.crc32(b""), 0)

    def test_incremental(self):
        self.assertEqual(frame.crc32(b"6789", frame.crc32(b"12345")), 0xCBF43926)

    def test_is_zlib(self):
        data = os.urandom(1000)
        self.assertEqual(frame.crc32(data), zlib.crc32(data))


class Encode(unittest.TestCase):
    def test_doc_example_abc(self):
        self.assertEqual(encode(b"abc"),
                         unhex("a5 c3 01 00 03 00 00 00 dc cf 93 a3 61 62 63 c2 41 24 35"))

    def test_doc_example_hello(self):
        payload = unhex("08 01 12 06 08 01 12 02 70 79")
        self.assertEqual(encode(payload), unhex(
            "a5 c3 01 00 0a 00 00 00 56 80 9b de 08 01 12 06 08 01 12 02 70 79 64 6f 29 94"))

    def test_layout(self):
        p = os.urandom(300)
        f = encode(p)
        self.assertEqual(len(f), len(p) + frame.OVERHEAD)
        self.assertEqual(f[:4], b"\xa5\xc3\x01\x00")
        self.assertEqual(struct.unpack_from("<I", f, 4)[0], 300)
        self.assertEqual(struct.unpack_from("<I", f, 8)[0], zlib.crc32(f[:8]))
        self.assertEqual(struct.unpack_from("<I", f, 312)[0], zlib.crc32(p))

    def test_empty_payload(self):
        d = Decoder()
        d.feed(encode(b""))
        self.assertEqual(payloads(d), [b""])


class Decode(unittest.TestCase):
    def test_round_trip_many(self):
        msgs = [os.urandom(n) for n in (0, 1, 2, 11, 12, 13, 4096, frame.MAX_PAYLOAD)]
        d = Decoder()
        d.feed(b"".join(encode(m) for m in msgs))
        self.assertEqual(payloads(d), msgs)
        self.assertEqual(d.stats.frames, len(msgs))
        self.assertEqual(d.stats.garbage_bytes, 0)
        self.assertFalse(d.pending())

    def test_byte_at_a_time(self):
        msgs = [b"one", os.urandom(500), b"three"]
        d = Decoder()
        got = []
        for b in b"".join(encode(m) for m in msgs):
            d.feed(bytes([b]))
            got += payloads(d)
        self.assertEqual(got, msgs)

    def test_garbage_between_frames(self):
        junk1 = b"boot log line\r\n\x00\xff\xa5\x00"
        junk2 = bytes(range(256)).replace(b"\xa5\xc3", b"")
        d = Decoder()
        d.feed(junk1 + encode(b"first") + junk2 + encode(b"second") + b"\xa5")
        self.assertEqual(payloads(d), [b"first", b"second"])
        # The trailing lone A5 may start a frame: kept, not yet garbage.
        self.assertTrue(d.pending())
        self.assertEqual(d.stats.garbage_bytes, len(junk1) + len(junk2))
        d.feed(encode(b"third")[1:])  # ... and it did
        self.assertEqual(payloads(d), [b"third"])

    def test_random_garbage_never_delivers(self):
        rng = random.Random(7)
        d = Decoder()
        d.feed(bytes(rng.randrange(256) for _ in range(50000)))
        self.assertEqual(payloads(d), [])
        d.feed(bytes(frame.MAX_FRAME))  # zeros flush whatever half frame is pending
        d.feed(encode(b"after"))
        self.assertEqual(payloads(d), [b"after"])

    def test_bad_header_crc_drops_one_byte(self):
        bad = bytearray(encode(b"damaged"))
        bad[9] ^= 0x01  # the header's CRC
        d = Decoder()
        d.feed(bytes(bad) + encode(b"good"))
        self.assertEqual(payloads(d), [b"good"])
        self.assertEqual(d.stats.bad_headers, 1)
        self.assertEqual(d.stats.garbage_bytes, len(bad))

    def test_bad_version_and_flags(self):
        for index, value in ((2, 2), (3, 1)):
            head = bytearray(b"\xa5\xc3\x01\x00" + struct.pack("<I", 1))
            head[index] = value
            f = bytes(head) + struct.pack("<I", zlib.crc32(head)) + b"x" + \
                struct.pack("<I", zlib.crc32(b"x"))
            d = Decoder()
            d.feed(f + encode(b"ok"))
            self.assertEqual(payloads(d), [b"ok"])
            self.assertEqual(d.stats.bad_headers, 1)

    def test_bad_payload_crc(self):
        bad = bytearray(encode(b"payload"))
        bad[14] ^= 0x80
        d = Decoder()
        d.feed(bytes(bad) + encode(b"next"))
        self.assertEqual(payloads(d), [b"next"])
        self.assertEqual(d.stats.bad_payloads, 1)

    def test_frame_inside_a_cut_frame(self):
        # A frame whose tail was lost: its header claims bytes that belong to the next
        # frame. The payload CRC fails, one byte is dropped, the next frame is found.
        big = encode(os.urandom(200))
        d = Decoder()
        d.feed(big[:60] + encode(b"inside") + bytes(200))
        self.assertEqual(payloads(d), [b"inside"])
        self.assertEqual(d.stats.bad_payloads, 1)

    def test_length_limit(self):
        d = Decoder(max_payload=100)
        d.feed(encode(bytes(101)) + encode(bytes(100)))
        self.assertEqual(payloads(d), [bytes(100)])
        self.assertEqual(d.stats.bad_headers, 1)

    def test_default_limit_is_the_devices(self):
        self.assertEqual(frame.MAX_PAYLOAD, 16640)
        self.assertEqual(frame.MAX_FRAME, 16656)
        d = Decoder()
        d.feed(encode(bytes(frame.MAX_PAYLOAD + 1)))
        self.assertIsNone(d.next())
        self.assertEqual(d.stats.bad_headers, 1)

    def test_huge_length_does_not_wait(self):
        # A header that claims 4 GB, with a valid CRC: refused at once, not waited for.
        head = b"\xa5\xc3\x01\x00" + struct.pack("<I", 0xFFFFFFFF)
        d = Decoder()
        d.feed(head + struct.pack("<I", zlib.crc32(head)) + encode(b"behind"))
        self.assertEqual(payloads(d), [b"behind"])

    def test_expire(self):
        d = Decoder()
        d.feed(encode(os.urandom(100))[:40])
        self.assertIsNone(d.next())
        self.assertTrue(d.pending())
        d.expire()
        d.feed(encode(b"fresh"))
        self.assertEqual(payloads(d), [b"fresh"])

    def test_reset_counts_garbage(self):
        d = Decoder()
        d.feed(b"\xa5\xc3\x01")
        d.reset()
        self.assertFalse(d.pending())
        self.assertEqual(d.stats.garbage_bytes, 3)

    def test_mutations_never_deliver_a_wrong_payload(self):
        rng = random.Random(11)
        msgs = [os.urandom(rng.randrange(1, 300)) for _ in range(200)]
        stream = bytearray(b"".join(encode(m) for m in msgs))
        for _ in range(100):
            stream[rng.randrange(len(stream))] ^= 1 << rng.randrange(8)
        d = Decoder()
        pos = 0
        got = []
        while pos < len(stream):
            n = rng.randrange(1, 700)
            d.feed(bytes(stream[pos:pos + n]))
            pos += n
            got += payloads(d)
        known = set(msgs)
        self.assertTrue(all(g in known for g in got))
        self.assertGreater(len(got), 50)


if __name__ == "__main__":
    unittest.main()
