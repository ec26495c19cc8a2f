"""String commands, caskd against redis-server: every option, error path and edge case,
byte for byte, in RESP2 and RESP3."""

from __future__ import annotations

import time

import pytest

from tests.compat.differences import OBJECT_ENCODING, PTTL_CLOCK, TTL_CLOCK

BINARY = b"\x00\xff\r\n\t bin"


def run(pair, *commands: tuple) -> None:
    for command in commands:
        pair.check(*command)


def test_get_set_and_binary_data(pair):
    run(pair,
        ("SET", "k", "v"), ("GET", "k"), ("GET", "missing"),
        ("SET", "", ""), ("GET", ""),
        ("SET", BINARY, BINARY), ("GET", BINARY),
        ("SET", "big", b"x" * 100_000), ("GET", "big"))


def test_set_options(pair):
    run(pair,
        ("SET", "k", "1", "NX"), ("SET", "k", "2", "NX"), ("SET", "k", "3", "NX", "NX"),
        ("SET", "k", "4", "XX"), ("SET", "nope", "4", "XX"), ("SET", "k", "5", "xx", "xx"),
        ("SET", "k", "6", "NX", "XX"), ("SET", "k", "6", "XX", "NX"),
        ("SET", "k", "7", "GET"), ("SET", "k", "8", "GET", "GET"), ("SET", "new", "1", "GET"),
        ("SET", "k", "9", "NX", "GET"), ("SET", "absent", "1", "NX", "GET"),
        ("SET", "k", "10", "XX", "GET"), ("SET", "absent2", "1", "XX", "GET"),
        ("GET", "k"), ("GET", "absent"), ("GET", "absent2"),
        ("SET", "k", "v", "FOO"), ("SET", "k", "v", "EX"), ("SET", "k", "v", "GET", "EX"))


def test_set_expiry_options(pair):
    future = int(time.time()) + 100_000
    run(pair,
        ("SET", "k", "v", "EX", "100"), ("TTL", "k"),
        ("SET", "k", "v", "EX", "100", "EX", "200"), ("TTL", "k"),
        ("SET", "k", "v", "KEEPTTL"), ("TTL", "k"),
        ("SET", "k", "v", "KEEPTTL", "KEEPTTL"), ("TTL", "k"),
        ("SET", "k", "v"), ("TTL", "k"),
        ("SET", "k", "v", "EXAT", future), ("EXPIRETIME", "k"),
        ("SET", "k", "v", "PXAT", future * 1000 + 7), ("PEXPIRETIME", "k"),
        ("SET", "k", "v", "EXAT", "1"), ("GET", "k"),
        ("SET", "k", "v", "PXAT", "1"), ("EXISTS", "k"),
        ("SET", "k", "v", "EX", "10", "PX", "5"), ("SET", "k", "v", "EX", "10", "KEEPTTL"),
        ("SET", "k", "v", "KEEPTTL", "PX", "5"), ("SET", "k", "v", "EXAT", "5", "PXAT", "5"),
        ("SET", "k", "v", "EX", "0"), ("SET", "k", "v", "PX", "-1"),
        ("SET", "k", "v", "EXAT", "0"), ("SET", "k", "v", "EX", "x"),
        ("SET", "k", "v", "EX", "9223372036854775"), ("SET", "k", "v", "EX", "9223372036854776"),
        ("SET", "k", "v", "PX", "9223372036854775807"),
        ("SET", "k", "v", "PXAT", "9223372036854775807"), ("EXISTS", "k"),
        ("SET", "k", "v", "EX", "1.5"), ("SET", "k", "v", "PERSIST"))
    pair.check("PTTL", "k", allow=PTTL_CLOCK)


def test_setnx_setex_psetex(pair):
    run(pair,
        ("SETNX", "k", "1"), ("SETNX", "k", "2"), ("GET", "k"),
        ("SETEX", "k", "100", "v"), ("TTL", "k"), ("GET", "k"),
        ("SETEX", "k", "0", "v"), ("SETEX", "k", "-5", "v"), ("SETEX", "k", "x", "v"),
        ("SETEX", "k", "9223372036854776", "v"),
        ("PSETEX", "k", "100000", "v"), ("TTL", "k"),
        ("PSETEX", "k", "0", "v"), ("PSETEX", "k", "9223372036854775807", "v"),
        ("SETNX", "k"), ("SETEX", "k", "10"), ("PSETEX", "k", "10", "v", "extra"))


def test_getset_getdel(pair):
    run(pair,
        ("GETSET", "k", "1"), ("GETSET", "k", "2"), ("GET", "k"),
        ("SETEX", "t", "100", "v"), ("GETSET", "t", "w"), ("TTL", "t"),
        ("GETDEL", "k"), ("GETDEL", "k"), ("EXISTS", "k"),
        ("GETSET", "k"), ("GETDEL", "k", "extra"))


def test_getex(pair):
    future = int(time.time()) + 100_000
    run(pair,
        ("SET", "k", "v"), ("GETEX", "k"), ("TTL", "k"),
        ("GETEX", "k", "EX", "100"), ("TTL", "k"),
        ("GETEX", "k", "PERSIST"), ("TTL", "k"), ("GETEX", "k", "PERSIST"),
        ("GETEX", "k", "EXAT", future), ("EXPIRETIME", "k"),
        ("GETEX", "k", "PXAT", future * 1000 + 5), ("PEXPIRETIME", "k"),
        ("GETEX", "k", "PX", "100000"), ("TTL", "k"),
        ("GETEX", "k", "EX", "0"), ("GETEX", "k", "EX", "-1"), ("GETEX", "k", "PX", "x"),
        ("GETEX", "k", "EX", "9223372036854776"),
        ("GETEX", "k", "EX", "10", "PX", "10"), ("GETEX", "k", "EX", "10", "EX", "20"),
        ("GETEX", "k", "PERSIST", "EX", "10"), ("GETEX", "k", "EX", "10", "PERSIST"),
        ("GETEX", "k", "KEEPTTL"), ("GETEX", "k", "NX"), ("GETEX", "k", "GET"),
        ("GETEX", "k", "EX"), ("GETEX", "k", "FOO"),
        ("GETEX", "missing", "EX", "0"), ("GETEX", "missing", "EX", "x"),
        ("GETEX", "missing", "FOO"),
        ("GETEX", "k", "EXAT", "1"), ("EXISTS", "k"),
        ("SET", "k", "v"), ("GETEX", "k", "PXAT", "1"), ("GET", "k"),
        ("GETEX",))
    pair.check("TTL", "k", allow=TTL_CLOCK)


def test_mget_mset_msetnx(pair):
    run(pair,
        ("MSET", "a", "1", "b", "2", "a", "3"), ("MGET", "a", "b", "c"),
        ("MGET", "c"), ("MSET", "a"), ("MSET", "a", "1", "b"), ("MSET",), ("MGET",),
        ("SETEX", "a", "100", "x"), ("MSET", "a", "1"), ("TTL", "a"),
        ("MSETNX", "a", "1", "c", "2"), ("EXISTS", "c"),
        ("MSETNX", "c", "1", "d", "2"), ("MGET", "c", "d"),
        ("MSETNX", "e", "1", "e", "2"), ("GET", "e"),
        ("MSETNX", "x"), ("MSETNX", "x", "1", "y"),
        ("MSET", BINARY, "", "", BINARY), ("MGET", BINARY, ""))


def test_append_strlen(pair):
    run(pair,
        ("APPEND", "k", "ab"), ("APPEND", "k", "cd"), ("APPEND", "k", ""), ("GET", "k"),
        ("APPEND", "e", ""), ("EXISTS", "e"), ("GET", "e"), ("STRLEN", "e"),
        ("STRLEN", "k"), ("STRLEN", "missing"),
        ("SET", "n", "12"), ("APPEND", "n", "34"), ("INCR", "n"),
        ("SETEX", "t", "100", "v"), ("APPEND", "t", "w"), ("TTL", "t"),
        ("APPEND", BINARY, BINARY), ("STRLEN", BINARY),
        ("APPEND", "k"), ("STRLEN",), ("STRLEN", "a", "b"))


@pytest.mark.parametrize("start,end", [
    (0, -1), (0, 0), (1, 3), (-3, -1), (-1, -5), (-100, -1), (0, -100), (3, 100),
    (5, 5), (10, 20), (-100, 100), (4, 2), (-9223372036854775808, 9223372036854775807),
    (9223372036854775807, -9223372036854775808), (-1, -1), (0, 10)])
def test_getrange_bounds(pair2, start, end):
    run(pair2, ("SET", "k", "hello"), ("SET", "n", "12345"), ("SET", "e", ""),
        ("GETRANGE", "k", start, end), ("SUBSTR", "k", start, end),
        ("GETRANGE", "n", start, end), ("GETRANGE", "e", start, end),
        ("GETRANGE", "missing", start, end))


def test_getrange_errors(pair):
    run(pair,
        ("SET", "k", "hello"), ("GETRANGE", "k", "a", "1"), ("GETRANGE", "k", "0", "b"),
        ("GETRANGE", "k", "1.5", "2"), ("GETRANGE", "k", "9223372036854775808", "1"),
        ("GETRANGE", "missing", "x", "1"), ("GETRANGE", "k", "0"), ("SUBSTR", "k"))


def test_setrange(pair):
    run(pair,
        ("SETRANGE", "k", "0", "hello"), ("SETRANGE", "k", "6", "world"), ("GET", "k"),
        ("SETRANGE", "k", "1", "EL"), ("GET", "k"), ("SETRANGE", "k", "1", ""),
        ("SETRANGE", "new", "3", "x"), ("GET", "new"),
        ("SETRANGE", "none", "5", ""), ("EXISTS", "none"),
        ("SETRANGE", "k", "-1", "x"), ("SETRANGE", "k", "x", "x"),
        ("SETRANGE", "k", "536870912", "x"), ("SETRANGE", "k", "536870911", "xy"),
        ("SETRANGE", "k", "9223372036854775807", "x"),
        ("SETRANGE", "none", "536870912", "x"), ("SETRANGE", "none", "536870912", ""),
        ("SETRANGE", "k", "-1", ""),
        ("SETEX", "t", "100", "abc"), ("SETRANGE", "t", "1", "X"), ("TTL", "t"),
        ("SET", "n", "123"), ("SETRANGE", "n", "1", "9"), ("INCR", "n"),
        ("SETRANGE", "k", "0"))


def test_incr_decr(pair):
    run(pair,
        ("INCR", "n"), ("INCR", "n"), ("DECR", "n"), ("DECR", "m"),
        ("INCRBY", "n", "10"), ("INCRBY", "n", "-20"), ("DECRBY", "n", "5"),
        ("DECRBY", "n", "-5"), ("INCRBY", "n", "0"),
        ("SET", "n", "9223372036854775806"), ("INCR", "n"), ("INCR", "n"), ("GET", "n"),
        ("SET", "n", "-9223372036854775807"), ("DECR", "n"), ("DECR", "n"),
        ("INCRBY", "n", "-1"), ("DECRBY", "n", "1"),
        ("DECRBY", "n", "-9223372036854775808"), ("DECRBY", "x", "-9223372036854775808"),
        ("INCRBY", "n", "9223372036854775807"),
        ("SET", "s", "abc"), ("INCR", "s"), ("SET", "s", " 1"), ("INCR", "s"),
        ("SET", "s", "1 "), ("INCR", "s"), ("SET", "s", "01"), ("INCR", "s"),
        ("SET", "s", "+1"), ("INCR", "s"), ("SET", "s", "-0"), ("INCR", "s"),
        ("SET", "s", "1.0"), ("INCR", "s"), ("SET", "s", ""), ("INCR", "s"),
        ("SET", "s", "9223372036854775808"), ("INCR", "s"),
        ("SET", "s", "1" * 30), ("INCRBY", "s", "1"),
        ("INCRBY", "n", "x"), ("INCRBY", "n", "1.5"), ("INCRBY", "n", ""),
        ("INCRBY", "n", "9223372036854775808"), ("DECRBY", "s", "x"),
        ("SETEX", "t", "100", "5"), ("INCR", "t"), ("TTL", "t"),
        ("INCR",), ("INCR", "a", "b"), ("INCRBY", "a"), ("DECRBY", "a", "1", "2"))


INCRBYFLOAT_CASES = [
    "0.1", "0.2", "-0.3", "1", "-1", "1e300", "-1e300", "1.5e-17", "2.5e-17", "5e-18",
    "0.000003814697265625", "1.23456789012345678901234", "1e20", "3.0e0", ".5", "5.",
    "+1", "-.5e1", "0x10", "0x1.8p1", "0X.8", "1e4932", "1.18973149535723176502e+4932",
    "1e-4940", "3.6e-4951", "0e999999999", "-0", "10.50", "123456789.987654321",
]
BAD_FLOATS = ["abc", "", " 1", "1 ", "1e", ".", "0x", "nan", "1e5000", "1e-5000",
              "1.18973149535723176509e+4932", "1,5", "--1", "1e1.5"]


def test_incrbyfloat_formatting(pair):
    """Each increment on a fresh key and on a running total: Redis adds in long double
    and prints with %.17Lf trimmed, which these values exercise."""
    for increment in INCRBYFLOAT_CASES:
        pair.check("DEL", "fresh")
        pair.check("INCRBYFLOAT", "fresh", increment)
        pair.check("INCRBYFLOAT", "total", increment)
        pair.check("GET", "total")


def test_incrbyfloat_errors(pair):
    run(pair, ("SET", "f", "1.5"), ("SET", "i", "inf"), ("SET", "bad", "abc"))
    for bad in BAD_FLOATS:
        run(pair, ("INCRBYFLOAT", "f", bad), ("INCRBYFLOAT", "missing", bad))
    run(pair,
        ("INCRBYFLOAT", "f", "inf"), ("INCRBYFLOAT", "f", "-INFINITY"),
        ("INCRBYFLOAT", "i", "1"), ("INCRBYFLOAT", "i", "-inf"), ("INCRBYFLOAT", "i", "x"),
        ("INCRBYFLOAT", "bad", "1"), ("SET", "max", "1.18973149535723176502e+4932"),
        ("INCRBYFLOAT", "max", "1.18973149535723176502e+4932"), ("GET", "f"),
        ("SET", "n", "7"), ("INCRBYFLOAT", "n", "0.5"), ("INCRBY", "n", "1"),
        ("SETEX", "t", "100", "1"), ("INCRBYFLOAT", "t", "1"), ("TTL", "t"),
        ("SET", "long", "1" * 6000), ("INCRBYFLOAT", "long", "1"),
        ("INCRBYFLOAT", "f"), ("INCRBYFLOAT", "f", "1", "2"))


def test_lcs(pair):
    run(pair,
        ("MSET", "a", "ohmytext", "b", "mynewtext", "c", "", "d", "abcabcabc",
         "e", "xabcxabc"),
        ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"), ("LCS", "a", "b", "IDX"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "b", "idx", "withmatchlen", "minmatchlen", "-3"),
        ("LCS", "a", "b", "WITHMATCHLEN"), ("LCS", "a", "b", "WITHMATCHLEN", "LEN"),
        ("LCS", "a", "b", "MINMATCHLEN", "2"),
        ("LCS", "d", "e", "IDX", "WITHMATCHLEN"), ("LCS", "e", "d", "IDX"),
        ("LCS", "a", "a", "IDX"), ("LCS", "a", "c", "IDX"), ("LCS", "a", "missing"),
        ("LCS", "missing", "other", "IDX", "WITHMATCHLEN"), ("LCS", "a", "c", "LEN"),
        ("LCS", "a", "b", "IDX", "LEN"), ("LCS", "a", "b", "LEN", "IDX"),
        ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "MINMATCHLEN", "x"),
        ("LCS", "a", "b", "FOO"), ("LCS", "missing", "b", "FOO"), ("LCS", "a"))


def test_lcs_binary_and_long(pair2):
    a = bytes(range(256)) * 8
    b = bytes(reversed(range(256))) * 8 + b"\x00\x01\x02"
    run(pair2, ("MSET", "a", a, "b", b, "c", b"\x00\r\n" * 300, "d", b"\r\n\x00" * 310),
        ("LCS", "a", "b"), ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
        ("LCS", "c", "d", "IDX", "MINMATCHLEN", "3"), ("LCS", "c", "d", "LEN"))


def test_lcs_refuses_a_table_over_proto_max_bulk_len(pair2):
    run(pair2, ("SET", "a", "x" * 12000), ("SET", "b", "y" * 12000), ("LCS", "a", "b"),
        ("LCS", "a", "b", "LEN"))


def test_object_encoding_of_stored_strings(pair):
    """As SET stores them; after in-place changes the answers differ (see
    OBJECT_ENCODING), and caskd's stays the SET-style one."""
    run(pair,
        ("MSET", "i", "12345", "neg", "-9223372036854775808", "big", "9223372036854775808",
         "e", "", "s", "x" * 44, "r", "x" * 45, "f", "1.5", "z", "0123"),
        ("OBJECT", "ENCODING", "i"), ("OBJECT", "ENCODING", "neg"),
        ("OBJECT", "ENCODING", "big"), ("OBJECT", "ENCODING", "e"),
        ("OBJECT", "ENCODING", "s"), ("OBJECT", "ENCODING", "r"),
        ("OBJECT", "ENCODING", "f"), ("OBJECT", "ENCODING", "z"),
        ("INCR", "n"), ("OBJECT", "ENCODING", "n"))
    pair.check("APPEND", "a", "12")
    pair.check("APPEND", "a", "34")
    redis_answer, caskd_answer = pair.both("OBJECT", "ENCODING", "a")
    assert (redis_answer, caskd_answer) == (b"$3\r\nraw\r\n", b"$3\r\nint\r\n"), \
        OBJECT_ENCODING.why
