"""Access data kept in strings' index entries (storage/access.py, storage/segment.py):
a string key costs no entry of another dict, a lookup at the current clock writes
nothing, and the field follows the key through overwrites, renames, compaction,
chains of extents and collections, as the separate dict it replaced did."""

from __future__ import annotations

from storage import hints
from storage.access import LFU_INIT_VAL, LFU_MINUTES_MASK, LRU_CLOCK_MAX, field_of
from storage.datatypes import Op
from storage.extents import Chain
from storage.segment import (
    location_of,
    pack_location,
    unpack_location,
)

from .test_compaction import compact
from .test_extents import SIZE, large

NOW = 1_800_000_000.0


def entry(engine, key: bytes, db: int = 0):
    return engine._keyspace.keydirs[db][key]


def test_hint_locations_for_any_segment_number():
    packed = hints._pack([0, 5, 0xFFFFFFFF])
    for number in (0, 1, 255, 256, 70_000):
        assert hints.locations_of(number, packed) == \
            [pack_location(number, offset) for offset in (0, 5, 0xFFFFFFFF)]


def test_a_string_keeps_its_access_data_in_its_location(open_engine):
    engine = open_engine()
    access = engine.access
    access.tick(NOW)
    engine.put(0, b"k", b"v")
    assert access.others == [{} for _ in access.others]
    assert field_of(entry(engine, b"k")) == access.clock
    before = entry(engine, b"k")
    assert engine.get(0, b"k") == b"v"
    assert entry(engine, b"k") is before  # the same clock: nothing stored
    access.tick(NOW + 7)
    assert access.idle_ms(0, b"k") == 7000
    assert engine.get(0, b"k") == b"v"
    assert access.idle_ms(0, b"k") == 0
    assert location_of(entry(engine, b"k")) == location_of(before)


def test_keys_not_used_since_the_load_store_nothing(open_engine):
    engine = open_engine()
    engine.put(0, b"k", b"v")
    engine.close()
    engine = open_engine()
    assert field_of(entry(engine, b"k")) == 0
    engine.access.tick(NOW)
    engine.access.loaded_clock = engine.access.clock - 30
    assert engine.access.idle_ms(0, b"k") == 30_000


def test_clock_zero_is_stored_as_its_wrapped_equal(open_engine):
    engine = open_engine()
    access = engine.access
    access.tick(LRU_CLOCK_MAX + 1)  # the 24-bit clock at 0
    assert access.clock == 0
    engine.put(0, b"k", b"v")
    assert field_of(entry(engine, b"k")) == LRU_CLOCK_MAX
    assert access.idle_ms(0, b"k") == 0
    access.tick(LRU_CLOCK_MAX + 1 + 9)
    assert access.idle_ms(0, b"k") == 9000
    access.set_policy(lfu=True)
    access.tick(0)  # minute 0
    access.set(0, b"k", freq=0)
    assert field_of(entry(engine, b"k")) == LFU_MINUTES_MASK << 8
    assert access.counter(0, b"k") == 0


def test_lfu_counter_survives_overwrites(open_engine):
    engine = open_engine()
    access = engine.access
    access.log_factor = 0  # every use counts
    access.set_policy(lfu=True)
    access.tick(NOW)
    engine.put(0, b"k", b"v")
    assert access.counter(0, b"k") == LFU_INIT_VAL
    engine.put(0, b"k", b"w")
    assert access.counter(0, b"k") == LFU_INIT_VAL + 1
    assert engine.get(0, b"k") == b"w"
    assert access.counter(0, b"k") == LFU_INIT_VAL + 2
    assert access.others == [{} for _ in access.others]


def test_access_data_follows_renames(open_engine):
    engine = open_engine()
    access = engine.access
    access.tick(NOW)
    engine.put(1, b"target", b"old")
    engine.put(1, b"other", b"old")
    access.tick(NOW + 50)
    engine.put(0, b"s", b"v")
    engine.put_object(0, b"h", {b"f": b"v"})
    access.tick(NOW + 60)
    assert engine.rename(0, b"s", 1, b"target")  # RENAME uses the key: now, not 60 s ago
    assert engine.rename(0, b"h", 1, b"other")
    assert access.idle_ms(1, b"target") == 0 and access.idle_ms(1, b"other") == 0
    assert type(entry(engine, b"other", 1)) is dict
    assert access.others == [{}, {b"other": access.clock}] + [{}] * (len(access.others) - 2)
    keyspace = engine._keyspace  # as replaying a RENAME record moves it: unused
    access.tick(NOW + 70)
    keyspace.rename(1, b"target", 0, b"back")
    assert access.idle_ms(0, b"back") == 10_000


def test_compaction_keeps_access_data(open_engine):
    engine = open_engine(segment_size=2048)
    engine.merge_in_child = False
    access = engine.access
    access.tick(NOW)
    for i in range(100):
        engine.put(0, b"key%d" % i, b"value%d" % i * 10)
    number_before = unpack_location(entry(engine, b"key0"))[0]
    access.tick(NOW + 40)
    compact(engine)
    assert unpack_location(entry(engine, b"key0"))[0] != number_before
    assert all(access.idle_ms(0, b"key%d" % i) == 40_000 for i in range(100))
    assert engine.get(0, b"key3") == b"value3" * 10


def test_chains_and_collections_keep_access_data_aside(open_engine):
    engine = open_engine()
    engine.merge_in_child = False
    access = engine.access
    access.tick(NOW)
    engine.put(0, b"big", large())
    access.tick(NOW + 3)
    with access.notouch(0, b"big"):
        engine.write_at(0, b"big", 10, b"patch", event="setrange")
    assert type(entry(engine, b"big")) is Chain
    assert access.others[0] == {b"big": access.clock - 3}
    assert access.idle_ms(0, b"big") == 3000
    access.tick(NOW + 5)
    compact(engine)  # the chain is joined: an int again, with the key's field
    assert type(entry(engine, b"big")) is int and not access.others[0]
    assert access.idle_ms(0, b"big") == 5000
    assert engine.get_range(0, b"big", 0, 4) == large()[:4]  # a chain of no patches
    assert type(entry(engine, b"big")) is Chain
    assert access.idle_ms(0, b"big") == 5000 and b"big" in access.others[0]
    assert engine.value_length(0, b"big") == SIZE
    engine.put(0, b"big", b"small")  # written whole: back in the location
    assert type(entry(engine, b"big")) is int and not access.others[0]
    engine.apply(0, b"list", Op.RPUSH, [b"a"])
    assert b"list" in access.others[0]
    access.tick(NOW + 8)
    engine.put(0, b"list", b"now a string")
    assert field_of(entry(engine, b"list")) == access.clock
    assert not access.others[0]
    engine.delete(0, b"list")
    engine.apply(0, b"list", Op.RPUSH, [b"a"])
    engine.delete(0, b"list")
    assert not access.others[0]

