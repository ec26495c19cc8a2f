"""The log: its segment files, the write buffer and batches, append, flush and
rotation, the segment map reads go through, and the directory's lock.

A change is appended to :attr:`Log.pending` (the write buffer) and gets its
location at once; :meth:`Log.flush`, called once per event-loop iteration,
writes the buffer to the active segment with one ``pwrite``. fsync happens in
the :class:`~storage.syncer.Syncer` thread. Every segment, sealed or active,
is read through a read-only mmap (``views``); the active one is preallocated
so that one map covers it, and its zero tail never parses as a record.

The log also counts, per segment, the bytes of records no longer live (dead
bytes), which drive automatic compaction: see :meth:`Log.superseded`.
"""

from __future__ import annotations

import logging
import mmap
import os
import zlib
from collections.abc import Callable
from contextlib import nullcontext, suppress
from pathlib import Path

from storage import datatypes, extents, record
from storage.damage import KnownDamage
from storage.errors import CorruptValue
from storage.lock import lock_directory
from storage.record import (
    BODY,
    CRC,
    HEADER_SIZE,
    LENGTHS,
    LENGTHS_OFFSET,
    PART_MASK,
    RecordType,
)
from storage.segment import (
    FILE_MODE,
    MAX_RECORD_OFFSET,
    NUMBER_SHIFT,
    WITHOUT_ACCESS,
    Segment,
    fsync_directory,
    hint_path,
    location_of,
    map_file,
    segment_name,
    unpack_location,
)
from storage.syncer import Syncer

log = logging.getLogger("caskd.storage")

FSYNC_POLICIES = ("always", "everysec", "no")

_unpack_lengths = LENGTHS.unpack_from
_pack_body_into, _pack_crc_into = BODY.pack_into, CRC.pack_into
_BATCH = RecordType.BATCH


def log_order(segment: Segment) -> tuple[int, int]:
    return segment.major, segment.minor


class _Batch:
    """Log.batch's context manager. A class rather than a generator: every script,
    EXEC and multi-key write enters one, and this costs a third as much."""

    __slots__ = ("_log",)

    def __init__(self, log: Log) -> None:
        self._log = log

    def __enter__(self) -> None:
        self._log._open_batch()

    def __exit__(self, *exc_info: object) -> None:
        self._log._close_batch()


class Log:
    """The segments of one data directory, appended to by one thread (the owner).

    Opening takes the directory's lock; recovery then maps the existing segments
    (:meth:`add_segment`) before :meth:`start` opens the active one. ``sealed``
    is told the path of every segment rotation seals (its hint file is due).
    """

    def __init__(self, directory: Path, segment_size: int,
                 sealed: Callable[[Path], None]) -> None:
        self.directory = directory
        self.segment_size = segment_size
        self.sealed = sealed
        self.segments: dict[int, Segment] = {}  # by number, kept in log order
        self.views: dict[int, mmap.mmap | None] = {}  # number -> map, for reads
        self.dead_bytes: dict[int, int] = {}  # number -> bytes no longer live
        #: The damage known in the log, and what still depends on it: compaction
        #: waits while anything does (see storage.damage.KnownDamage).
        self.damage = KnownDamage()
        self._damage_held = self.damage.held  # (the same dict: superseded() is hot)
        self.damaged: set[int] = set()  # locations of records a read found damaged
        self._next_number = 0
        # Until start(): a stand-in no location refers to (number -1).
        self.active = Segment(0, 0, directory, -1, 0, None)
        self.active_fd = -1
        self._active_mapped = 0
        self.pending = bytearray()
        self._batch_start = -1  # offset in pending of an open batch's header
        self._batch_depth = 0
        self._batch = _Batch(self)
        self.position = 0  # log bytes flushed since open: what on_durable reports
        self.write_error: OSError | None = None
        self.last_write_ok = True
        self._rotate_failing = False
        self._sealed_unsynced: list[Path] = []  # sealed since the last sync(): see sync()
        self.syncer: Syncer | None = None
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = lock_directory(directory)

    def start(self, fsync: str, on_durable: Callable[[int], None] | None) -> None:
        """Open the active segment and the fsync thread (after recovery)."""
        self._open_active()
        self.syncer = Syncer(fsync, on_durable)

    def abandon(self) -> None:
        """Release everything after a failed open."""
        self.close_views()
        os.close(self._lock_fd)

    # ----------------------------------------------------------------- segments

    def add_segment(self, major: int, minor: int, size: int,
                    view: mmap.mmap | None) -> Segment:
        segment = Segment(major, minor, self.directory / segment_name(major, minor),
                          self._next_number, size, view)
        self._next_number += 1
        self.segments[segment.number] = segment
        self.views[segment.number] = view
        return segment

    def map_output(self, major: int, minor: int) -> int:
        """Map a segment compaction wrote; its runtime number."""
        view = map_file(self.directory / segment_name(major, minor))
        return self.add_segment(major, minor, len(view) if view else 0, view).number

    def sort_segments(self) -> None:
        self.segments = dict(sorted(self.segments.items(),
                                    key=lambda item: log_order(item[1])))

    def sealed_segments(self) -> list[Segment]:
        """Every segment but the active one, in log order."""
        return sorted((s for s in self.segments.values() if s is not self.active),
                      key=log_order)

    def retire(self, segments: list[Segment]) -> None:
        """Drop merged segments, oldest first: a crash part-way then leaves a suffix
        of them, and a suffix still holds every tombstone for what it keeps."""
        for segment in sorted(segments, key=log_order):
            del self.segments[segment.number]
            view = self.views.pop(segment.number, None)
            self.dead_bytes.pop(segment.number, None)
            if view is not None:
                view.close()
            hint_path(segment.path).unlink(missing_ok=True)
            segment.path.unlink(missing_ok=True)
        fsync_directory(self.directory)

    def drop_empty_segments(self) -> None:
        """Delete segments with no records (e.g. an active segment a crash left
        unused): they hold nothing and would pile up, one per restart."""
        for segment in [s for s in self.segments.values() if s.size == 0]:
            del self.segments[segment.number]
            if self.views.pop(segment.number, None) is not None:
                segment.view.close()
            hint_path(segment.path).unlink(missing_ok=True)
            segment.path.unlink(missing_ok=True)

    def close_views(self) -> None:
        for view in self.views.values():
            if view is not None:
                view.close()
        self.views.clear()

    def disk_size(self) -> int:
        """Bytes of records in the log (the active segment's preallocation excluded)."""
        return sum(s.size for s in self.segments.values()) + len(self.pending)

    def dead_size(self) -> int:
        return sum(self.dead_bytes.values())

    # -------------------------------------------------------------------- reads

    def record_buffer(self, location: int) -> tuple[bytes | bytearray | mmap.mmap, int]:
        """The buffer holding the record at ``location`` and its offset in it."""
        number, offset = unpack_location(location)
        active = self.active
        if number == active.number and offset >= active.size:
            return self.pending, offset - active.size  # not yet flushed
        return self.views[number], offset

    def read(self, location: int | extents.Chain) -> bytes:
        """The value at ``location`` (or of a chain of extents), verified."""
        if type(location) is extents.Chain:
            return extents.assemble(location, self.read)
        try:
            return record.value_at(*self.record_buffer(location))
        except record.CorruptRecord:
            raise self.corrupt_value(location) from None

    def corrupt_value(self, location: int) -> CorruptValue:
        """The error for a key whose record at ``location`` (or index entry) failed
        its checksum."""
        location = location_of(location)
        self.damaged.add(location)
        if location not in self.damage.held:  # a key points at it: the one read
            self.damage.hold(location)
        number, offset = unpack_location(location)
        error = CorruptValue(self.segments[number].path, offset)
        log.error("%s", error)
        return error

    # ---------------------------------------------------------------- dead bytes

    def superseded(self, location: object) -> None:
        """The record at ``location`` is superseded: count it for auto-compaction.

        A collection's records are not counted: which of its operations a later
        one makes dead is not tracked. Its log still shrinks to one snapshot at the
        next compaction, which the log's growth triggers."""
        if type(location) is not int:
            if type(location) is extents.Chain:  # every record of it
                for each in location.locations():
                    self.superseded(each)
            return
        held = self._damage_held
        if held and (location & WITHOUT_ACCESS) in held:  # a key that read as damaged
            self.damage.release(location & WITHOUT_ACCESS)  # is written or deleted
        buf, offset = self.record_buffer(location)
        key_len, value_len = _unpack_lengths(buf, offset + LENGTHS_OFFSET)
        number = location >> NUMBER_SHIFT  # unpack_location, inlined: every overwrite
        dead = self.dead_bytes
        dead[number] = dead.get(number, 0) + HEADER_SIZE + key_len + value_len

    def superseded_all(self, number: int, end: int) -> None:
        """Every record before offset ``end`` of segment ``number`` is dead (a
        FLUSHALL ends there); segments after it are not counted yet."""
        self.damage.release_all()
        for segment in self.segments.values():
            if segment.number == number:
                self.dead_bytes[number] = end
                return
            self.dead_bytes[segment.number] = segment.size

    def end_location(self) -> tuple[int, int]:
        """(segment number, offset) just past the last record appended."""
        return self.active.number, self.active.size + len(self.pending)

    # ------------------------------------------------------------------- writes

    def append(self, rtype: int, db: int, key: bytes, value: bytes = b"",
               expire_at: int = 0) -> int:
        """Append a record to the write buffer; returns its location."""
        if len(value) > record.MAX_VALUE_SIZE:
            raise ValueError("value too large")
        # Header, key and value in one piece: one CRC pass and two appends are
        # cheaper than a CRC and an append per part (this is the put hot path).
        rest = BODY.pack(rtype, db, expire_at, len(key), len(value)) + key + value
        if self._batch_start < 0:
            if self.active.size + len(self.pending) >= self.segment_size:
                self.rotate()
            crc = zlib.crc32(rest)
        else:  # a part of a batch: its own CRC, masked (see storage.record)
            self._check_batch_room(len(rest))
            crc = zlib.crc32(rest) ^ PART_MASK
        pending = self.pending
        offset = self.active.size + len(pending)
        pending += CRC.pack(crc)
        pending += rest
        # pack_location, inlined: this is the put hot path.
        return (self.active.number << NUMBER_SHIFT) | offset

    def append_snapshot(self, db: int, key: bytes, value: object, expire_at: int) -> None:
        """Log a collection as its contents, in one atomic unit."""
        chunks = list(datatypes.snapshot(value))
        with self.batch() if len(chunks) > 1 else nullcontext():
            self.append(RecordType.SNAPSHOT, db, key, chunks[0], expire_at)
            for chunk in chunks[1:]:
                self.append(RecordType.OP, db, key, chunk)

    def batch(self) -> _Batch:
        """A context manager: every change inside is one atomic unit in the log (nests)."""
        return self._batch

    def _open_batch(self) -> None:
        if self._batch_depth == 0:
            self._rotate_if_full()
            self._batch_start = len(self.pending)
            self.pending += bytes(HEADER_SIZE)
        self._batch_depth += 1

    def _close_batch(self) -> None:
        self._batch_depth -= 1
        if self._batch_depth == 0:
            self._seal_batch()

    def _seal_batch(self) -> None:
        start, self._batch_start = self._batch_start, -1
        pending = self.pending
        length = len(pending) - start - HEADER_SIZE
        if length == 0:
            del pending[start:]
            return
        # Packed in place: assigning packed bytes to a slice copies them into a new
        # bytearray first, and reading RecordType.BATCH from the enum costs as much.
        _pack_body_into(pending, start + 4, _BATCH, 0, 0, 0, length)
        with memoryview(pending) as view:
            crc = zlib.crc32(view[start + 4:])
        _pack_crc_into(pending, start, crc)

    def _check_batch_room(self, size: int) -> None:
        """A batch stays in one segment, so it may not reach past what an offset
        can address (4 GiB); refuse the change that would."""
        if self.active.size + len(self.pending) + 4 + size > MAX_RECORD_OFFSET:
            raise ValueError("batch too large")

    def flush(self) -> int:
        """Write the buffered changes with one pwrite; returns :attr:`position`.

        On a disk error the changes stay buffered (retried by the next flush),
        the file is cut back to its last good record, and :attr:`write_error` is
        set until a flush succeeds.
        """
        pending = self.pending
        if not pending or self._batch_depth:
            return self.position
        active = self.active
        end = active.size + len(pending)
        try:
            if end > self._active_mapped:
                self._grow_active(end)
            with memoryview(pending) as view:
                done = 0
                while done < len(view):
                    done += os.pwrite(self.active_fd, view[done:], active.size + done)
        except OSError as exc:
            self._on_write_error(exc)
            return self.position
        offset = active.size
        active.size = end
        self.position += len(pending)
        self.pending = bytearray()  # the syncer keeps the old one until it is synced
        if self.write_error is not None:
            log.warning("Writing to the log works again; writes are accepted")
            self.write_error = None
        self.last_write_ok = True
        self.syncer.submit(self.active_fd, self.position, offset, pending)
        return self.position

    def _on_write_error(self, exc: OSError) -> None:
        if self.write_error is None:
            log.warning("Error writing to the log: %s; writes are refused until it works",
                        exc)
        self.write_error = exc
        self.last_write_ok = False
        try:  # leave no partial record behind: cut back, keep the preallocated size
            os.ftruncate(self.active_fd, self.active.size)
            os.ftruncate(self.active_fd, self._active_mapped)
        except OSError:
            pass

    def set_fsync_policy(self, policy: str) -> None:
        """Switch appendfsync at run time: a new fsync thread per policy."""
        if policy not in FSYNC_POLICIES:
            raise ValueError(f"fsync policy must be one of {', '.join(FSYNC_POLICIES)}")
        self.flush()
        old = self.syncer
        old.stop()
        self.syncer = Syncer(policy, old.on_durable)
        self.syncer.synced_position = old.synced_position
        self.syncer.submit(self.active_fd, self.position)

    @property
    def writable(self) -> bool:
        """False while the disk refuses writes or fsyncs (server: -MISCONF)."""
        return self.write_error is None and self.syncer.error is None

    @property
    def last_error(self) -> OSError | None:
        return self.write_error or self.syncer.error

    # ----------------------------------------------------------------- rotation

    def _open_active(self) -> None:
        """Create the next active segment; on failure nothing is left behind."""
        major = max((s.major for s in self.segments.values()), default=0) + 1
        path = self.directory / segment_name(major, 0)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            # Preallocate (sparsely) so the whole active segment can be mapped once:
            # mmap cannot grow with the file. The zero tail never parses as a record.
            os.ftruncate(fd, self.segment_size)
            view = mmap.mmap(fd, self.segment_size, access=mmap.ACCESS_READ)
            fsync_directory(self.directory)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        self.active_fd = fd
        self._active_mapped = self.segment_size
        self.active = self.add_segment(major, 0, 0, view)

    def _grow_active(self, end: int) -> None:
        """A batch ran past the preallocated size: extend the file and remap it."""
        size = max(end, self._active_mapped * 2)
        os.ftruncate(self.active_fd, size)
        old = self.active.view
        self.active.view = mmap.mmap(self.active_fd, size, access=mmap.ACCESS_READ)
        self.views[self.active.number] = self.active.view
        self._active_mapped = size
        old.close()

    def _rotate_if_full(self) -> None:
        if self.active.size + len(self.pending) >= self.segment_size:
            self.rotate()

    def rotate(self) -> None:
        """Seal the active segment (cut its preallocation) and start the next one.

        If the disk refuses, the current segment just keeps growing (it may pass
        ``segment_size``); the next append tries again.
        """
        self.flush()
        if self.pending:  # the disk refuses writes: keep buffering in this segment
            return
        old_fd, old = self.active_fd, self.active
        try:
            self._open_active()
        except OSError as exc:
            if not self._rotate_failing:
                log.warning("Cannot start a new segment: %s; %s keeps growing", exc,
                            old.path.name)
            self._rotate_failing = True
            return
        self._rotate_failing = False
        with suppress(OSError):  # harmless: a zero tail is cut when the log is next opened
            os.ftruncate(old_fd, old.size)
        self.syncer.hand_over(old_fd)
        self._sealed_unsynced.append(old.path)
        self.sealed(old.path)

    # ------------------------------------------------------------------ closing

    def sync(self) -> None:
        """Flush and fsync now, on the calling thread.

        Segments sealed since the last call are synced too: their fds belong to
        the fsync thread (closed at once under "no"), so they are reopened by path.
        """
        self.flush()
        os.fsync(self.active_fd)
        sealed, self._sealed_unsynced = self._sealed_unsynced, []
        for path in sealed:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # compacted away meanwhile: its data is elsewhere
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def stop_syncer(self) -> None:
        self.syncer.stop()

    def close(self) -> None:
        """Cut the active segment's preallocation, fsync it, release the directory
        (after :meth:`flush` and :meth:`stop_syncer`)."""
        fd = self.active_fd
        try:
            os.ftruncate(fd, self.active.size)
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.active.size == 0:
            self.retire([self.active])
        self.close_views()
        os.close(self._lock_fd)

