"""The on-disk record format of the log.

Every record is ``crc32 | type | db | expire_at_ms | key_len | value_len | key | value``
(little endian, 22-byte header). The CRC covers everything after itself, so a torn
or bit-flipped record is always detected. Type 0 is never written: a preallocated,
zero-filled segment tail therefore never parses as a record.

A BATCH record wraps several inner records (*parts*) as its value, so a
multi-key change (MSET, DEL k1 k2, MULTI/EXEC) is one checksummed unit: recovery
applies all of it or none. Each part carries its own CRC too, XORed with
PART_MASK, so that a read of one value in a batch is verified on its own (see
:func:`value_at`), while a part can never pass for a whole record: the scan for
the next intact record after damage (storage/damage.py) never resumes inside a
batch. Logs written before parts had checksums hold 0 there: such a part is
read unverified (its batch's CRC, which recovery checks, covers it). The format
is otherwise unchanged, so old logs read as before, and an older caskd reads new
ones (it ignores a part's CRC).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from enum import IntEnum
from typing import NamedTuple

HEADER = struct.Struct("<IBBqII")
HEADER_SIZE = HEADER.size  # 22
BODY = struct.Struct("<BBqII")  # the header without its CRC
CRC = struct.Struct("<I")
LENGTHS = struct.Struct("<II")  # key_len, value_len: at LENGTHS_OFFSET in a header
LENGTHS_OFFSET = 14
CHECKED_LENGTHS = struct.Struct("<I10xII")  # crc, key_len, value_len: what a read needs

#: What a part's CRC is XORed with ("PART"): see the module's docstring.
PART_MASK = 0x50415254

# Redis's proto-max-bulk-len ceiling; also what a location can address (30 bits).
MAX_VALUE_SIZE = 512 * 1024 * 1024


class RecordType(IntEnum):
    """What a record does when replayed. 0 is reserved: it marks unused space."""

    PUT = 1  # key := value, with expire_at (0 = no TTL)
    DELETE = 2  # key removed (also logged when a key expires)
    EXPIRE = 3  # key's TTL := expire_at (0 = persist); value empty
    FLUSHDB = 4  # every key of db removed
    FLUSHALL = 5  # every key of every db removed
    BATCH = 6  # value = inner records, applied atomically
    SWAPDB = 7  # db and the db named by int(key) swap contents
    # Collections (hash, list, set, zset): see storage/datatypes.py.
    OP = 16  # apply the operation in value to key's collection (creating it if none)
    SNAPSHOT = 17  # key := the collection value describes, with expire_at
    RENAME = 18  # key's value and TTL move to value[1:] in db value[0] (replacing it)
    # Function libraries, stored as bytes by name (no db): key = a library's name,
    # value = its code; an empty value deletes the name, an empty key drops them all.
    LIBRARY = 19
    # The server's own state kept with the data (a replica's master replid and offset):
    # key = a name, value = its bytes (empty: deleted). No db; FLUSHALL keeps it.
    METADATA = 20
    # A partial update of a large string (see storage/extents.py): value = where the
    # bytes go and the value's length after them, then the bytes; its TTL is kept.
    PATCH = 21


VALID_TYPES = frozenset(int(t) for t in RecordType)


class Record(NamedTuple):
    """A decoded record; ``offset`` is where it starts in its buffer, ``value_offset``
    where its value starts and ``end`` where the next record starts."""

    type: int
    db: int
    expire_at: int
    key: bytes
    value_offset: int
    value_len: int
    end: int
    offset: int


class CorruptRecord(Exception):
    """A record whose header or checksum is invalid at ``offset``."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} at offset {offset}")
        self.offset = offset
        self.reason = reason


def encode(rtype: int, db: int, key: bytes, value: bytes = b"", expire_at: int = 0) -> bytes:
    """One complete, checksummed record."""
    body = BODY.pack(rtype, db, expire_at, len(key), len(value))
    crc = zlib.crc32(value, zlib.crc32(key, zlib.crc32(body)))
    return b"".join((CRC.pack(crc), body, key, value))


def decode_at(buf: memoryview, pos: int, end: int, *, verify: bool = True,
              may_be_part: bool = False) -> Record | None:
    """Decode the record at ``pos``; None where the space is unused (zero type byte).

    Raises CorruptRecord when the record does not fit before ``end`` or its
    checksum does not match: a whole record's, or, if ``may_be_part``, also a
    batch part's (which an old log leaves 0: unverified).
    """
    if end - pos < HEADER_SIZE:
        if any(buf[pos:end]):
            raise CorruptRecord(pos, "truncated header")
        return None
    crc, rtype, db, expire_at, key_len, value_len = HEADER.unpack_from(buf, pos)
    if rtype == 0 and crc == 0:
        return None
    key_start = pos + HEADER_SIZE
    value_offset = key_start + key_len
    record_end = value_offset + value_len
    if rtype not in VALID_TYPES or record_end > end:
        raise CorruptRecord(pos, "bad record header")
    if verify:
        actual = zlib.crc32(buf[pos + 4 : record_end])
        if actual != crc and not (may_be_part and crc in (0, actual ^ PART_MASK)):
            raise CorruptRecord(pos, "checksum mismatch")
    return Record(rtype, db, expire_at, bytes(buf[key_start:value_offset]), value_offset,
                  value_len, record_end, pos)


def value_at(buf, offset: int) -> bytes:
    """The value of the record starting at ``offset`` in ``buf``, its checksum verified
    (CorruptRecord if it fails: the disk changed the record since it was written).

    The index stores only where a record starts; its lengths are read back from
    the header, which keeps each index entry one small int. A part of a batch is
    verified by its own (masked) checksum; one an old log left 0 is not.
    """
    crc, key_len, value_len = CHECKED_LENGTHS.unpack_from(buf, offset)
    start = offset + HEADER_SIZE + key_len
    value = bytes(buf[start:start + value_len])
    if crc:
        actual = zlib.crc32(value, zlib.crc32(buf[offset + 4:start]))
        if actual != crc and actual ^ PART_MASK != crc:
            raise CorruptRecord(offset, "checksum mismatch")
    return value


def iter_records(buf: memoryview, pos: int, end: int, *, verify: bool = True
                 ) -> Iterator[Record]:
    """Yield the records of a segment in order, batches unpacked into their parts.

    Stops at the first unused (zero) header; raises CorruptRecord on damage. The
    parts of a batch are covered by the batch's checksum, so their own are not
    checked again.
    """
    while pos < end:
        rec = decode_at(buf, pos, end, verify=verify)
        if rec is None:
            return
        if rec.type == RecordType.BATCH:
            yield from iter_records(buf, rec.value_offset, rec.end, verify=False)
        else:
            yield rec
        pos = rec.end


def is_record_at(buf: memoryview, pos: int, end: int) -> bool:
    """True if a valid, checksummed record starts exactly at ``pos``."""
    try:
        return decode_at(buf, pos, end) is not None
    except CorruptRecord:
        return False
