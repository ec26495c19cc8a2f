"""Loading a Redis RDB file in place of the data: a replica's full sync, and
``caskd --load-rdb FILE`` (a dump.rdb imported into a data directory).

The file is read by storage/rdb.py's FileReader (every encoding Redis 7.0 loads:
listpacks, quicklists, intsets, ziplists, LZF strings, streams, function libraries).
The data set is emptied (FLUSHALL) and each key written as caskd's own records, in
one log batch for a file up to ATOMIC_LOAD_LIMIT (see :func:`replacing`). The
libraries replace the loaded ones, as Redis's rdbLoad with functions does.
"""

from __future__ import annotations

import contextlib
import mmap
import time
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from server.replication import state
from server.scripting.functions import LibraryError
from storage import rdb

if TYPE_CHECKING:
    from server.app import Server
    from storage.engine import Engine

ATOMIC_LOAD_LIMIT = 256 * 1024 * 1024
LOAD_SLICE = 1000  # keys loaded between two turns of the event loop (or two flushes)


def replacing(engine: Engine, size: int) -> contextlib.AbstractContextManager:
    """What loading an RDB file of ``size`` bytes runs in: one log batch up to
    ATOMIC_LOAD_LIMIT, so a crash leaves the old data or the new, never a mix (the
    batch is held in memory until whole); none for a bigger file, so memory stays
    bounded, and a crash leaves part of the new data. Either way the replication
    state is cleared first and saved last: a load cut short leaves no offset a
    replica could PSYNC from."""
    return engine.batch() if size <= ATOMIC_LOAD_LIMIT else contextlib.nullcontext()


class RdbLoader:
    """Loads ``data`` (a whole RDB file) into ``server``'s engine, :meth:`load_some`
    keys at a time, so that a caller on the event loop can let it turn between.
    ``keep_expired``: keys whose time has passed are loaded too (a replica: its master
    will delete them, as Redis's rdbLoad keeps them on a replica); else skipped."""

    def __init__(self, server: Server, data: bytes, keep_expired: bool) -> None:
        self.server = server
        self.reader = rdb.FileReader(data)
        self._entries = self.reader.entries()
        self._keep_expired = keep_expired
        self._now = int(time.time() * 1000)
        self._started = False
        self.keys = 0  # loaded so far
        self.stream_db = 0  # the aux field repl-stream-db: the master's db at the snapshot

    def load_some(self, count: int) -> bool:
        """Load up to ``count`` more keys; True once the whole file is loaded."""
        engine = self.server.engine
        if not self._started:
            self._started = True
            engine.flushall()
        loaded = 0
        for entry in islice(self._entries, count):
            loaded += 1
            if entry.db >= engine.databases:
                raise rdb.RdbError(f"the RDB file has keys in db {entry.db}, this server "
                                   f"has {engine.databases} databases")
            if entry.expire_at and entry.expire_at <= self._now and not self._keep_expired:
                continue
            if type(entry.value) is bytes:
                engine.put(entry.db, entry.key, entry.value, entry.expire_at)
            else:
                engine.put_object(entry.db, entry.key, entry.value, entry.expire_at)
            self.keys += 1
        if loaded == count:
            return False
        self._load_libraries()
        self.stream_db = int(self.reader.aux.get(b"repl-stream-db", b"0"))
        return True

    def saved_replication(self) -> state.State | None:
        """The master's replication id and offset the file was saved at, and its db
        (Redis writes them as aux fields): where a replica loaded from it may PSYNC."""
        aux = self.reader.aux
        replid, offset = aux.get(b"repl-id", b""), aux.get(b"repl-offset", b"")
        if len(replid) != 40 or not offset.isdigit():
            return None
        return replid.decode(), int(offset), self.stream_db

    def _load_libraries(self) -> None:
        """The file's function libraries replace ours (checked as FUNCTION LOAD
        checks them; one that fails is logged and left out)."""
        scripting = self.server.scripting
        scripting.reset_functions()
        for code in self.reader.functions:
            try:
                scripting.libraries.load(scripting.function_sandbox, code, replace=False)
            except LibraryError as exc:
                self.server.log.warning("Failed loading a library from the RDB file: %s", exc)
        self.server.engine.replace_libraries(scripting.libraries.codes())


def import_file(server: Server, path: Path) -> int:
    """``caskd --load-rdb FILE``: the file's data in place of what the data directory
    holds; returns the number of keys loaded. The whole file is read once before
    (RdbError: nothing changed). The replication id and offset it was saved at are
    kept, so that a replica of the same master started on this directory may
    continue with PSYNC."""
    engine = server.engine
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for _ in rdb.FileReader(data).entries():
            pass
        with replacing(engine, len(data)):
            state.save(engine, None)
            loader = RdbLoader(server, data, keep_expired=False)
            while not loader.load_some(LOAD_SLICE):
                engine.flush()  # a file loaded key by key: its records go as they come
            state.save(engine, loader.saved_replication())
    return loader.keys
