"""Random command sequences over a small key space, run on caskd and redis-server
side by side and compared after every command, then the whole data set and the
keyspace hit/miss counters compared at the end.

TTLs are long (days), so no key expires by itself during a run. Relative expiry
options get only NX/XX (GT and LT on two relative times would race the clock);
GT and LT are exercised with absolute times, which compare exactly.
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compat.differences import KEY_ORDER, PTTL_CLOCK, RANDOM_KEY, TTL_CLOCK, Difference
from tests.compat.harness import Connection, Pair, decode

KEY = st.sampled_from([b"k1", b"k2", b"k3", b"\x00b\xff"])
VALUE = st.one_of(
    st.sampled_from([b"", b"v", b"0", b"1", b"-1", b"10", b"9223372036854775807", b"1.5",
                     b"abc", b"\r\n\x00"]),
    st.binary(max_size=8),
    st.integers(-1000, 1000).map(lambda n: b"%d" % n))
INTEGER = st.one_of(
    st.integers(-20, 20).map(lambda n: b"%d" % n),
    st.sampled_from([b"9223372036854775807", b"-9223372036854775808", b"x", b"1.5", b""]))
FLOAT = st.one_of(
    st.floats().map(lambda f: repr(f).encode()),
    st.decimals(allow_nan=False, allow_infinity=False, places=20).map(lambda d: str(d).encode()),
    st.sampled_from([b"0.1", b"-0.1", b"1e300", b"1e-300", b"0x1p-3", b".5", b"abc", b"inf"]))
DB = st.sampled_from([b"0", b"1", b"2", b"16", b"x"])
# Far enough apart, and from "now + a relative TTL", that comparing them is exact.
_BASE = int(time.time())
AT = st.sampled_from([_BASE + offset for offset in (400_000, 700_000, 900_000)])
RELATIVE_SECONDS = st.sampled_from([b"100000", b"200000", b"0", b"-5"])
PATTERN = st.sampled_from([b"*", b"k?", b"k[12]", b"*\xff", b"\\x*", b"[^k]*", b"k3"])


def _flat(groups: list[list[bytes]]) -> list[bytes]:
    return [part for group in groups for part in group]


SET_OPTION = st.one_of(
    st.sampled_from([[b"NX"], [b"XX"], [b"GET"], [b"KEEPTTL"], [b"EX", b"100000"],
                     [b"PX", b"200000000"], [b"EX", b"0"], [b"PERSIST"], [b"BOGUS"]]),
    AT.map(lambda at: [b"EXAT", b"%d" % at]), AT.map(lambda at: [b"PXAT", b"%d" % (at * 1000)]))
GETEX_OPTION = st.one_of(
    st.sampled_from([[b"PERSIST"], [b"EX", b"100000"], [b"PX", b"-1"], [b"KEEPTTL"]]),
    AT.map(lambda at: [b"EXAT", b"%d" % at]))
BIT_OFFSET = st.one_of(st.integers(0, 80).map(lambda n: b"%d" % n),
                       st.sampled_from([b"-1", b"x", b"4294967296", b"#2"]))
BIT_RANGE = st.one_of(st.just([]), st.tuples(INTEGER, INTEGER, st.sampled_from(
    [[], [b"BIT"], [b"BYTE"], [b"bogus"]])).map(lambda t: [t[0], t[1], *t[2]]))
FIELD_TYPE = st.one_of(st.sampled_from([b"u1", b"i1", b"u8", b"i8", b"u63", b"i64", b"u64",
                                        b"x8"]),
                       st.integers(1, 16).map(lambda n: b"i%d" % n))
FIELD_OP = st.one_of(
    st.tuples(st.just(b"GET"), FIELD_TYPE, BIT_OFFSET).map(list),
    st.tuples(st.sampled_from([b"SET", b"INCRBY"]), FIELD_TYPE, BIT_OFFSET, INTEGER).map(list),
    st.sampled_from([[b"OVERFLOW", b"WRAP"], [b"OVERFLOW", b"SAT"], [b"OVERFLOW", b"FAIL"]]))
LCS_OPTION = st.sampled_from([[b"LEN"], [b"IDX"], [b"WITHMATCHLEN"], [b"MINMATCHLEN", b"2"],
                              [b"MINMATCHLEN", b"x"]])


def _command(*parts) -> st.SearchStrategy[tuple[list[bytes], Difference | None]]:
    """A command built from fixed words and strategies (lists of words are spliced in)."""
    def build(values: tuple) -> tuple[list[bytes], None]:
        args: list[bytes] = []
        for value in values:
            args.extend(value if isinstance(value, list) else [value])
        return args, None

    return st.tuples(*(st.just(p) if isinstance(p, bytes) else p for p in parts)).map(build)


def _allowing(difference: Difference, *parts):
    return _command(*parts).map(lambda step: (step[0], difference))


COMMAND = st.one_of(
    _command(b"SET", KEY, VALUE),
    _command(b"SET", KEY, VALUE, st.lists(SET_OPTION, max_size=3).map(_flat)),
    _command(b"SETNX", KEY, VALUE),
    _command(b"SETEX", KEY, RELATIVE_SECONDS, VALUE),
    _command(b"PSETEX", KEY, st.sampled_from([b"100000000", b"0", b"x"]), VALUE),
    _command(b"GET", KEY), _command(b"GETSET", KEY, VALUE), _command(b"GETDEL", KEY),
    _command(b"GETEX", KEY, st.lists(GETEX_OPTION, max_size=2).map(_flat)),
    _command(b"MGET", st.lists(KEY, min_size=1, max_size=4)),
    _command(b"MSET", st.lists(st.tuples(KEY, VALUE).map(list), min_size=1, max_size=3)
             .map(_flat)),
    _command(b"MSETNX", st.lists(st.tuples(KEY, VALUE).map(list), min_size=1, max_size=3)
             .map(_flat)),
    _command(b"MSET", KEY, VALUE, KEY),
    _command(b"APPEND", KEY, VALUE), _command(b"STRLEN", KEY),
    _command(b"GETRANGE", KEY, INTEGER, INTEGER),
    _command(b"SETRANGE", KEY, st.sampled_from([b"0", b"1", b"5", b"16", b"-1", b"536870912"]),
             VALUE),
    _command(b"INCR", KEY), _command(b"DECR", KEY), _command(b"INCRBY", KEY, INTEGER),
    _command(b"DECRBY", KEY, INTEGER), _command(b"INCRBYFLOAT", KEY, FLOAT),
    _command(b"LCS", KEY, KEY, st.lists(LCS_OPTION, max_size=2).map(_flat)),
    _command(b"SETBIT", KEY, BIT_OFFSET, st.sampled_from([b"0", b"1", b"2"])),
    _command(b"GETBIT", KEY, BIT_OFFSET),
    _command(b"BITCOUNT", KEY, BIT_RANGE),
    _command(b"BITPOS", KEY, st.sampled_from([b"0", b"1"]), BIT_RANGE),
    _command(b"BITOP", st.sampled_from([b"AND", b"OR", b"XOR", b"NOT"]), KEY,
             st.lists(KEY, min_size=1, max_size=3)),
    _command(b"BITFIELD", KEY, st.lists(FIELD_OP, max_size=3).map(_flat)),
    _command(b"BITFIELD_RO", KEY, st.lists(FIELD_OP, max_size=2).map(_flat)),
    _command(b"DEL", st.lists(KEY, min_size=1, max_size=3)),
    _command(b"UNLINK", st.lists(KEY, min_size=1, max_size=3)),
    _command(b"EXISTS", st.lists(KEY, min_size=1, max_size=3)),
    _command(b"TOUCH", st.lists(KEY, min_size=1, max_size=3)),
    _command(b"TYPE", KEY), _command(b"DBSIZE"), _command(b"SELECT", DB),
    _command(b"RENAME", KEY, KEY), _command(b"RENAMENX", KEY, KEY),
    _command(b"COPY", KEY, KEY, st.lists(st.one_of(st.just([b"REPLACE"]),
                                                   DB.map(lambda db: [b"DB", db])),
                                         max_size=2).map(_flat)),
    _command(b"MOVE", KEY, DB), _command(b"SWAPDB", DB, DB),
    _command(b"EXPIRE", KEY, RELATIVE_SECONDS, st.sampled_from([[], [b"NX"], [b"XX"]])),
    _command(b"PEXPIRE", KEY, st.sampled_from([b"300000000", b"-1"]),
             st.sampled_from([[], [b"NX"], [b"XX"]])),
    _command(b"EXPIREAT", KEY, AT.map(lambda at: b"%d" % at),
             st.sampled_from([[], [b"NX"], [b"XX"], [b"GT"], [b"LT"], [b"XX", b"GT"]])),
    _command(b"PEXPIREAT", KEY, AT.map(lambda at: b"%d" % (at * 1000 + 1)),
             st.sampled_from([[], [b"NX"], [b"GT"], [b"LT"], [b"NX", b"LT"]])),
    _command(b"PERSIST", KEY),
    _allowing(TTL_CLOCK, st.sampled_from([b"TTL", b"EXPIRETIME"]), KEY),
    _allowing(PTTL_CLOCK, st.sampled_from([b"PTTL", b"PEXPIRETIME"]), KEY),
    _allowing(KEY_ORDER, b"KEYS", PATTERN),
    _allowing(RANDOM_KEY, b"RANDOMKEY"),
    _command(b"FLUSHDB"),
)


def _keyspace_stats(connection: Connection) -> tuple[int, int]:
    connection.send(("INFO", "stats"))
    reply = decode(connection.reply())  # bulk in RESP2, verbatim text in RESP3
    text = reply if isinstance(reply, str) else reply.decode()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])


def _compare_data(pair: Pair) -> None:
    """The whole data set of the databases the sequences touch, key by key."""
    for db in (b"0", b"1", b"2"):
        pair.check("SELECT", db)
        for key in sorted(pair.check("KEYS", "*", allow=KEY_ORDER)):
            pair.check("GET", key)
            pair.check("PTTL", key, allow=PTTL_CLOCK)


def _run(pair: Pair, steps: list[tuple[list[bytes], Difference | None]]) -> None:
    pair.both("FLUSHALL")
    pair.both("SELECT", "0")
    pair.both("CONFIG", "RESETSTAT")
    for args, allow in steps:
        pair.check(*args, allow=allow)
    assert _keyspace_stats(pair.caskd) == _keyspace_stats(pair.redis), "keyspace hits, misses"
    _compare_data(pair)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(COMMAND, min_size=10, max_size=50))
def test_random_command_sequences(pair, steps):
    _run(pair, steps)


FLOAT_TEXT = st.one_of(
    st.builds(lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
              st.sampled_from([b"", b"-", b"+"]),
              st.text("0123456789", max_size=25).map(str.encode),
              st.text("0123456789", max_size=25).map(lambda f: b"." + f.encode() if f else b""),
              st.one_of(st.just(b""), st.integers(-4960, 4940).map(lambda e: b"e%d" % e))),
    st.floats(allow_nan=False).map(lambda f: f.hex().encode()),
    FLOAT)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=FLOAT_TEXT, increment=FLOAT_TEXT)
def test_incrbyfloat_random(pair2, start, increment):
    """strtold's syntax and range, long double addition, %.17Lf formatting."""
    pair2.check("SET", "f", start)
    pair2.check("INCRBYFLOAT", "f", increment)
    pair2.check("INCRBYFLOAT", "new", increment)
    pair2.check("DEL", "new")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=st.binary(max_size=40).map(lambda b: bytes(97 + x % 4 for x in b)),
       b=st.binary(max_size=40).map(lambda b: bytes(97 + x % 4 for x in b)),
       min_match=st.integers(-1, 4))
def test_lcs_random(pair2, a, b, min_match):
    """Small alphabets make many equally long answers: the one chosen must be Redis's."""
    pair2.check("MSET", "a", a, "b", b)
    pair2.check("LCS", "a", "b")
    pair2.check("LCS", "a", "b", "LEN")
    pair2.check("LCS", "a", "b", "IDX", "MINMATCHLEN", min_match, "WITHMATCHLEN")
