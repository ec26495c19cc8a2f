"""Keyspace commands that work on any key."""

from __future__ import annotations

from protocol.reply import OK
from server.errors import SYNTAX, CommandError


def delete(client, argv: list[bytes]):
    engine, db = client.engine, client.db
    if len(argv) == 2:
        return int(engine.delete(db, argv[1]))
    with engine.batch():  # one atomic unit in the log
        return sum(engine.delete(db, key) for key in argv[1:])


def exists(client, argv: list[bytes]):
    engine, db = client.engine, client.db
    return sum(engine.exists(db, key) for key in argv[1:])


def dbsize(client, argv: list[bytes]):
    return client.engine.dbsize(client.db)


def _flush_mode(argv: list[bytes]) -> None:
    """FLUSHDB/FLUSHALL [ASYNC|SYNC]: both run at once here (freeing is cheap)."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC")):
        raise CommandError(SYNTAX)


def flushdb(client, argv: list[bytes]):
    _flush_mode(argv)
    client.engine.flushdb(client.db)
    client.server.keys_flushed([client.db])
    return OK


def flushall(client, argv: list[bytes]):
    _flush_mode(argv)
    client.engine.flushall()
    client.server.keys_flushed()
    return OK
