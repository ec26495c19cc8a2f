"""Bitmaps and bitfields, caskd against redis-server: SETBIT, GETBIT, BITCOUNT,
BITPOS, BITOP, BITFIELD and BITFIELD_RO with their ranges, overflow rules and errors,
byte for byte, in RESP2 and RESP3."""

from __future__ import annotations

import random

from tests.compat.harness import decode

PATTERN = bytes([0b10110000, 0x00, 0xff, 0x0f, 0xf0, 0x81])


def run(pair, *commands: tuple) -> None:
    for command in commands:
        pair.check(*command)


def test_setbit_and_getbit(pair):
    run(pair,
        ("SETBIT", "b", "7", "1"), ("GET", "b"), ("SETBIT", "b", "7", "1"),
        ("SETBIT", "b", "7", "0"), ("GETBIT", "b", "7"), ("SETBIT", "b", "100", "1"),
        ("GET", "b"), ("STRLEN", "b"), ("GETBIT", "b", "100"), ("GETBIT", "b", "1000000"),
        ("GETBIT", "missing", "3"), ("SETBIT", "b", "0", "1"), ("GET", "b"),
        ("SET", "n", "12"), ("GETBIT", "n", "2"), ("SETBIT", "n", "7", "1"), ("GET", "n"),
        ("SET", "ttl", "x", "EX", "100"), ("SETBIT", "ttl", "0", "1"), ("TTL", "ttl"))


def test_bit_errors(pair):
    run(pair,
        ("SETBIT", "b", "-1", "1"), ("SETBIT", "b", "x", "1"), ("SETBIT", "b", "1.5", "1"),
        ("SETBIT", "b", "4294967296", "1"), ("SETBIT", "b", "#1", "1"),
        ("SETBIT", "b", "1", "2"), ("SETBIT", "b", "1", "-1"), ("SETBIT", "b", "1", "x"),
        ("SETBIT", "b", "x", "2"), ("GETBIT", "b", "-1"), ("GETBIT", "b", "4294967296"),
        ("GETBIT", "b", "x"), ("SETBIT", "b", "1"), ("GETBIT", "b"),
        ("RPUSH", "list", "a"), ("SETBIT", "list", "1", "1"), ("GETBIT", "list", "1"),
        ("SETBIT", "list", "x", "1"), ("BITCOUNT", "list"), ("BITPOS", "list", "1"),
        ("BITFIELD", "list", "GET", "u8", "0"), ("BITFIELD_RO", "list", "GET", "u8", "0"),
        ("BITFIELD", "list", "SET", "u8", "0", "1"), ("BITOP", "AND", "d", "list"),
        ("BITOP", "AND", "list", "b"), ("TYPE", "list"))


def test_bitcount(pair):
    pair.check("SET", "p", PATTERN)
    for args in [(), ("0", "-1"), ("1", "2"), ("-2", "-1"), ("-1", "-2"), ("5", "2"),
                 ("0", "100"), ("-100", "100"), ("0", "-1", "BIT"), ("3", "20", "bit"),
                 ("-5", "-1", "BIT"), ("0", "0", "BYTE"), ("7", "7", "BIT"),
                 ("1000", "2000", "BIT"), ("-1", "-2", "FOO"), ("0", "1", "FOO"),
                 ("0",), ("0", "1", "BIT", "x"), ("x", "1"), ("0", "x"),
                 ("0", "9223372036854775808")]:
        pair.check("BITCOUNT", "p", *args)
    run(pair, ("BITCOUNT", "missing"), ("BITCOUNT", "missing", "x", "y", "z"),
        ("SET", "empty", ""), ("BITCOUNT", "empty"), ("BITCOUNT", "empty", "0", "-1", "BIT"))


def test_bitpos(pair):
    run(pair, ("SET", "p", PATTERN), ("SET", "ones", b"\xff\xff\xff"),
        ("SET", "zeros", b"\0\0\0"), ("SET", "empty", ""))
    for key in ("p", "ones", "zeros", "empty", "missing"):
        for bit in ("0", "1"):
            for args in [(), ("1",), ("-1",), ("1", "2"), ("2", "1"), ("0", "-1"),
                         ("100",), ("1", "-1", "BYTE"), ("3", "20", "BIT"),
                         ("0", "-1", "BIT"), ("9", "9", "BIT"), ("10", "12", "bit"),
                         ("-7", "-1", "BIT"), ("17", "23", "BIT"), ("40", "47", "BIT")]:
                pair.check("BITPOS", key, bit, *args)
    run(pair, ("BITPOS", "p", "2"), ("BITPOS", "p", "x"), ("BITPOS", "missing", "2"),
        ("BITPOS", "missing", "1", "x"), ("BITPOS", "p", "1", "x"),
        ("BITPOS", "p", "1", "0", "x"), ("BITPOS", "p", "1", "0", "1", "FOO"),
        ("BITPOS", "p", "1", "0", "x", "FOO"), ("BITPOS", "p", "1", "0", "1", "BIT", "x"))


def test_bitop(pair):
    run(pair,
        ("SET", "a", b"\xff\x0f\x01"), ("SET", "b", b"\xf0\xf0"), ("SET", "c", b"\x01"),
        ("BITOP", "AND", "d", "a", "b"), ("GET", "d"),
        ("BITOP", "or", "d", "a", "b", "c"), ("GET", "d"),
        ("BITOP", "XOR", "d", "a", "b", "c", "missing"), ("GET", "d"),
        ("BITOP", "NOT", "d", "a"), ("GET", "d"),
        ("BITOP", "AND", "d", "a", "missing"), ("GET", "d"),
        ("SET", "long", b"\x5a" * 100), ("BITOP", "AND", "d", "long", "a"), ("GET", "d"),
        ("BITOP", "OR", "d", "long", "long"), ("GET", "d"),
        ("SET", "d", "x", "EX", "100"), ("BITOP", "NOT", "d", "b"), ("TTL", "d"),
        ("BITOP", "AND", "d", "missing", "missing2"), ("EXISTS", "d"),
        ("SET", "empty", ""), ("BITOP", "OR", "d", "empty"), ("EXISTS", "d"),
        ("BITOP", "NOT", "d", "a", "b"), ("BITOP", "NAND", "d", "a"), ("BITOP", "AND", "d"),
        ("RPUSH", "d", "x"), ("BITOP", "OR", "d", "a"), ("TYPE", "d"), ("GET", "d"))


def test_bitfield_get_set_incrby(pair):
    run(pair,
        ("BITFIELD", "f", "SET", "i8", "0", "-100", "GET", "i8", "0", "GET", "u8", "0",
         "GET", "u4", "0", "GET", "i4", "4"),
        ("GET", "f"),
        ("BITFIELD", "f", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2",
         "102", "1"),
        ("GET", "f"), ("STRLEN", "f"),
        ("BITFIELD", "f", "SET", "u8", "#1", "255", "GET", "u8", "#1", "GET", "u16", "#0",
         "SET", "i5", "#3", "-3", "GET", "i5", "#3"),
        ("BITFIELD", "f", "GET", "i64", "0", "GET", "u63", "1", "GET", "i64", "1000",
         "SET", "i64", "64", "-9223372036854775808", "GET", "i64", "64",
         "SET", "u63", "200", "9223372036854775807", "GET", "u63", "200"),
        ("GET", "f"),
        ("BITFIELD", "f"), ("BITFIELD", "missing"), ("BITFIELD", "missing", "GET", "u8", "0"),
        ("EXISTS", "missing"),
        ("BITFIELD_RO", "f", "GET", "u8", "0", "GET", "i3", "#5"), ("BITFIELD_RO", "f"),
        ("SET", "n", "12345"), ("BITFIELD", "n", "GET", "u8", "0", "INCRBY", "u8", "0", "1"),
        ("GET", "n"), ("SET", "t", "x", "EX", "100"), ("BITFIELD", "t", "SET", "u8", "0", "65"),
        ("TTL", "t"), ("GET", "t"))


def test_bitfield_overflow(pair):
    for kind, width in (("u", 8), ("i", 8), ("u", 1), ("i", 1), ("i", 64), ("u", 63),
                        ("i", 3)):
        field = f"{kind}{width}"
        for overflow in ("WRAP", "SAT", "FAIL"):
            run(pair, ("DEL", "o"), ("BITFIELD", "o", "SET", field, "0", "1"))
            for amount in ("1", "-1", "100", "-100", "200", "-300", "9223372036854775807",
                           "-9223372036854775808"):
                pair.check("BITFIELD", "o", "OVERFLOW", overflow, "INCRBY", field, "0",
                           amount, "SET", field, "#1", amount, "GET", field, "#1")
            pair.check("GET", "o")
    run(pair,
        ("DEL", "o"), ("BITFIELD", "o", "OVERFLOW", "FAIL", "SET", "u8", "16", "1000"),
        ("GET", "o"),
        ("BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1", "OVERFLOW", "WRAP",
         "INCRBY", "u8", "0", "300", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "-300"),
        ("BITFIELD", "o", "OVERFLOW", "sat", "INCRBY", "i8", "0", "-1000", "OVERFLOW",
         "wrap", "INCRBY", "i8", "0", "-1000"))


def test_bitfield_errors(pair):
    run(pair,
        ("BITFIELD", "f", "GET", "u64", "0"), ("BITFIELD", "f", "GET", "i65", "0"),
        ("BITFIELD", "f", "GET", "u0", "0"), ("BITFIELD", "f", "GET", "x8", "0"),
        ("BITFIELD", "f", "GET", "U8", "0"), ("BITFIELD", "f", "GET", "u", "0"),
        ("BITFIELD", "f", "GET", "u08", "0"), ("BITFIELD", "f", "GET", "u8", "-1"),
        ("BITFIELD", "f", "GET", "u8", "#-1"), ("BITFIELD", "f", "GET", "u8", "x"),
        ("BITFIELD", "f", "GET", "u8", "4294967296"),
        ("BITFIELD", "f", "GET", "u8", "#536870912"), ("BITFIELD", "f", "GET", "u8"),
        ("BITFIELD", "f", "SET", "u8", "0"), ("BITFIELD", "f", "SET", "u8", "0", "x"),
        ("BITFIELD", "f", "INCRBY", "u8", "0", "1.5"), ("BITFIELD", "f", "OVERFLOW", "x"),
        ("BITFIELD", "f", "OVERFLOW"), ("BITFIELD", "f", "FOO", "u8", "0"),
        ("BITFIELD", "f", "GET", "u8", "0", "FOO"), ("EXISTS", "f"),
        ("BITFIELD_RO", "f", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "f", "GET", "u8", "0", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "f", "INCRBY", "u8", "x", "1"), ("BITFIELD_RO", "f", "OVERFLOW", "SAT"),
        ("EXISTS", "f"), ("BITFIELD",), ("BITFIELD_RO",))


def test_offsets_follow_proto_max_bulk_len(pair2):
    try:
        run(pair2,
            ("CONFIG", "SET", "proto-max-bulk-len", "1mb"),
            ("SETBIT", "b", str(8 * 1024 * 1024), "1"),
            ("SETBIT", "b", str(8 * 1024 * 1024 - 1), "1"), ("STRLEN", "b"),
            ("GETBIT", "b", str(8 * 1024 * 1024)),
            ("BITFIELD", "b", "GET", "u8", "#1048576"), ("BITFIELD", "b", "GET", "u8", "#1048575"),
            ("BITFIELD", "b", "SET", "u16", str(8 * 1024 * 1024 - 8), "1"), ("STRLEN", "b"))
    finally:
        pair2.both("CONFIG", "SET", "proto-max-bulk-len", "536870912")


def test_keyspace_hits_and_misses(pair2):
    run(pair2, ("SET", "k", "a"), ("CONFIG", "RESETSTAT"),
        ("GETBIT", "k", "1"), ("GETBIT", "nope", "1"), ("BITCOUNT", "k"), ("BITCOUNT", "nope"),
        ("BITPOS", "k", "1"), ("BITPOS", "nope", "1"), ("BITOP", "OR", "d", "k", "nope"),
        ("BITFIELD", "k", "GET", "u8", "0"), ("BITFIELD_RO", "nope", "GET", "u8", "0"),
        ("SETBIT", "k", "1", "1"), ("BITFIELD", "k", "INCRBY", "u8", "0", "1"))
    redis_info, caskd_info = pair2.both("INFO", "stats")

    def hits(raw: bytes) -> list[bytes]:
        return [line for line in raw.split(b"\r\n") if line.startswith(b"keyspace_")]
    assert hits(caskd_info) == hits(redis_info)


def test_random_bit_operations_agree(pair2):
    """Random SETBIT / BITFIELD writes, then every read of the result compared."""
    rng = random.Random(16)
    for _ in range(300):
        key = rng.choice(["r1", "r2"])
        if rng.random() < 0.5:
            pair2.check("SETBIT", key, rng.randrange(200), rng.randrange(2))
        else:
            kind = rng.choice(["i", "u"])
            width = rng.randrange(1, 64 if kind == "i" else 63)
            pair2.check("BITFIELD", key, "OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"]),
                        rng.choice(["SET", "INCRBY"]), f"{kind}{width}", rng.randrange(160),
                        rng.randrange(-2**40, 2**40))
        start, end = rng.randrange(-30, 30), rng.randrange(-30, 30)
        run(pair2, ("GET", key), ("BITCOUNT", key, start, end, rng.choice(["BIT", "BYTE"])),
            ("BITPOS", key, rng.randrange(2), start, end, rng.choice(["BIT", "BYTE"])),
            ("BITPOS", key, rng.randrange(2), start))
    run(pair2, ("BITOP", "XOR", "x", "r1", "r2"), ("GET", "x"))


def test_command_info_rows(pair2):
    """Name, arity, flags, key positions and ACL categories as Redis's table has them
    (key specs aside: see tests/compat/test_command_docs.py; flags and categories are
    sets, in any order)."""
    for name in ("setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro"):
        expected, actual = map(decode, pair2.both("COMMAND", "INFO", name))
        name_and_arity, flags, keys, categories = slice(0, 2), 2, slice(3, 6), 6
        assert actual[0][name_and_arity] == expected[0][name_and_arity]
        assert actual[0][keys] == expected[0][keys]
        assert sorted(actual[0][flags]) == sorted(expected[0][flags])
        assert sorted(actual[0][categories]) == sorted(expected[0][categories])
