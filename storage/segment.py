"""Segment files, their names and their hint files.

A segment is named ``{major:010d}-{minor:04d}.log``. Writes go to segments with
minor 0, majors counting up. Compaction of the sealed segments up to major ``b``
writes its output as ``b-1``, ``b-2``…: it sorts after every segment it merged and
before every segment written since, so replaying all files in name order always
gives the latest state, even if a crash left both the inputs and the outputs.

A hint file (``.hint``) beside a compacted segment lists its keys and where their
records are, so start-up need not read the values. It has its own checksum; a bad
or missing hint means the segment is scanned instead.

An index entry (a *location*) is one int: ``segment number << 32 | record offset``.
It stays below 2**60 so CPython stores it in a 32-byte int object (a larger one
takes 48): at a million keys that difference is 16 MB. The value's length is
read back from the record header when the value is read.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.record import RecordType

SEGMENT_RE = re.compile(r"^(\d{10})-(\d{4})\.log$")
FILE_MODE = 0o600

NUMBER_SHIFT = 32
OFFSET_MASK = (1 << NUMBER_SHIFT) - 1
MAX_RECORD_OFFSET = OFFSET_MASK  # a record must start below 4 GiB in its segment


def pack_location(number: int, offset: int) -> int:
    """The index entry for the record at ``offset`` in segment ``number``."""
    return (number << NUMBER_SHIFT) | offset


def unpack_location(location: int) -> tuple[int, int]:
    """(segment number, record offset)."""
    return location >> NUMBER_SHIFT, location & OFFSET_MASK


def segment_name(major: int, minor: int) -> str:
    return f"{major:010d}-{minor:04d}.log"


def list_segments(directory: Path) -> list[tuple[int, int]]:
    """(major, minor) of every segment file in replay order."""
    names = []
    for entry in os.listdir(directory):
        match = SEGMENT_RE.match(entry)
        if match:
            names.append((int(match.group(1)), int(match.group(2))))
    return sorted(names)


def hint_path(segment_path: Path) -> Path:
    return segment_path.with_suffix(".hint")


def fsync_directory(directory: Path) -> None:
    """Make renames and unlinks in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def map_file(path: Path) -> mmap.mmap | None:
    """A read-only map of the whole file (None for an empty file)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        return mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) if size else None


@dataclass(slots=True)
class Segment:
    """A segment as the engine holds it: read through ``view`` (an mmap)."""

    major: int
    minor: int
    path: Path
    number: int  # runtime id, packed into index locations
    size: int  # bytes of valid records
    view: mmap.mmap | None


# Hint file: magic, entry count, CRC of the count and the entries; then per entry
# db, record type, expire_at, key_len, record offset, key. A PUT entry is indexed
# as it is; any other (a collection's records) is read from the segment and
# replayed. Version 3 added the record type; older versions are simply not
# recognised (the segment is scanned).
HINT_MAGIC = b"CASKHNT3"
HINT_HEADER = struct.Struct("<8sQI")
HINT_ENTRY = struct.Struct("<BBqII")


def encode_hint_entry(db: int, expire_at: int, key: bytes, record_offset: int,
                      rtype: int = RecordType.PUT) -> bytes:
    return HINT_ENTRY.pack(db, rtype, expire_at, len(key), record_offset) + key


def write_hint(path: Path, entries: bytes, count: int) -> None:
    """Write a hint file (``entries`` is the concatenation of encoded entries)."""
    header = HINT_HEADER.pack(HINT_MAGIC, count, _hint_crc(count, entries))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(header + entries)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_hint(path: Path) -> tuple[bytes, int] | None:
    """The raw contents of a valid hint file and its entry count.

    None when the file is missing or damaged (bad magic, checksum, or entries
    that do not add up to the file's size). Decode with :func:`iter_hint`.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) < HINT_HEADER.size:
        return None
    magic, count, crc = HINT_HEADER.unpack_from(data)
    if magic != HINT_MAGIC or _hint_crc(count, memoryview(data)[HINT_HEADER.size:]) != crc:
        return None
    return data, count


def _hint_crc(count: int, entries: bytes | memoryview) -> int:
    """The count is covered too: a damaged count would silently drop keys."""
    return zlib.crc32(entries, zlib.crc32(count.to_bytes(8, "little")))


def iter_hint(data: bytes, count: int) -> Iterator[tuple[int, int, bytes, int, int]]:
    """(db, expire_at, key, record offset, record type) of each entry of a hint
    file's contents."""
    pos = HINT_HEADER.size
    unpack = HINT_ENTRY.unpack_from
    size = HINT_ENTRY.size
    end = len(data)
    for _ in range(count):
        if pos + size > end:
            return
        db, rtype, expire_at, key_len, offset = unpack(data, pos)
        pos += size
        yield db, expire_at, data[pos:pos + key_len], offset, rtype
        pos += key_len
