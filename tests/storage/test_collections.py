"""Collections in the engine: every change is logged, so reopening (recovery, hint
files) and compaction (snapshots) give back exactly the objects the engine held."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storage.datatypes
from storage import datatypes as coll
from storage.datatypes import Op, WrongType, ZSet, zadd_args
from storage.engine import Engine

from .conftest import merged_crash_images, segment_files
from .test_compaction import compact, finish_compaction


def contents(engine: Engine, dbs=range(3)) -> dict:
    """Every key's value (a string's bytes, or a comparable form of a collection)
    and TTL."""
    found = {}
    for db in dbs:
        for key in engine.keys(db):
            value = engine.get_object(db, key)
            if type(value) is int:
                value = engine.get(db, key)
            elif type(value) is ZSet:
                value = ("zset", list(value.order), value.listpack)
            elif type(value) is deque:
                value = ("list", list(value))
            found[db, key] = (value, engine.get_expire(db, key))
    return found


def fill(engine: Engine) -> None:
    engine.apply(0, b"hash", Op.HSET, [b"f1", b"v1", b"f2", b"v2"])
    engine.apply(0, b"hash", Op.HDEL, [b"f1", b"missing"])
    engine.apply(0, b"list", Op.RPUSH, [b"a", b"b", b"c", b"d"])
    engine.apply(0, b"list", Op.LPUSH, [b"x", b"y"])
    engine.apply(0, b"list", Op.LPOP, [b"1"])
    engine.apply(0, b"list", Op.LSET, [b"1", b"X"])
    engine.apply(0, b"list", Op.LINSERT, [b"2", b"ins"])
    engine.apply(1, b"set", Op.SADD, [b"1", b"2", b"three"])
    engine.apply(1, b"set", Op.SREM, [b"2"])
    engine.apply(2, b"zset", Op.ZADD, zadd_args([(1.5, b"a"), (-2.0, b"b"), (1.5, b"c")]))
    engine.apply(2, b"zset", Op.ZREM, [b"c"])
    engine.put(0, b"string", b"on disk")


def test_changes_are_logged_and_replayed(open_engine, data_dir):
    engine = open_engine()
    fill(engine)
    before = contents(engine)
    assert before[0, b"list"][0] == ("list", [b"x", b"X", b"ins", b"b", b"c", b"d"])
    engine.close()
    assert contents(open_engine()) == before


def test_results_and_wrong_types(open_engine):
    engine = open_engine()
    assert engine.apply(0, b"h", Op.HSET, [b"a", b"1", b"b", b"2"]) == 2
    assert engine.apply(0, b"h", Op.HSET, [b"a", b"3"]) == 0
    assert engine.apply(0, b"l", Op.RPUSH, [b"1", b"2", b"3"]) == 3
    assert engine.apply(0, b"l", Op.RPOP, [b"2"]) == [b"3", b"2"]
    engine.put(0, b"s", b"string")
    with pytest.raises(WrongType):
        engine.get(0, b"h")
    with pytest.raises(WrongType):
        engine.value_length(0, b"l")
    with pytest.raises(WrongType):
        engine.apply(0, b"s", Op.SADD, [b"m"])
    with pytest.raises(WrongType):
        engine.apply(0, b"h", Op.RPUSH, [b"m"])
    assert engine.get(0, b"s") == b"string"


def test_an_emptied_collection_is_deleted_with_its_ttl(open_engine, clock):
    engine = open_engine()
    engine.apply(0, b"l", Op.RPUSH, [b"only"])
    engine.set_expire(0, b"l", clock.now + 10_000)
    assert engine.apply(0, b"l", Op.LPOP, [b"5"]) == [b"only"]
    assert engine.get_object(0, b"l") is None and engine.expires_count(0) == 0
    engine.apply(0, b"l", Op.RPUSH, [b"again"])
    assert engine.get_expire(0, b"l") == 0  # a new key: no TTL
    engine.close()
    assert list(open_engine().get_object(0, b"l")) == [b"again"]


def test_collections_expire(open_engine, clock):
    engine = open_engine()
    engine.apply(0, b"s", Op.SADD, [b"m"])
    engine.set_expire(0, b"s", clock.now + 1000)
    clock.advance(1000)
    assert engine.get_object(0, b"s") is None
    engine.apply(0, b"s", Op.SADD, [b"n"])  # the expired set is gone, a new one starts
    assert engine.get_object(0, b"s") == {b"n"}


def test_rename_copy_and_put_object(open_engine, clock):
    engine = open_engine()
    fill(engine)
    engine.set_expire(0, b"list", clock.now + 50_000)
    assert engine.rename(0, b"list", 1, b"moved")
    assert engine.get_object(0, b"list") is None
    assert engine.get_expire(1, b"moved") == clock.now + 50_000
    assert engine.copy(1, b"moved", 2, b"copied")
    engine.apply(2, b"copied", Op.RPOP, [b"1"])  # the copy is independent
    assert len(engine.get_object(1, b"moved")) == len(engine.get_object(2, b"copied")) + 1
    assert engine.rename(0, b"string", 0, b"string2")  # strings too
    assert not engine.rename(0, b"missing", 0, b"x")
    engine.put_object(0, b"stored", {b"a", b"b"})
    engine.put_object(0, b"hash", set())  # an empty result deletes the key
    before = contents(engine)
    assert (0, b"hash") not in before
    engine.close()
    assert contents(open_engine()) == before


def test_big_collection_snapshot_is_chunked_and_atomic(open_engine, monkeypatch):
    monkeypatch.setattr(storage.datatypes, "SNAPSHOT_CHUNK", 64)
    engine = open_engine()
    members = {b"member-%d" % i for i in range(200)}
    engine.put_object(0, b"big", set(members))
    hash_value = {b"f%d" % i: b"v%d" % i for i in range(100)}
    engine.put_object(0, b"h", dict(hash_value))
    engine.close()
    engine = open_engine()
    assert engine.get_object(0, b"big") == members
    assert engine.get_object(0, b"h") == hash_value


def test_compaction_writes_contents_not_history(open_engine, data_dir, clock):
    engine = open_engine(segment_size=4096)
    for i in range(400):
        engine.apply(0, b"queue", Op.RPUSH, [b"job-%d" % i])
        if i % 2:
            engine.apply(0, b"queue", Op.LPOP, [b"1"])
        engine.apply(1, b"counters", Op.HSET, [b"n", b"%d" % i])
    engine.apply(0, b"gone", Op.SADD, [b"x"])
    engine.set_expire(0, b"gone", clock.now + 10)
    engine.apply(2, b"z", Op.ZADD, zadd_args([(float(i), b"m%d" % i) for i in range(50)]))
    clock.advance(10)
    before = contents(engine)
    size = engine.disk_size()
    compact(engine)
    assert engine.disk_size() < size / 5
    assert contents(engine) == before
    engine.apply(0, b"queue", Op.RPUSH, [b"after"])
    before = contents(engine)
    engine.close()
    assert all(path.with_suffix(".hint").exists() for path in segment_files(data_dir)
               if not path.name.endswith("-0000.log"))
    assert contents(open_engine()) == before


def test_changes_during_compaction_win(open_engine):
    engine = open_engine(segment_size=4096)
    engine.merge_in_child = False
    for i in range(100):
        engine.apply(0, b"l", Op.RPUSH, [b"%d" % i])
    engine.apply(0, b"s", Op.SADD, [b"a"])
    assert engine.start_compaction()
    engine.apply(0, b"l", Op.LTRIM, [b"10", b"0"])
    engine.rename(0, b"s", 0, b"s2")
    engine.apply(0, b"new", Op.HSET, [b"f", b"v"])
    finish_compaction(engine)
    before = contents(engine)
    assert before[0, b"l"][0] == ("list", [b"%d" % i for i in range(10, 100)])
    engine.close()
    assert contents(open_engine()) == before


def test_crash_between_publishing_and_retiring_inputs(open_engine, data_dir, tmp_path):
    """A crash can leave the merge's outputs beside all of its inputs, or beside
    only the newest of them (they are deleted oldest first): either way the log
    replays to the same collections."""
    engine = open_engine(segment_size=2048)
    for i in range(150):
        engine.apply(0, b"l", Op.RPUSH, [b"v%d" % i])
        engine.apply(0, b"h", Op.HSET, [b"f%d" % (i % 7), b"%d" % i])
        if i % 3 == 0:
            engine.apply(0, b"l", Op.LPOP, [b"1"])
    engine.apply(0, b"l", Op.LSET, [b"0", b"first"])
    engine.flush()
    engine._log.rotate()
    before = contents(engine, dbs=[0])
    engine.close()
    for kept, image in merged_crash_images(data_dir, tmp_path):
        assert contents(open_engine(image), dbs=[0]) == before, kept


# ---------------------------------------------------------------- property

_MEMBER = st.sampled_from([b"a", b"b", b"c", b"", b"\x00\xff", b"1", b"22"])
_COUNT = st.integers(0, 4).map(lambda n: b"%d" % n)
_OPERATION = st.one_of(
    st.tuples(st.just(Op.HSET), st.lists(_MEMBER, min_size=2, max_size=6)
              .filter(lambda items: len(items) % 2 == 0)),
    st.tuples(st.just(Op.HDEL), st.lists(_MEMBER, min_size=1, max_size=3)),
    st.tuples(st.sampled_from([Op.LPUSH, Op.RPUSH, Op.SADD, Op.SREM, Op.ZREM]),
              st.lists(_MEMBER, min_size=1, max_size=4)),
    st.tuples(st.sampled_from([Op.LPOP, Op.RPOP]), st.lists(_COUNT, min_size=1, max_size=1)),
    st.tuples(st.just(Op.LREM), st.tuples(st.integers(-3, 3).map(lambda n: b"%d" % n),
                                          _MEMBER).map(list)),
    st.tuples(st.just(Op.LTRIM), st.lists(_COUNT, min_size=2, max_size=2)),
    st.tuples(st.just(Op.ZADD), st.lists(st.tuples(st.sampled_from([0.0, -0.0, 1.5, -7.0]),
                                                   _MEMBER), min_size=1, max_size=3)
              .map(zadd_args)),
)
_STEP = st.one_of(
    st.tuples(st.just("op"), st.sampled_from([b"k1", b"k2"]), _OPERATION),
    st.tuples(st.just("rename"), st.sampled_from([b"k1", b"k2"]), st.sampled_from([b"k1", b"k3"])),
    st.tuples(st.just("delete"), st.sampled_from([b"k1", b"k2", b"k3"]), st.none()),
    st.tuples(st.just("compact"), st.none(), st.none()),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_STEP, max_size=25))
def test_any_history_replays_to_the_same_collections(tmp_path_factory, steps):
    directory = tmp_path_factory.mktemp("prop")
    engine = Engine(directory, fsync="no", segment_size=1024)
    engine.merge_in_child = False
    try:
        for kind, key, argument in steps:
            if kind == "op":
                op, args = argument
                current = engine.get_object(0, key)
                if current is not None and type(current) is not coll.KIND[op]:
                    continue
                engine.apply(0, key, op, list(args))
            elif kind == "rename":
                engine.rename(0, key, 0, argument)
            elif kind == "delete":
                engine.delete(0, key)
            else:
                compact(engine)
        before = contents(engine, dbs=[0])
    finally:
        engine.close()
    engine = Engine(directory, fsync="no", segment_size=1024)
    try:
        assert contents(engine, dbs=[0]) == before
    finally:
        engine.close()
