"""Record replay (storage/replay.py) is shared by recovery and compaction: for
random histories of every kind of record, what recovery rebuilds, what
compaction's merge keeps, and what a compacted log reopens to all equal a
plain model of the same history. Partial writes of strings make chains of
extents even of small values here (storage/extents.py's thresholds lowered)."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import datatypes as coll
from storage import extents
from storage.compaction import MergeInput, _latest_records
from storage.datatypes import Op, ZSet
from storage.engine import Engine
from storage.keyspace import Keyspace
from storage.record import RecordType, decode_at, encode, value_at
from storage.replay import Replay
from storage.segment import map_file, pack_location, unpack_location

from .test_collections import contents
from .test_compaction import compact

DBS = 3
FAR = 1 << 50  # a TTL that never passes during a test: expiry is judged elsewhere
DB = st.integers(0, DBS - 1)
KEY = st.sampled_from([b"a", b"b", b"c"])
MEMBER = st.sampled_from([b"x", b"y", b"z"])
TTL = st.sampled_from([0, FAR, FAR + 1])

STEP = st.one_of(
    st.tuples(st.just("put"), DB, KEY, st.binary(max_size=8), TTL),
    st.tuples(st.just("delete"), DB, KEY),
    st.tuples(st.just("expire"), DB, KEY, TTL),
    st.tuples(st.just("op"), DB, KEY, st.sampled_from([
        (Op.SADD, 1), (Op.SREM, 1), (Op.RPUSH, 1), (Op.LPOP, 0), (Op.HSET, 2), (Op.HDEL, 1)]),
        st.lists(MEMBER, min_size=1, max_size=3)),
    st.tuples(st.just("snapshot"), DB, KEY, st.frozensets(MEMBER, min_size=1), TTL),
    st.tuples(st.just("rename"), DB, KEY, DB, KEY),
    st.tuples(st.just("copy"), DB, KEY, DB, KEY),
    st.tuples(st.just("flushdb"), DB),
    st.tuples(st.just("flushall")),
    st.tuples(st.just("swapdb"), DB, DB),
    st.tuples(st.just("rotate")),
    st.tuples(st.just("batch"), DB, st.lists(KEY, min_size=1, max_size=3)),
    st.tuples(st.just("patch"), DB, KEY, st.integers(0, 12), st.binary(max_size=4)),
)


class Model:
    """(db, key) -> (value, TTL) with the engine's meaning, written plainly: a
    string's bytes, a set, a list or a dict for collections."""

    def __init__(self) -> None:
        self.keys: dict[tuple[int, bytes], tuple[object, int]] = {}

    def run(self, engine: Engine, step: tuple) -> None:
        kind, *args = step
        getattr(self, kind)(engine, *args)

    def put(self, engine, db, key, value, ttl):
        engine.put(db, key, value, ttl)
        self.keys[db, key] = (value, ttl)

    def delete(self, engine, db, key):
        engine.delete(db, key)
        self.keys.pop((db, key), None)

    def expire(self, engine, db, key, ttl):
        engine.set_expire(db, key, ttl)
        if (db, key) in self.keys:
            self.keys[db, key] = (self.keys[db, key][0], ttl)

    def op(self, engine, db, key, op_and_arity, members):
        op, arity = op_and_arity
        args = [b"1"] if arity == 0 else members * arity
        kind = {Op.SADD: set, Op.SREM: set, Op.RPUSH: list, Op.LPOP: list,
                Op.HSET: dict, Op.HDEL: dict}[op]
        value, ttl = self.keys.get((db, key), (None, 0))
        if value is not None and type(value) is not kind:
            return  # WRONGTYPE: the engine refuses it, logging nothing
        engine.apply(db, key, op, args)
        value = kind() if value is None else kind(value)
        if op == Op.SADD:
            value |= set(members)
        elif op == Op.SREM:
            value -= set(members)
        elif op == Op.RPUSH:
            value += members
        elif op == Op.LPOP:
            value = value[1:]
        elif op == Op.HSET:
            value.update(zip(args[::2], args[1::2], strict=True))
        else:
            for member in members:
                value.pop(member, None)
        if value:
            self.keys[db, key] = (value, ttl)
        else:
            self.keys.pop((db, key), None)

    def snapshot(self, engine, db, key, members, ttl):
        engine.put_object(db, key, set(members), ttl)
        self.keys[db, key] = (set(members), ttl)

    def rename(self, engine, db, key, target_db, target):
        engine.rename(db, key, target_db, target)
        if (db, key) in self.keys:
            self.keys[target_db, target] = self.keys.pop((db, key))

    def copy(self, engine, db, key, target_db, target):
        if (db, key) == (target_db, target):
            return  # COPY refuses that before it reaches the engine
        engine.copy(db, key, target_db, target)
        if (db, key) in self.keys:
            value, ttl = self.keys[db, key]
            self.keys[target_db, target] = (type(value)(value), ttl)

    def flushdb(self, engine, db):
        engine.flushdb(db)
        self.keys = {k: v for k, v in self.keys.items() if k[0] != db}

    def flushall(self, engine):
        engine.flushall()
        self.keys = {}

    def swapdb(self, engine, db, other):
        engine.swapdb(db, other)
        swap = {db: other, other: db}
        self.keys = {(swap.get(d, d), k): v for (d, k), v in self.keys.items()}

    def rotate(self, engine):
        engine._log.rotate()

    def batch(self, engine, db, keys):
        with engine.batch():
            for key in keys:
                self.put(engine, db, key, b"batched", 0)
            self.patch(engine, db, keys[0], 1, b"p")

    def patch(self, engine, db, key, offset, data):
        value, ttl = self.keys.get((db, key), (b"", 0))
        if type(value) is not bytes:
            return  # WRONGTYPE: the engine refuses it, logging nothing
        engine.write_at(db, key, offset, data, event="setrange")
        self.keys[db, key] = (value[:offset].ljust(offset, b"\0") + data
                              + value[offset + len(data):], ttl)

    def contents(self) -> dict:
        """As tests/storage/test_collections.contents shows an engine."""
        shown = {}
        for (db, key), (value, ttl) in self.keys.items():
            if type(value) is list:
                value = ("list", value)
            shown[db, key] = (value, ttl)
        return shown


def shown(keydirs: list[dict], expires: list[dict], read) -> dict:
    """A replayed keyspace as :meth:`Model.contents` shows the model."""
    found = {}
    for db, keydir in enumerate(keydirs):
        for key, value in keydir.items():
            if type(value) is int:
                value = read(value)
            elif type(value) is extents.Chain:
                value = extents.assemble(value, read)
            elif type(value) is deque:
                value = ("list", list(value))
            found[db, bytes(key)] = (value, expires[db].get(key, 0))
    return found


def history(directory: Path, steps: list[tuple]) -> Model:
    model = Model()
    engine = Engine(directory, fsync="no", segment_size=512, databases=DBS)
    try:
        for step in steps:
            model.run(engine, step)
        assert contents(engine, range(DBS)) == model.contents()  # the live engine
    finally:
        engine.close()
    return model


def merged_view(directory: Path) -> dict:
    """What compaction's merge replays every segment to, before it writes anything."""
    paths = sorted(directory.glob("*.log"))
    inputs = [MergeInput(number, path) for number, path in enumerate(paths)]
    views = {item.number: map_file(item.path) for item in inputs}
    try:
        keydirs, expires, _, _ = _latest_records(inputs, views, DBS)

        def read(location: int) -> bytes:
            number, offset = unpack_location(location)
            return value_at(views[number], offset)

        return shown(keydirs, expires, read)
    finally:
        for view in views.values():
            if view is not None:
                view.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(STEP, max_size=30))
def test_recovery_and_compaction_agree_with_the_model(tmp_path_factory, steps):
    with mock.patch.multiple(extents, MIN_LENGTH=0, MAX_PATCHES=3, JOIN_FRACTION=1e9):
        _agree_with_the_model(tmp_path_factory.mktemp("replay"), steps)


def _agree_with_the_model(directory: Path, steps: list[tuple]) -> None:
    expected = history(directory, steps).contents()
    assert merged_view(directory) == expected  # the merge's replay
    engine = Engine(directory, fsync="no", segment_size=512, databases=DBS)
    engine.merge_in_child = False
    try:
        assert contents(engine, range(DBS)) == expected  # recovery's replay
        compact(engine)
        assert contents(engine, range(DBS)) == expected  # after the fix-up
    finally:
        engine.close()
    engine = Engine(directory, fsync="no", segment_size=512, databases=DBS)
    try:
        assert contents(engine, range(DBS)) == expected  # the compacted log, reopened
    finally:
        engine.close()


def test_replay_reports_what_each_record_supersedes():
    superseded: list[object] = []
    everything: list[tuple[int, int]] = []
    keyspace = Keyspace(2, superseded.append)
    replay = Replay(keyspace, lambda number, end: everything.append((number, end)))
    records = [encode(RecordType.PUT, 0, b"k", b"1"), encode(RecordType.PUT, 0, b"k", b"2"),
               encode(RecordType.DELETE, 0, b"k"),
               encode(RecordType.OP, 1, b"s", coll.encode(Op.SADD, [b"m"])),
               encode(RecordType.FLUSHALL, 0, b"")]
    buf = b"".join(records)
    offset = 0
    while offset < len(buf):
        rec = decode_at(memoryview(buf), offset, len(buf))
        replay(rec, 7, buf)
        offset = rec.end
    first, second = pack_location(7, 0), pack_location(7, len(records[0]))
    assert superseded == [first, second]  # the first PUT by the second, that by the DELETE
    assert everything == [(7, len(buf))]  # FLUSHALL: all before its end, at once
    assert keyspace.keydirs == [{}, {}]


def test_a_zset_snapshot_replays_bit_for_bit():
    zset = ZSet()
    zset.add(b"m", -0.0)
    keyspace = Keyspace(1)
    data = next(coll.snapshot(zset))
    raw = encode(RecordType.SNAPSHOT, 0, b"z", data, 5)
    Replay(keyspace)(decode_at(memoryview(raw), 0, len(raw)), 0, raw)
    assert list(keyspace.keydirs[0][b"z"].order) == list(zset.order)
    assert keyspace.expires[0] == {b"z": 5}
