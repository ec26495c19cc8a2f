"""Segment files, their names and their hint files.

A segment is named ``{major:010d}-{minor:04d}.log``. Writes go to segments with
minor 0, majors counting up. Compaction of the sealed segments up to major ``b``
writes its output as ``b-1``, ``b-2``…: it sorts after every segment it merged and
before every segment written since, so replaying all files in name order always
gives the latest state, even if a crash left both the inputs and the outputs.

A hint file (``.hint``) beside a sealed segment tells start-up what the segment
does to the index without reading it: see :mod:`storage.hints`.

A string's index entry is one int, its *location* plus its key's access data:

    segment number << 56 | access data << 32 | record offset

The offset takes 32 bits (a record ends below 4 GiB in its segment:
MAX_RECORD_OFFSET); the 24 bits above it are Redis's ``lru``
field for the key (see :mod:`storage.access`; 0: not used since the load); the
segment number takes the rest, unbounded. Below 2**60, CPython stores the int in
a 32-byte object (above, in 48: one more 30-bit digit), so a key in one of the
first 16 segments of a run (numbers count from 0 at every start) costs no more
than a location alone did, and one in a later segment 16 bytes more: still less
than an entry in a dict of its own, which is what the access data cost before.
Reading the number and offset needs no masking (the access bits are between
them); comparing a location with another (damage, compaction) takes
:func:`location_of` first. The value's length is read back from the record
header when the value is read.
"""

from __future__ import annotations

import mmap
import os
import re
from dataclasses import dataclass
from pathlib import Path

SEGMENT_RE = re.compile(r"^(\d{10})-(\d{4})\.log$")
FILE_MODE = 0o600

ACCESS_SHIFT = 32
ACCESS_BITS = 24  # Redis's LRU_BITS
NUMBER_SHIFT = ACCESS_SHIFT + ACCESS_BITS
OFFSET_MASK = (1 << ACCESS_SHIFT) - 1
ACCESS_FIELD = ((1 << ACCESS_BITS) - 1) << ACCESS_SHIFT  # an entry's access data
WITHOUT_ACCESS = ~ACCESS_FIELD  # entry & WITHOUT_ACCESS: its location
MAX_RECORD_OFFSET = OFFSET_MASK  # a record must start below 4 GiB in its segment


def pack_location(number: int, offset: int) -> int:
    """The index entry for the record at ``offset`` in segment ``number``."""
    return (number << NUMBER_SHIFT) | offset


def unpack_location(location: int) -> tuple[int, int]:
    """(segment number, record offset) of a location or an index entry."""
    return location >> NUMBER_SHIFT, location & OFFSET_MASK


def location_of(entry: int) -> int:
    """A string's index entry without its access data: the record's location."""
    return entry & WITHOUT_ACCESS


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
