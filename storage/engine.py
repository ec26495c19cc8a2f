"""The storage engine: a Bitcask-style log with an in-memory index.

One thread (the server's event loop) owns an :class:`Engine` and makes every
change through it. A change is appended to an in-memory buffer and applied to the
index at once; :meth:`Engine.flush`, called once per event-loop iteration, writes
the buffer to the active segment with one ``pwrite``. fsync happens in the
:class:`~storage.syncer.Syncer` thread, compaction's copying in a merge thread:
neither blocks the owner.

The index keeps, per database, key -> location (one packed int: segment number
and record offset, see :mod:`storage.segment`) for a string, whose value stays on
disk and is read through mmap; for a hash, list, set or sorted set it holds the
collection object itself, which lives in memory and whose changes are logged as
operations (see :mod:`storage.collections`). So ``type(value) is int`` means a
string.
"""

from __future__ import annotations

import fcntl
import heapq
import logging
import mmap
import os
import random
import subprocess
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from storage import collections as coll
from storage import record
from storage.child import spawn
from storage.collections import WrongType
from storage.compaction import (
    COLLECTION,
    MergeInput,
    MergeResult,
    RelocationFile,
    merge,
    merge_in_child,
)
from storage.hints import (
    PUTS,
    Step,
    locations_of,
    offsets_of,
    read_hint,
    write_segment_hint,
)
from storage.record import (
    BODY,
    CHECKED_LENGTHS,
    CRC,
    HEADER_SIZE,
    LENGTHS,
    LENGTHS_OFFSET,
    RecordType,
    iter_records,
)
from storage.segment import (
    FILE_MODE,
    MAX_RECORD_OFFSET,
    NUMBER_SHIFT,
    OFFSET_MASK,
    Segment,
    fsync_directory,
    hint_path,
    list_segments,
    map_file,
    pack_location,
    segment_name,
)
from storage.syncer import Syncer

log = logging.getLogger("caskd.storage")

FSYNC_POLICIES = ("always", "everysec", "no")
DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024
MAX_SEGMENT_SIZE = 1 << 31  # + one 512 MB value stays below the 4 GiB an offset can address
SCAN_SNAPSHOTS = 32  # key lists kept for running scans (each holds a db's keys)
SCAN_CURSORS = 4096  # scans whose start is remembered, to resume without a list
SCAN_ID_BITS = 24
SCAN_ID_MASK = (1 << SCAN_ID_BITS) - 1
RELOCATIONS_PER_STEP = 20000
RANDOM_KEY_TRIES = 100
HINTER_CLOSE_TIMEOUT = 10.0  # seconds close() gives the writing of hint files


# Bound once: get() is the hottest path.
_unpack_lengths = LENGTHS.unpack_from
_unpack_checked_lengths = CHECKED_LENGTHS.unpack_from
_crc32 = zlib.crc32


def now_ms() -> int:
    return int(time.time() * 1000)


class StorageError(Exception):
    """A problem opening or using a data directory."""


class DirectoryLocked(StorageError):
    pass


class CorruptValue(StorageError):
    """A value read for a client failed its checksum: the disk changed it."""

    def __init__(self, path: Path, offset: int) -> None:
        super().__init__(f"the value's record in {path.name} at offset {offset} failed its "
                         f"checksum (corrupted on disk); 'caskd-check' reports the damage")
        self.path = path
        self.offset = offset


class CorruptLog(StorageError):
    """A bad record before the end of the log: refuse to start, say how to repair."""

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        super().__init__(
            f"Bad record in {path} at offset {offset} ({reason}). The log is corrupted; "
            f"run 'caskd-check --fix {path.parent}' to truncate it at the last good record "
            f"(what it would drop is shown first)."
        )
        self.path = path
        self.offset = offset


def _log_order(segment: Segment) -> tuple[int, int]:
    return segment.major, segment.minor


@dataclass
class CompactionState:
    """A merge in progress (thread), then the index fix-up (owner, in slices)."""

    inputs: list[Segment]
    thread: threading.Thread
    started: float
    now: int  # the clock the merge judges expiry by
    db_of: list[int] = field(default_factory=list)  # merge's db -> db holding it now
    progress: float = 0.0
    result: MergeResult | None = None
    error: BaseException | None = None
    applied: int = 0
    output_numbers: list[int] | None = None
    pending: Iterator | None = None  # the relocations not yet applied
    process: object = None  # the merge's child process, while it runs


class Engine:
    """A persistent, single-writer key-value store of byte strings.

    ``on_durable(position)`` is called from the fsync thread whenever every write
    flushed up to ``position`` (see :attr:`position`) is on disk.
    """

    #: Run the merge in a child process (no GIL contention with the owner). False
    #: runs it in a thread of this process: the fallback if a process cannot be
    #: started, and what tests use to observe the merge's file operations.
    merge_in_child = True

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        fsync: str = "everysec",
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        databases: int = 16,
        on_durable: Callable[[int], None] | None = None,
        auto_compact_percentage: int = 100,
        auto_compact_min_size: int = 64 * 1024 * 1024,
        auto_compact_dead_ratio: float = 0.5,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync policy must be one of {', '.join(FSYNC_POLICIES)}")
        if not 0 < segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError("segment size out of range")
        if not 0 < databases <= 256:
            raise ValueError("databases must be between 1 and 256")
        self.directory = Path(directory)
        self.fsync_policy = fsync
        self.segment_size = segment_size
        self.databases = databases
        self.auto_compact_percentage = auto_compact_percentage
        self.auto_compact_min_size = auto_compact_min_size
        self.auto_compact_dead_ratio = auto_compact_dead_ratio

        self._keydirs: list[dict[bytes, int]] = [{} for _ in range(databases)]
        self._expires: list[dict[bytes, int]] = [{} for _ in range(databases)]
        self._expiry_heap: list[tuple[int, int, bytes]] = []
        self._segments: dict[int, Segment] = {}  # by number, kept in log order
        self._views: dict[int, mmap.mmap | None] = {}  # number -> map, for reads
        self._dead_bytes: dict[int, int] = {}  # number -> bytes no longer live
        self._next_number = 0
        # Until _open_active: a stand-in no location refers to (number -1).
        self._active = Segment(0, 0, self.directory, -1, 0, None)
        self._loading = False

        self._pending = bytearray()
        self._batch_start = -1  # offset in _pending of an open batch's header
        self._batch_depth = 0
        self.position = 0  # log bytes flushed since open: what on_durable reports
        self.write_error: OSError | None = None
        self.last_write_ok = True
        self._rotate_failing = False
        self._closed = False
        self._sealed_unsynced: list[Path] = []  # sealed since the last sync(): see sync()
        self._unhinted: list[Path] = []  # sealed segments waiting for a hint file
        self._hinter: subprocess.Popen | None = None  # the child writing hint files
        self._hinting: list[Path] = []  # the segments it writes them for

        self._scan_lists: OrderedDict[int, list[bytes]] = OrderedDict()
        self._scan_meta: OrderedDict[int, tuple[int, int]] = OrderedDict()  # id -> (db, removals)
        self._next_snapshot = 1
        self._removals = [0] * databases  # keys removed per db: lets a scan resume safely
        self._compaction: CompactionState | None = None
        self.compaction_status = "ok"  # of the last compaction
        self.compaction_count = 0
        self._compaction_retry_at = 0.0
        self._compaction_failures = 0
        self.base_size = 0  # log size after the last compaction (or at open)
        self.stats = {"expired_keys": 0, "torn_bytes_dropped": 0, "loaded_keys": 0,
                      "load_seconds": 0.0}

        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = self._lock_directory()
        try:
            started = time.monotonic()
            try:
                self._load()
            except IndexError:  # a hint for a database number past the last one
                raise self._too_few_databases() from None
            self.stats["load_seconds"] = time.monotonic() - started
            self.stats["loaded_keys"] = sum(len(kd) for kd in self._keydirs)
            self._open_active()
        except BaseException:
            self._close_views()
            os.close(self._lock_fd)
            raise
        self.base_size = self.disk_size()
        self._syncer = Syncer(fsync, on_durable)

    # ------------------------------------------------------------------ reads

    def get(self, db: int, key: bytes) -> bytes | None:
        """The value of ``key``, or None if it does not exist (or has expired).
        Raises WrongType if it holds a collection."""
        location = self._keydirs[db].get(key)
        if location is None:
            return None
        if self._expires[db] and self._expire_if_due(db, key):
            return None
        # _read, inlined: this is the hottest path of the server.
        try:
            number = location >> NUMBER_SHIFT
        except TypeError:  # a collection object, not a location: costs nothing otherwise
            raise WrongType from None
        offset = location & OFFSET_MASK
        active = self._active
        if number == active.number and offset >= active.size:
            return record.value_at(self._pending, offset - active.size)
        # record.value_at, inlined (and the mmap slice is already a bytes object).
        view = self._views[number]
        crc, key_len, value_len = _unpack_checked_lengths(view, offset)
        start = offset + HEADER_SIZE + key_len
        end = start + value_len
        if crc and _crc32(view[offset + 4:end]) != crc:
            raise self._corrupt_value(location)
        return view[start:end]

    def exists(self, db: int, key: bytes) -> bool:
        if key not in self._keydirs[db]:
            return False
        return not (self._expires[db] and self._expire_if_due(db, key))

    def value_length(self, db: int, key: bytes) -> int | None:
        """The length of the value (STRLEN) without reading it."""
        if not self.exists(db, key):
            return None
        location = self._keydirs[db][key]
        if type(location) is not int:
            raise WrongType
        buf, offset = self._record_buffer(location)
        return LENGTHS.unpack_from(buf, offset + LENGTHS_OFFSET)[1]

    def get_object(self, db: int, key: bytes) -> object:
        """What ``key`` holds: its collection object (dict, deque, set or ZSet, to
        read, never to change: see :meth:`apply`), an int for a string (read it
        with :meth:`get`), or None if there is no such key (or it has expired)."""
        value = self._keydirs[db].get(key)
        if value is None or (self._expires[db] and self._expire_if_due(db, key)):
            return None
        return value

    def get_expire(self, db: int, key: bytes) -> int | None:
        """The absolute expiry time in ms; 0 if the key has none; None if no key."""
        if not self.exists(db, key):
            return None
        return self._expires[db].get(key, 0)

    def dbsize(self, db: int) -> int:
        return len(self._keydirs[db])

    def expires_count(self, db: int) -> int:
        return len(self._expires[db])

    def keys(self, db: int) -> Iterator[bytes]:
        """Every live key of ``db`` (a snapshot: safe to change the db meanwhile)."""
        for key in list(self._keydirs[db]):
            if self.exists(db, key):
                yield key

    def scan(self, db: int, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One SCAN step: (next cursor, keys). Cursor 0 starts; 0 comes back at the end.

        A scan walks a snapshot of the key list taken when it started, so every
        key that exists for the whole scan is returned (Redis's guarantee), and
        keys deleted meanwhile are skipped. Key lists live in a small LRU. A
        cursor whose list was evicted resumes on a fresh one: a dict keeps its
        keys in insertion order, so the keys it had not yet reached are, on the
        fresh list, at most "keys removed since" places earlier; it steps back
        that far (returning some keys twice, which SCAN allows, and missing none).
        A cursor this engine does not know starts over.
        """
        position, snapshot_id = cursor >> SCAN_ID_BITS, cursor & SCAN_ID_MASK
        keys = self._scan_lists.pop(snapshot_id, None) if cursor else None
        meta = self._scan_meta.get(snapshot_id) if cursor else None
        if meta is None or meta[0] != db:
            keys, position = None, 0
        elif keys is None:
            position = max(0, position - (self._removals[db] - meta[1]))
        if keys is None:
            snapshot_id = self._next_snapshot
            self._next_snapshot = self._next_snapshot % SCAN_ID_MASK + 1
            keys = list(self._keydirs[db])
            self._scan_meta[snapshot_id] = (db, self._removals[db])
            while len(self._scan_meta) > SCAN_CURSORS:
                self._scan_meta.popitem(last=False)
        end = min(position + max(count, 1), len(keys))
        found = [key for key in keys[position:end] if self.exists(db, key)]
        if end >= len(keys):
            self._scan_meta.pop(snapshot_id, None)
            return 0, found
        self._scan_lists[snapshot_id] = keys
        while len(self._scan_lists) > SCAN_SNAPSHOTS:
            self._scan_lists.popitem(last=False)
        return (end << SCAN_ID_BITS) | snapshot_id, found

    def random_key(self, db: int) -> bytes | None:
        """A random live key (RANDOMKEY), None if the db has none."""
        keydir = self._keydirs[db]
        for _ in range(RANDOM_KEY_TRIES):
            if not keydir:
                return None
            key = next(islice(keydir, random.randrange(len(keydir)), None))
            if self.exists(db, key):
                return key
        # Mostly expired keys (and perhaps a disk that refuses their deletion):
        # look at each once rather than draw forever.
        return next(self.keys(db), None)

    def _record_buffer(self, location: int) -> tuple[bytes | bytearray | mmap.mmap, int]:
        """The buffer holding the record at ``location`` and its offset in it."""
        number = location >> NUMBER_SHIFT
        offset = location & OFFSET_MASK
        active = self._active
        if number == active.number and offset >= active.size:
            return self._pending, offset - active.size  # not yet flushed
        return self._views[number], offset

    def _read(self, location: int) -> bytes:
        try:
            return record.value_at(*self._record_buffer(location))
        except record.CorruptRecord:
            raise self._corrupt_value(location) from None

    def _corrupt_value(self, location: int) -> CorruptValue:
        number, offset = location >> NUMBER_SHIFT, location & OFFSET_MASK
        error = CorruptValue(self._segments[number].path, offset)
        log.error("%s", error)
        return error

    # ----------------------------------------------------------------- writes

    def put(self, db: int, key: bytes, value: bytes, expire_at: int = 0, *,
            keep_ttl: bool = False, only_if: str | None = None) -> bool:
        """Set ``key``. ``expire_at`` is absolute ms (0: no TTL); ``keep_ttl`` keeps
        the current TTL; ``only_if`` is "absent" (NX) or "present" (XX).
        Returns False, changing nothing, when the condition does not hold."""
        if only_if is not None and self.exists(db, key) != (only_if == "present"):
            return False
        if keep_ttl:  # an expired key has no TTL left to keep
            expire_at = self._expires[db].get(key, 0) if self.exists(db, key) else 0
        location = self._append(RecordType.PUT, db, key, value, expire_at)
        self._index_put(db, key, location, expire_at)
        return True

    def delete(self, db: int, key: bytes) -> bool:
        """Remove ``key``; False if it did not exist."""
        if not self.exists(db, key):
            return False
        self._append(RecordType.DELETE, db, key)
        self._index_remove(db, key)
        return True

    def set_expire(self, db: int, key: bytes, expire_at: int) -> bool:
        """Set the absolute expiry (ms) of an existing key; 0 removes the TTL.
        A time in the past deletes the key (as Redis does). False if no key."""
        if not self.exists(db, key):
            return False
        if expire_at and expire_at <= now_ms():
            self._append(RecordType.DELETE, db, key)
            self._index_remove(db, key)
            return True
        self._append(RecordType.EXPIRE, db, key, b"", expire_at)
        self._set_expire_in_index(db, key, expire_at)
        return True

    def apply(self, db: int, key: bytes, op: coll.Op, args: list[bytes]):
        """Apply a collection operation to ``key`` (see :mod:`storage.collections`),
        creating the collection if the key does not exist, and log it; returns the
        operation's result. A collection left empty is deleted, as in Redis.
        Raises WrongType if the key holds another type."""
        keydir = self._keydirs[db]
        current = keydir.get(key)
        if current is not None and self._expires[db] and self._expire_if_due(db, key):
            current = None
        if current is not None and type(current) is not coll.KIND[op]:
            raise WrongType
        self._append(RecordType.OP, db, key, coll.encode(op, args))
        value, result = coll.apply(current, op, args)
        if not value:
            if current is not None:
                self._index_remove(db, key)
        elif current is None:  # a new key: no TTL (an expired one's is dropped)
            self._index_put(db, key, value, 0)
        return result

    def put_object(self, db: int, key: bytes, value: object, expire_at: int = 0) -> None:
        """Set ``key`` to a whole collection (the STORE commands, COPY), replacing
        whatever it held; the engine owns ``value`` from now on. An empty
        collection deletes the key instead."""
        if not value:
            self.delete(db, key)
            return
        self._write_snapshot(db, key, value, expire_at)
        self._index_put(db, key, value, expire_at)

    def _write_snapshot(self, db: int, key: bytes, value: object, expire_at: int) -> None:
        """Log a collection as its contents, in one atomic unit."""
        chunks = list(coll.snapshot(value))
        with self.batch() if len(chunks) > 1 else nullcontext():
            self._append(RecordType.SNAPSHOT, db, key, chunks[0], expire_at)
            for chunk in chunks[1:]:
                self._append(RecordType.OP, db, key, chunk)

    def rename(self, db: int, key: bytes, target_db: int, target: bytes) -> bool:
        """Move ``key``'s value and TTL to ``target`` in ``target_db``, replacing what
        it held (RENAME, MOVE); False if there is no such key. A collection moves
        in O(1): one record names the move."""
        value = self.get_object(db, key)
        if value is None:
            return False
        if (db, key) == (target_db, target):
            return True
        expire_at = self._expires[db].get(key, 0)
        if type(value) is int:  # a string: its value is written under the new name
            with self.batch():
                location = self._append(RecordType.PUT, target_db, target, self._read(value),
                                        expire_at)
                self._index_put(target_db, target, location, expire_at)
                self._append(RecordType.DELETE, db, key)
                self._index_remove(db, key)
        else:
            self._append(RecordType.RENAME, db, key, bytes((target_db,)) + target)
            self._index_rename(db, key, target_db, target)
        return True

    def copy(self, db: int, key: bytes, target_db: int, target: bytes) -> bool:
        """Copy ``key``'s value and TTL to ``target`` in ``target_db``, replacing what
        it held (COPY); False if there is no such key."""
        value = self.get_object(db, key)
        if value is None:
            return False
        expire_at = self._expires[db].get(key, 0)
        if type(value) is int:
            self.put(target_db, target, self._read(value), expire_at)
        else:
            self.put_object(target_db, target, coll.copy(value), expire_at)
        return True

    def flushdb(self, db: int) -> None:
        self._append(RecordType.FLUSHDB, db, b"")
        self._index_flushdb(db)

    def flushall(self) -> None:
        self._append(RecordType.FLUSHALL, 0, b"")
        self._index_flushall()

    def swapdb(self, db: int, other: int) -> None:
        self._append(RecordType.SWAPDB, db, str(other).encode())
        self._index_swapdb(db, other)
        state = self._compaction
        if state is not None:  # the merge's view of db and other now lives swapped
            state.db_of = [other if d == db else db if d == other else d
                           for d in state.db_of]

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make every change inside one atomic unit in the log (nests)."""
        if self._batch_depth == 0:
            self._rotate_if_full()
            self._batch_start = len(self._pending)
            self._pending += bytes(HEADER_SIZE)
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._seal_batch()

    def _seal_batch(self) -> None:
        start, self._batch_start = self._batch_start, -1
        pending = self._pending
        length = len(pending) - start - HEADER_SIZE
        if length == 0:
            del pending[start:]
            return
        pending[start + 4:start + HEADER_SIZE] = BODY.pack(RecordType.BATCH, 0, 0, 0, length)
        with memoryview(pending) as view:
            crc = zlib.crc32(view[start + 4:])
        pending[start:start + 4] = CRC.pack(crc)

    def _append(self, rtype: int, db: int, key: bytes, value: bytes = b"",
                expire_at: int = 0) -> int:
        """Append a record to the write buffer; returns its location."""
        if len(value) > record.MAX_VALUE_SIZE:
            raise ValueError("value too large")
        # Header, key and value in one piece: one CRC pass and two appends are
        # cheaper than a CRC and an append per part (this is the put hot path).
        rest = BODY.pack(rtype, db, expire_at, len(key), len(value)) + key + value
        if self._batch_start < 0:
            if self._active.size + len(self._pending) >= self.segment_size:
                self._rotate()
            crc = zlib.crc32(rest)
        else:  # inside a batch, whose own CRC covers this record
            self._check_batch_room(len(rest))
            crc = 0
        pending = self._pending
        offset = self._active.size + len(pending)
        pending += CRC.pack(crc)
        pending += rest
        return (self._active.number << NUMBER_SHIFT) | offset

    def _check_batch_room(self, size: int) -> None:
        """A batch stays in one segment, so it may not reach past what an offset
        can address (4 GiB); refuse the change that would."""
        if self._active.size + len(self._pending) + 4 + size > MAX_RECORD_OFFSET:
            raise ValueError("batch too large")

    def flush(self) -> int:
        """Write the buffered changes with one pwrite; returns :attr:`position`.

        On a disk error the changes stay buffered (retried by the next flush and
        by :meth:`tick`), the file is cut back to its last good record, and
        :attr:`write_error` is set until a flush succeeds.
        """
        pending = self._pending
        if not pending or self._batch_depth:
            return self.position
        active = self._active
        end = active.size + len(pending)
        try:
            if end > self._active_mapped:
                self._grow_active(end)
            with memoryview(pending) as view:
                done = 0
                while done < len(view):
                    done += os.pwrite(self._active_fd, view[done:], active.size + done)
        except OSError as exc:
            self._on_write_error(exc)
            return self.position
        offset = active.size
        active.size = end
        self.position += len(pending)
        self._pending = bytearray()  # the syncer keeps the old one until it is synced
        if self.write_error is not None:
            log.warning("Writing to the log works again; writes are accepted")
            self.write_error = None
        self.last_write_ok = True
        self._syncer.submit(self._active_fd, self.position, offset, pending)
        return self.position

    def _on_write_error(self, exc: OSError) -> None:
        if self.write_error is None:
            log.warning("Error writing to the log: %s; writes are refused until it works",
                        exc)
        self.write_error = exc
        self.last_write_ok = False
        try:  # leave no partial record behind: cut back, keep the preallocated size
            os.ftruncate(self._active_fd, self._active.size)
            os.ftruncate(self._active_fd, self._active_mapped)
        except OSError:
            pass

    @property
    def pending_bytes(self) -> int:
        """Changes buffered but not yet written (until the next flush succeeds)."""
        return len(self._pending)

    def set_fsync_policy(self, policy: str) -> None:
        """Switch appendfsync at run time (CONFIG SET): a new fsync thread per policy."""
        if policy not in FSYNC_POLICIES:
            raise ValueError(f"fsync policy must be one of {', '.join(FSYNC_POLICIES)}")
        self.flush()
        old = self._syncer
        old.stop()
        self._syncer = Syncer(policy, old.on_durable)
        self._syncer.synced_position = old.synced_position
        self.fsync_policy = policy
        self._syncer.submit(self._active_fd, self.position)

    @property
    def writable(self) -> bool:
        """False while the disk refuses writes or fsyncs (server: -MISCONF)."""
        return self.write_error is None and self._syncer.error is None

    @property
    def last_error(self) -> OSError | None:
        return self.write_error or self._syncer.error

    @property
    def durable_position(self) -> int:
        return self._syncer.synced_position

    # ------------------------------------------------------------------ index

    def _index_put(self, db: int, key: bytes, location: int, expire_at: int) -> None:
        keydir = self._keydirs[db]
        old = keydir.get(key)
        keydir[key] = location
        if old is not None:
            self._mark_dead(old)
        if expire_at:
            self._set_expire_in_index(db, key, expire_at)
        elif self._expires[db]:
            self._expires[db].pop(key, None)

    def _index_put_run(self, db: int, keys: list[bytes], locations: list[int],
                       expires: dict[bytes, int]) -> None:
        """:meth:`_index_put` of distinct ``keys`` at once (loading a hint file);
        ``expires`` holds the TTLs of those that have one."""
        keydir, db_expires = self._keydirs[db], self._expires[db]
        # One pass adds the new keys and finds the others' old entries (setdefault
        # returns the very object it stored for a new key).
        found = list(map(keydir.setdefault, keys, locations))
        if found != locations:
            for key, old, location in zip(keys, found, locations, strict=True):
                if old is not location:
                    keydir[key] = location
                    self._mark_dead(old)
        if db_expires:  # a key written again without a TTL loses its old one
            for key in filter(db_expires.__contains__, keys):
                del db_expires[key]
        db_expires.update(expires)

    def _index_remove(self, db: int, key: bytes) -> None:
        old = self._keydirs[db].pop(key, None)
        if old is not None:
            self._mark_dead(old)
            self._expires[db].pop(key, None)
            self._removals[db] += 1

    def _index_rename(self, db: int, key: bytes, target_db: int, target: bytes) -> None:
        expire_at = self._expires[db].pop(key, 0)
        value = self._keydirs[db].pop(key)
        self._removals[db] += 1
        self._index_put(target_db, target, value, expire_at)

    def _set_expire_in_index(self, db: int, key: bytes, expire_at: int) -> None:
        if expire_at:
            self._expires[db][key] = expire_at
            if not self._loading:  # the heap is built once, at the end of a load
                heapq.heappush(self._expiry_heap, (expire_at, db, key))
        else:
            self._expires[db].pop(key, None)

    def _index_flushdb(self, db: int) -> None:
        for location in self._keydirs[db].values():
            self._mark_dead(location)
        self._removals[db] += len(self._keydirs[db])
        self._keydirs[db] = {}
        self._expires[db] = {}

    def _index_flushall(self) -> None:
        """Every db emptied. Every record written so far is dead now, so the dead
        bytes are the segments' sizes: no need to look up each key's record.
        (Not while a compaction's fix-up runs: it counts the copies it skips.)"""
        if self._compaction is not None:
            for db in range(self.databases):
                self._index_flushdb(db)
            return
        for db in range(self.databases):
            self._removals[db] += len(self._keydirs[db])
            self._keydirs[db] = {}
            self._expires[db] = {}
        for segment in self._segments.values():
            self._dead_bytes[segment.number] = segment.size
        if self._active.number in self._dead_bytes:
            self._dead_bytes[self._active.number] += len(self._pending)

    def _index_swapdb(self, db: int, other: int) -> None:
        kd, ex = self._keydirs, self._expires
        self._removals[db] += len(kd[db])  # to a scan, every key changed places
        self._removals[other] += len(kd[other])
        kd[db], kd[other] = kd[other], kd[db]
        ex[db], ex[other] = ex[other], ex[db]
        if not self._loading:
            self._rebuild_expiry_heap()

    def _rebuild_expiry_heap(self) -> None:
        self._expiry_heap = [(at, db, key) for db, expires in enumerate(self._expires)
                             for key, at in expires.items()]
        heapq.heapify(self._expiry_heap)

    def _mark_dead(self, location: int) -> None:
        """The record at ``location`` is superseded: count it for auto-compaction.

        A collection's records are not counted: which of its operations a later
        one makes dead is not tracked. Its log still shrinks to one snapshot at the
        next compaction, which the log's growth triggers."""
        if type(location) is not int:
            return
        buf, offset = self._record_buffer(location)
        key_len, value_len = _unpack_lengths(buf, offset + LENGTHS_OFFSET)
        number = location >> NUMBER_SHIFT
        dead = self._dead_bytes
        dead[number] = dead.get(number, 0) + HEADER_SIZE + key_len + value_len

    def _expire_if_due(self, db: int, key: bytes) -> bool:
        """True if ``key`` has expired; it is then deleted (and the delete logged)."""
        expire_at = self._expires[db].get(key)
        if not expire_at or expire_at > now_ms():
            return False
        if self.writable:  # while the disk refuses writes the key just reads as gone
            self._append(RecordType.DELETE, db, key)
            self._index_remove(db, key)
            self.stats["expired_keys"] += 1
        return True

    def expire_cycle(self, max_keys: int = 200) -> int:
        """Active expiry: delete up to ``max_keys`` keys whose time has come."""
        heap = self._expiry_heap
        removed = 0
        now = now_ms()
        while heap and heap[0][0] <= now and removed < max_keys and self.writable:
            expire_at, db, key = heapq.heappop(heap)
            if self._expires[db].get(key) == expire_at:  # else: stale entry
                self._expire_if_due(db, key)
                removed += 1
        if len(heap) > 2 * sum(len(e) for e in self._expires) + 1024:
            self._rebuild_expiry_heap()
        return removed

    # ---------------------------------------------------------- segments

    def _lock_directory(self) -> int:
        path = self.directory / "LOCK"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DirectoryLocked(
                f"The data directory {self.directory} is in use by another caskd process "
                f"(pid {holder}); stop it or choose another --dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _new_segment(self, major: int, minor: int, size: int,
                     view: mmap.mmap | None) -> Segment:
        segment = Segment(major, minor, self.directory / segment_name(major, minor),
                          self._next_number, size, view)
        self._next_number += 1
        self._segments[segment.number] = segment
        self._views[segment.number] = view
        return segment

    def _load(self) -> None:
        """Rebuild the index from hint files and segments, cutting a torn tail.

        Records are replayed in log order without judging expiry; keys whose time
        has passed are dropped once at the end. (Judging each record as it is
        replayed would drop a key whose TTL a later record removed.)
        """
        for leftover in self.directory.glob("*.tmp"):  # an interrupted compaction
            leftover.unlink()
        names = list_segments(self.directory)
        for hint in self.directory.glob("*.hint"):
            if not hint.with_suffix(".log").exists():
                hint.unlink()
        self._loading = True
        try:
            for index, (major, minor) in enumerate(names):
                path = self.directory / segment_name(major, minor)
                view = map_file(path)
                segment = self._new_segment(major, minor, len(view) if view else 0, view)
                steps = read_hint(hint_path(path), view) if view is not None else None
                if steps is not None:
                    self._load_hints(segment, steps)
                elif view is not None:
                    self._replay(segment, is_last=index == len(names) - 1)
                    self._unhinted.append(path)
        finally:
            self._loading = False
        self._drop_empty_segments()
        now = now_ms()
        for db, expires in enumerate(self._expires):
            for key in [key for key, at in expires.items() if at <= now]:
                self._index_remove(db, key)
        self._rebuild_expiry_heap()

    def _drop_empty_segments(self) -> None:
        """Delete segments with no records (e.g. an active segment a crash left
        unused): they hold nothing and would pile up, one per restart."""
        for segment in [s for s in self._segments.values() if s.size == 0]:
            del self._segments[segment.number]
            if self._views.pop(segment.number, None) is not None:
                segment.view.close()
            hint_path(segment.path).unlink(missing_ok=True)
            segment.path.unlink(missing_ok=True)

    def _load_hints(self, segment: Segment, steps: Iterable[Step]) -> None:
        """Index a segment from its hint file (see :mod:`storage.hints`): a run of
        PUTs with a few bulk dict operations, any other record read from the
        segment and replayed."""
        number, view = segment.number, segment.view
        for step in steps:
            if step[0] == PUTS:
                _, db, keys, offsets, expires, dead = step
                self._index_put_run(db, keys, locations_of(number, offsets), expires)
                if dead:  # records the run superseded itself
                    self._dead_bytes[number] = self._dead_bytes.get(number, 0) + dead
            else:
                for offset in offsets_of(step[1]):
                    self._apply_record(record.decode_at(view, offset, len(view), verify=False),
                                       number, view)

    def _replay(self, segment: Segment, is_last: bool) -> None:
        buf = memoryview(segment.view)
        end = len(buf)
        number = segment.number
        base = number << NUMBER_SHIFT
        apply = self._apply_record
        index_put = self._index_put
        unpack, crc32, put = record.HEADER.unpack_from, zlib.crc32, RecordType.PUT
        pos = 0
        damage = None
        unknown_database = False
        try:
            while pos < end:
                # Fast path for the common record, a plain PUT: no Record object.
                if end - pos >= HEADER_SIZE:
                    crc, rtype, db, expire_at, key_len, value_len = unpack(buf, pos)
                    key_end = pos + HEADER_SIZE + key_len
                    record_end = key_end + value_len
                    if (rtype == put and record_end <= end
                            and crc32(buf[pos + 4:record_end]) == crc):
                        index_put(db, bytes(buf[pos + HEADER_SIZE:key_end]), base | pos,
                                  expire_at)
                        pos = record_end
                        continue
                # Everything else (and every kind of damage) takes the general path.
                rec = record.decode_at(buf, pos, end)
                if rec is None:
                    break
                if rec.type == RecordType.BATCH:
                    for inner in iter_records(buf, rec.value_offset, rec.end, verify=False):
                        apply(inner, number, buf)
                else:
                    apply(rec, number, buf)
                pos = rec.end
        except record.CorruptRecord as exc:
            damage = exc.reason
        except IndexError:  # a database number past the last one; raised below,
            unknown_database = True  # once buf can be released
        try:
            if unknown_database:
                raise self._too_few_databases()
            # Past the last whole record: zeros (preallocation) are fine anywhere; a
            # partial record is a crash's torn tail if nothing valid follows it and
            # it is in the last segment. Anything else is corruption.
            if pos < end and (record.find_next_record(buf, pos, end) is not None
                              or (damage and not is_last)):
                raise CorruptLog(segment.path, pos, damage or "data after unused space")
        finally:
            buf.release()
        if pos < end:
            self._cut_tail(segment, pos)

    def _too_few_databases(self) -> StorageError:
        return StorageError(f"The data in {self.directory} uses more databases than the "
                            f"{self.databases} configured; start with a larger 'databases' "
                            f"setting")

    def _cut_tail(self, segment: Segment, valid_end: int) -> None:
        """Truncate a segment after its last whole record (a crash's torn tail, or
        preallocated space never written)."""
        dropped = _last_nonzero(segment.view, valid_end) - valid_end
        if dropped:
            log.warning("Torn tail in %s: dropped %d bytes after offset %d (an interrupted "
                        "write)", segment.path, dropped, valid_end)
        self.stats["torn_bytes_dropped"] += dropped
        segment.view.close()
        os.truncate(segment.path, valid_end)
        segment.view = map_file(segment.path)
        segment.size = valid_end
        self._views[segment.number] = segment.view

    def _apply_record(self, rec: record.Record, number: int, buf) -> None:
        """Replay one record (of segment ``number``, read from ``buf``) into the index
        (recovery)."""
        rtype, db, key = rec.type, rec.db, rec.key
        if rtype == RecordType.OP:
            self._replay_op(db, key, bytes(buf[rec.value_offset:rec.end]))
        elif rtype == RecordType.SNAPSHOT:
            value = coll.replay_snapshot(bytes(buf[rec.value_offset:rec.end]))
            self._index_put(db, key, value, rec.expire_at)
        elif rtype == RecordType.RENAME:
            if key in self._keydirs[db]:
                target = bytes(buf[rec.value_offset:rec.end])
                self._index_rename(db, key, target[0], target[1:])
        elif rtype == RecordType.PUT:
            self._index_put(db, key, (number << NUMBER_SHIFT) | rec.offset, rec.expire_at)
        elif rtype == RecordType.DELETE:
            self._index_remove(db, key)
        elif rtype == RecordType.EXPIRE:
            if key in self._keydirs[db]:
                self._set_expire_in_index(db, key, rec.expire_at)
        elif rtype == RecordType.FLUSHDB:
            self._index_flushdb(db)
        elif rtype == RecordType.FLUSHALL:
            self._index_flushall_replayed(number, rec.end)
        elif rtype == RecordType.SWAPDB:
            self._index_swapdb(db, int(key))

    def _replay_op(self, db: int, key: bytes, data: bytes) -> None:
        """A collection operation met while loading: as :meth:`apply` did it."""
        current = self._keydirs[db].get(key)
        value = coll.replay(current, data)
        if not value:
            if current is not None:
                self._index_remove(db, key)
        elif value is not current:
            self._index_put(db, key, value, 0)

    def _index_flushall_replayed(self, number: int, end: int) -> None:
        """A FLUSHALL met while loading: what came before it in the log is dead."""
        for db in range(self.databases):
            self._keydirs[db] = {}
            self._expires[db] = {}
        for segment in self._segments.values():
            self._dead_bytes[segment.number] = segment.size if segment.number != number else end

    def _open_active(self) -> None:
        """Create the next active segment; on failure nothing is left behind."""
        major = max((s.major for s in self._segments.values()), default=0) + 1
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
        self._active_fd = fd
        self._active_mapped = self.segment_size
        self._active = self._new_segment(major, 0, 0, view)

    def _grow_active(self, end: int) -> None:
        """A batch ran past the preallocated size: extend the file and remap it."""
        size = max(end, self._active_mapped * 2)
        os.ftruncate(self._active_fd, size)
        old = self._active.view
        self._active.view = mmap.mmap(self._active_fd, size, access=mmap.ACCESS_READ)
        self._views[self._active.number] = self._active.view
        self._active_mapped = size
        old.close()

    def _rotate_if_full(self) -> None:
        if self._active.size + len(self._pending) >= self.segment_size:
            self._rotate()

    def _rotate(self) -> None:
        """Seal the active segment (cut its preallocation) and start the next one.

        If the disk refuses, the current segment just keeps growing (it may pass
        ``segment_size``); the next append tries again.
        """
        self.flush()
        if self._pending:  # the disk refuses writes: keep buffering in this segment
            return
        old_fd, old = self._active_fd, self._active
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
        self._syncer.hand_over(old_fd)
        self._sealed_unsynced.append(old.path)
        self._unhinted.append(old.path)

    def disk_size(self) -> int:
        """Bytes of records in the log (the active segment's preallocation excluded)."""
        return sum(s.size for s in self._segments.values()) + len(self._pending)

    def dead_size(self) -> int:
        return sum(self._dead_bytes.values())

    # --------------------------------------------------------------- compaction

    @property
    def compacting(self) -> bool:
        return self._compaction is not None

    @property
    def compaction_progress(self) -> float:
        state = self._compaction
        return 0.0 if state is None else state.progress

    def start_compaction(self) -> bool:
        """Start merging the sealed segments in the background; False if one runs."""
        if self._compaction is not None:
            return False
        if self._active.size or self._pending:
            self._rotate()  # so the merge covers everything written until now
        inputs = sorted((s for s in self._segments.values() if s is not self._active),
                        key=_log_order)
        if not inputs:
            self.compaction_status = "ok"
            self.compaction_count += 1
            self.base_size = self.disk_size()
            return True
        # Outputs sort after every input and before the active segment (whose
        # major is larger), so replay order stays right even if a crash leaves
        # inputs and outputs side by side.
        self._stop_hinting()  # the merge writes hints for its outputs
        major = inputs[-1].major
        first_minor = 1 + max(s.minor for s in self._segments.values() if s.major == major)
        now = now_ms()
        state = CompactionState(inputs, threading.Thread(), time.time(), now,
                                db_of=list(range(self.databases)))
        merge_inputs = [MergeInput(s.number, s.path) for s in inputs]

        def run() -> None:
            arguments = (merge_inputs, self.directory, major, first_minor, self.segment_size,
                         now, self.databases)

            def progress(fraction: float) -> None:
                state.progress = fraction

            try:
                if self.merge_in_child:
                    try:
                        state.result = merge_in_child(
                            *arguments, progress=progress,
                            started=lambda process: setattr(state, "process", process))
                        return
                    except OSError as exc:  # no process: merge here instead
                        log.warning("Cannot run compaction in a child process (%s); "
                                    "merging in a thread", exc)
                state.result = merge(*arguments, progress=progress)
            except BaseException as exc:  # reported by compaction_step on the owner
                state.error = exc

        state.thread = threading.Thread(target=run, name="caskd-compact", daemon=True)
        self._compaction = state
        state.thread.start()
        log.info("Background compaction started (%d segments)", len(inputs))
        return True

    def compaction_step(self, budget: int = RELOCATIONS_PER_STEP) -> None:
        """Apply up to ``budget`` index moves of a finished merge; retire its inputs."""
        state = self._compaction
        if state is None or state.thread.is_alive():
            return
        if state.error is not None or state.result is None:
            self._compaction_failed(state.error)
            return
        result = state.result
        if state.output_numbers is None:
            state.output_numbers = [self._map_output(major, minor)
                                    for major, minor in result.outputs]
            self._segments = dict(sorted(self._segments.items(),
                                         key=lambda item: _log_order(item[1])))
            state.pending = iter(result.relocations)
        numbers = state.output_numbers
        count = 0
        for merged_db, key, old, output, offset in islice(state.pending, budget):
            count += 1
            db = state.db_of[merged_db]
            keydir = self._keydirs[db]
            if old == COLLECTION:  # an expired collection the merge dropped
                self._collection_dropped(state, db, key)
            elif keydir.get(key) != old:
                # Written again since the merge started: the newer write wins, and
                # the copy just made is dead weight for the next compaction.
                if output >= 0:
                    self._mark_dead(pack_location(numbers[output], offset))
            elif output >= 0:
                keydir[key] = pack_location(numbers[output], offset)
            else:
                self._relocate_dropped(state, db, key, old)
        state.applied += count
        if state.applied < len(result.relocations):
            return
        if isinstance(result.relocations, RelocationFile):
            result.relocations.close()
        self._retire(state.inputs)
        self._compaction = None
        self.compaction_status = "ok"
        self.compaction_count += 1
        self._compaction_failures = 0
        self.base_size = self.disk_size()
        log.info("Background compaction finished in %.2f s (%d keys moved)",
                 time.time() - state.started, state.applied)

    def _relocate_dropped(self, state: CompactionState, db: int, key: bytes,
                          old: int) -> None:
        """The merge dropped ``key`` as expired, and the index still points at the
        record it saw. Usually the key has expired here too; but if its TTL was
        changed (or removed) after the merge looked, its value exists only in an
        input about to be deleted, so it is written again."""
        expire_at = self._expires[db].get(key, 0)
        if expire_at and expire_at <= state.now:
            self._index_remove(db, key)  # its records leave with the inputs
            return
        location = self._append(RecordType.PUT, db, key, self._read(old), expire_at)
        self._index_put(db, key, location, expire_at)

    def _collection_dropped(self, state: CompactionState, db: int, key: bytes) -> None:
        """The merge dropped the collection at ``key`` as expired (a collection it
        keeps needs no index change: the index holds the object, and the merge's
        snapshot replays to the same contents). If the key still holds a
        collection that has not expired (its TTL changed after the merge looked,
        or it is a new one), it is written again whole, so that nothing of it
        depends on the inputs about to be deleted."""
        value = self._keydirs[db].get(key)
        if value is None or type(value) is int:
            return
        expire_at = self._expires[db].get(key, 0)
        if expire_at and expire_at <= state.now:
            self._index_remove(db, key)  # its records leave with the inputs
            return
        self._write_snapshot(db, key, value, expire_at)

    def _map_output(self, major: int, minor: int) -> int:
        path = self.directory / segment_name(major, minor)
        view = map_file(path)
        return self._new_segment(major, minor, len(view) if view else 0, view).number

    def _compaction_failed(self, error: BaseException | None) -> None:
        self._compaction = None
        self.compaction_status = "err"
        self._compaction_failures += 1
        delay = min(2 ** self._compaction_failures, 300)
        self._compaction_retry_at = time.monotonic() + delay
        log.warning("Background compaction failed: %s; automatic retry in %d s", error, delay)

    def _retire(self, segments: list[Segment]) -> None:
        """Drop merged segments, oldest first: a crash part-way then leaves a suffix
        of them, and a suffix still holds every tombstone for what it keeps."""
        for segment in sorted(segments, key=_log_order):
            del self._segments[segment.number]
            view = self._views.pop(segment.number, None)
            self._dead_bytes.pop(segment.number, None)
            if view is not None:
                view.close()
            hint_path(segment.path).unlink(missing_ok=True)
            segment.path.unlink(missing_ok=True)
        fsync_directory(self.directory)

    # -------------------------------------------------------------- hint files

    def _hint_step(self) -> None:
        """Have the sealed segments that lack a hint file get one, by a child
        process (see :mod:`storage.hints`), one batch at a time and not while a
        compaction runs (it is about to replace them)."""
        if self._hinter is not None:
            if self._hinter.poll() is None:
                return
            self._hinter_done()
        if not self._unhinted or self._compaction is not None:
            return
        paths, self._unhinted = self._unhinted, []
        try:
            self._hinter = spawn("storage.hints", {"segments": [str(p) for p in paths]},
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        except OSError as exc:  # no hints: these segments are scanned at start-up
            log.warning("Cannot start a process to write hint files: %s", exc)
            return
        self._hinting = paths

    def _hinter_done(self, timeout: float | None = None) -> None:
        """Reap the hint writer (killing it after ``timeout`` seconds)."""
        process, self._hinter = self._hinter, None
        try:
            _, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
        if process.returncode:
            for path in self._hinting:  # a temp file it may have left
                hint_path(path).with_suffix(".hint.tmp").unlink(missing_ok=True)
            if process.returncode > 0:
                log.warning("Writing hint files failed (exit status %d): %s",
                            process.returncode, errors.decode(errors="replace")[-500:])

    def _stop_hinting(self) -> None:
        """Drop the hint files still to write, stopping the writer if it runs."""
        self._unhinted = []
        if self._hinter is not None:
            self._hinter.kill()
            self._hinter_done()

    def _auto_compaction_due(self) -> bool:
        if self._compaction is not None or time.monotonic() < self._compaction_retry_at:
            return False
        size = self.disk_size()
        if size < self.auto_compact_min_size:
            return False
        grown = (self.auto_compact_percentage > 0 and
                 size >= self.base_size * (100 + self.auto_compact_percentage) / 100)
        dead = self.dead_size() >= size * self.auto_compact_dead_ratio
        return grown or dead

    # ------------------------------------------------------------------ upkeep

    def tick(self) -> None:
        """Periodic upkeep (the server's cron, ~10 times a second): retry a failed
        write, active expiry, compaction fix-up and automatic compaction."""
        if self.write_error is not None:
            self.flush()
        self.expire_cycle()
        if self._compaction is not None:
            self.compaction_step()
        elif self._auto_compaction_due():
            self.start_compaction()
        self._hint_step()

    def info(self) -> dict:
        """Figures for INFO."""
        return {
            "disk_size": self.disk_size(),
            "dead_size": self.dead_size(),
            "base_size": self.base_size,
            "segments": len(self._segments),
            "compacting": self.compacting,
            "compaction_progress": self.compaction_progress,
            "compaction_status": self.compaction_status,
            "compaction_count": self.compaction_count,
            "last_fsync_time": self._syncer.last_sync_time,
            "pending_bytes": len(self._pending),
            "write_error": str(self.last_error) if self.last_error else None,
            **self.stats,
        }

    def segment_stats(self) -> list[dict]:
        return [{"name": s.path.name, "size": s.size,
                 "dead": self._dead_bytes.get(s.number, 0)}
                for s in self._segments.values()]

    def sync(self) -> None:
        """Flush and fsync now, on the calling thread (SAVE, shutdown, tests).

        Segments sealed since the last call are synced too: their fds belong to
        the fsync thread (closed at once under "no"), so they are reopened by path.
        """
        self.flush()
        os.fsync(self._active_fd)
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

    def close(self) -> None:
        """Flush, fsync and release the directory. Waits for a running merge, and
        for the hint files of sealed segments that lack one."""
        if self._closed:
            return
        if self._compaction is not None:
            self._compaction.thread.join()
            while self._compaction is not None:
                self.compaction_step(budget=1 << 30)
        self.flush()
        if self._pending:
            log.warning("Closing with %d bytes of changes the disk refused; they were "
                        "never acknowledged and are dropped", len(self._pending))
        self._closed = True
        self._syncer.stop()
        # Every sealed segment gets its hint now, so the next start scans none of
        # them; those not yet started are hinted here (no clients to keep waiting).
        if self._hinter is not None:
            self._hinter_done(timeout=HINTER_CLOSE_TIMEOUT)
        for path in self._unhinted:
            with suppress(OSError):  # a hint only saves time: the segment is scanned
                write_segment_hint(path)
        self._unhinted = []
        fd = self._active_fd
        try:
            os.ftruncate(fd, self._active.size)
            os.fsync(fd)
        finally:
            os.close(fd)
        if self._active.size == 0:
            self._retire([self._active])
        self._close_views()
        os.close(self._lock_fd)

    def _close_views(self) -> None:
        for view in self._views.values():
            if view is not None:
                view.close()
        self._views.clear()


def _last_nonzero(view: mmap.mmap, start: int) -> int:
    """One past the last non-zero byte of ``view`` at or after ``start`` (``start``
    if none), read backwards in chunks so a mostly empty 64 MB tail costs little."""
    end = len(view)
    chunk = 1 << 20
    while end > start:
        begin = max(start, end - chunk)
        rest = view[begin:end].rstrip(b"\0")
        if rest:
            return begin + len(rest)
        end = begin
    return start
