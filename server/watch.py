"""WATCH: which clients watch which keys, and marking them when a key changes.

Redis's optimistic locking: EXEC answers a null array if a key the client watched
was changed after WATCH, by any client's write, by FLUSHDB / FLUSHALL / SWAPDB /
DEBUG RELOAD, or by expiring. A client that has been marked stops watching at
once (as in Redis 7.0): nothing it could learn later would change the outcome.

The engine's change events (server/changes.py) mark the watchers; they are
reported only while someone watches or waits, so clients that never WATCH pay
nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from storage.engine import now_ms

if TYPE_CHECKING:
    from server.session import Session
    from storage.engine import Engine

Slot = tuple[int, bytes]  # (db, key)


class Watches:
    """``(db, key) -> clients watching it``; each client keeps, in ``client.watched``,
    the key's expiry time as WATCH saw it (None: no such key, 0: no TTL)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.clients: dict[Slot, set[Session]] = {}
        self._on_change = on_change  # called when the registry turns empty or non-empty

    def __bool__(self) -> bool:
        return bool(self.clients)

    def watch(self, client: Session, engine: Engine, db: int, keys: Iterable[bytes]) -> None:
        was_empty = not self.clients
        for key in keys:
            slot = (db, key)
            if slot in client.watched:
                continue
            # get_expire deletes a key whose time has already come, so a watched
            # key is never one that has expired without being removed.
            client.watched[slot] = engine.get_expire(db, key)
            self.clients.setdefault(slot, set()).add(client)
        if was_empty and self.clients:
            self._on_change()

    def unwatch_all(self, client: Session) -> None:
        if not client.watched:
            return
        for slot in client.watched:
            watchers = self.clients.get(slot)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self.clients[slot]
        client.watched.clear()
        if not self.clients:
            self._on_change()

    def touch(self, db: int, keys: Iterable[bytes]) -> None:
        """These keys of ``db`` were modified: every client watching one fails its EXEC."""
        for key in keys:
            watchers = self.clients.get((db, key))
            if watchers:
                for client in list(watchers):
                    self._mark(client)

    def flushed(self, engine: Engine, dbs: Iterable[int] | None) -> None:
        """The contents of ``dbs`` (None: every db) were dropped or swapped.

        As in Redis, a watched key counts as modified only if it existed before or
        exists after: had it come or gone since WATCH, touch() would already have
        marked its watchers, so "existed when watched" stands for "existed before".
        """
        wanted = None if dbs is None else set(dbs)
        for (db, key), watchers in list(self.clients.items()):
            if wanted is not None and db not in wanted:
                continue
            exists_now = engine.exists(db, key)
            for client in list(watchers):
                if exists_now or client.watched.get((db, key)) is not None:
                    self._mark(client)

    def _mark(self, client: Session) -> None:
        client.cas_dirty = True
        self.unwatch_all(client)

    @staticmethod
    def expired(client: Session) -> bool:
        """A watched key had a TTL that has passed since WATCH (Redis 7.0 counts
        that as a change, whether or not the key has been removed yet)."""
        now = now_ms()
        return any(expire_at and expire_at <= now for expire_at in client.watched.values())
