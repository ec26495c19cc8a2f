"""Hash commands, caskd against redis-server: replies byte for byte in RESP2 and
RESP3, errors and edge cases."""

from __future__ import annotations

from tests.compat.differences import HASH_TABLE_ORDER, HASH_TABLE_PAIRS, RANDOM_MEMBERS
from tests.compat.harness import decode
from tests.compat.test_strings import BINARY, run

BIG = [part for i in range(600) for part in (f"field:{i}", f"value:{i}")]


def test_set_and_get(pair):
    run(pair,
        ("HSET", "h", "f1", "v1"), ("HSET", "h", "f1", "v2", "f2", "v2"),
        ("HSET", "h", "f1", "same", "f1", "last"), ("HGET", "h", "f1"),
        ("HSET", "h", "f1"), ("HSET", "h"), ("HSET", "h", "a", "b", "c"),
        ("HMSET", "h", "f3", "v3", "f4", "v4"), ("HMSET", "h", "f3"), ("HMSET", "h"),
        ("HSETNX", "h", "f1", "x"), ("HSETNX", "h", "new", "x"), ("HSETNX", "h2", "f", "v"),
        ("HSETNX", "h", "f"),
        ("HGET", "h", "f1"), ("HGET", "h", "missing"), ("HGET", "nokey", "f"), ("HGET", "h"),
        ("HMGET", "h", "f1", "missing", "f2"), ("HMGET", "nokey", "a", "b"), ("HMGET", "h"),
        ("HEXISTS", "h", "f1"), ("HEXISTS", "h", "nope"), ("HEXISTS", "nokey", "f"),
        ("HLEN", "h"), ("HLEN", "nokey"), ("HSTRLEN", "h", "f1"), ("HSTRLEN", "h", "nope"),
        ("HSTRLEN", "nokey", "f"),
        ("HKEYS", "h"), ("HVALS", "h"), ("HGETALL", "h"),
        ("HKEYS", "nokey"), ("HVALS", "nokey"), ("HGETALL", "nokey"),
        ("HSET", "b", BINARY, BINARY, "", ""), ("HGET", "b", BINARY), ("HGET", "b", ""),
        ("HGETALL", "b"), ("HSTRLEN", "b", BINARY))


def test_listpack_order_survives_updates_and_deletes(pair):
    """A listpack keeps insertion order, updates in place: so does caskd."""
    run(pair,
        ("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"), ("HSET", "h", "b", "22"),
        ("HDEL", "h", "a"), ("HSET", "h", "a", "again"), ("HGETALL", "h"), ("HKEYS", "h"),
        ("HVALS", "h"), ("OBJECT", "ENCODING", "h"))


def test_hdel_deletes_an_emptied_hash(pair):
    run(pair,
        ("HSET", "h", "a", "1", "b", "2"), ("EXPIRE", "h", "1000"),
        ("HDEL", "h", "a", "a", "missing"), ("HDEL", "h", "nope"), ("HDEL", "nokey", "a"),
        ("HDEL", "h", "b"), ("EXISTS", "h"), ("TYPE", "h"), ("HSET", "h", "x", "y"),
        ("TTL", "h"), ("HDEL", "h"))


def test_incr(pair):
    run(pair,
        ("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "-7"), ("HINCRBY", "h", "n", "x"),
        ("HINCRBY", "h", "n", "1.5"), ("HINCRBY", "h", "n", "9223372036854775807"),
        ("HSET", "h", "big", "9223372036854775807"), ("HINCRBY", "h", "big", "1"),
        ("HSET", "h", "text", "abc", "spaced", " 1"), ("HINCRBY", "h", "text", "1"),
        ("HINCRBY", "h", "spaced", "1"), ("HINCRBY", "new", "f", "x"), ("EXISTS", "new"),
        ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBYFLOAT", "h", "f", "0.1"),
        ("HINCRBYFLOAT", "h", "f", "-1e3"), ("HINCRBYFLOAT", "h", "n", "2.5"),
        ("HINCRBYFLOAT", "h", "f", "x"), ("HINCRBYFLOAT", "h", "f", "inf"),
        ("HINCRBYFLOAT", "h", "f", "nan"), ("HINCRBYFLOAT", "h", "text", "1"),
        ("HSET", "h", "huge", "1e4932"), ("HINCRBYFLOAT", "h", "huge", "1"),
        ("HSET", "h", "max", "1.18e4932"), ("HINCRBYFLOAT", "h", "max", "1.18e4932"),
        ("HINCRBYFLOAT", "h", "f", "5.0e3"), ("OBJECT", "ENCODING", "h"))
    pair.check("HGETALL", "h", allow=HASH_TABLE_PAIRS)  # the long value made it a hash table


def test_big_hash(pair):
    """Past 512 fields (or a value over 64 bytes) Redis uses a hash table: its order is
    its own, the contents the same."""
    pair.check("HSET", "h", *BIG)
    pair.check("OBJECT", "ENCODING", "h")
    pair.check("HLEN", "h")
    pair.check("HKEYS", "h", allow=HASH_TABLE_ORDER)
    pair.check("HVALS", "h", allow=HASH_TABLE_ORDER)
    reply = pair.check("HGETALL", "h", allow=HASH_TABLE_PAIRS)
    assert len(reply) in (600, 1200)
    run(pair,
        ("HSET", "long", "f", "v" * 65), ("OBJECT", "ENCODING", "long"),
        ("HSET", "longfield", "f" * 65, "v"), ("OBJECT", "ENCODING", "longfield"),
        ("HSET", "edge", "f" * 64, "v" * 64), ("OBJECT", "ENCODING", "edge"))


def test_randfield(pair):
    run(pair,
        ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "3"), ("HRANDFIELD", "nokey", "-3"),
        ("HRANDFIELD", "nokey", "3", "WITHVALUES"), ("HRANDFIELD", "nokey", "x"),
        ("HSET", "h", "a", "1", "b", "2", "c", "3"),
        ("HRANDFIELD", "h", "0"), ("HRANDFIELD", "h", "0", "WITHVALUES"),
        ("HRANDFIELD", "h", "3", "WITHVALUE"), ("HRANDFIELD", "h", "3", "WITHVALUES", "x"),
        ("HRANDFIELD", "h", "-9223372036854775808"),
        ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "3"), ("HRANDFIELD", "h", "5", "WITHVALUES"))
    fields = {b"a": b"1", b"b": b"2", b"c": b"3"}
    for args in (("HRANDFIELD", "h"), ("HRANDFIELD", "h", "2"), ("HRANDFIELD", "h", "-5"),
                 ("HRANDFIELD", "h", "2", "WITHVALUES"), ("HRANDFIELD", "h", "-5", "WITHVALUES"),
                 ("HRANDFIELD", "h", "5"), ("HRANDFIELD", "h", "5", "WITHVALUES")):
        pair.check(*args, allow=RANDOM_MEMBERS)
        pair.caskd.send(args)
        reply = decode(pair.caskd.reply())
        picked = reply if isinstance(reply, list) else [reply]
        flat = [part for item in picked for part in (item if isinstance(item, list) else [item])]
        if "WITHVALUES" in args:
            pairs = list(zip(flat[::2], flat[1::2], strict=True))
            assert all(fields[f] == v for f, v in pairs), reply
        else:
            assert set(flat) <= set(fields), reply
    pair.caskd.send(("HRANDFIELD", "h", "3"))
    assert sorted(decode(pair.caskd.reply())) == sorted(fields)  # distinct, all of them


def test_scan(pair):
    run(pair,
        ("HSET", "h", "a", "1", "b", "2", "ab", "3"), ("HSCAN", "h", "0"),
        ("HSCAN", "h", "0", "MATCH", "a*"), ("HSCAN", "h", "0", "COUNT", "1"),
        ("HSCAN", "h", "0", "COUNT", "0"), ("HSCAN", "h", "0", "TYPE", "string"),
        ("HSCAN", "h", "x"), ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "nokey", "0"),
        ("HSCAN", "nokey", "0", "BOGUS", "1"), ("HSCAN", "h"))
    pair.check("HSET", "big", *BIG)
    for connection in (pair.redis, pair.caskd):
        cursor, found = b"0", []
        while True:
            connection.send(("HSCAN", "big", cursor, "COUNT", "7"))
            cursor, batch = decode(connection.reply())
            found += batch
            if cursor == b"0":
                break
        assert dict(zip(found[::2], found[1::2], strict=True)) == \
            {BIG[i].encode(): BIG[i + 1].encode() for i in range(0, len(BIG), 2)}


def test_scan_misses_no_field_that_stays(pair):
    """Fields deleted and added between HSCAN calls: every field there for the whole
    scan is returned, by both servers (a cursor of another key starts over)."""
    pair.check("HSET", "h", *[part for i in range(700) for part in (f"go:{i}", "v")])
    pair.check("HSET", "h", *[part for i in range(700) for part in (f"stay:{i}", "v")])
    pair.check("HSET", "other", *BIG)
    for connection in (pair.redis, pair.caskd):
        cursor, found, step = b"0", set(), 0
        while True:
            connection.send(("HSCAN", "h", cursor, "COUNT", "50"))
            cursor, batch = decode(connection.reply())
            found.update(batch[::2])
            step += 1
            connection.send(("HDEL", "h", *[f"go:{i}" for i in range(step * 20, step * 20 + 20)]))
            connection.send(("HSET", "h", *[part for i in range(5) for part in (f"new:{step}:{i}",
                                                                                  "v")]))
            connection.send(("HSCAN", "other", cursor, "COUNT", "5"))
            for _ in range(3):
                connection.reply()
            if cursor == b"0":
                break
        assert {f"stay:{i}".encode() for i in range(700)} <= found
