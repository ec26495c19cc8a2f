"""The index (keydir) of every database, their TTLs, the expiry heap and SCAN's
cursors: in-memory state only, no I/O.

Per database, ``keydirs[db]`` maps key -> a location (one packed int, see
:mod:`storage.segment`, which also holds the key's access data: see
:mod:`storage.access`) for a string, whose value stays on disk, or the
collection object itself for a hash, list, set or sorted set (see
:mod:`storage.datatypes`). So ``type(value) is int`` means a string.
``expires[db]`` maps the keys that have a TTL to it (absolute ms).
``libraries`` maps a function library's name to its code (no db: FLUSHALL keeps
them, as Redis's does); ``metadata`` the server's own named state kept with the
data (a replica's replication offset), which FLUSHALL keeps too.

Whatever an index change replaces is handed to ``superseded`` (the log counts
its dead bytes for automatic compaction). The live engine, recovery and
compaction's merge all change a keyspace through the same methods, most via
:mod:`storage.replay`.
"""

from __future__ import annotations

import heapq
import random
from collections import OrderedDict
from collections.abc import Callable, Iterator
from itertools import islice

from storage.access import Access, field_of
from storage.segment import ACCESS_FIELD, ACCESS_SHIFT

SCAN_SNAPSHOTS = 32  # key lists kept for running scans (each holds a db's keys)
SCAN_CURSORS = 4096  # scans whose start is remembered, to resume without a list
SCAN_ID_BITS = 24
SCAN_ID_MASK = (1 << SCAN_ID_BITS) - 1
RANDOM_KEY_TRIES = 100

#: Whether a key is live (not expired): the engine's check, which deletes a key
#: whose time has passed.
Live = Callable[[int, bytes], bool]


def _ignore(value: object) -> None:
    pass


class Keyspace:
    """Every database's index and TTLs. While :attr:`loading`, the expiry heap is
    not kept up to date: it is built once, at the end of a load."""

    def __init__(self, databases: int,
                 superseded: Callable[[object], None] = _ignore) -> None:
        self.databases = databases
        self.superseded = superseded
        self.keydirs: list[dict[bytes, object]] = [{} for _ in range(databases)]
        self.expires: list[dict[bytes, int]] = [{} for _ in range(databases)]
        self.expiry_heap: list[tuple[int, int, bytes]] = []
        self.loading = False
        #: When each key was last used (LRU/LFU): kept in the index's ints, mostly.
        self.access = Access(databases, keydirs=self.keydirs)
        #: Told of every key's change while maxmemory's count of the data set runs
        #: (a storage.datasize.DataSize); None: nobody counts.
        self.sized = None
        #: Locations of damaged records that keys point at (see storage.recovery):
        #: such a key reads as a checksum error, whatever command reads it.
        self.damaged: set[int] = set()
        self.libraries: dict[bytes, bytes] = {}
        self.metadata: dict[bytes, bytes] = {}
        self.removals = [0] * databases  # keys removed per db: lets a scan resume safely
        self._scan_lists: OrderedDict[int, list[bytes]] = OrderedDict()
        self._scan_meta: OrderedDict[int, tuple[int, int]] = OrderedDict()  # id -> (db, removals)
        self._next_snapshot = 1

    # ------------------------------------------------------------------ changes

    def put(self, db: int, key: bytes, value: object, expire_at: int) -> None:
        """``key`` := ``value``. A location without access data (fresh from the
        log) takes the key's: see :meth:`_with_access`."""
        keydir = self.keydirs[db]
        old = keydir.get(key)
        keydir[key] = self._with_access(db, key, old, value)
        if old is not None:
            self.superseded(old)
        if self.sized is not None:
            self.sized.changed(key, old, value)
        if expire_at:
            self.set_expire(db, key, expire_at)
        elif self.expires[db]:
            self.expires[db].pop(key, None)

    def put_run(self, db: int, keys: list[bytes], locations: list[int],
                expires: dict[bytes, int]) -> None:
        """:meth:`put` of distinct ``keys`` at once (loading a hint file);
        ``expires`` holds the TTLs of those that have one."""
        keydir, db_expires = self.keydirs[db], self.expires[db]
        # One pass adds the new keys and finds the others' old entries (setdefault
        # returns the very object it stored for a new key).
        found = list(map(keydir.setdefault, keys, locations))
        if found != locations:
            for key, old, location in zip(keys, found, locations, strict=True):
                if old is not location:
                    keydir[key] = location
                    self.superseded(old)
        if db_expires:  # a key written again without a TTL loses its old one
            for key in filter(db_expires.__contains__, keys):
                del db_expires[key]
        db_expires.update(expires)

    def set_entry(self, db: int, key: bytes, value: object) -> None:
        """Change ``key``'s index entry in place, superseding nothing: compaction
        moved its record, or a string became (or stopped being) a chain of extents.
        Its TTL and access data stay."""
        keydir = self.keydirs[db]
        keydir[key] = self._with_access(db, key, keydir[key], value)

    def _with_access(self, db: int, key: bytes, old: object, value: object) -> object:
        """``value`` as ``key``'s new entry, replacing ``old`` (None: no key): the
        key's access data moves into it if it is a location without any, or out
        of ``old`` into ``access.others`` if it is not a location."""
        if type(value) is int:
            if type(old) is int:  # (most writes: no look at access.others)
                return value if value & ACCESS_FIELD else value | old & ACCESS_FIELD
            others = self.access.others[db]
            if others:
                field = others.pop(key, 0)
                if not value & ACCESS_FIELD:
                    return value | field << ACCESS_SHIFT
        elif type(old) is int and old & ACCESS_FIELD:
            self.access.others[db][key] = field_of(old)
        return value

    def remove(self, db: int, key: bytes) -> bool:
        """Remove ``key``; False if it was not there."""
        old = self.keydirs[db].pop(key, None)
        if old is None:
            return False
        self.superseded(old)
        if self.sized is not None:
            self.sized.changed(key, old, None)
        self.expires[db].pop(key, None)
        self.access.forget(db, key)
        self.removals[db] += 1
        return True

    def rename(self, db: int, key: bytes, target_db: int, target: bytes) -> None:
        """Move ``key``'s value, TTL and access data to ``target`` (which must
        differ), replacing it."""
        self.access.move(db, key, target_db, target)
        expire_at = self.expires[db].pop(key, 0)
        value = self.keydirs[db].pop(key)
        self.removals[db] += 1
        if self.sized is not None:
            self.sized.changed(key, value, None)
        self.put(target_db, target, value, expire_at)

    def set_expire(self, db: int, key: bytes, expire_at: int) -> None:
        """Set (or, with 0, remove) the TTL of a key that exists."""
        if expire_at:
            self.expires[db][key] = expire_at
            if not self.loading:
                heapq.heappush(self.expiry_heap, (expire_at, db, key))
        else:
            self.expires[db].pop(key, None)

    def set_library(self, name: bytes, code: bytes) -> None:
        """A LIBRARY record's change: ``name`` := ``code``; empty code deletes the
        name, an empty name drops every library."""
        if not name:
            self.libraries.clear()
        elif code:
            self.libraries[name] = code
        else:
            self.libraries.pop(name, None)

    def set_metadata(self, name: bytes, value: bytes) -> None:
        """A METADATA record's change: ``name`` := ``value``; empty deletes it."""
        if value:
            self.metadata[name] = value
        else:
            self.metadata.pop(name, None)

    def flushdb(self, db: int) -> None:
        for key, value in self.keydirs[db].items():
            self.superseded(value)
            if self.sized is not None:
                self.sized.changed(key, value, None)
        self.removals[db] += len(self.keydirs[db])
        self.keydirs[db] = {}
        self.expires[db] = {}
        self.access.flushdb(db)

    def clear(self) -> None:
        """Empty every db without handing each value to ``superseded``: the
        caller accounts for everything at once (FLUSHALL)."""
        if self.sized is not None:
            self.sized.cleared()
        for db in range(self.databases):
            self.removals[db] += len(self.keydirs[db])
            self.keydirs[db] = {}
            self.expires[db] = {}
            self.access.flushdb(db)

    def swapdb(self, db: int, other: int) -> None:
        kd, ex = self.keydirs, self.expires
        self.removals[db] += len(kd[db])  # to a scan, every key changed places
        self.removals[other] += len(kd[other])
        kd[db], kd[other] = kd[other], kd[db]
        ex[db], ex[other] = ex[other], ex[db]
        self.access.swapdb(db, other)
        if not self.loading:
            self.rebuild_expiry_heap()

    # ------------------------------------------------------------------ expiry

    def rebuild_expiry_heap(self) -> None:
        self.expiry_heap = [(at, db, key) for db, expires in enumerate(self.expires)
                            for key, at in expires.items()]
        heapq.heapify(self.expiry_heap)

    def pop_due(self, now: int) -> tuple[int, bytes] | None:
        """Take (db, key) of the key whose TTL passed first, if it is at most ``now``."""
        heap = self.expiry_heap
        while heap and heap[0][0] <= now:
            expire_at, db, key = heapq.heappop(heap)
            if self.expires[db].get(key) == expire_at:  # else: a stale entry
                return db, key
        return None

    def trim_expiry_heap(self) -> None:
        """Rebuild the heap once stale entries (TTLs changed since) dominate it."""
        if len(self.expiry_heap) > 2 * sum(len(e) for e in self.expires) + 1024:
            self.rebuild_expiry_heap()

    def expired_keys(self, now: int) -> list[tuple[int, bytes]]:
        """Every (db, key) whose TTL is at most ``now`` (the end of a load)."""
        return [(db, key) for db, expires in enumerate(self.expires)
                for key, at in expires.items() if at <= now]

    # ------------------------------------------------------------------ reading

    def keys(self, db: int, live: Live) -> Iterator[bytes]:
        """Every live key of ``db`` (a snapshot: safe to change the db meanwhile)."""
        for key in list(self.keydirs[db]):
            if live(db, key):
                yield key

    def scan(self, db: int, cursor: int, count: int, live: Live) -> tuple[int, list[bytes]]:
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
            position = max(0, position - (self.removals[db] - meta[1]))
        if keys is None:
            snapshot_id = self._next_snapshot
            self._next_snapshot = self._next_snapshot % SCAN_ID_MASK + 1
            keys = list(self.keydirs[db])
            self._scan_meta[snapshot_id] = (db, self.removals[db])
            while len(self._scan_meta) > SCAN_CURSORS:
                self._scan_meta.popitem(last=False)
        end = min(position + max(count, 1), len(keys))
        found = [key for key in keys[position:end] if live(db, key)]
        if end >= len(keys):
            self._scan_meta.pop(snapshot_id, None)
            return 0, found
        self._scan_lists[snapshot_id] = keys
        while len(self._scan_lists) > SCAN_SNAPSHOTS:
            self._scan_lists.popitem(last=False)
        return (end << SCAN_ID_BITS) | snapshot_id, found

    def random_key(self, db: int, live: Live) -> bytes | None:
        """A random live key (RANDOMKEY), None if the db has none."""
        keydir = self.keydirs[db]
        for _ in range(RANDOM_KEY_TRIES):
            if not keydir:
                return None
            key = next(islice(keydir, random.randrange(len(keydir)), None))
            if live(db, key):
                return key
        # Mostly expired keys (and perhaps a disk that refuses their deletion):
        # look at each once rather than draw forever.
        return next(self.keys(db, live), None)
