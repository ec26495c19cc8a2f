"""Streams in the engine: entries, trims, counters, groups, consumers and pending
entries are logged as operations, so reopening, compaction and copies give back
exactly the stream the engine held."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storage.datatypes
from storage import streams
from storage.datatypes import Op
from storage.engine import Engine
from storage.streams import NO_ENTRIES_READ, Stream, pack_delivery, pack_id

from .conftest import merged_crash_images
from .test_compaction import compact


def state(stream: Stream) -> tuple:
    """Everything a stream holds, comparable."""
    groups = {}
    for name, group in stream.groups.items():
        groups[name] = (
            group.last_id, group.entries_read,
            [(i, p.consumer.name, p.time, p.count) for i, p in group.pel.items()],
            {c.name: (c.seen_time, list(c.pending)) for c in group.consumers.values()})
    nodes = [(first, node.live, node.count, node.last) for first, node in stream.nodes.items()]
    return (list(stream.entries.items()), stream.last_id, stream.max_deleted,
            stream.entries_added, groups, nodes)


def sid(ms: int, seq: int = 0) -> int:
    return ms << 64 | seq


def xadd(engine, key: bytes, stream_id: int, *fields: bytes, db: int = 0) -> None:
    engine.apply(db, key, Op.XADD, [pack_id(stream_id), *fields])


def fill(engine) -> None:
    for i in range(1, 251):
        xadd(engine, b"s", sid(1000 + i // 3, i % 3), b"field", b"value-%d" % i)
    engine.apply(0, b"s", Op.XDEL, [pack_id(sid(1010, 1)), pack_id(sid(1020, 0))])
    engine.apply(0, b"s", Op.XTRIM, [b"30"])
    engine.apply(0, b"s", Op.XGROUPSET, [b"g", pack_id(0), b"%d" % NO_ENTRIES_READ])
    first = sorted(engine.get_object(0, b"s").entries)[:5]
    engine.apply(0, b"s", Op.XDELIVER, [b"g", b"alice", b"500", pack_id(first[-1]), b"35",
                                        *(pack_delivery(i, 500, 1) for i in first)])
    engine.apply(0, b"s", Op.XDELIVER, [b"g", b"bob", b"600", b"", b"",
                                        pack_delivery(first[1], 600, 2)])
    engine.apply(0, b"s", Op.XACK, [b"g", pack_id(first[0])])
    engine.apply(0, b"s", Op.XDELIVER, [b"g", b"idle", b"700", b"", b""])
    engine.apply(0, b"s", Op.XGROUPSET, [b"other", pack_id(sid(5)), b"0"])
    engine.apply(0, b"s", Op.XGROUPSET, [b"gone", pack_id(sid(5)), b"0"])
    engine.apply(0, b"s", Op.XGROUPDEL, [b"gone"])
    engine.apply(0, b"s", Op.XDELIVER, [b"other", b"carol", b"800", b"", b""])
    engine.apply(0, b"s", Op.XDELCONSUMER, [b"other", b"carol"])
    engine.apply(0, b"s", Op.XSETID, [pack_id(sid(9999)), b"400", pack_id(sid(1020))])
    engine.apply(1, b"empty", Op.XGROUPSET, [b"g", pack_id(0), b"0"])  # XGROUP CREATE MKSTREAM


def test_every_change_is_replayed_on_reopen(open_engine):
    engine = open_engine()
    fill(engine)
    stream = engine.get_object(0, b"s")
    before = state(stream)
    assert len(stream) == 218 and stream.entries_added == 400
    group = stream.groups[b"g"]
    assert [(p.consumer.name, p.count) for p in group.pel.values()] == [
        (b"bob", 2), (b"alice", 1), (b"alice", 1), (b"alice", 1)]
    assert set(stream.groups) == {b"g", b"other"} and not stream.groups[b"other"].consumers
    empty = state(engine.get_object(1, b"empty"))
    engine.close()
    engine = open_engine()
    assert state(engine.get_object(0, b"s")) == before
    assert state(engine.get_object(1, b"empty")) == empty
    assert len(engine.get_object(1, b"empty")) == 0  # an empty stream is still a key


def test_compaction_writes_the_current_contents(open_engine):
    engine = open_engine(segment_size=4096)
    fill(engine)
    for i in range(2000):  # a long history of adds and trims
        xadd(engine, b"capped", sid(i + 1), b"n", b"%d" % i)
        engine.apply(0, b"capped", Op.XTRIM, [b"1"]) if i >= 10 else None
    before = state(engine.get_object(0, b"s")), state(engine.get_object(0, b"capped"))
    size = engine.disk_size()
    compact(engine)
    assert engine.disk_size() < size / 3
    assert (state(engine.get_object(0, b"s")), state(engine.get_object(0, b"capped"))) == before
    engine.close()
    engine = open_engine()
    assert (state(engine.get_object(0, b"s")), state(engine.get_object(0, b"capped"))) == before


def test_a_big_stream_snapshot_is_chunked_and_atomic(open_engine, monkeypatch):
    monkeypatch.setattr(storage.datatypes, "SNAPSHOT_CHUNK", 256)
    engine = open_engine()
    fill(engine)
    stream = engine.get_object(0, b"s")
    chunks = list(storage.datatypes.snapshot(stream))
    assert len(chunks) > 20
    engine.put_object(0, b"copy", storage.datatypes.copy(stream))
    engine.close()
    assert state(open_engine().get_object(0, b"copy")) == state(stream)


def test_copy_is_independent():
    stream = None
    for i in range(1, 5):
        stream, _ = streams.op_xadd(stream, [pack_id(sid(i)), b"f", b"v"])
    streams.op_xgroupset(stream, [b"g", pack_id(0), b"0"])
    streams.op_xdeliver(stream, [b"g", b"c", b"1", pack_id(sid(1)), b"1",
                                 pack_delivery(sid(1), 1, 1)])
    other = stream.copy()
    assert state(other) == state(stream)
    streams.op_xack(other, [b"g", pack_id(sid(1))])
    streams.op_xdel(other, [pack_id(sid(2))])
    assert len(stream) == 4 and sid(1) in stream.groups[b"g"].pel


def test_nodes_fill_as_redis_listpacks_do():
    """stream-node-max-entries (100) and -bytes (4096) decide where a node ends; an
    approximate trim removes whole nodes only, an exact one any count."""
    stream = Stream()
    for i in range(1, 251):
        stream.append(sid(i), (b"f", b"v"))
    assert [node.live for node in stream.nodes.values()] == [100, 100, 50]
    assert stream.trim_amount(120, 0, approx=True, limit=10_000) == 100
    assert stream.trim_amount(120, 0, approx=False, limit=0) == 130
    assert stream.trim_amount(120, 0, approx=True, limit=50) == 0
    assert stream.trim_amount(None, sid(150), approx=True, limit=0) == 100
    assert stream.trim_amount(None, sid(150), approx=False, limit=0) == 149
    big = Stream()
    for i in range(1, 11):
        big.append(sid(i), (b"f", b"x" * 1000))
    assert [node.live for node in big.nodes.values()] == [4, 4, 2]
    stream.delete(sid(2))
    stream.trim_head(150)
    assert [node.live for node in stream.nodes.values()] == [49, 50]
    assert stream.first_id == sid(152)


def test_deleting_a_nodes_last_entry_drops_the_node():
    stream = Stream()
    for i in range(1, 4):
        stream.append(sid(i), (b"f", b"v"))
    for i in range(1, 4):
        assert stream.delete(sid(i))
    assert not stream.nodes and not stream.entries and not stream.delete(sid(1))
    assert stream  # still a key


@pytest.mark.parametrize("value, size", [
    (b"0", 2), (b"127", 2), (b"128", 3), (b"-1", 3), (b"4095", 3), (b"-4097", 4),
    (b"01", 4), (b"+1", 4), (b"-0", 4), (b"", 2), (b"x" * 63, 65), (b"x" * 64, 67),
    (b"9223372036854775807", 10), (b"9223372036854775808", 21),
])
def test_listpack_sizes_follow_redis(value, size):
    assert streams._string_size(value) == size


def test_entries_read_follows_redis_estimates():
    stream = Stream()
    for i in range(1, 6):
        streams.op_xadd(stream, [pack_id(sid(i)), b"f", b"v"])
    assert stream.estimate_read(sid(5)) == 5
    assert stream.estimate_read(sid(1)) == 1
    assert stream.estimate_read(0) == 0
    assert stream.estimate_read(sid(3)) == NO_ENTRIES_READ
    assert stream.estimate_read(sid(6)) == NO_ENTRIES_READ
    streams.op_xdel(stream, [pack_id(sid(2))])
    assert stream.has_tombstones(sid(1)) and not stream.has_tombstones(sid(3))
    assert stream.advanced(sid(1), 1, sid(3)) == (sid(3), 2)  # no tombstone from 3 on
    assert stream.advanced(0, 0, sid(1)) == (sid(1), NO_ENTRIES_READ)  # 2 is ahead
    assert stream.advanced(sid(3), 3, sid(4)) == (sid(4), 4)


# ---------------------------------------------------------------- property

_ID = st.tuples(st.integers(0, 3), st.integers(0, 2))
_GROUP = st.sampled_from([b"g1", b"g2"])
_CONSUMER = st.sampled_from([b"c1", b"c2", b"c3"])
_STEP = st.one_of(
    st.tuples(st.just("xadd"), st.integers(1, 3), st.just(None)),
    st.tuples(st.just("xdel"), st.lists(_ID, min_size=1, max_size=3), st.just(None)),
    st.tuples(st.just("xtrim"), st.integers(0, 120), st.just(None)),
    st.tuples(st.just("group"), _GROUP, _ID),
    st.tuples(st.just("destroy"), _GROUP, st.just(None)),
    st.tuples(st.just("deliver"), _GROUP, st.tuples(_CONSUMER, st.lists(_ID, max_size=4))),
    st.tuples(st.just("ack"), _GROUP, st.lists(_ID, min_size=1, max_size=3)),
    st.tuples(st.just("delconsumer"), _GROUP, _CONSUMER),
    st.tuples(st.just("compact"), st.just(None), st.just(None)),
)


def _to_id(pair: tuple[int, int]) -> int:
    return sid(1000 + pair[0] * 40, pair[1])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_STEP, max_size=30))
def test_any_history_replays_to_the_same_stream(tmp_path_factory, steps):
    """Adds (100 at a time, so nodes fill), deletes, trims, groups, deliveries and
    acknowledgements in any order: reopening (and compacting) gives the same stream."""
    directory = tmp_path_factory.mktemp("prop")
    engine = Engine(directory, fsync="no", segment_size=2048)
    engine.merge_in_child = False
    next_ms = 1000
    try:
        for kind, first, second in steps:
            if kind == "xadd":
                for _ in range(first * 40):
                    xadd(engine, b"s", sid(next_ms), b"f", b"%d" % next_ms)
                    next_ms += 1
            elif kind == "compact":
                compact(engine)
            elif engine.get_object(0, b"s") is None:
                continue
            elif kind == "xdel":
                engine.apply(0, b"s", Op.XDEL, [pack_id(_to_id(i)) for i in first])
            elif kind == "xtrim":
                engine.apply(0, b"s", Op.XTRIM, [b"%d" % first])
            elif kind == "group":
                engine.apply(0, b"s", Op.XGROUPSET, [first, pack_id(_to_id(second)), b"-1"])
            elif kind == "destroy":
                engine.apply(0, b"s", Op.XGROUPDEL, [first])
            elif kind == "deliver":
                consumer, ids = second
                engine.apply(0, b"s", Op.XDELIVER, [first, consumer, b"7", b"", b"",
                                                    *(pack_delivery(_to_id(i), 7, 1)
                                                      for i in ids)])
            elif kind == "ack":
                engine.apply(0, b"s", Op.XACK, [first, *(pack_id(_to_id(i)) for i in second)])
            else:
                engine.apply(0, b"s", Op.XDELCONSUMER, [first, second])
        stream = engine.get_object(0, b"s")
        before = None if stream is None else state(stream)
    finally:
        engine.close()
    engine = Engine(directory, fsync="no", segment_size=2048)
    try:
        stream = engine.get_object(0, b"s")
        assert (None if stream is None else state(stream)) == before
    finally:
        engine.close()


def test_radix_tree_nodes_are_counted_as_redis_builds_them():
    """The root, a compressed run to each branch point, one node per branch and the
    keys' ends, as rax.c has them (figures from Redis 7.0's XINFO STREAM)."""
    assert streams.radix_tree_nodes([]) == 1
    assert streams.radix_tree_nodes([sid(5)]) == 2
    assert streams.radix_tree_nodes([sid(5), sid(5, 1)]) == 4  # they differ in the last byte
    assert streams.radix_tree_nodes([sid(5), sid(6 << 8)]) == 6
    assert streams.radix_tree_nodes([sid(1), sid(2), sid(3)]) == 8


def test_crash_between_publishing_and_retiring_a_merges_inputs(open_engine, data_dir,
                                                              tmp_path):
    """A crash can leave the merge's outputs beside all of its inputs or only the
    newest of them: a stream's operations then meet a missing or partial stream,
    and the snapshot that follows sets it right."""
    engine = open_engine(segment_size=2048)
    engine.apply(0, b"s", Op.XGROUPSET, [b"g", pack_id(0), b"0"])
    for i in range(1, 200):
        xadd(engine, b"s", sid(i), b"f", b"%d" % i)
        if i % 3 == 0:
            engine.apply(0, b"s", Op.XTRIM, [b"1"])
        if i % 5 == 0:
            engine.apply(0, b"s", Op.XDELIVER, [b"g", b"c%d" % (i % 2), b"%d" % i,
                                                pack_id(sid(i)), b"%d" % i,
                                                pack_delivery(sid(i), i, 1)])
        if i % 10 == 0:
            engine.apply(0, b"s", Op.XACK, [b"g", pack_id(sid(i - 5))])
            engine.apply(0, b"s", Op.XDEL, [pack_id(sid(i - 1))])
    engine.flush()
    engine._log.rotate()
    before = state(engine.get_object(0, b"s"))
    engine.close()
    for kept, image in merged_crash_images(data_dir, tmp_path):
        assert state(open_engine(image).get_object(0, b"s")) == before, kept
