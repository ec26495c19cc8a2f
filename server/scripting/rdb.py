"""FUNCTION DUMP / RESTORE payloads, in Redis's format (functions.c, rdb.c), so that
they move between caskd and redis-server:

    (RDB_OPCODE_FUNCTION2, the library's code as an RDB string)*  RDB version (2 bytes
    LE)  CRC64 of all that (8 bytes LE)

The RDB strings, the CRC and the checks are storage.rdb's, as DUMP/RESTORE use them.
"""

from __future__ import annotations

import struct

from storage import rdb

OPCODE_FUNCTION2 = 245

verify = rdb.payload_is_valid


class PayloadError(Exception):
    pass


def dump(codes: list[bytes]) -> bytes:
    """functionDumpCommand (rdbSaveFunctions, then the version and the CRC64)."""
    body = b"".join(bytes((OPCODE_FUNCTION2,)) + rdb.encode_string(code) for code in codes)
    body += struct.pack("<H", rdb.RDB_VERSION)
    return body + struct.pack("<Q", rdb.crc64(body))


def library_codes(payload: bytes) -> list[bytes]:
    """The library codes of a payload :func:`verify` accepted. PayloadError: Redis's
    reason (functionRestoreCommand)."""
    codes = []
    reader = rdb.Reader(payload)
    try:
        while len(payload) - reader.pos > 10:
            if reader.byte() != OPCODE_FUNCTION2:
                raise PayloadError("given type is not a function")
            codes.append(reader.string())
    except rdb.RdbError:
        raise PayloadError("failed loading the given functions payload") from None
    return codes
