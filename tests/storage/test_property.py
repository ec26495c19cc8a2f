"""Property test: random sequences of changes, flushes, compactions and reopens
give the same observable state as a plain dict (with a fake clock, so expiry is
deterministic)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import storage.engine
from storage.engine import Engine

DBS = st.integers(0, 2)
KEY_LIST = [b"a", b"b", b"c", b"", b"\x00k", b"long" * 20]
KEYS = st.sampled_from(KEY_LIST)
VALUES = st.one_of(st.binary(max_size=40), st.binary(min_size=500, max_size=3000))
TTLS = st.one_of(st.just(0), st.integers(1, 2000))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


class EngineVersusDict(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self._real_now = storage.engine.now_ms
        storage.engine.now_ms = self.clock
        self.directory = Path(tempfile.mkdtemp(prefix="caskd-prop-"))
        self.engine = self._open()
        self.model: dict[tuple[int, bytes], tuple[bytes, int]] = {}  # -> (value, expire_at)

    def _open(self) -> Engine:
        engine = Engine(self.directory, fsync="no", segment_size=2048, databases=3,
                        auto_compact_min_size=1 << 40)
        engine.merge_in_child = False  # the same merge, without a process start per step
        return engine

    def teardown(self) -> None:
        try:
            self.engine.close()
        finally:
            storage.engine.now_ms = self._real_now
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- the model

    def visible(self, db: int, key: bytes) -> bool:
        entry = self.model.get((db, key))
        if entry is None:
            return False
        if entry[1] and entry[1] <= self.clock.now:
            del self.model[db, key]
            return False
        return True

    # -- changes

    @rule(db=DBS, key=KEYS, value=VALUES, ttl=TTLS,
          only_if=st.sampled_from([None, None, "absent", "present"]), keep_ttl=st.booleans())
    def put(self, db, key, value, ttl, only_if, keep_ttl):
        expire_at = self.clock.now + ttl if ttl else 0
        exists = self.visible(db, key)
        expected = only_if is None or exists == (only_if == "present")
        assert self.engine.put(db, key, value, expire_at, keep_ttl=keep_ttl,
                               only_if=only_if) == expected
        if expected:
            if keep_ttl:
                expire_at = self.model[db, key][1] if exists else 0
            self.model[db, key] = (value, expire_at)

    @rule(db=DBS, key=KEYS)
    def delete(self, db, key):
        assert self.engine.delete(db, key) == self.visible(db, key)
        self.model.pop((db, key), None)

    @rule(db=DBS, key=KEYS, delta=st.integers(-5, 2000))
    def expire(self, db, key, delta):
        at = self.clock.now + delta
        exists = self.visible(db, key)
        assert self.engine.set_expire(db, key, at) == exists
        if exists:
            if at <= self.clock.now:
                del self.model[db, key]
            else:
                self.model[db, key] = (self.model[db, key][0], at)

    @rule(db=DBS, key=KEYS)
    def persist(self, db, key):
        exists = self.visible(db, key)
        assert self.engine.set_expire(db, key, 0) == exists
        if exists:
            self.model[db, key] = (self.model[db, key][0], 0)

    @rule(db=DBS, keys=st.lists(st.tuples(KEYS, VALUES), max_size=4), drop=KEYS)
    def batch(self, db, keys, drop):
        with self.engine.batch():
            for key, value in keys:
                self.engine.put(db, key, value)
                self.model[db, key] = (value, 0)
            self.engine.delete(db, drop)
            self.model.pop((db, drop), None)

    @rule(db=DBS)
    def flushdb(self, db):
        self.engine.flushdb(db)
        self.model = {k: v for k, v in self.model.items() if k[0] != db}

    @rule()
    def flushall(self):
        self.engine.flushall()
        self.model = {}

    @rule(db=DBS, other=DBS)
    def swapdb(self, db, other):
        self.engine.swapdb(db, other)
        swap = {db: other, other: db}
        self.model = {(swap.get(d, d), k): v for (d, k), v in self.model.items()}

    # -- time, flushing, upkeep

    @rule(ms=st.integers(0, 1500))
    def advance_clock(self, ms):
        self.clock.now += ms

    @rule()
    def flush(self):
        self.engine.flush()

    @rule()
    def expire_cycle(self):
        self.engine.expire_cycle(max_keys=3)

    # -- compaction and reopening

    @rule()
    def start_compaction(self):
        self.engine.start_compaction()

    @precondition(lambda self: self.engine.compacting)
    @rule(budget=st.integers(1, 5))
    def compaction_step(self, budget):
        # The merge is quick; its timing is not under test.
        self.engine._compactor.state.thread.join()
        self.engine.compaction_step(budget)

    @rule()
    def compact_fully(self):
        self.engine.start_compaction()
        deadline = time.monotonic() + 20
        while self.engine.compacting:
            self.engine.compaction_step()
            assert time.monotonic() < deadline
            time.sleep(0.0005)

    @rule()
    def reopen(self):
        self.engine.close()
        self.engine = self._open()

    # -- checks

    @invariant()
    def every_key_matches_the_model(self):
        for db in range(3):
            for key in KEY_LIST:
                self._check_key(db, key)

    @rule()
    def check_keys_and_scan(self):
        """KEYS and SCAN (these remove expired keys as they meet them)."""
        for db in range(3):
            expected = {k for (d, k) in list(self.model) if d == db and self.visible(d, k)}
            assert set(self.engine.keys(db)) == expected
            cursor, scanned = 0, []
            while True:
                cursor, found = self.engine.scan(db, cursor, 2)
                scanned.extend(found)
                if cursor == 0:
                    break
            assert set(scanned) == expected

    def _check_key(self, db, key):
        if self.visible(db, key):
            value, expire_at = self.model[db, key]
            assert self.engine.get(db, key) == value
            assert self.engine.get_expire(db, key) == expire_at
            assert self.engine.value_length(db, key) == len(value)
        else:
            # Peek instead of get(): a get would delete an expired key at once, and
            # expired keys that linger are what compaction and reopening must handle.
            assert (key not in self.engine._keyspace.keydirs[db]
                    or 0 < self.engine._keyspace.expires[db].get(key, 0) <= self.clock.now)

    @invariant()
    def sizes_are_consistent(self):
        info = self.engine.info()
        assert info["disk_size"] >= info["dead_size"] >= 0


EngineVersusDict.TestCase.settings = settings(max_examples=80, stateful_step_count=40,
                                              deadline=None)
test_engine_matches_a_dict = EngineVersusDict.TestCase
