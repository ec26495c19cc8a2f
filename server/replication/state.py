"""A replica's replication id, offset and master db, kept with the data (the engine's
``replication`` metadata, written in the same log batch as the changes they count),
so that a replica restarted, even after ``kill -9``, continues with PSYNC where its
data stands. Redis 7.0 keeps them only in an RDB file it saved."""

from __future__ import annotations

from storage.engine import Engine

NAME = b"replication"  # the value: b"<replid> <offset> <db>"

State = tuple[str, int, int]  # replication id, offset, the master's db there


def saved(engine: Engine) -> State | None:
    value = engine.metadata.get(NAME)
    if not value:
        return None
    replid, offset, db = value.decode().split()
    return replid, int(offset), int(db)


def save(engine: Engine, state: State | None) -> None:
    """Store ``state`` (None: forget it) as part of the changes made now."""
    engine.put_metadata(NAME, b"" if state is None else " ".join(map(str, state)).encode())
