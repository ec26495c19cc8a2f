"""Partial updates of large strings (storage/extents.py): a patch record costs the
change, reads of a chain give the value exactly (live, after restart with and
without hint files, after compaction, with patches written during one), joins
bound a chain, and a damaged patch answers the checksum error."""

from __future__ import annotations

import os
import random

import pytest

import storage.engine
from storage import extents, record
from storage.datasize import KEY_OVERHEAD
from storage.datatypes import Op, WrongType
from storage.engine import CorruptValue, Engine
from storage.extents import Chain
from storage.record import RecordType

from .conftest import segment_files
from .test_compaction import compact, finish_compaction, wait_for_merge
from .test_recovery import flip_bit, spans_in

SIZE = 256 * 1024


def large(seed: int = 1, size: int = SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


def log_growth(engine: Engine, change) -> int:
    """Bytes the log grows by while ``change()`` runs."""
    before = engine.disk_size()
    change()
    return engine.disk_size() - before


def patched(value: bytes, offset: int, data: bytes) -> bytes:
    """SETRANGE's meaning, written plainly."""
    return value[:offset].ljust(offset, b"\0") + data + value[offset + len(data):]


def chain_of_one_patch(engine: Engine, offset: int, data: bytes) -> bytes:
    """Key "big": a large value with ``data`` patched in at ``offset``; its value."""
    engine.put(0, b"big", large())
    engine.write_at(0, b"big", offset, data, event="setrange")
    return patched(large(), offset, data)


def test_a_small_write_to_a_large_value_appends_only_the_change(open_engine):
    engine = open_engine()
    engine.put(0, b"big", large())
    growth = log_growth(engine, lambda: engine.write_at(0, b"big", 1000, b"abcd",
                                                        event="setrange"))
    assert growth < 100
    assert type(engine._keyspace.keydirs[0][b"big"]) is Chain
    assert engine.get(0, b"big") == patched(large(), 1000, b"abcd")
    assert engine.value_length(0, b"big") == SIZE
    assert engine.get_range(0, b"big", 998, 1006) == large()[998:1000] + b"abcd" + \
        large()[1004:1006]


def test_writes_past_the_end_zero_fill_and_grow(open_engine):
    engine = open_engine()
    engine.put(0, b"big", large())
    assert engine.write_at(0, b"big", SIZE, b"tail", event="append") == SIZE + 4
    assert engine.write_at(0, b"big", SIZE + 10, b"far", event="setrange") == SIZE + 13
    expected = large() + b"tail" + bytes(6) + b"far"
    assert engine.get(0, b"big") == expected
    assert engine.get_range(0, b"big", SIZE - 2, SIZE + 100) == expected[SIZE - 2:]
    assert engine.value_length(0, b"big") == len(expected)


def test_small_values_are_rewritten_whole(open_engine):
    engine = open_engine()
    engine.put(0, b"small", b"x" * 100)
    engine.write_at(0, b"small", 2, b"yy", event="setrange")
    assert type(engine._keyspace.keydirs[0][b"small"]) is int
    assert engine.get(0, b"small") == b"xxyy" + b"x" * 96


def test_the_ttl_is_kept_and_the_chain_reads_back_after_restart(open_engine, data_dir):
    expire_at = storage.engine.now_ms() + 10**9
    engine = open_engine(segment_size=64 * 1024)
    engine.put(0, b"big", large(), expire_at)
    value = large()
    for i in range(50):  # across segment rotations, so hint files name patches
        engine.write_at(0, b"big", i * 4000, b"%04d" % i, event="setrange")
        value = patched(value, i * 4000, b"%04d" % i)
    engine.close()
    engine = open_engine(segment_size=64 * 1024)
    assert engine.get(0, b"big") == value
    assert engine.get_expire(0, b"big") == expire_at
    assert engine.get_range(0, b"big", 4000, 4008) == value[4000:4008]
    engine.close()
    for hint in data_dir.glob("*.hint"):
        hint.unlink()
    engine = open_engine(segment_size=64 * 1024)
    assert engine.get(0, b"big") == value


def test_appends_grow_the_log_linearly(open_engine):
    engine = open_engine()
    chunk = b"a" * 1024
    growth = log_growth(engine, lambda: [engine.write_at(
        0, b"log", engine.value_length(0, b"log") or 0, chunk, event="append")
        for _ in range(10_000)])
    total = 10_000 * len(chunk)
    assert engine.get(0, b"log") == chunk * 10_000
    # Rewriting the value each time would write ~50 GB; joins cost a constant factor.
    assert growth < 8 * total


def test_a_chain_with_too_many_patches_is_joined_by_its_next_write(open_engine,
                                                                    monkeypatch):
    monkeypatch.setattr(extents, "MAX_PATCHES", 8)
    engine = open_engine()
    engine.put(0, b"big", large())
    value = large()
    for i in range(8):
        engine.write_at(0, b"big", i, b"!", event="setbit")
        value = patched(value, i, b"!")
    assert len(engine._keyspace.keydirs[0][b"big"].patches) == 8
    growth = log_growth(engine, lambda: engine.write_at(0, b"big", 100, b"?", event="setbit"))
    assert growth > SIZE  # written whole
    assert type(engine._keyspace.keydirs[0][b"big"]) is int
    assert engine.get(0, b"big") == patched(value, 100, b"?")


def test_compaction_joins_a_chain(open_engine):
    engine = open_engine()
    engine.merge_in_child = False
    expected = chain_of_one_patch(engine, 5, b"patch")
    compact(engine)
    assert type(engine._keyspace.keydirs[0][b"big"]) is int
    assert engine.get(0, b"big") == expected
    engine.close()
    assert open_engine().get(0, b"big") == expected


@pytest.mark.parametrize("before_merge", [0, 2])
def test_patches_written_during_a_compaction_stay_on_the_joined_copy(open_engine,
                                                                     before_merge):
    engine = open_engine()
    engine.merge_in_child = False
    engine.put(0, b"big", large())
    value = large()
    for i in range(before_merge):
        engine.write_at(0, b"big", i * 10, b"old", event="setrange")
        value = patched(value, i * 10, b"old")
    assert engine.start_compaction()
    wait_for_merge(engine)
    engine.write_at(0, b"big", 7, b"new", event="setrange")  # after what the merge saw
    value = patched(value, 7, b"new")
    finish_compaction(engine)
    chain = engine._keyspace.keydirs[0][b"big"]
    assert type(chain) is Chain and len(chain.patches) == 1
    assert engine.get(0, b"big") == value
    assert engine.get_range(0, b"big", 0, 30) == value[:30]
    engine.close()
    assert open_engine().get(0, b"big") == value


def test_a_damaged_patch_answers_the_checksum_error(open_engine, data_dir):
    engine = open_engine()
    chain_of_one_patch(engine, 10, b"patch")
    engine.put(0, b"other", b"fine")
    engine.close()
    segment = segment_files(data_dir)[-1]
    end = spans_in(segment)[1][1]  # the PATCH record's
    flip_bit(segment, end - 1)
    engine = open_engine()
    assert engine.stats["damaged_records"] == 1
    for read in (lambda: engine.get(0, b"big"), lambda: engine.get_range(0, b"big", 0, 20),
                 lambda: engine.write_at(0, b"big", 0, b"x", event="setrange")):
        with pytest.raises(CorruptValue, match="failed its checksum"):
            read()
    assert engine.get(0, b"other") == b"fine"
    engine.put(0, b"big", b"written again")
    assert engine.get(0, b"big") == b"written again"


def test_a_patch_damaged_after_start_is_caught_by_the_read(open_engine, data_dir):
    engine = open_engine()
    chain_of_one_patch(engine, 10, b"patch")
    engine.flush()
    segment = segment_files(data_dir)[-1]
    end = spans_in(segment)[1][1]
    with open(segment, "r+b") as f:  # bit rot under the running engine (its map sees it)
        f.seek(end - 1)
        byte = f.read(1)
        f.seek(end - 1)
        f.write(bytes((byte[0] ^ 1,)))
        f.flush()
        os.fsync(f.fileno())
    with pytest.raises(CorruptValue):
        engine.get(0, b"big")
    with pytest.raises(CorruptValue):
        engine.get_range(0, b"big", 10, 12)
    assert engine.get_range(0, b"big", 100, 104) == large()[100:104]  # not under the patch


def test_a_collection_refuses_a_partial_write(open_engine):
    engine = open_engine()
    engine.apply(0, b"set", Op.SADD, [b"m"])
    with pytest.raises(WrongType):
        engine.write_at(0, b"set", 0, b"x", event="setrange")


def test_a_patch_record_is_its_own_checksummed_record(open_engine, data_dir):
    engine = open_engine()
    chain_of_one_patch(engine, 3, b"abc")
    engine.close()
    segment = segment_files(data_dir)[-1]
    data = memoryview(segment.read_bytes())
    start = spans_in(segment)[1][0]
    rec = record.decode_at(data, start, len(data))
    assert rec.type == RecordType.PATCH and rec.key == b"big"
    assert bytes(data[rec.value_offset:rec.end]) == extents.encode_patch(3, SIZE, b"abc")


def test_rename_and_copy_write_a_chain_whole(open_engine):
    engine = open_engine()
    expected = chain_of_one_patch(engine, 9, b"patch")
    assert engine.copy(0, b"big", 1, b"copy")
    assert engine.rename(0, b"big", 0, b"moved")
    assert type(engine._keyspace.keydirs[0][b"moved"]) is int
    assert engine.get(0, b"moved") == engine.get(1, b"copy") == expected
    engine.close()
    engine = open_engine()
    assert engine.get(0, b"moved") == engine.get(1, b"copy") == expected
    assert engine.get(0, b"big") is None


def test_a_large_value_read_by_ranges_is_checked_once_then_sliced(open_engine):
    engine = open_engine()
    engine.merge_in_child = False
    engine.put(0, b"big", large())
    growth = log_growth(engine, lambda: engine.get_range(0, b"big", 10, 20))
    assert growth == 0  # a read writes nothing
    chain = engine._keyspace.keydirs[0][b"big"]
    assert type(chain) is Chain and chain.verified and not chain.patches
    assert engine.get_range(0, b"big", SIZE - 5, SIZE + 5) == large()[-5:]
    assert engine.get(0, b"big") == large()
    assert engine.get_object(0, b"big") == chain.base  # still a string to the server
    compact(engine)
    assert type(engine._keyspace.keydirs[0][b"big"]) is int
    assert engine.get(0, b"big") == large()


def test_maxmemory_s_data_size_follows_a_chain(open_engine):
    engine = open_engine()
    size = engine.data_size
    engine.put(0, b"big", large())
    assert size.total() == KEY_OVERHEAD + 3 + SIZE
    engine.write_at(0, b"big", SIZE, b"tail", event="append")
    engine.write_at(0, b"big", 0, b"head", event="setrange")
    assert size.total() == KEY_OVERHEAD + 3 + SIZE + 4
    engine.delete(0, b"big")
    assert size.total() == 0
