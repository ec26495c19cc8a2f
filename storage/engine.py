"""The storage engine: a Bitcask-style log with an in-memory index.

One thread (the server's event loop) owns an :class:`Engine` and makes every
change through it. :class:`Engine` is the facade the server uses; the work is
done by its parts, each in its own module (as Basho's bitcask keeps fileops,
merge and locks apart):

- :mod:`storage.keyspace`: the index, TTLs, the expiry heap, SCAN's cursors (no I/O);
- :mod:`storage.log`: segments, the write buffer and batches, append, flush,
  rotation, reads' segment map, dead bytes, the directory's lock (:mod:`storage.lock`);
- :mod:`storage.recovery`: rebuilding the keyspace at open, via :mod:`storage.replay`
  (the one place a record's meaning is written, shared with compaction);
- :mod:`storage.compaction`: the merge and its fix-up of the live index;
- :mod:`storage.hinter`: scheduling the child that writes hint files.
- :mod:`storage.access`, :mod:`storage.datasize`, :mod:`storage.eviction`: each key's
  LRU/LFU data, the data set's size and the choice of keys to evict, for maxmemory.

A change is appended to the log's buffer and applied to the keyspace at once;
:meth:`Engine.flush`, called once per event-loop iteration, writes the buffer
with one ``pwrite``. Each change is then reported to :attr:`Engine.changes`
(see :mod:`storage.events`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from storage import datatypes, extents, record, recovery
from storage.compaction import RELOCATIONS_PER_STEP, Compactor
from storage.datasize import DataSize
from storage.datatypes import WrongType
from storage.errors import CorruptValue, DirectoryLocked, StorageError
from storage.events import OP_EVENTS, ChangeListener, op_changed
from storage.eviction import Evictor
from storage.hinter import HintWriter
from storage.keyspace import Keyspace
from storage.log import FSYNC_POLICIES, Log
from storage.record import (
    CHECKED_LENGTHS,
    HEADER_SIZE,
    LENGTHS,
    LENGTHS_OFFSET,
    PART_MASK,
    RecordType,
)
from storage.segment import ACCESS_FIELD, NUMBER_SHIFT, OFFSET_MASK, WITHOUT_ACCESS, location_of

__all__ = ["CorruptValue", "DirectoryLocked", "Engine", "StorageError",
           "WrongType", "now_ms"]

logger = logging.getLogger("caskd.storage")

DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024
MAX_SEGMENT_SIZE = 1 << 31  # + one 512 MB value stays below the 4 GiB an offset can address

# Bound once: get() is the hottest path.
_unpack_checked_lengths = CHECKED_LENGTHS.unpack_from
_crc32 = zlib.crc32


# Engine.expiry's choices.
DELETE_EXPIRED, HIDE_EXPIRED, KEEP_EXPIRED = "delete", "hide", "keep"


def now_ms() -> int:
    return int(time.time() * 1000)


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
        #: Told of every change (see :mod:`storage.events`); None: nobody listens.
        self.changes: ChangeListener | None = None
        #: What a key past its TTL is (a replica's choice, as Redis's expireIfNeeded):
        #: DELETE_EXPIRED deletes it (a master); HIDE_EXPIRED reads as gone but waits
        #: for the master's DEL; KEEP_EXPIRED is still there (the master's own commands).
        self.expiry = DELETE_EXPIRED
        # Told how long each round of active expiry took (event name, seconds): the
        # server's latency monitor ("expire-cycle").
        self.on_latency: Callable[[str, float], None] | None = None
        self.stats = {"expired_keys": 0, "evicted_keys": 0, "torn_bytes_dropped": 0,
                      "damaged_records": 0, "loaded_keys": 0, "load_seconds": 0.0}
        self._closed = False

        self._hints = HintWriter()
        self._log = Log(self.directory, segment_size, self._hints.sealed)
        self._keyspace = Keyspace(databases, self._log.superseded)
        try:
            started = time.monotonic()
            recovery.load(self._log, self._keyspace, self._hints, self.stats, now_ms)
            self.stats["load_seconds"] = time.monotonic() - started
            self.stats["loaded_keys"] = sum(map(len, self._keyspace.keydirs))
            self._log.start(fsync, on_durable)
        except BaseException:
            self._log.abandon()
            raise
        self._compactor = Compactor(self._log, self._keyspace, self._hints)
        #: Per key, when it was last used or how often (storage.access): LRU/LFU data.
        self.access = self._keyspace.access
        #: The data set's size as maxmemory counts it (storage.datasize).
        self.data_size = DataSize(self._log, self._keyspace)
        #: Which key to evict next, by the maxmemory policy (storage.eviction).
        self.evictor = Evictor(self._keyspace)

    # ------------------------------------------------------------------ reads

    def get(self, db: int, key: bytes) -> bytes | None:
        """The value of ``key``, or None if it does not exist (or has expired).
        Raises WrongType if it holds a collection."""
        keyspace = self._keyspace
        keydir = keyspace.keydirs[db]
        location = keydir.get(key)
        if location is None:
            return None
        if keyspace.expires[db] and self._expire_if_due(db, key):
            return None
        # Log.read, inlined with unpack_location: this is the hottest path of the server.
        try:
            number = location >> NUMBER_SHIFT
        except TypeError:  # not a location: costs nothing otherwise
            keyspace.access.touch(db, key)
            if type(location) is extents.Chain:  # a large string with patches
                return self._log.read(location)
            raise WrongType from None
        access = keyspace.access  # Access.touch, inlined for LRU: every GET passes here
        clock_field = access.clock_field
        if not clock_field:  # an LFU policy
            access.touch(db, key)
        elif location & ACCESS_FIELD != clock_field:  # at most once a second a key
            keydir[key] = location & WITHOUT_ACCESS | clock_field
        offset = location & OFFSET_MASK
        log = self._log
        active = log.active
        if number == active.number and offset >= active.size:
            return record.value_at(log.pending, offset - active.size)
        # record.value_at, inlined (and the mmap slice is already a bytes object).
        view = log.views[number]
        crc, key_len, value_len = _unpack_checked_lengths(view, offset)
        start = offset + HEADER_SIZE + key_len
        end = start + value_len
        if crc and (actual := _crc32(view[offset + 4:end])) != crc and actual ^ PART_MASK != crc:
            raise log.corrupt_value(location)
        return view[start:end]

    def exists(self, db: int, key: bytes) -> bool:
        if key not in self._keyspace.keydirs[db]:
            return False
        return not (self._keyspace.expires[db] and self._expire_if_due(db, key))

    def value_length(self, db: int, key: bytes) -> int | None:
        """The length of the value (STRLEN) without reading it."""
        keyspace = self._keyspace
        location = keyspace.keydirs[db].get(key)  # exists(), inlined: INCR passes here
        if location is None or (keyspace.expires[db] and self._expire_if_due(db, key)):
            return None
        if type(location) is extents.Chain:
            return location.length
        if type(location) is not int or location_of(location) in keyspace.damaged:
            raise self.wrong_type(location)
        buf, offset = self._log.record_buffer(location)
        return LENGTHS.unpack_from(buf, offset + LENGTHS_OFFSET)[1]

    def get_range(self, db: int, key: bytes, start: int, end: int) -> bytes | None:
        """Bytes ``start`` to ``end`` (exclusive; cut at the value's end) of the
        string at ``key``, None if there is none. A chain of extents (see
        :mod:`storage.extents`), or a large value, reads only what the range needs."""
        keyspace = self._keyspace
        value = keyspace.keydirs[db].get(key)
        if value is None or not self.exists(db, key):
            return None
        if type(value) is int and location_of(value) not in keyspace.damaged:
            length = self.value_length(db, key)
            if length >= extents.MIN_LENGTH:  # a chain of no patches from now on: its
                value = extents.Chain(value, length)  # base is checked once, then sliced
                keyspace.set_entry(db, key, value)
        if type(value) is not extents.Chain:  # small, damaged, or a collection (WrongType)
            return self.get(db, key)[start:end]
        end = min(end, value.length)
        if start >= end:
            return b""
        return extents.read_range(value, start, end, self._log.read, self._log.record_buffer)

    def get_object(self, db: int, key: bytes) -> object:
        """What ``key`` holds: its collection object (dict, deque, set or ZSet, to
        read, never to change: see :meth:`apply`), an int for a string (read it
        with :meth:`get`), or None if there is no such key (or it has expired)."""
        value = self._keyspace.keydirs[db].get(key)
        if value is None or (self._keyspace.expires[db] and self._expire_if_due(db, key)):
            return None
        self.access.touch(db, key)
        return value.newest if type(value) is extents.Chain else value

    def wrong_type(self, value: object) -> WrongType | CorruptValue:
        """What to raise for ``value`` (what a key holds) met by a command of
        another type: WrongType, or the checksum error of a key whose record
        was damaged on disk (see storage.recovery), whatever its type was."""
        if type(value) is int and location_of(value) in self._keyspace.damaged:
            return self._log.corrupt_value(value)
        return WrongType()

    def get_expire(self, db: int, key: bytes) -> int | None:
        """The absolute expiry time in ms; 0 if the key has none; None if no key."""
        if not self.exists(db, key):
            return None
        return self._keyspace.expires[db].get(key, 0)

    def dbsize(self, db: int) -> int:
        return len(self._keyspace.keydirs[db])

    def expires_count(self, db: int) -> int:
        return len(self._keyspace.expires[db])

    def table_sizes(self, db: int) -> tuple[int, int]:
        """Bytes of ``db``'s index dict and TTL dict themselves (MEMORY STATS)."""
        return sys.getsizeof(self._keyspace.keydirs[db]), sys.getsizeof(self._keyspace.expires[db])

    def keys(self, db: int) -> Iterator[bytes]:
        """Every live key of ``db`` (a snapshot: safe to change the db meanwhile)."""
        return self._keyspace.keys(db, self.exists)

    def scan(self, db: int, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One SCAN step: (next cursor, keys); see :meth:`Keyspace.scan`."""
        return self._keyspace.scan(db, cursor, count, self.exists)

    def random_key(self, db: int) -> bytes | None:
        """A random live key (RANDOMKEY), None if the db has none."""
        return self._keyspace.random_key(db, self.exists)

    # ----------------------------------------------------------------- writes
    #
    # Each change is appended to the log, applied to the keyspace, then reported
    # to self.changes (``event`` overrides the default event name).

    def put(self, db: int, key: bytes, value: bytes, expire_at: int = 0, *,
            keep_ttl: bool = False, only_if: str | None = None,
            event: str | None = None) -> bool:
        """Set ``key``. ``expire_at`` is absolute ms (0: no TTL); ``keep_ttl`` keeps
        the current TTL; ``only_if`` is "absent" (NX) or "present" (XX).
        Returns False, changing nothing, when the condition does not hold."""
        if only_if is not None and self.exists(db, key) != (only_if == "present"):
            return False
        if keep_ttl:  # an expired key has no TTL left to keep
            expire_at = self._keyspace.expires[db].get(key, 0) if self.exists(db, key) else 0
        changes = self.changes
        created = changes is not None and not self.exists(db, key)
        location = self._log.append(RecordType.PUT, db, key, value, expire_at)
        keyspace = self._keyspace
        clock_field = keyspace.access.clock_field  # Access.touch, inlined for LRU
        if clock_field:  # (every SET passes here)
            location |= clock_field
        else:  # LFU: the key's field, then put() moves it into the new location
            keyspace.access.touch(db, key, new=key not in keyspace.keydirs[db])
        keyspace.put(db, key, location, expire_at)
        if changes is not None:
            if created:
                changes.changed(db, key, "new")
            changes.changed(db, key, "set" if event is None else event)
            if expire_at and not keep_ttl and event is None:  # SET ... EX, SETEX
                changes.changed(db, key, "expire")
        return True

    def write_at(self, db: int, key: bytes, offset: int, data: bytes, *, event: str) -> int:
        """Write ``data`` at ``offset`` of the string at ``key``, zero-filling any
        gap, creating the key if there is none; its TTL stays (SETRANGE, APPEND,
        SETBIT, BITFIELD). Returns the value's new length. A large value gets a
        patch record, costing the change, not the value (see :mod:`storage.extents`).
        Raises WrongType if the key holds a collection."""
        if not self.exists(db, key):
            self.put(db, key, bytes(offset) + data, event=event)
            return offset + len(data)
        current = self._keyspace.keydirs[db][key]
        length = self.value_length(db, key)  # raises for a collection or damage
        new_length = max(length, offset + len(data))
        if extents.needs_rewrite(current, length, len(data)):
            value = bytearray(self.get(db, key))
            extents.write_into(value, offset, data)
            self.put(db, key, bytes(value), keep_ttl=True, event=event)
            return new_length
        location = self._log.append(RecordType.PATCH, db, key,
                                    extents.encode_patch(offset, new_length, data))
        self._keyspace.set_entry(db, key, extents.extend(current, location, offset,
                                                         len(data), new_length))
        self.data_size.grown(new_length - length)
        self._report(db, key, event)
        return new_length

    def delete(self, db: int, key: bytes, *, event: str | None = None) -> bool:
        """Remove ``key``; False if it did not exist."""
        if not self.exists(db, key):
            return False
        self._log.append(RecordType.DELETE, db, key)
        self._keyspace.remove(db, key)
        self._report(db, key, event or "del")
        return True

    def set_expire(self, db: int, key: bytes, expire_at: int, *,
                   event: str | None = None) -> bool:
        """Set the absolute expiry (ms) of an existing key; 0 removes the TTL.
        A time in the past deletes the key (as Redis does, reporting "del").
        False if no key. Reports "expire", or "persist" when a TTL is removed
        (``event`` overrides either); removing no TTL reports nothing."""
        if not self.exists(db, key):
            return False
        if expire_at and expire_at <= now_ms():
            self._log.append(RecordType.DELETE, db, key)
            self._keyspace.remove(db, key)
            self._report(db, key, "del")
            return True
        had_ttl = key in self._keyspace.expires[db]
        self._log.append(RecordType.EXPIRE, db, key, b"", expire_at)
        self._keyspace.set_expire(db, key, expire_at)
        if expire_at or had_ttl:
            self._report(db, key, event or ("expire" if expire_at else "persist"))
        return True

    def apply(self, db: int, key: bytes, op: datatypes.Op, args: list[bytes], *,
              event: str | None = None):
        """Apply a collection operation to ``key`` (see :mod:`storage.datatypes`),
        creating the collection if the key does not exist, and log it; returns the
        operation's result. A collection left empty is deleted, as in Redis (then
        "del" is reported after the op's event). Raises WrongType if the key
        holds another type."""
        keyspace = self._keyspace
        current = keyspace.keydirs[db].get(key)
        if current is not None and keyspace.expires[db] and self._expire_if_due(db, key):
            current = None
        if current is not None and type(current) is not datatypes.KIND[op]:
            raise self.wrong_type(current)
        self._log.append(RecordType.OP, db, key, datatypes.encode(op, args))
        members = len(current) if current is not None else 0
        value, result = datatypes.apply(current, op, args)
        # Asked once: a collection's truth is its length (a Python __len__ for a ZSet),
        # but for a stream, which stays a key when emptied.
        kept = bool(value)
        if kept:
            self.access.touch(db, key, new=current is None)
        if current is not None:  # changed in place: maxmemory's count follows
            grown = len(current) - members
            if grown:
                self.data_size.resized(grown)
        if not kept:
            if current is not None:
                keyspace.remove(db, key)
        elif current is None:  # a new key: no TTL (an expired one's is dropped)
            keyspace.put(db, key, value, 0)
        changes = self.changes
        if changes is not None and op_changed(op, current, value, result):
            if current is None and kept:
                changes.changed(db, key, "new")
            name = OP_EVENTS[op] if event is None else event
            if name is not None:  # None: a change Redis neither announces nor signals
                changes.changed(db, key, name)
            if not kept:
                changes.changed(db, key, "del")
        return result

    def put_object(self, db: int, key: bytes, value: object, expire_at: int = 0, *,
                   event: str | None = None) -> None:
        """Set ``key`` to a whole collection (the STORE commands, COPY), replacing
        whatever it held; the engine owns ``value`` from now on. An empty
        collection deletes the key instead (reporting "del" if it existed)."""
        if not value:
            self.delete(db, key)
            return
        created = self.changes is not None and not self.exists(db, key)
        self._log.append_snapshot(db, key, value, expire_at)
        self.access.touch(db, key, new=key not in self._keyspace.keydirs[db])
        self._keyspace.put(db, key, value, expire_at)
        if created:
            self._report(db, key, "new")
        self._report(db, key, event or "set")

    def rename(self, db: int, key: bytes, target_db: int, target: bytes, *,
               events: tuple[str, str] = ("rename_from", "rename_to")) -> bool:
        """Move ``key``'s value and TTL to ``target`` in ``target_db``, replacing what
        it held (RENAME, MOVE); False if there is no such key. A collection moves
        in O(1): one record names the move. Reports ``events``: "rename_from" on
        ``key``, then "rename_to" on ``target`` (nothing for a key renamed to itself)."""
        value = self.get_object(db, key)
        if value is None:
            return False
        if (db, key) == (target_db, target):
            return True
        log, keyspace = self._log, self._keyspace
        expire_at = keyspace.expires[db].get(key, 0)
        if type(value) is int:  # a string: its value is written under the new name
            keyspace.access.move(db, key, target_db, target)
            with log.batch():
                location = log.append(RecordType.PUT, target_db, target,
                                      log.read(keyspace.keydirs[db][key]), expire_at)
                keyspace.put(target_db, target, location, expire_at)
                log.append(RecordType.DELETE, db, key)
                keyspace.remove(db, key)
        else:
            log.append(RecordType.RENAME, db, key, bytes((target_db,)) + target)
            keyspace.rename(db, key, target_db, target)
        self._report(target_db, target, "new")  # Redis deletes the target, then adds it
        self._report(db, key, events[0])
        self._report(target_db, target, events[1])
        return True

    def copy(self, db: int, key: bytes, target_db: int, target: bytes) -> bool:
        """Copy ``key``'s value and TTL to ``target`` in ``target_db``, replacing what
        it held (COPY); False if there is no such key. Reports "copy_to"."""
        value = self.get_object(db, key)
        if value is None:
            return False
        expire_at = self._keyspace.expires[db].get(key, 0)
        if type(value) is int:
            self.put(target_db, target, self._log.read(self._keyspace.keydirs[db][key]),
                     expire_at, event="copy_to")
        else:
            self.put_object(target_db, target, datatypes.copy(value), expire_at, event="copy_to")
        return True

    def evict(self, db: int, key: bytes) -> None:
        """Delete ``key`` to free memory (maxmemory): logged as a delete, reported as
        "evicted", counted in ``stats["evicted_keys"]``."""
        self._log.append(RecordType.DELETE, db, key)
        self._keyspace.remove(db, key)
        self.evictor.evicted(db)
        self.stats["evicted_keys"] += 1
        self._report(db, key, "evicted")

    def flushdb(self, db: int) -> None:
        self._log.append(RecordType.FLUSHDB, db, b"")
        self._keyspace.flushdb(db)
        if self.changes is not None:
            self.changes.flushed((db,))

    def flushall(self) -> None:
        self._log.append(RecordType.FLUSHALL, 0, b"")
        if self._compactor.state is not None:
            # A compaction's fix-up counts the copies it skips as dead: count
            # each key's record, lest a record be counted twice.
            for db in range(self.databases):
                self._keyspace.flushdb(db)
        else:  # every record written so far is dead: no need to look up each one's
            self._keyspace.clear()
            self._log.superseded_all(*self._log.end_location())
        if self.changes is not None:
            self.changes.flushed(None)

    def swapdb(self, db: int, other: int) -> None:
        self._log.append(RecordType.SWAPDB, db, str(other).encode())
        self._keyspace.swapdb(db, other)
        self._compactor.swapped(db, other)
        if self.changes is not None:
            self.changes.flushed((db, other))

    # ------------------------------------------------------- function libraries

    @property
    def libraries(self) -> dict[bytes, bytes]:
        """Every stored function library's code, by name (read-only: change it with
        the methods below). The engine stores bytes; what they mean is the server's."""
        return self._keyspace.libraries

    def put_library(self, name: bytes, code: bytes) -> None:
        """Store (or replace) library ``name``; both must be non-empty."""
        if not name or not code:
            raise ValueError("a library needs a name and code")
        self._log.append(RecordType.LIBRARY, 0, name, code)
        self._keyspace.set_library(name, code)

    def delete_library(self, name: bytes) -> None:
        self._log.append(RecordType.LIBRARY, 0, name)
        self._keyspace.set_library(name, b"")

    def replace_libraries(self, libraries: dict[bytes, bytes]) -> None:
        """Drop every library and store ``libraries`` instead, as one atomic unit."""
        with self._log.batch():
            self._log.append(RecordType.LIBRARY, 0, b"")
            self._keyspace.set_library(b"", b"")
            for name, code in libraries.items():
                self.put_library(name, code)

    # ------------------------------------------------------------- metadata

    @property
    def metadata(self) -> dict[bytes, bytes]:
        """The server's own state stored with the data, by name (read-only): written
        in the log like any change, so it is exactly as durable as the data beside it."""
        return self._keyspace.metadata

    def put_metadata(self, name: bytes, value: bytes) -> None:
        """Store ``value`` under ``name`` (empty: delete it)."""
        self._log.append(RecordType.METADATA, 0, name, value)
        self._keyspace.set_metadata(name, value)

    def batch(self):
        """A context manager: every change inside is one atomic unit in the log (nests)."""
        return self._log.batch()

    def _report(self, db: int, key: bytes, event: str) -> None:
        if self.changes is not None:
            self.changes.changed(db, key, event)

    # ----------------------------------------------------------------- expiry

    def _expire_if_due(self, db: int, key: bytes) -> bool:
        """True if ``key`` has expired; it is then deleted (and the delete logged)."""
        expire_at = self._keyspace.expires[db].get(key)
        if not expire_at or expire_at > now_ms():
            return False
        if self.expiry != DELETE_EXPIRED:
            return self.expiry == HIDE_EXPIRED
        if self.writable:  # while the disk refuses writes the key just reads as gone
            self._log.append(RecordType.DELETE, db, key)
            self._keyspace.remove(db, key)
            self.stats["expired_keys"] += 1
            self._report(db, key, "expired")
        return True

    def expire_cycle(self, max_keys: int = 200) -> int:
        """Active expiry: delete up to ``max_keys`` keys whose time has come."""
        keyspace = self._keyspace
        removed = 0
        now = now_ms()
        while removed < max_keys and self.writable and self.expiry == DELETE_EXPIRED:
            due = keyspace.pop_due(now)
            if due is None:
                break
            self._expire_if_due(*due)
            removed += 1
        keyspace.trim_expiry_heap()
        return removed

    # ------------------------------------------------------------- the log

    def flush(self) -> int:
        """Write the buffered changes with one pwrite; returns :attr:`position`.

        On a disk error the changes stay buffered (retried by the next flush and
        by :meth:`tick`), the file is cut back to its last good record, and
        :attr:`write_error` is set until a flush succeeds.
        """
        return self._log.flush()

    @property
    def position(self) -> int:
        """Log bytes flushed since open: what ``on_durable`` reports."""
        return self._log.position

    @property
    def pending_bytes(self) -> int:
        """Changes buffered but not yet written (until the next flush succeeds)."""
        return len(self._log.pending)

    @property
    def write_error(self) -> OSError | None:
        return self._log.write_error

    @write_error.setter
    def write_error(self, error: OSError | None) -> None:
        self._log.write_error = error

    @property
    def last_write_ok(self) -> bool:
        return self._log.last_write_ok

    def set_fsync_policy(self, policy: str) -> None:
        """Switch appendfsync at run time (CONFIG SET): a new fsync thread per policy."""
        self._log.set_fsync_policy(policy)
        self.fsync_policy = policy

    @property
    def writable(self) -> bool:
        """False while the disk refuses writes or fsyncs (server: -MISCONF)."""
        return self._log.writable

    @property
    def last_error(self) -> OSError | None:
        return self._log.last_error

    @property
    def durable_position(self) -> int:
        return self._log.syncer.synced_position

    def released_position(self) -> int:
        """Where the writes that may be acknowledged end: the durable ones under
        ``always``, the flushed ones otherwise (the server's replies wait for it)."""
        log = self._log
        return log.syncer.synced_position if self.fsync_policy == "always" else log.position

    def settled(self) -> bool:
        """Nothing written waits to be released: no change is buffered and every byte
        flushed is released, so a reply sent now reveals no change a crash could lose
        (a read's case)."""
        return not self._log.pending and self._log.position <= self.released_position()

    def disk_size(self) -> int:
        """Bytes of records in the log (the active segment's preallocation excluded)."""
        return self._log.disk_size()

    def dead_size(self) -> int:
        return self._log.dead_size()

    # --------------------------------------------------------------- compaction

    @property
    def compacting(self) -> bool:
        return self._compactor.state is not None

    @property
    def compaction_progress(self) -> float:
        return self._compactor.progress

    @property
    def compaction_status(self) -> str:
        """"ok" or "err": how the last compaction ended."""
        return self._compactor.status

    @property
    def compaction_count(self) -> int:
        return self._compactor.count

    @property
    def base_size(self) -> int:
        """The log's size after the last compaction (or at open)."""
        return self._compactor.base_size

    @property
    def compaction_paused(self) -> str | None:
        """Why compaction waits, if it does (known damage, not yet repaired or
        accepted): then :meth:`start_compaction` starts nothing."""
        return self._compactor.paused

    def start_compaction(self) -> bool:
        """Start merging the sealed segments in the background; False if one runs.
        (While :attr:`compaction_paused`, nothing starts.)"""
        return self._compactor.start(now_ms(), self.merge_in_child)

    def compaction_step(self, budget: int = RELOCATIONS_PER_STEP) -> None:
        """Apply up to ``budget`` index moves of a finished merge; retire its inputs."""
        self._compactor.step(budget)

    # ------------------------------------------------------------------ upkeep

    def tick(self) -> None:
        """Periodic upkeep (the server's cron, ~10 times a second): retry a failed
        write, active expiry, compaction fix-up and automatic compaction."""
        if self._log.write_error is not None:
            self.flush()
        self.access.tick()
        started = time.perf_counter()
        self.expire_cycle()
        if self.on_latency is not None:
            self.on_latency("expire-cycle", time.perf_counter() - started)
        compactor = self._compactor
        if compactor.state is not None:
            compactor.step()
        elif compactor.due(self.auto_compact_percentage, self.auto_compact_min_size,
                           self.auto_compact_dead_ratio):
            self.start_compaction()
        self._hints.step(compacting=compactor.state is not None)

    def info(self) -> dict:
        """Figures for INFO."""
        return {
            "disk_size": self.disk_size(),
            "dead_size": self.dead_size(),
            "base_size": self.base_size,
            "segments": len(self._log.segments),
            "compacting": self.compacting,
            "compaction_progress": self.compaction_progress,
            "compaction_status": self.compaction_status,
            "compaction_count": self.compaction_count,
            "compaction_paused": self.compaction_paused is not None,
            "last_fsync_time": self._log.syncer.last_sync_time,
            "pending_bytes": self.pending_bytes,
            "write_error": str(self.last_error) if self.last_error else None,
            "fsync_counts": list(self._log.syncer.fsync_counts),  # per FSYNC_BUCKETS
            "fsync_seconds": self._log.syncer.fsync_seconds,
            **self.stats,
            # Found at start-up, and by reads since (of records start-up did not mark).
            "damaged_records": self.stats["damaged_records"]
            + len(self._log.damaged - self._keyspace.damaged),
        }

    def segment_stats(self) -> list[dict]:
        dead = self._log.dead_bytes
        return [{"name": s.path.name, "size": s.size, "dead": dead.get(s.number, 0)}
                for s in self._log.segments.values()]

    def sync(self) -> None:
        """Flush and fsync now, on the calling thread (SAVE, shutdown, tests)."""
        self._log.sync()

    def close(self) -> None:
        """Flush, fsync and release the directory. Waits for a running merge, and
        for the hint files of sealed segments that lack one."""
        if self._closed:
            return
        self._compactor.finish()
        self.flush()
        if self._log.pending:
            logger.warning("Closing with %d bytes of changes the disk refused; they were "
                           "never acknowledged and are dropped", len(self._log.pending))
        self._closed = True
        self._log.stop_syncer()
        self._hints.finish()
        self._log.close()
