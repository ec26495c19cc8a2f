"""Segment files, their names and their hint files.

A segment is named ``{major:010d}-{minor:04d}.log``. Writes go to segments with
minor 0, majors counting up. Compaction of the sealed segments up to major ``b``
writes its output as ``b-1``, ``b-2``…: it sorts after every segment it merged and
before every segment written since, so replaying all files in name order always
gives the latest state, even if a crash left both the inputs and the outputs.

A hint file (``.hint``) beside a sealed segment tells start-up what the segment
does to the index without reading it: see :mod:`storage.hints`.

An index entry (a *location*) is one int: ``segment number << 32 | record offset``.
It stays below 2**60 so CPython stores it in a 32-byte int object (a larger one
takes 48): at a million keys that difference is 16 MB. The value's length is
read back from the record header when the value is read.
"""

from __future__ import annotations

import mmap
import os
import re
from dataclasses import dataclass
from pathlib import Path

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
