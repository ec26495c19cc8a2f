"""The one stream of change facts, as the engine reports them, fanned out to the
parts of the server that must know (the DESIGN's "change events").

The engine calls :class:`Changes` (a ``storage.events.ChangeListener``) after every
change: which key of which db, and Redis's name for the event. WATCH marks the
clients watching the key, and a key someone blocks on becomes ready to serve;
keyspace notifications, client tracking and replication subscribe here too. The
listener is attached to the engine only while one of them needs it
(:meth:`Server.refresh_observed`), so a write costs nothing more otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.app import Server


#: Changes Redis announces without signalModifiedKey (t_stream.c: XSETID and the
#: consumer-group commands): neither a WATCH of the stream nor client tracking
#: sees them, while blocked readers must (a destroyed group ends their wait).
UNMODIFIED_EVENTS = frozenset({"xsetid", "xgroup-create", "xgroup-setid", "xgroup-destroy",
                               "xgroup-createconsumer", "xgroup-delconsumer"})

#: Deletions the master decides and propagates itself (propagateDeletion), with the
#: lazyfree setting that makes them UNLINK.
DELETIONS = {"expired": "lazyfree-lazy-expire", "evicted": "lazyfree-lazy-eviction"}


class Changes:
    def __init__(self, server: Server) -> None:
        self.server = server

    def changed(self, db: int, key: bytes, event: str) -> None:
        server = self.server
        modified = event not in UNMODIFIED_EVENTS
        if server.watches and modified:
            server.watches.touch(db, (key,))
        if server.blocking.waiters:
            server.blocking.signal(db, (key,))
        if server.notifications:
            server.notifications.notify(db, key, event)
        if server.tracking and modified:
            server.tracking.changed(key)
        if server.replication.propagating:
            if event in DELETIONS:  # the stream gets the key's deletion, not the command
                server.replication.master.deleted(db, key, DELETIONS[event])
            else:
                server.replication.dirty += 1

    def flushed(self, dbs: tuple[int, ...] | None) -> None:
        """Every key of ``dbs`` (None: of every db) changed: FLUSHDB, FLUSHALL, SWAPDB,
        DEBUG RELOAD."""
        server = self.server
        if server.watches:
            server.watches.flushed(server.engine, dbs)
        if server.blocking.waiters:
            server.blocking.signal_dbs(None if dbs is None else set(dbs))
        if server.tracking:
            server.tracking.flushed()
        server.replication.dirty += 1

    @property
    def wanted(self) -> bool:
        """Whether anyone listens, so that the engine must report."""
        server = self.server
        return bool(server.watches or server.blocking.waiters or server.notifications
                    or server.tracking or server.replication.propagating)
