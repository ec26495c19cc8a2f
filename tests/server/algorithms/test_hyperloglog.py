"""server.algorithms.hyperloglog: Redis's HyperLogLog representation and estimate, without a
server. The expected opcodes and counts were read from redis-server 7.0.15 (PFDEBUG
DECODE, PFCOUNT) for the same inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.algorithms import hyperloglog as hll
from server.algorithms.hyperloglog import DENSE, SPARSE, Hll, InvalidHll
from storage.encoding import ENCODING


def filled(count: int, prefix: bytes = b"e") -> Hll:
    value = Hll.new()
    for i in range(count):
        value.add(prefix + b"%d" % i)
    return value


def test_a_new_value_is_sparse_zeros_with_a_valid_cache():
    value = Hll.new()
    assert bytes(value)[:5] == b"HYLL\x01" and len(bytes(value)) == 18
    assert value.decode_sparse() == "Z:16384"
    assert value.cached_count() == 0 and value.count() == 0


def test_adds_edit_the_sparse_runs_as_redis_does():
    value = Hll.new()
    assert [value.add(element) for element in (b"a", b"b", b"c", b"a")] == [
        True, True, True, False]
    assert value.decode_sparse() == "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
    assert value.cached_count() is None  # the cache is stale after a change
    assert value.count() == 3


def test_pattern_length_is_one_plus_the_zeros_after_the_index_bits():
    index, run = hll.pattern_length(b"b")
    assert 0 <= index < hll.REGISTERS and 1 <= run <= hll.Q + 1
    assert hll.murmurhash64a(b"") != hll.murmurhash64a(b"\0")


@pytest.mark.parametrize("count, expected", [(1000, 1008), (20000, 19901)])
def test_estimates_match_redis(count, expected):
    """redis-server's PFCOUNT after PFADD of b"e0", b"e1" … for these counts."""
    assert filled(count).count() == expected


def test_sparse_becomes_dense_past_the_size_limit_and_counts_agree():
    value, dense = Hll.new(), Hll(b"HYLL" + bytes(hll.DENSE_SIZE - 4))
    for i in range(5000):
        element = b"%d" % i
        value.add(element)
        dense.add(element)
        if value.encoding == SPARSE:
            assert len(bytes(value)) <= ENCODING.hll_sparse_max_bytes
    assert value.encoding == DENSE and len(bytes(value)) == hll.DENSE_SIZE
    assert value.count() == dense.count()
    assert bytes(value)[16:] == bytes(dense)[16:]


def test_a_register_above_32_needs_the_dense_encoding():
    value = Hll.new()
    assert value.set_register(5, 33)
    assert value.encoding == DENSE
    assert value.registers()[5] == 33 and sum(value.registers()) == 33


def test_dense_registers_pack_six_bits_each():
    value = Hll(b"HYLL" + bytes(hll.DENSE_SIZE - 4))
    for index in (0, 1, 2, 3, 4, 16383):
        value.set_register(index, 63 - index % 7)
    registers = value.registers()
    assert [registers[i] for i in (0, 1, 2, 3, 4, 16383)] == [63, 62, 61, 60, 59, 63 - 16383 % 7]
    assert not value.set_register(1, 10)  # never lowered


def test_to_dense_keeps_registers_and_the_cached_count():
    value = filled(100)
    value.store_count(value.count())
    before = value.registers()
    assert value.to_dense() and not value.to_dense()
    assert value.registers() == before and value.cached_count() == 100 == value.count()


def test_merging_takes_the_maximum_of_each_register():
    a, b = filled(500, b"a"), filled(500, b"b")
    maxima = bytearray(hll.REGISTERS)
    a.merge_into(maxima)
    b.merge_into(maxima)
    assert list(maxima) == [max(x, y) for x, y in zip(a.registers(), b.registers(),
                                                      strict=True)]
    both = Hll.new()
    for prefix in (b"a", b"b"):
        for i in range(500):
            both.add(prefix + b"%d" % i)
    assert hll.count_registers(maxima) == both.count()


@pytest.mark.parametrize("tail", [b"", b"\x7f\xff", b"\x40", b"\xff" * 4 + b"\x00"])
def test_a_sparse_value_whose_runs_do_not_cover_16384_registers_is_invalid(tail):
    header = bytes(Hll.new())[:16]
    value = Hll(header + b"\x7f\xfe" + tail)  # XZERO of 16383, then the tail
    with pytest.raises(InvalidHll):
        value.count()
    with pytest.raises(InvalidHll):
        value.merge_into(bytearray(hll.REGISTERS))
    with pytest.raises(InvalidHll):
        value.to_dense()


@pytest.mark.parametrize("data, valid", [
    (bytes(Hll.new()), True), (b"HYLL" + bytes(hll.DENSE_SIZE - 4), True),
    (b"HYLL" + bytes(hll.DENSE_SIZE - 5), False), (b"HYLL\x02" + bytes(13), False),
    (b"HYLX\x01" + bytes(13), False), (b"HYLL\x01", False), (b"12", False)])
def test_parse_accepts_what_redis_takes_for_a_hyperloglog(data, valid):
    assert (Hll.parse(data) is not None) == valid


def test_selftest_passes():
    assert hll.selftest(cycles=1, cardinalities=1000) is None



@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(0, hll.REGISTERS - 1), st.integers(0, 40)),
                          st.integers(1, 32)), max_size=1500))
def test_sparse_edits_keep_exactly_the_registers_a_plain_array_would(updates):
    """Whatever order registers are raised in (splits, merges of neighbouring runs,
    promotion to dense past the size limit), the value holds each register's maximum
    and stays valid, and resuming the walk gives the bytes walking from the start
    gives. (Neighbouring registers, 0 to 40, are drawn often.)"""
    for order in (updates, sorted(updates)):  # sorted: as PFMERGE sets them
        value, expected = Hll.new(), [0] * hll.REGISTERS
        walked_from_start = Hll.new()  # as Redis walks: from the first opcode each time
        for index, count in order:
            walked_from_start._resume = None
            assert walked_from_start.set_register(index, count) == (count > expected[index])
            assert value.set_register(index, count) == (count > expected[index])
            expected[index] = max(expected[index], count)
        assert bytes(value) == bytes(walked_from_start)
        assert list(value.registers()) == expected
        assert value.count() == hll.count_registers(expected)
        if value.encoding == SPARSE:
            assert len(bytes(value)) <= ENCODING.hll_sparse_max_bytes
            assert sum(int(run.split(":")[1].split(",")[-1])
                       for run in value.decode_sparse().split()) == hll.REGISTERS
