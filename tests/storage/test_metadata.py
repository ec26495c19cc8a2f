"""The server's own state in the log (METADATA records: a replica's replication id
and offset): as durable as the data written with it, kept by FLUSHALL and by
compaction, and the key-expiry choices a replica makes (Engine.expiry)."""

from __future__ import annotations

from storage.engine import DELETE_EXPIRED, HIDE_EXPIRED, KEEP_EXPIRED

from .conftest import segment_files
from .test_compaction import compact

SEGMENT_SIZE = 2048


def test_metadata_survives_reopening_flushall_and_deletion(open_engine):
    engine = open_engine()
    engine.put_metadata(b"replication", b"first")
    engine.put_metadata(b"other", b"x")
    with engine.batch():  # what a replica writes: the data and its offset at once
        engine.put(0, b"k", b"v")
        engine.put_metadata(b"replication", b"second")
    engine.flushall()
    engine.put_metadata(b"other", b"")
    engine.close()
    engine = open_engine()
    assert engine.metadata == {b"replication": b"second"}


def test_compaction_keeps_only_the_latest_metadata(open_engine, data_dir):
    engine = open_engine(segment_size=SEGMENT_SIZE)
    engine.merge_in_child = False
    for i in range(60):
        engine.put(0, b"key%d" % (i % 5), b"v" * 40)
        engine.put_metadata(b"replication", b"offset %04d" % i)
    engine.put(0, b"rotate", b"r" * SEGMENT_SIZE)  # seal the segment with the last change
    compact(engine)
    merged = b"".join(path.read_bytes() for path in segment_files(data_dir))
    assert merged.count(b"offset ") == 1 and b"offset 0059" in merged
    engine.close()
    assert open_engine(segment_size=SEGMENT_SIZE).metadata == {b"replication": b"offset 0059"}


def test_a_replica_hides_expired_keys_until_the_master_deletes_them(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"k", b"v", clock.now + 100)
    clock.advance(200)
    engine.expiry = HIDE_EXPIRED
    assert engine.get(0, b"k") is None and engine.expire_cycle() == 0
    assert engine.dbsize(0) == 1  # still there: the master's DEL will remove it
    engine.expiry = KEEP_EXPIRED  # the master's commands see it, as Redis's do
    assert engine.get(0, b"k") == b"v"
    engine.expiry = DELETE_EXPIRED
    assert engine.get(0, b"k") is None and engine.dbsize(0) == 0
