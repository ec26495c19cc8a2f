"""Set commands, caskd against redis-server: replies byte for byte in RESP2 and
RESP3 (a hash table's member order aside), errors and edge cases."""

from __future__ import annotations

from tests.compat.differences import HASH_TABLE_ORDER, RANDOM_MEMBERS
from tests.compat.harness import decode
from tests.compat.test_strings import BINARY, run

INTEGERS = [str(n) for n in (5, -3, 100, 0, 9223372036854775807, -9223372036854775808, 42)]


def test_add_remove_members(pair):
    run(pair,
        ("SADD", "s", *INTEGERS), ("SADD", "s", "5", "5"), ("SMEMBERS", "s"), ("SCARD", "s"),
        ("OBJECT", "ENCODING", "s"), ("SISMEMBER", "s", "42"), ("SISMEMBER", "s", "nope"),
        ("SISMEMBER", "nokey", "a"), ("SMISMEMBER", "s", "5", "x", "0"),
        ("SMISMEMBER", "nokey", "a", "b"), ("SCARD", "nokey"), ("SMEMBERS", "nokey"),
        ("SREM", "s", "5", "nope", "5"), ("SREM", "s", "nope"), ("SREM", "nokey", "a"),
        ("SMEMBERS", "s"), ("SADD", "s"), ("SREM", "s"),
        ("SADD", "n", "1", "01", "+1", " 1", "1.0"), ("OBJECT", "ENCODING", "n"),
        ("SREM", "s", *INTEGERS), ("EXISTS", "s"),
        ("SADD", "b", BINARY, ""), ("SISMEMBER", "b", BINARY), ("SCARD", "b"))
    pair.check("SMEMBERS", "n", allow=HASH_TABLE_ORDER)


def test_move(pair):
    run(pair,
        ("SADD", "a", "1", "2"), ("SADD", "b", "2", "3"), ("SMOVE", "a", "b", "1"),
        ("SMOVE", "a", "b", "2"), ("SMOVE", "a", "b", "2"), ("EXISTS", "a"),
        ("SMOVE", "b", "b", "3"), ("SMOVE", "b", "b", "9"), ("SMOVE", "nokey", "b", "3"),
        ("SET", "str", "v"), ("SMOVE", "nokey", "str", "a"), ("SMOVE", "b", "str", "3"),
        ("SMOVE", "str", "b", "3"), ("SMOVE", "b", "str", "nope"), ("SMEMBERS", "b"),
        ("SMOVE", "b", "new", "3"), ("SMEMBERS", "new"))


def test_algebra(pair):
    run(pair,
        ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "3", "4", "5"), ("SADD", "c", "4", "9"),
        ("SINTER", "a", "b"), ("SINTER", "a", "b", "c"), ("SINTER", "a", "nokey"),
        ("SINTER", "a"), ("SUNION", "a", "b", "nokey"), ("SUNION", "nokey"),
        ("SDIFF", "a", "b"), ("SDIFF", "a", "b", "c"), ("SDIFF", "nokey", "a"), ("SDIFF", "a"),
        ("SET", "str", "v"), ("SINTER", "nokey", "str"), ("SUNION", "a", "str"),
        ("SDIFF", "nokey", "str"),
        ("SINTERSTORE", "d", "a", "b"), ("SMEMBERS", "d"), ("SUNIONSTORE", "d", "a", "c"),
        ("SMEMBERS", "d"), ("SDIFFSTORE", "d", "a", "b"), ("SMEMBERS", "d"),
        ("SINTERSTORE", "d", "a", "nokey"), ("EXISTS", "d"), ("SET", "d", "string"),
        ("SUNIONSTORE", "d", "a"), ("TYPE", "d"), ("SINTERSTORE", "d", "a", "str"),
        ("SMEMBERS", "d"), ("SUNIONSTORE", "a", "a", "b"), ("SMEMBERS", "a"),
        ("SINTERCARD", "2", "a", "b"), ("SINTERCARD", "3", "a", "b", "c"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "1"), ("SINTERCARD", "2", "a", "b", "LIMIT", "0"),
        ("SINTERCARD", "1", "nokey"), ("SINTERCARD", "0", "a"), ("SINTERCARD", "x", "a"),
        ("SINTERCARD", "-1", "a"), ("SINTERCARD", "3", "a", "b"),
        ("SINTERCARD", "1", "a", "LIMIT", "-1"), ("SINTERCARD", "1", "a", "LIMIT"),
        ("SINTERCARD", "1", "a", "FOO", "1"), ("SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "0"),
        ("SINTERCARD", "2", "a", "str"))


def test_words_are_a_hash_table(pair):
    run(pair, ("SADD", "w", "apple", "pear", "fig"), ("SADD", "x", "fig", "kiwi"),
        ("OBJECT", "ENCODING", "w"), ("SCARD", "w"))
    for command in (("SMEMBERS", "w"), ("SUNION", "w", "x"), ("SINTER", "w", "x"),
                    ("SDIFF", "w", "x")):
        pair.check(*command, allow=HASH_TABLE_ORDER)
    pair.check("SADD", "big", *range(600))
    pair.check("OBJECT", "ENCODING", "big")
    pair.check("SMEMBERS", "big", allow=HASH_TABLE_ORDER)


def test_pop_and_random_members(pair):
    run(pair,
        ("SPOP", "nokey"), ("SPOP", "nokey", "2"), ("SPOP", "nokey", "-1"),
        ("SRANDMEMBER", "nokey"), ("SRANDMEMBER", "nokey", "2"), ("SRANDMEMBER", "nokey", "x"),
        ("SADD", "s", "1", "2", "3"), ("SPOP", "s", "0"), ("SPOP", "s", "x"),
        ("SPOP", "s", "1", "2"), ("SRANDMEMBER", "s", "0"), ("SRANDMEMBER", "s", "1", "2"),
        ("SRANDMEMBER", "s", "-9223372036854775808"), ("SRANDMEMBER", "s", "3"),
        ("SRANDMEMBER", "s", "10"), ("SRANDMEMBER", "s", "-0"))
    members = {b"1", b"2", b"3"}
    for args in (("SRANDMEMBER", "s"), ("SRANDMEMBER", "s", "2"), ("SRANDMEMBER", "s", "-5")):
        pair.check(*args, allow=RANDOM_MEMBERS)
        pair.caskd.send(args)
        reply = decode(pair.caskd.reply())
        assert set(reply if isinstance(reply, list) else [reply]) <= members
    pair.check("SPOP", "s", allow=RANDOM_MEMBERS)
    pair.check("SCARD", "s")
    pair.check("SPOP", "s", "5", allow=RANDOM_MEMBERS)  # all that is left
    pair.check("EXISTS", "s")
    pair.check("SADD", "w", "apple", "pear", "fig", "kiwi")
    pair.caskd.send(("SPOP", "w", "2"))
    popped = set(decode(pair.caskd.reply()))
    pair.caskd.send(("SMEMBERS", "w"))
    assert popped | set(decode(pair.caskd.reply())) == {b"apple", b"pear", b"fig", b"kiwi"}


def test_scan(pair):
    run(pair,
        ("SADD", "s", *INTEGERS), ("SSCAN", "s", "0"), ("SSCAN", "s", "0", "MATCH", "*2*"),
        ("SSCAN", "s", "0", "COUNT", "2"), ("SSCAN", "s", "0", "COUNT", "0"), ("SSCAN", "s", "x"),
        ("SSCAN", "nokey", "0"), ("SSCAN", "s", "0", "TYPE", "set"))
    pair.check("SADD", "big", *[f"m{i}" for i in range(300)])
    for connection in (pair.redis, pair.caskd):
        cursor, found = b"0", []
        while True:
            connection.send(("SSCAN", "big", cursor, "COUNT", "20", "MATCH", "m1*"))
            cursor, batch = decode(connection.reply())
            found += batch
            if cursor == b"0":
                break
        assert set(found) == {f"m{i}".encode() for i in range(300) if str(i).startswith("1")}
