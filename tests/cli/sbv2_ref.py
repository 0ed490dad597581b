#!/usr/bin/env python3
"""Secure Boot v2 signature sectors, computed independently of otakit (python3-cryptography).

The layout is spec §6.9 / espsecure's sign_data --version 2, written here from those facts
alone, so the CLI tests can hold otakit's C code against a second implementation:

  sign OUT IN KEY.pem...     pad IN with 0xFF to 4 KiB, append a sector with one block per
                             key (RSA-3072-PSS or ECDSA P-256), like espsecure
  check FILE KEY.pem...      FILE's last 4 KiB is a sector whose block i is by key i: every
                             field is recomputed here and compared byte for byte; the
                             (randomised) signatures are verified instead
  assemble OUT IN PUB.pem SIG  like sign, with a signature made elsewhere (the OpenSSL
                             command line): RSA's 384 bytes big-endian, or ECDSA's DER
  digest KEY.pem             the key digest eFuse holds, in hex
  fields FILE                the blocks' fields as JSON (for the tests to read)
"""
import hashlib
import json
import struct
import sys
import zlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

SECTOR = 4096
BLOCK = 1216
CRC_LEN = 1196
MAGIC = 0xE7
VERSION_RSA = 0x02
VERSION_ECDSA = 0x03
CURVE_P256 = 2
RSA_BITS = 3072
# The salt length espsecure signs with.
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
PREHASHED = utils.Prehashed(hashes.SHA256())


def load_key(path):
    data = open(path, "rb").read()
    if b"PRIVATE KEY" in data:
        return serialization.load_pem_private_key(data, password=None)
    return serialization.load_pem_public_key(data)


def public(key):
    return key.public_key() if hasattr(key, "private_bytes") else key


def le(value, length):
    return value.to_bytes(length, "little")


def rsa_material(pub):
    """n, e, rinv = 2^(2*3072) mod n, mdash = -n^-1 mod 2^32: little-endian, 776 bytes."""
    n = pub.public_numbers().n
    e = pub.public_numbers().e
    assert pub.key_size == RSA_BITS
    rinv = pow(2, 2 * RSA_BITS, n)
    mdash = (-pow(n, -1, 1 << 32)) % (1 << 32)
    return le(n, 384) + struct.pack("<I", e) + le(rinv, 384) + struct.pack("<I", mdash)


def ec_material(pub):
    nums = pub.public_numbers()
    assert isinstance(nums.curve, ec.SECP256R1)
    return bytes([CURVE_P256]) + le(nums.x, 32) + le(nums.y, 32)


def material(pub):
    return rsa_material(pub) if isinstance(pub, rsa.RSAPublicKey) else ec_material(pub)


def key_digest(pub):
    return hashlib.sha256(material(pub)).digest()


def block_from_signature(pub, digest, sig):
    """A block around a signature: RSA big-endian bytes, ECDSA DER."""
    if isinstance(pub, rsa.RSAPublicKey):
        body = bytes([MAGIC, VERSION_RSA, 0, 0]) + digest + rsa_material(pub) + sig[::-1]
    else:
        r, s = utils.decode_dss_signature(sig)
        body = bytes([MAGIC, VERSION_ECDSA, 0, 0]) + digest + ec_material(pub) + le(r, 32) + le(s, 32)
        body += bytes(CRC_LEN - len(body))
    assert len(body) == CRC_LEN
    return body + struct.pack("<I", zlib.crc32(body)) + bytes(16)


def make_block(key, digest):
    if isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(digest, PSS, PREHASHED)
    else:
        sig = key.sign(digest, ec.ECDSA(PREHASHED))
    return block_from_signature(key.public_key(), digest, sig)


def padded(src):
    data = open(src, "rb").read()
    return data + b"\xff" * (-len(data) % SECTOR)


def write_signed(out, data, blocks):
    sector = b"".join(blocks)
    sector += b"\xff" * (SECTOR - len(sector))
    open(out, "wb").write(data + sector)


def sign(out, src, keys):
    data = padded(src)
    digest = hashlib.sha256(data).digest()
    write_signed(out, data, [make_block(load_key(k), digest) for k in keys])


def assemble(out, src, pub_path, sig_path):
    data = padded(src)
    digest = hashlib.sha256(data).digest()
    block = block_from_signature(public(load_key(pub_path)), digest, open(sig_path, "rb").read())
    write_signed(out, data, [block])


def check(path, keys):
    """Every byte of each block as the spec lays it out; raises on the first difference."""
    data = open(path, "rb").read()
    assert len(data) % SECTOR == 0, "file is not sector-aligned"
    body, sector = data[:-SECTOR], data[-SECTOR:]
    digest = hashlib.sha256(body).digest()
    for i, path_i in enumerate(keys):
        pub = public(load_key(path_i))
        b = sector[i * BLOCK:(i + 1) * BLOCK]
        assert b[0] == MAGIC, f"block {i}: magic {b[0]:#x}"
        assert b[4:36] == digest, f"block {i}: digest field is not SHA-256 of the padded image"
        assert b[CRC_LEN:CRC_LEN + 4] == struct.pack("<I", zlib.crc32(b[:CRC_LEN])), f"block {i}: CRC"
        assert b[1200:] == bytes(16), f"block {i}: the 16 bytes after the CRC are not zero"
        if isinstance(pub, rsa.RSAPublicKey):
            assert b[1:4] == bytes([VERSION_RSA, 0, 0]), f"block {i}: version/reserved {b[1:4].hex()}"
            mat = rsa_material(pub)
            assert b[36:420] == mat[0:384], f"block {i}: n"
            assert b[420:424] == mat[384:388], f"block {i}: e"
            assert b[424:808] == mat[388:772], f"block {i}: rinv"
            assert b[808:812] == mat[772:776], f"block {i}: mdash"
            pub.verify(b[812:1196][::-1], digest, PSS, PREHASHED)
        else:
            assert b[1:4] == bytes([VERSION_ECDSA, 0, 0]), f"block {i}: version/sha type {b[1:4].hex()}"
            assert b[36:101] == ec_material(pub), f"block {i}: curve id / point"
            r = int.from_bytes(b[101:133], "little")
            s = int.from_bytes(b[133:165], "little")
            pub.verify(utils.encode_dss_signature(r, s), digest, ec.ECDSA(PREHASHED))
            assert b[165:CRC_LEN] == bytes(CRC_LEN - 165), f"block {i}: ECDSA zero padding"
    rest = sector[len(keys) * BLOCK:]
    assert rest == b"\xff" * len(rest), "filler after the blocks is not 0xFF"
    print(f"{path}: {len(keys)} block(s) match the layout, signatures verify")


def fields(path):
    sector = open(path, "rb").read()[-SECTOR:]
    out = []
    for i in range(3):
        b = sector[i * BLOCK:(i + 1) * BLOCK]
        out.append({"magic": b[0], "version": b[1], "digest": b[4:36].hex(),
                    "crc": struct.unpack("<I", b[CRC_LEN:CRC_LEN + 4])[0],
                    "crc_ok": struct.unpack("<I", b[CRC_LEN:CRC_LEN + 4])[0] == zlib.crc32(b[:CRC_LEN])})
    print(json.dumps(out))


def main(argv):
    cmd = argv[1]
    if cmd == "sign":
        sign(argv[2], argv[3], argv[4:])
    elif cmd == "check":
        check(argv[2], argv[3:])
    elif cmd == "assemble":
        assemble(argv[2], argv[3], argv[4], argv[5])
    elif cmd == "digest":
        print(key_digest(public(load_key(argv[2]))).hex())
    elif cmd == "fields":
        fields(argv[2])
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
