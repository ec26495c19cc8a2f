"""Hint files: what a sealed segment does to the index, without its values.

Start-up reads a segment's hint file (``.hint``, beside it) instead of the
segment itself. A hint lists the segment's records as *steps*, in log order:

- ``(PUTS, db, keys, offsets, expires, dead)``: a run of PUT records to one db
  (up to RUN_KEYS of them).
  ``keys`` (a list) and ``offsets`` (little-endian uint64s) are parallel;
  ``expires`` maps the keys that have a TTL to it. A key written more than once
  in the run appears once, at its last record; ``dead`` is the size of the
  records so superseded. The loader indexes a run with a few bulk dict
  operations instead of a Python loop per record.
- ``(REPLAY, offsets)``: any other records (deletes, expiries, collections'
  operations, flushes, renames...), read from the segment and replayed.

Each step is stored with :mod:`marshal` (C speed, and unlike pickle it cannot
run code), behind its length, and decoded just before it is applied: only one
step's temporary lists exist at a time. The header names the segment the hint
was made from: its size and a checksum of its first and last bytes (the
*fingerprint*). A hint whose checksum, version or fingerprint does not match is
ignored and the segment scanned: so a damaged, old-format or stale hint (the
segment truncated, or a later segment of the same name) is never used.

Compaction writes a hint beside every segment it produces. A segment sealed at
rotation gets one from :func:`write_segment_hint`, run in a child process
(``python -m storage.hints``) that scans the segment after fsyncing it: a hint
can then never describe records that are not durably in the segment.
"""

from __future__ import annotations

import marshal
import mmap
import os
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

from storage import record
from storage.child import become_child
from storage.record import RecordType
from storage.segment import FILE_MODE, NUMBER_SHIFT, fsync_directory, hint_path

# Magic (with the format version), segment size, segment fingerprint, CRC of the steps.
HINT_MAGIC = b"CASKHNT4"
HINT_HEADER = struct.Struct("<8sQII")
FRAME = struct.Struct("<I")  # the length of the marshalled step that follows
FINGERPRINT_SPAN = 1 << 16  # bytes at each end of a segment its fingerprint covers
MARSHAL_VERSION = 4

PUTS = 0
REPLAY = 1
# Keys per run at most: the loader's temporary lists stay small (large ones would
# leave the heap fragmented, costing memory for as long as the server runs).
RUN_KEYS = 1 << 16

Step = tuple  # (PUTS, db, keys, offsets, expires, dead) or (REPLAY, offsets)


class HintBuilder:
    """Collects a segment's records, in log order, into hint steps."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.records = 0
        self._db = -1
        self._puts: dict[bytes, tuple[int, int, int]] | None = None  # key -> offset, size, ttl
        self._dead = 0
        self._replay: list[int] | None = None

    def add(self, rtype: int, db: int, key: bytes, offset: int, size: int,
            expire_at: int) -> None:
        """The record of ``size`` bytes at ``offset`` (a batch's parts one by one)."""
        self.records += 1
        if rtype != RecordType.PUT:
            if self._replay is None:
                self._end_step()
                self._replay = []
            self._replay.append(offset)
            return
        if self._puts is None or db != self._db or len(self._puts) >= RUN_KEYS:
            self._end_step()
            self._puts, self._db = {}, db
        superseded = self._puts.pop(key, None)
        if superseded is not None:
            self._dead += superseded[1]
        self._puts[key] = (offset, size, expire_at)

    def encode(self) -> bytes:
        """The steps, serialised (the body of a hint file)."""
        self._end_step()
        frames = (marshal.dumps(step, MARSHAL_VERSION) for step in self.steps)
        return b"".join(FRAME.pack(len(frame)) + frame for frame in frames)

    def _end_step(self) -> None:
        if self._puts is not None:
            puts = self._puts
            self.steps.append((PUTS, self._db, list(puts),
                               _pack([offset for offset, _, _ in puts.values()]),
                               {key: ttl for key, (_, _, ttl) in puts.items() if ttl},
                               self._dead))
            self._puts, self._dead = None, 0
        if self._replay is not None:
            self.steps.append((REPLAY, _pack(self._replay)))
            self._replay = None


def iter_hint(steps: Iterable[Step]) -> Iterator[tuple[int, tuple[int, int, bytes] | None]]:
    """(record offset, (db, expire_at, key) of a PUT or None for a replayed record)
    for every record a hint's steps name (to check a hint against its segment)."""
    for step in steps:
        if step[0] == PUTS:
            _, db, keys, offsets, expires, _ = step
            for key, offset in zip(keys, offsets_of(offsets), strict=True):
                yield offset, (db, expires.get(key, 0), key)
        else:
            for offset in offsets_of(step[1]):
                yield offset, None


def _pack(offsets: list[int]) -> bytes:
    packed = array("Q", offsets)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def offsets_of(packed: bytes) -> array:
    """A step's record offsets, as stored by :class:`HintBuilder`."""
    offsets = array("Q", packed)
    if sys.byteorder == "big":
        offsets.byteswap()
    return offsets


def locations_of(number: int, packed: bytes) -> list[int]:
    """A step's records as index locations in segment ``number`` (see
    :func:`storage.segment.pack_location`), made without a Python operation per
    record: each offset is 8 bytes whose high bytes are zero, so writing the
    number's bytes into every high byte (above the offset and access data: none
    yet, see storage.access) makes the locations themselves. A number too large
    for them (256 segments and more, in the 1-byte field above bit 56) takes
    one operation per record."""
    low_bytes = NUMBER_SHIFT // 8
    if number >> (64 - NUMBER_SHIFT):
        base = number << NUMBER_SHIFT
        return [base | offset for offset in offsets_of(packed)]
    located = bytearray(packed)
    count = len(packed) // 8
    for index, byte in enumerate(number.to_bytes(8 - low_bytes, "little")):
        if byte:
            located[low_bytes + index::8] = bytes((byte,)) * count
    return offsets_of(located).tolist()


def fingerprint(view: mmap.mmap) -> int:
    """A checksum of the first and last bytes of a segment: tells it from another
    segment of the same size (and name) at the cost of reading 128 KB."""
    return zlib.crc32(view[-FINGERPRINT_SPAN:], zlib.crc32(view[:FINGERPRINT_SPAN]))


def write_hint(path: Path, segment: mmap.mmap, body: bytes) -> None:
    """Write (and fsync) the hint file for ``segment``; ``body`` is
    :meth:`HintBuilder.encode`'s. The caller renames it into place."""
    header = HINT_HEADER.pack(HINT_MAGIC, len(segment), fingerprint(segment),
                              zlib.crc32(body))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(header + body)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_hint(path: Path, segment: mmap.mmap) -> Iterator[Step] | None:
    """The steps of ``segment``'s hint file, decoded one by one as they are
    iterated; None if there is none, or it is damaged, of another format
    version, or was made from other contents."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < HINT_HEADER.size:
                return None
            # Mapped, not read: a large temporary buffer would stay in the heap.
            data = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        return None
    magic, segment_size, segment_fingerprint, crc = HINT_HEADER.unpack_from(data)
    with memoryview(data)[HINT_HEADER.size:] as body:
        valid = (magic == HINT_MAGIC and segment_size == len(segment)
                 and zlib.crc32(body) == crc and fingerprint(segment) == segment_fingerprint)
    if not valid:
        data.close()
        return None
    return _steps(data)


def _steps(data: mmap.mmap) -> Iterator[Step]:
    with data:
        pos, end = HINT_HEADER.size, len(data)
        while pos < end:
            (length,) = FRAME.unpack_from(data, pos)
            pos += FRAME.size
            with memoryview(data)[pos:pos + length] as frame:
                step = marshal.loads(frame)
            yield step
            pos += length


def scan_segment(view: mmap.mmap) -> HintBuilder | None:
    """The hint steps of a whole segment; None unless every byte of it is valid
    records (a hint must describe all of the segment and nothing else)."""
    builder = HintBuilder()
    buf = memoryview(view)
    try:
        pos, end = 0, len(buf)
        while pos < end:
            rec = record.decode_at(buf, pos, end)
            if rec is None:
                return None
            parts = (record.iter_records(buf, rec.value_offset, rec.end, verify=False)
                     if rec.type == RecordType.BATCH else (rec,))
            for part in parts:
                builder.add(part.type, part.db, part.key, part.offset,
                            part.end - part.offset, part.expire_at)
            pos = rec.end
    except record.CorruptRecord:
        return None
    finally:
        buf.release()
    return builder


def write_segment_hint(segment_path: Path) -> bool:
    """Make the hint file of a sealed segment; False if the segment is not whole
    records (then it is simply scanned at start-up, as without a hint).

    The segment is fsynced first, so the hint never outlives records a crash
    could still take away; the hint is written to a temp name, fsynced and
    renamed into place.
    """
    fd = os.open(segment_path, os.O_RDONLY)
    try:
        os.fsync(fd)
        size = os.fstat(fd).st_size
        if not size:
            return False
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as view:
            builder = scan_segment(view)
            if builder is None:
                return False
            final = hint_path(segment_path)
            temp = final.with_suffix(".hint.tmp")
            try:
                write_hint(temp, view, builder.encode())
                os.rename(temp, final)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
    finally:
        os.close(fd)
    fsync_directory(segment_path.parent)
    return True


def _child_main(argument: str) -> None:
    for path in become_child(argument)["segments"]:
        try:
            write_segment_hint(Path(path))
        except FileNotFoundError:  # compacted away meanwhile
            continue


if __name__ == "__main__":
    _child_main(sys.argv[1])
