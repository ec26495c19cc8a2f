"""Change events (storage/events.py): every change made through the engine is
reported once, after it is applied, under Redis's keyspace-notification name;
what changes nothing, and what only restores or moves data (recovery, hint
loading, compaction's fix-up), reports nothing."""

from __future__ import annotations

import pytest

from storage.datatypes import Op, zadd_args
from storage.engine import now_ms

from .test_compaction import compact


class Recorder:
    """A ChangeListener that keeps what it was told, and checks each event comes
    after its change (the key's state as a listener sees it)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.events: list[tuple] = []

    def changed(self, db: int, key: bytes, event: str) -> None:
        self.events.append((db, key, event, self.engine.exists(db, key)))

    def flushed(self, dbs) -> None:
        self.events.append(("flushed", dbs))

    def take(self) -> list[tuple]:
        events, self.events = self.events, []
        return events


@pytest.fixture
def engine(open_engine, clock):
    engine = open_engine()
    engine.changes = Recorder(engine)
    return engine


def test_no_listener_by_default(open_engine):
    engine = open_engine()
    assert engine.changes is None
    assert engine.put(0, b"k", b"v")  # and nothing to report to


def test_put_reports_set_after_the_change_and_new_for_a_new_key(engine):
    engine.put(0, b"k", b"v")
    assert engine.changes.take() == [(0, b"k", "new", True), (0, b"k", "set", True)]
    engine.put(0, b"k", b"w", event="incrby")  # the server names the command's event
    assert engine.changes.take() == [(0, b"k", "incrby", True)]


def test_a_put_with_a_ttl_reports_expire_too_unless_named_otherwise(engine):
    engine.put(0, b"k", b"v")
    engine.changes.take()
    engine.put(0, b"k", b"v", now_ms() + 10_000)  # SET ... EX, SETEX
    assert engine.changes.take() == [(0, b"k", "set", True), (0, b"k", "expire", True)]
    engine.put(0, b"k", b"v", keep_ttl=True)  # KEEPTTL: the TTL is not set again
    engine.put(0, b"k", b"v", now_ms() + 10_000, event="restore")
    assert engine.changes.take() == [(0, b"k", "set", True), (0, b"k", "restore", True)]


def test_a_put_whose_condition_fails_reports_nothing(engine):
    assert not engine.put(0, b"k", b"v", only_if="present")
    engine.put(0, b"k", b"v")
    engine.changes.take()
    assert not engine.put(0, b"k", b"w", only_if="absent")
    assert engine.changes.take() == []


def test_delete_reports_del_only_for_a_key_that_existed(engine):
    assert not engine.delete(0, b"missing")
    engine.put(0, b"k", b"v")
    engine.changes.take()
    assert engine.delete(0, b"k")
    assert engine.changes.take() == [(0, b"k", "del", False)]


def test_set_expire_reports_expire_and_persist(engine, clock):
    engine.put(0, b"k", b"v")
    engine.changes.take()
    engine.set_expire(0, b"k", clock.now + 1000)
    engine.set_expire(0, b"k", 0)
    assert engine.changes.take() == [(0, b"k", "expire", True), (0, b"k", "persist", True)]
    engine.set_expire(0, b"k", 0)  # no TTL to remove: nothing changed
    assert not engine.set_expire(0, b"missing", clock.now + 1000)
    assert engine.changes.take() == []
    engine.set_expire(0, b"k", clock.now - 1)  # a time in the past deletes, as in Redis
    assert engine.changes.take() == [(0, b"k", "del", False)]


def test_a_key_whose_ttl_passes_reports_expired_once(engine, clock):
    engine.put(0, b"lazy", b"v", clock.now + 10)
    engine.put(0, b"active", b"v", clock.now + 10)
    engine.changes.take()
    clock.advance(11)
    assert engine.get(0, b"lazy") is None  # removed on access
    assert engine.get(0, b"lazy") is None
    assert engine.expire_cycle() == 1  # removed by the active cycle
    assert engine.changes.take() == [(0, b"lazy", "expired", False),
                                     (0, b"active", "expired", False)]


@pytest.mark.parametrize(("op", "args", "event"), [
    (Op.HSET, [b"f", b"v"], "hset"), (Op.RPUSH, [b"a"], "rpush"), (Op.LPUSH, [b"a"], "lpush"),
    (Op.SADD, [b"m"], "sadd"), (Op.ZADD, zadd_args([(1.0, b"m")]), "zadd"),
])
def test_a_collection_op_reports_its_redis_event(engine, op, args, event):
    engine.apply(0, b"c", op, args)
    assert engine.changes.take() == [(0, b"c", "new", True), (0, b"c", event, True)]


def test_the_server_can_name_an_ops_event(engine):
    engine.apply(0, b"h", Op.HSET, [b"n", b"1"], event="hincrby")  # HINCRBY logs an HSET
    assert engine.changes.take() == [(0, b"h", "new", True), (0, b"h", "hincrby", True)]


def test_an_op_that_changes_nothing_reports_nothing(engine):
    engine.apply(0, b"s", Op.SADD, [b"m"])
    engine.apply(0, b"h", Op.HSET, [b"f", b"v"])
    engine.changes.take()
    engine.apply(0, b"s", Op.SADD, [b"m"])  # already a member
    engine.apply(0, b"s", Op.SREM, [b"other"])
    engine.apply(0, b"h", Op.HDEL, [b"other"])
    engine.apply(0, b"nolist", Op.LPOP, [b"1"])
    engine.apply(0, b"nolist", Op.LTRIM, [b"1", b"0"])
    assert engine.changes.take() == []


def test_an_op_that_empties_its_collection_reports_del_after_it(engine):
    engine.apply(0, b"l", Op.RPUSH, [b"a", b"b"])
    engine.changes.take()
    assert engine.apply(0, b"l", Op.RPOP, [b"1"]) == [b"b"]
    assert engine.apply(0, b"l", Op.LPOP, [b"1"]) == [b"a"]
    assert engine.changes.take() == [(0, b"l", "rpop", True), (0, b"l", "lpop", False),
                                     (0, b"l", "del", False)]


def test_put_object_reports_set_or_the_given_event(engine):
    engine.put_object(0, b"s", {b"m"})
    engine.put_object(0, b"t", {b"m"}, event="sinterstore")
    engine.put_object(0, b"s", set())  # an empty result deletes the key
    engine.put_object(0, b"missing", set())
    assert engine.changes.take() == [(0, b"s", "new", True), (0, b"s", "set", True),
                                     (0, b"t", "new", True), (0, b"t", "sinterstore", True),
                                     (0, b"s", "del", False)]


@pytest.mark.parametrize("kind", ["string", "collection"])
def test_rename_reports_from_then_to(engine, kind):
    if kind == "string":
        engine.put(0, b"a", b"v")
    else:
        engine.apply(0, b"a", Op.SADD, [b"m"])
    engine.changes.take()
    assert engine.rename(0, b"a", 1, b"b")
    assert engine.changes.take() == [(1, b"b", "new", True), (0, b"a", "rename_from", False),
                                     (1, b"b", "rename_to", True)]
    assert engine.rename(1, b"b", 1, b"b")  # to itself: nothing changes
    assert not engine.rename(0, b"missing", 0, b"x")
    assert engine.changes.take() == []


def test_copy_reports_copy_to_on_the_target(engine):
    engine.put(0, b"a", b"v")
    engine.apply(0, b"s", Op.SADD, [b"m"])
    engine.changes.take()
    assert engine.copy(0, b"a", 0, b"b")
    assert engine.copy(0, b"s", 1, b"s")
    assert not engine.copy(0, b"missing", 0, b"x")
    assert engine.changes.take() == [(0, b"b", "new", True), (0, b"b", "copy_to", True),
                                     (1, b"s", "new", True), (1, b"s", "copy_to", True)]


def test_flushes_and_swapdb_report_the_databases(engine):
    engine.put(0, b"k", b"v")
    engine.changes.take()
    engine.flushdb(2)
    engine.flushall()
    engine.swapdb(0, 3)
    assert engine.changes.take() == [("flushed", (2,)), ("flushed", None),
                                     ("flushed", (0, 3))]


def test_compaction_reports_nothing(open_engine, clock):
    engine = open_engine(segment_size=1024)
    engine.merge_in_child = False
    for i in range(100):
        engine.put(0, b"k%d" % (i % 20), b"v" * 30)
    engine.apply(0, b"s", Op.SADD, [b"m"])
    recorder = engine.changes = Recorder(engine)
    compact(engine)  # the fix-up moves index entries, retires segments: no change
    assert engine.dbsize(0) == 21
    assert recorder.events == []
