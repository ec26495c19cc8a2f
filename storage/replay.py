"""Record replay, written once: what a logged record does to a keyspace.

Recovery replays every segment (or the records its hint file names) into the
engine's :class:`~storage.keyspace.Keyspace`; compaction's merge replays its
inputs into a keyspace of its own to find each key's latest record. Both go
through :class:`Replay`, so a new record type is added here once, and the two
can never disagree about what a log means (a disagreement would lose data at
compaction).

Replay judges no expiry: a key whose TTL a later record removes must survive,
so keys past their time are dropped by the caller once the replay is done.
What a record supersedes goes to the keyspace's ``superseded`` callback;
a FLUSHALL supersedes everything before it, reported as one call to
``superseded_all(segment number, end of the FLUSHALL record)``.
"""

from __future__ import annotations

from collections.abc import Callable

from storage import datatypes, extents
from storage.keyspace import Keyspace
from storage.record import Record, RecordType
from storage.segment import location_of, pack_location


def _ignore(number: int, end: int) -> None:
    pass


class Replay:
    """Applies decoded records (batches already unpacked) to ``keyspace``."""

    def __init__(self, keyspace: Keyspace,
                 superseded_all: Callable[[int, int], None] = _ignore) -> None:
        self.keyspace = keyspace
        self.superseded_all = superseded_all

    def __call__(self, rec: Record, number: int, buf) -> None:
        """Replay ``rec``, read from ``buf`` (its segment, runtime number ``number``)."""
        keyspace, rtype, db, key = self.keyspace, rec.type, rec.db, rec.key
        if rtype == RecordType.PUT:
            keyspace.put(db, key, pack_location(number, rec.offset), rec.expire_at)
        elif rtype == RecordType.DELETE:
            keyspace.remove(db, key)
        elif rtype == RecordType.OP:
            self._op(db, key, bytes(buf[rec.value_offset:rec.end]))
        elif rtype == RecordType.SNAPSHOT:
            value = datatypes.replay_snapshot(bytes(buf[rec.value_offset:rec.end]))
            keyspace.put(db, key, value, rec.expire_at)
        elif rtype == RecordType.EXPIRE:
            if key in keyspace.keydirs[db]:
                keyspace.set_expire(db, key, rec.expire_at)
        elif rtype == RecordType.RENAME:
            if key in keyspace.keydirs[db]:
                target = bytes(buf[rec.value_offset:rec.end])
                keyspace.rename(db, key, target[0], target[1:])
        elif rtype == RecordType.FLUSHDB:
            keyspace.flushdb(db)
        elif rtype == RecordType.FLUSHALL:
            keyspace.clear()
            self.superseded_all(number, rec.end)
        elif rtype == RecordType.SWAPDB:
            keyspace.swapdb(db, int(key))
        elif rtype == RecordType.LIBRARY:
            keyspace.set_library(key, bytes(buf[rec.value_offset:rec.end]))
        elif rtype == RecordType.METADATA:
            keyspace.set_metadata(key, bytes(buf[rec.value_offset:rec.end]))
        elif rtype == RecordType.PATCH:
            self._patch(db, key, pack_location(number, rec.offset), buf, rec)

    def _patch(self, db: int, key: bytes, location: int, buf, rec: Record) -> None:
        """A large string's partial update: the key's value becomes a chain (its
        TTL stays; nothing is superseded). A key marked damaged stays so."""
        keydir = self.keyspace.keydirs[db]
        current = keydir.get(key)
        if type(current) is int and location_of(current) in self.keyspace.damaged:
            return
        chain = extents.replay_patch(current, location, buf, rec.value_offset, rec.value_len)
        if chain is not None:
            keydir[key] = chain

    def _op(self, db: int, key: bytes, data: bytes) -> None:
        """A collection's operation, as Engine.apply made it: an emptied
        collection's key goes; a new one is created without a TTL."""
        keyspace = self.keyspace
        current = keyspace.keydirs[db].get(key)
        if type(current) is int and location_of(current) in keyspace.damaged:
            return  # a damaged record marks the key (see storage.recovery): it stays so
        value = datatypes.replay(current, data)
        if not value:
            if current is not None:
                keyspace.remove(db, key)
        elif value is not current:
            keyspace.put(db, key, value, 0)
