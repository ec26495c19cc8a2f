"""The RDB pieces of FUNCTION DUMP / RESTORE payloads (Redis's rdb.c, crc64.c), so
that a payload moves between caskd and redis-server:

    (RDB_OPCODE_FUNCTION2, library code as an RDB string)*  RDB version (2 bytes LE)
    CRC64 of all that (8 bytes LE, Redis's crc64: Jones polynomial, reflected)

caskd writes the code as a plain RDB string; Redis compresses strings over 20 bytes
with LZF when that is shorter, so its payloads differ in bytes but each side reads
the other's.
"""

from __future__ import annotations

import struct

RDB_VERSION = 10
OPCODE_FUNCTION2 = 245
_ENC_INT8, _ENC_INT16, _ENC_INT32, _ENC_LZF = 0, 1, 2, 3


class PayloadError(Exception):
    pass


def _crc64_table() -> list[int]:
    poly = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9, reflected
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64 = _crc64_table()


def crc64(data: bytes, crc: int = 0) -> int:
    table = _CRC64
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _length(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | n >> 8, n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def dump(codes: list[bytes]) -> bytes:
    body = b"".join(bytes([OPCODE_FUNCTION2]) + _length(len(code)) + code for code in codes)
    body += struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


def verify(payload: bytes) -> bool:
    """verifyDumpPayload: a known RDB version and the right checksum."""
    if len(payload) < 10:
        return False
    version = struct.unpack("<H", payload[-10:-8])[0]
    return version <= RDB_VERSION and struct.unpack("<Q", payload[-8:])[0] == \
        crc64(payload[:-8])


def library_codes(payload: bytes) -> list[bytes]:
    """The library codes of a verified payload. PayloadError: Redis's reason."""
    codes = []
    reader = _Reader(payload, len(payload) - 10)
    while reader.pos < reader.end:
        if reader.byte() != OPCODE_FUNCTION2:
            raise PayloadError("given type is not a function")
        codes.append(reader.string())
    return codes


class _Reader:
    def __init__(self, data: bytes, end: int) -> None:
        self.data, self.pos, self.end = data, 0, end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise PayloadError("failed loading the given functions payload")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def length(self) -> tuple[int, bool]:
        """An RDB length, and whether it is a special string encoding instead."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return (first & 0x3F) << 8 | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise PayloadError("failed loading the given functions payload")

    def string(self) -> bytes:
        n, encoded = self.length()
        if not encoded:
            return self.take(n)
        if n in (_ENC_INT8, _ENC_INT16, _ENC_INT32):
            fmt = {_ENC_INT8: "<b", _ENC_INT16: "<h", _ENC_INT32: "<i"}[n]
            return b"%d" % struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        if n == _ENC_LZF:
            compressed_length, _ = self.length()
            length, _ = self.length()
            return lzf_decompress(self.take(compressed_length), length)
        raise PayloadError("failed loading the given functions payload")


def lzf_decompress(data: bytes, length: int) -> bytes:
    """liblzf's lzf_decompress."""
    out = bytearray()
    i = 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:  # a literal run of ctrl + 1 bytes
            out += data[i:i + ctrl + 1]
            i += ctrl + 1
            continue
        size = ctrl >> 5
        if size == 7:
            size += data[i]
            i += 1
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        if ref < 0:
            raise PayloadError("failed loading the given functions payload")
        for _ in range(size + 2):  # byte by byte: the reference may overlap
            out.append(out[ref])
            ref += 1
    if len(out) != length:
        raise PayloadError("failed loading the given functions payload")
    return bytes(out)
