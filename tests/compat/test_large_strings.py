"""Partial updates of large strings, caskd against redis-server: SETRANGE, APPEND,
SETBIT, BITFIELD, GETRANGE, GETBIT, BITCOUNT and STRLEN on values large enough to
become chains of extents in caskd (storage/extents.py), byte for byte, RESP2 and
RESP3: the chains change nothing a client sees."""

from __future__ import annotations

import random

from storage import extents

SIZE = 3 * extents.MIN_LENGTH  # past the threshold, so writes make patches


def run(pair, *commands: tuple) -> None:
    for command in commands:
        pair.check(*command)


def test_partial_writes_to_a_large_value(pair):
    base = random.Random(5).randbytes(SIZE)
    run(pair,
        ("SET", "big", base, "EX", "1000"),
        ("SETRANGE", "big", "100", "patch"), ("SETRANGE", "big", str(SIZE - 2), "over-the-end"),
        ("SETRANGE", "big", str(SIZE + 50), "gap"), ("SETRANGE", "big", "7", ""),
        ("APPEND", "big", "tail"), ("SETBIT", "big", "5", "1"), ("SETBIT", "big", "5", "1"),
        ("SETBIT", "big", str(8 * (SIZE + 100)), "1"),
        ("BITFIELD", "big", "SET", "u8", "800", "255", "GET", "i16", "796",
         "INCRBY", "i5", "100", "3", "GET", "u8", str(8 * (SIZE + 200))),
        ("BITFIELD", "big", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"),
        ("BITFIELD_RO", "big", "GET", "u16", "800"),
        ("GETRANGE", "big", "95", "110"), ("GETRANGE", "big", "-30", "-1"),
        ("GETRANGE", "big", str(SIZE - 5), str(SIZE + 80)), ("GETBIT", "big", "5"),
        ("GETBIT", "big", str(8 * (SIZE + 100))), ("GETBIT", "big", str(8 * SIZE * 4)),
        ("BITCOUNT", "big", "0", "200"), ("BITCOUNT", "big", "799", "900", "BIT"),
        ("BITCOUNT", "big", "-120", "-1"), ("BITCOUNT", "big"), ("BITPOS", "big", "1", "100"),
        ("STRLEN", "big"), ("GET", "big"), ("TTL", "big"), ("INCR", "big"),
        ("SETRANGE", "big", "0", "12"), ("GET", "big"))


def test_many_appends_and_random_writes_read_back_as_redis_s(pair):
    rng = random.Random(11)
    pair.check("SET", "v", rng.randbytes(SIZE))
    for _ in range(150):
        kind = rng.randrange(4)
        if kind == 0:
            pair.check("APPEND", "v", rng.randbytes(rng.randrange(1, 300)))
        elif kind == 1:
            pair.check("SETRANGE", "v", str(rng.randrange(SIZE + 1000)), rng.randbytes(9))
        elif kind == 2:
            pair.check("SETBIT", "v", str(rng.randrange(8 * SIZE)), str(rng.randrange(2)))
        else:
            start = rng.randrange(SIZE)
            pair.check("GETRANGE", "v", str(start), str(start + rng.randrange(500)))
    run(pair, ("STRLEN", "v"), ("GET", "v"), ("BITCOUNT", "v"))


def test_partial_writes_in_a_transaction(pair):
    run(pair, ("SET", "big", b"x" * SIZE), ("MULTI",), ("SETRANGE", "big", "3", "abc"),
        ("APPEND", "big", "end"), ("SETBIT", "big", "0", "0"), ("EXEC",),
        ("GETRANGE", "big", "0", "8"), ("GETRANGE", "big", "-5", "-1"), ("STRLEN", "big"))


def test_counters_refuse_a_large_value(pair):
    run(pair, ("SET", "big", b"1" * SIZE), ("INCR", "big"), ("DECRBY", "big", "3"),
        ("INCRBYFLOAT", "big", "1.5"), ("SET", "f", b"1" * 5119), ("INCRBYFLOAT", "f", "1"),
        ("SET", "f", b"1" * 5120), ("INCRBYFLOAT", "f", "1"), ("STRLEN", "big"))
