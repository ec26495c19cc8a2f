"""Eviction's parts: access data (storage/access.py), the data set's size
(storage/datasize.py), the choice of a key by each policy (storage/eviction.py) with
a seeded sampler, and the engine's logged, reported eviction."""

from __future__ import annotations

import random

from storage.access import LFU_INIT_VAL, LRU_CLOCK_MAX, Access, field_of, lfu_minutes, lru_clock
from storage.datasize import KEY_OVERHEAD, MEMBER_OVERHEAD
from storage.datatypes import Op
from storage.eviction import Evictor
from storage.keyspace import Keyspace
from storage.segment import ACCESS_SHIFT, pack_location

from . import test_events

NOW = 1_800_000_000.0
engine = test_events.engine  # the fixture: an engine whose changes a Recorder keeps


# ------------------------------------------------------------------ access data

def test_lru_idle_time_follows_the_clock_and_its_wrap():
    access = Access(1)
    access.tick(NOW)
    access.touch(0, b"k")
    access.tick(NOW + 90)
    assert access.idle_ms(0, b"k") == 90_000
    access.others[0][b"old"] = LRU_CLOCK_MAX - 5  # used just before the 24-bit clock wrapped
    access.clock = 10
    assert access.idle_ms(0, b"old") == 15_000


def test_keys_not_used_since_loading_count_as_used_at_load():
    access = Access(1)
    access.loaded_clock, access.loaded_minutes = lru_clock(NOW), lfu_minutes(NOW)
    access.tick(NOW + 30)
    assert access.idle_ms(0, b"never") == 30_000
    access.set_policy(lfu=True)
    assert access.counter(0, b"never") == LFU_INIT_VAL


def test_lfu_counter_grows_logarithmically_and_decays():
    access = Access(1, rng=random.Random(7))
    access.set_policy(lfu=True)
    access.tick(NOW)
    access.touch(0, b"k", new=True)
    assert access.counter(0, b"k") == LFU_INIT_VAL
    access.touch(0, b"k")  # at or below LFU_INIT_VAL an increment is certain
    assert access.counter(0, b"k") == LFU_INIT_VAL + 1
    for _ in range(10_000):
        access.touch(0, b"k")
    assert 20 < access.counter(0, b"k") < 60  # log factor 10: ~10k hits give ~30
    hot = access.counter(0, b"k")
    access.tick(NOW + 3 * 60)  # lfu-decay-time 1: one less per minute
    assert access.counter(0, b"k") == hot - 3
    access.decay_time = 0
    assert access.counter(0, b"k") == hot


def test_lfu_values_are_shared_ints():
    """A key's access data kept aside (not in a location) costs its dict entry only:
    the ints are shared."""
    access = Access(1, rng=random.Random(1))
    access.set_policy(lfu=True)
    access.touch(0, b"a", new=True)
    access.touch(0, b"b", new=True)
    assert access.others[0][b"a"] is access.others[0][b"b"]
    access.set_policy(lfu=False)
    access.touch(0, b"a")
    access.touch(0, b"b")
    assert access.others[0][b"a"] is access.others[0][b"b"]


def test_notouch_keeps_access_data_as_it_was():
    access = Access(1)
    access.tick(NOW)
    access.touch(0, b"k")
    access.tick(NOW + 5)
    with access.notouch(0, b"k"), access.notouch(0, b"new"):
        access.touch(0, b"k")
        access.touch(0, b"new")
    assert access.idle_ms(0, b"k") == 5000
    assert b"new" not in access.others[0]


def test_keyspace_drops_and_moves_access_data_with_keys():
    keyspace = Keyspace(2)
    access = keyspace.access
    for key in (b"a", b"b", b"c"):
        keyspace.put(0, key, {b"f": b"v"}, 0)
        access.touch(0, key)
    keyspace.remove(0, b"a")
    keyspace.rename(0, b"b", 1, b"b2")
    assert set(access.others[0]) == {b"c"} and set(access.others[1]) == {b"b2"}
    keyspace.swapdb(0, 1)
    assert set(access.others[0]) == {b"b2"}
    keyspace.flushdb(0)
    keyspace.clear()
    assert access.others == [{}, {}]


def test_keyspace_keeps_a_strings_access_data_in_its_location():
    keyspace = Keyspace(2)
    access = keyspace.access
    access.tick(NOW)
    keyspace.put(0, b"s", pack_location(1, 10), 0)
    access.touch(0, b"s")
    assert field_of(keyspace.keydirs[0][b"s"]) == access.clock and access.others == [{}, {}]
    keyspace.put(0, b"s", pack_location(1, 50), 0)  # fresh from the log: keeps the field
    assert keyspace.keydirs[0][b"s"] == pack_location(1, 50) | access.clock << ACCESS_SHIFT
    access.tick(NOW + 4)
    keyspace.rename(0, b"s", 1, b"t")
    assert access.idle_ms(1, b"t") == 4000 and access.others == [{}, {}]
    keyspace.put(1, b"t", {b"f": b"v"}, 0)  # a collection: the field goes aside
    assert access.others[1] == {b"t": access.clock - 4}
    keyspace.put(1, b"t", pack_location(2, 0), 0)  # and back
    assert field_of(keyspace.keydirs[1][b"t"]) == access.clock - 4 and access.others == [{}, {}]


# ------------------------------------------------------------------ the choice

def keyspace_with(keys: dict[bytes, tuple[int, int]], databases: int = 1) -> Keyspace:
    """A keyspace whose db 0 holds ``keys``: key -> (seconds idle, TTL or 0)."""
    keyspace = Keyspace(databases)
    keyspace.access.tick(NOW)
    for key, (idle, ttl) in keys.items():
        keyspace.put(0, key, {b"f": b"v"}, ttl)
        keyspace.access.others[0][key] = keyspace.access.clock - idle
    return keyspace


def evict_all(evictor: Evictor) -> list[bytes]:
    order = []
    while (victim := evictor.choose()) is not None:
        db, key = victim
        evictor.keyspace.remove(db, key)
        evictor.evicted(db)
        order.append(key)
    return order


def evictor_for(keyspace: Keyspace, policy: str, samples: int = 5, seed: int = 3) -> Evictor:
    evictor = Evictor(keyspace, random.Random(seed))
    evictor.set_policy(policy)
    evictor.samples = samples
    return evictor


def test_allkeys_lru_evicts_the_least_recently_used():
    keys = {b"k%d" % i: (i, 0) for i in range(12)}  # k11 idle longest
    # Sampling more keys than there are sees all of them: exactly LRU order.
    order = evict_all(evictor_for(keyspace_with(keys), "allkeys-lru", samples=20))
    assert order == [b"k%d" % i for i in range(11, -1, -1)]


def test_sampled_lru_keeps_the_hot_keys():
    """With Redis's 5 samples and its pool the most recently used tenth survives
    evicting half of 1000 keys."""
    keys = {b"k%d" % i: (1000 - i, 0) for i in range(1000)}
    evictor = evictor_for(keyspace_with(keys), "allkeys-lru")
    evicted = set()
    for _ in range(500):
        db, key = evictor.choose()
        evictor.keyspace.remove(db, key)
        evictor.evicted(db)
        evicted.add(key)
    assert not evicted & {b"k%d" % i for i in range(900, 1000)}


def test_allkeys_lfu_evicts_the_least_frequently_used():
    keyspace = keyspace_with({b"rare": (0, 0), b"often": (0, 0), b"mid": (0, 0)})
    access = keyspace.access
    access.set_policy(lfu=True)
    minute = access.minutes << 8
    access.others[0].update({b"rare": minute | 2, b"often": minute | 200, b"mid": minute | 50})
    assert evict_all(evictor_for(keyspace, "allkeys-lfu", samples=10)) == \
        [b"rare", b"mid", b"often"]


def test_volatile_policies_evict_only_keys_with_a_ttl():
    keys = {b"persistent-old": (500, 0), b"ttl-a": (5, 3000), b"ttl-b": (50, 2000),
            b"persistent": (0, 0), b"ttl-c": (1, 1000)}
    for policy in ("volatile-lru", "volatile-random", "volatile-lfu", "volatile-ttl"):
        order = evict_all(evictor_for(keyspace_with(keys), policy, samples=10))
        assert sorted(order) == [b"ttl-a", b"ttl-b", b"ttl-c"], policy
    assert evict_all(evictor_for(keyspace_with(keys), "volatile-lru", samples=10)) == \
        [b"ttl-b", b"ttl-a", b"ttl-c"]
    assert evict_all(evictor_for(keyspace_with(keys), "volatile-ttl", samples=10)) == \
        [b"ttl-c", b"ttl-b", b"ttl-a"]  # the soonest to expire first


def test_random_policies_take_every_key_in_turn_across_dbs():
    keyspace = keyspace_with({b"a": (0, 0), b"b": (0, 0)}, databases=3)
    keyspace.put(2, b"c", 1, 0)
    order = evict_all(evictor_for(keyspace, "allkeys-random"))
    assert sorted(order) == [b"a", b"b", b"c"]


def test_the_choice_is_reproducible_with_a_seed():
    keys = {b"k%d" % i: (i % 7, 0) for i in range(200)}
    runs = [evict_all(evictor_for(keyspace_with(keys), "allkeys-lru", seed=11))[:50]
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_noeviction_and_empty_keyspaces_choose_nothing():
    assert evictor_for(keyspace_with({b"a": (9, 0)}), "noeviction").choose() is None
    assert evictor_for(Keyspace(4), "allkeys-lru").choose() is None
    assert evictor_for(keyspace_with({b"a": (9, 0)}), "volatile-ttl").choose() is None


def test_keys_written_after_the_snapshot_become_candidates():
    keyspace = keyspace_with({b"a": (0, 0)})
    evictor = evictor_for(keyspace, "allkeys-random")
    assert evictor.choose() == (0, b"a")
    keyspace.remove(0, b"a")
    keyspace.put(0, b"later", 1, 0)
    assert evictor.choose() == (0, b"later")


# ------------------------------------------------------------------ the engine

def test_data_size_counts_keys_values_and_members(engine):
    engine.put(0, b"k", b"x" * 1000)
    size = engine.data_size
    assert size.total() == KEY_OVERHEAD + 1 + 1000
    engine.put(0, b"k", b"y" * 10)  # counted from here on, change by change
    engine.apply(0, b"h", Op.HSET, [b"f1", b"v", b"f2", b"v"])
    engine.apply(1, b"l", Op.RPUSH, [b"a"])
    strings = KEY_OVERHEAD + 1 + 10
    assert size.total() == strings + 2 * (KEY_OVERHEAD + 1) + 3 * MEMBER_OVERHEAD
    engine.apply(0, b"h", Op.HDEL, [b"f1"])
    engine.rename(1, b"l", 0, b"list")
    engine.delete(0, b"list")
    assert size.total() == strings + KEY_OVERHEAD + 1 + MEMBER_OVERHEAD
    engine.expire_cycle()
    engine.flushdb(0)
    assert size.total() == 0
    size.set_values(False)
    engine.put(0, b"k", b"x" * 1000)
    assert size.total() == KEY_OVERHEAD + 1  # only what RAM holds


def test_an_eviction_is_a_logged_reported_delete(open_engine, engine, data_dir):
    engine.put(0, b"gone", b"v")
    engine.put(0, b"kept", b"v")
    engine.changes.take()
    engine.evict(0, b"gone")
    assert engine.changes.take() == [(0, b"gone", "evicted", False)]
    assert engine.stats["evicted_keys"] == 1
    engine.close()
    reopened = open_engine()
    assert reopened.get(0, b"gone") is None and reopened.get(0, b"kept") == b"v"


def test_reads_and_writes_touch_but_exists_does_not(engine):
    access = engine.access
    access.tick(NOW)
    engine.put(0, b"k", b"v")
    engine.apply(0, b"h", Op.HSET, [b"f", b"v"])
    access.tick(NOW + 10)
    engine.exists(0, b"k")
    engine.get_expire(0, b"h")
    assert access.idle_ms(0, b"k") == access.idle_ms(0, b"h") == 10_000
    engine.get(0, b"k")
    engine.get_object(0, b"h")
    assert access.idle_ms(0, b"k") == access.idle_ms(0, b"h") == 0
