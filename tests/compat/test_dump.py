"""DUMP and RESTORE, caskd against redis-server: payloads byte for byte, Redis's
errors, and values moved both ways (Redis -> caskd, caskd -> Redis) for every type
and encoding, with TTLs."""

from __future__ import annotations

import time

import pytest

from storage import rdb
from tests.compat.differences import (
    DUMP_PAYLOAD,
    HASH_TABLE_ORDER,
    HASH_TABLE_PAIRS,
    PTTL_CLOCK,
)
from tests.compat.harness import decode
from tests.compat.test_strings import BINARY, run
from tests.storage.test_rdb import old_values, payload

# key -> the commands that build it: every type, in each encoding Redis 7.0 writes.
VALUES = {
    "int": [("SET", "int", "12345")],
    "big int": [("SET", "big int", "123456789012")],
    "short": [("SET", "short", "hello")],
    "binary": [("SET", "binary", BINARY)],
    "lzf": [("SET", "lzf", "abcdefgh" * 200)],
    "empty": [("SET", "empty", "")],
    "list": [("RPUSH", "list", "a", "1", "-5000", "70000", "3000000000", "x" * 70)],
    "long list": [("RPUSH", "long list", *[f"element:{i}" * 3 for i in range(3000)])],
    "listpack hash": [("HSET", "listpack hash", "f", "v", "n", "12", "e", "")],
    "hashtable hash": [("HSET", "hashtable hash", *[f"f{i}" for i in range(1200)])],
    "long value hash": [("HSET", "long value hash", "f", "v" * 65)],
    "intset": [("SADD", "intset", "5", "-3", "70000", "9223372036854775807")],
    "hashtable set": [("SADD", "hashtable set", "a", "b", "c", "1")],
    "listpack zset": [("ZADD", "listpack zset", "1", "a", "2.5", "b", "-inf", "c", "1e20",
                       "d", "0.1", "e")],
    "skiplist zset": [("ZADD", "skiplist zset", *[part for i in range(200)
                                                  for part in (str(i / 3), f"m{i}")])],
}
UNORDERED = {"hashtable hash", "hashtable set"}


def build(pair, *names: str) -> None:
    for name in names:
        for command in VALUES[name]:
            pair.both(*command)


def contents(pair, key: str, unordered: bool) -> None:
    """The key's type, encoding and contents compared on both servers."""
    kind = pair.check("TYPE", key)
    pair.check("OBJECT", "ENCODING", key)
    read = {"string": [("GET", key)], "list": [("LRANGE", key, "0", "-1")],
            "hash": [("HGETALL", key)], "set": [("SMEMBERS", key)],
            "zset": [("ZRANGE", key, "0", "-1", "WITHSCORES")]}[decode_text(kind)]
    allow = {"hash": HASH_TABLE_PAIRS, "set": HASH_TABLE_ORDER}.get(decode_text(kind))
    for command in read:
        pair.check(*command, allow=allow if unordered else None)


def same_table_rows(pair, *names: str) -> None:
    """COMMAND INFO's name, arity, flags, key positions and ACL categories are Redis's
    (flags and categories compared as sets; key specs and tips:
    tests/compat/test_command_docs.py)."""
    redis_rows, caskd_rows = (decode(raw) for raw in pair.both("COMMAND", "INFO", *names))
    for expected, actual in zip(redis_rows, caskd_rows, strict=True):
        assert actual[0:2] + actual[3:6] == expected[0:2] + expected[3:6]
        assert set(actual[2]) == set(expected[2]) and set(actual[6]) == set(expected[6])


def test_command_table_rows(pair2):
    same_table_rows(pair2, "dump", "restore")


def dumped(connection, key: str) -> bytes:
    """DUMP of ``key`` on one of the two servers."""
    connection.send(("DUMP", key))
    return decode(connection.reply())


def decode_text(reply) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_dump_payloads_are_redis_bytes(pair, name):
    build(pair, name)
    pair.check("DUMP", name, allow=DUMP_PAYLOAD if name in UNORDERED else None)


def test_dump_of_no_key_and_arity(pair):
    run(pair, ("DUMP", "missing"), ("DUMP",), ("DUMP", "a", "b"), ("RESTORE", "k", "0"))


@pytest.mark.parametrize("name", sorted(VALUES))
def test_redis_dumps_restore_into_caskd_and_back(pair, name):
    """Redis's payload restored into caskd (with a TTL) holds the same value; caskd's
    payload of it restored into Redis too."""
    build(pair, name)
    unordered = name in UNORDERED
    from_redis = dumped(pair.redis, name)
    pair.check("RESTORE", "from redis", "100000", from_redis)
    contents(pair, "from redis", unordered)
    pair.check("PTTL", "from redis", allow=PTTL_CLOCK)
    from_caskd = dumped(pair.caskd, name)
    pair.check("RESTORE", "from caskd", "200000", from_caskd)
    contents(pair, "from caskd", unordered)
    pair.check("PTTL", "from caskd", allow=PTTL_CLOCK)


@pytest.mark.parametrize("name, body, value", old_values(), ids=[v[0] for v in old_values()])
def test_encodings_older_redis_wrote_restore_alike(pair, name, body, value):
    """Ziplists, zipmaps and plain lists and sets (Redis 2.x to 6.x): Redis 7.0 loads
    them, and so does caskd, to the same values."""
    pair.check("RESTORE", "old", "0", payload(body))
    contents(pair, "old", unordered=type(value) in (set, dict))


def test_restore_options_and_ttls(pair):
    build(pair, "short", "list")
    string = decode(pair.both("DUMP", "short")[0])
    future_ms = str(int(time.time() * 1000) + 100_000)
    run(pair,
        ("RESTORE", "short", "0", string),  # BUSYKEY
        ("RESTORE", "short", "0", string, "REPLACE"), ("GET", "short"),
        ("RESTORE", "list", "0", string, "replace"), ("TYPE", "list"),
        ("RESTORE", "abs", future_ms, string, "ABSTTL"),
        ("RESTORE", "past", "1", string, "ABSTTL"), ("EXISTS", "past"),
        ("RESTORE", "short", "1", string, "ABSTTL", "REPLACE"), ("EXISTS", "short"),
        ("RESTORE", "idle", "0", string, "IDLETIME", "10"),
        ("RESTORE", "freq", "0", string, "FREQ", "5"), ("GET", "freq"),
        ("RESTORE", "both", "0", string, "IDLETIME", "1", "FREQ", "1"),
        ("RESTORE", "both", "0", string, "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "x", "0", string, "IDLETIME", "-1"),
        ("RESTORE", "x", "0", string, "IDLETIME", "abc"),
        ("RESTORE", "x", "0", string, "FREQ", "256"), ("RESTORE", "x", "0", string, "FREQ", "-1"),
        ("RESTORE", "x", "0", string, "FREQ"), ("RESTORE", "x", "0", string, "BOGUS"),
        ("RESTORE", "x", "-1", string), ("RESTORE", "x", "1.5", string),
        ("EXISTS", "x", "both"))
    pair.check("PTTL", "abs", allow=PTTL_CLOCK)
    pair.check("TTL", "abs", allow=PTTL_CLOCK)


def test_bad_payloads_change_nothing(pair):
    pair.both("SET", "k", "kept")
    good = decode(pair.both("DUMP", "k")[0])
    flipped = good[:-1] + bytes((good[-1] ^ 1,))
    newer = payload(b"\x00\x01v", version=11)
    garbage = payload(b"\x00\x0fab")  # a right checksum around a truncated value
    into_footer = payload(b"\x00\x05ab")  # Redis reads the footer as the rest of it
    stream = payload(b"\x0f\x00")
    run(pair,
        ("RESTORE", "new", "0", flipped), ("RESTORE", "new", "0", newer),
        ("RESTORE", "new", "0", "short"), ("RESTORE", "new", "0", ""),
        ("RESTORE", "new", "0", garbage), ("RESTORE", "new", "0", stream),
        ("RESTORE", "k", "0", garbage, "REPLACE"), ("RESTORE", "k", "0", flipped, "REPLACE"),
        ("RESTORE", "footer", "0", into_footer), ("GET", "footer"),
        ("GET", "k"), ("EXISTS", "new"), ("DBSIZE",))



def quicklist_nodes(payload: bytes) -> list[list[bytes]]:
    """A list's DUMP payload as its quicklist nodes' elements (LZF undone: where
    python-lzf and Redis's lzf find different matches, the nodes still compare)."""
    reader = rdb.Reader(payload)
    assert reader.byte() == rdb.TYPE_LIST_QUICKLIST_2
    nodes = []
    for _ in range(reader.length()):
        container = reader.length()
        blob = reader.string()
        nodes.append([blob] if container == 1 else rdb.listpack_items(blob))
    return nodes


@pytest.mark.parametrize("fill", ["-1", "-5", "1", "7", "0", "-9", "40000"])
def test_lists_dump_as_redis_cuts_them_under_list_max_listpack_size(pair2, fill):
    """DUMP of a list built under another list-max-listpack-size: Redis's nodes (by bytes
    for a negative fill, by count for a positive one, clamped as quicklistSetFill does)."""
    pair2.both("CONFIG", "SET", "list-max-listpack-size", fill)
    try:
        pair2.both("RPUSH", "l", *[f"element:{i}" * (1 + i % 7) for i in range(600)])
        from_redis, from_caskd = (decode(raw) for raw in pair2.both("DUMP", "l"))
        assert quicklist_nodes(from_caskd) == quicklist_nodes(from_redis)
    finally:
        pair2.both("CONFIG", "SET", "list-max-listpack-size", "-2")
