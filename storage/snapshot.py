"""An RDB snapshot of the whole data set (Redis's rdbSaveRio), written by a forked
child so that the event loop never waits for it.

``fork()`` gives the child the keyspace as it stood at that instant, copy-on-write,
as Redis's BGSAVE child gets it: the collections are the parent's objects, frozen,
and string values are read through the same ``mmap`` views (sealed segments never
change; the active one only grows past the offsets the child reads). The child
writes the file and exits; nothing it does reaches the log, which only the parent
writes. Streams are left out: storage/rdb.py has no stream encoding yet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from storage.errors import CorruptValue
from storage.rdb import FileWriter
from storage.streams import Stream

if TYPE_CHECKING:
    from storage.engine import Engine

#: A collection's OBJECT ENCODING (the server's thresholds decide it).
Encoding = Callable[[object], str]

_FLUSH_AT = 1 << 20


def write_rdb(engine: Engine, out: BinaryIO, aux: dict[bytes, bytes], encoding: Encoding,
              now_ms: int) -> int:
    """Write every live key (and the function libraries) of ``engine`` to ``out`` as
    an RDB file; returns how many keys were written. Keys already past their expiry
    are left out (the master's DEL for them follows in the stream)."""
    writer = FileWriter()
    chunks = [writer.header(aux)]
    size = len(chunks[0])
    written = 0
    keyspace = engine._keyspace
    for code in keyspace.libraries.values():
        chunks.append(writer.function(code))
    for db in range(engine.databases):
        keydir, expires = keyspace.keydirs[db], keyspace.expires[db]
        live = [(key, value, expires.get(key, 0)) for key, value in keydir.items()
                if type(value) is not Stream and not 0 < expires.get(key, 0) <= now_ms]
        if not live:
            continue
        chunks.append(writer.select_db(db, len(live), sum(1 for *_, at in live if at)))
        size += len(chunks[-1])
        for key, value, expire_at in live:
            if type(value) is int:  # a string: where its value is in the log
                try:
                    data = engine._log.read(value)
                except CorruptValue:  # damaged on disk: never sent as if it were intact
                    continue
                chunk = writer.entry(key, data, "raw", expire_at)
            else:
                chunk = writer.entry(key, value, encoding(value), expire_at)
            chunks.append(chunk)
            size += len(chunk)
            written += 1
            if size >= _FLUSH_AT:
                out.write(b"".join(chunks))
                chunks.clear()
                size = 0
    chunks.append(writer.end())
    out.write(b"".join(chunks))
    return written


def fork_rdb(engine: Engine, path: str, aux: dict[bytes, bytes], encoding: Encoding,
             now_ms: int, done_fd: int, parent_fd: int) -> int:
    """Fork a child that writes the snapshot to ``path``, then writes ``b"0"`` (or
    ``b"1"`` on failure) to ``done_fd`` and exits; ``parent_fd`` is closed in the
    child. Returns the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    status = b"1"
    try:  # the child: write, and leave without running the parent's exit handlers
        os.close(parent_fd)
        os.nice(10)
        with open(path, "wb") as out:
            write_rdb(engine, out, aux, encoding, now_ms)
        status = b"0"
    finally:
        os.write(done_fd, status)
        os._exit(0)
