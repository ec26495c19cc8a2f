"""What every key command does with hashes, lists, sets and sorted sets, and
WRONGTYPE between the types: caskd against redis-server, RESP2 and RESP3."""

from __future__ import annotations

import time

import pytest

from tests.compat.differences import COLLECTION_MEMORY_USAGE, TTL_CLOCK
from tests.compat.harness import decode
from tests.compat.test_strings import run

MAKE = {"string": ("SET", "k", "1"), "hash": ("HSET", "k", "f", "1"),
        "list": ("RPUSH", "k", "1"), "set": ("SADD", "k", "1"), "zset": ("ZADD", "k", "1", "m")}
# One command per family: each answers WRONGTYPE on a key of another type.
USE = [("GET", "k"), ("APPEND", "k", "x"), ("INCR", "k"), ("STRLEN", "k"),
       ("GETRANGE", "k", "0", "1"), ("SETRANGE", "k", "0", ""), ("GETDEL", "k"),
       ("GETSET", "k", "v"), ("SET", "k", "v", "GET"), ("INCRBYFLOAT", "k", "1"),
       ("MGET", "k", "nokey"), ("LCS", "k", "nokey"), ("LCS", "nokey", "k"),
       ("HGET", "k", "f"), ("HSET", "k", "f", "v"), ("HLEN", "k"), ("HGETALL", "k"),
       ("LPUSH", "k", "v"), ("LRANGE", "k", "0", "-1"), ("LPOP", "k"), ("BLPOP", "k", "0"),
       ("SADD", "k", "v"), ("SMEMBERS", "k"), ("SCARD", "k"), ("SINTER", "k"),
       ("ZADD", "k", "1", "v"), ("ZRANGE", "k", "0", "-1"), ("ZSCORE", "k", "v"),
       ("ZUNIONSTORE", "d", "1", "k"), ("BZPOPMIN", "k", "0"), ("SINTERSTORE", "d", "k"),
       ("RPOPLPUSH", "k", "d"), ("SMOVE", "k", "d", "1")]


@pytest.mark.parametrize("kind", list(MAKE))
def test_wrong_types(pair, kind):
    """Each command on each type of key; afterwards the key is untouched (a failed
    command changes nothing), and the keyspace hit/miss counts agree."""
    for command in USE:
        pair.both("DEL", "k", "d")
        pair.check(*MAKE[kind])
        pair.check(*command)
    hits = [_stat(connection, "keyspace_hits") for connection in (pair.redis, pair.caskd)]
    misses = [_stat(connection, "keyspace_misses") for connection in (pair.redis, pair.caskd)]
    assert hits[0] == hits[1] and misses[0] == misses[1]


def _stat(connection, name: str) -> int:
    connection.send(("INFO", "stats"))
    reply = decode(connection.reply())
    text = reply if isinstance(reply, str) else reply.decode()
    return int(text.split(f"{name}:")[1].split()[0])


def test_key_commands(pair):
    run(pair,
        ("HSET", "h", "a", "1"), ("RPUSH", "l", "a", "b"), ("SADD", "s", "a"),
        ("ZADD", "z", "1", "a"), ("SET", "str", "v"),
        *[("TYPE", key) for key in ("h", "l", "s", "z", "str", "nokey")],
        ("EXISTS", "h", "l", "s", "z", "nokey"), ("DBSIZE",), ("TOUCH", "h", "z"),
        *[("OBJECT", "ENCODING", key) for key in ("h", "l", "s", "z")],
        *[("OBJECT", "REFCOUNT", key) for key in ("h", "l", "s", "z")],
        ("OBJECT", "FREQ", "h"), ("DEL", "h", "l"), ("EXISTS", "h", "l"), ("UNLINK", "s"),
        ("TYPE", "s"), ("DBSIZE",))
    for key in ("z", "str", "nokey"):
        pair.check("MEMORY", "USAGE", key, allow=COLLECTION_MEMORY_USAGE)


def test_expiry(pair):
    at = int(time.time()) + 100_000
    run(pair,
        ("HSET", "h", "a", "1"), ("EXPIRE", "h", "1000"), ("HSET", "h", "b", "2"),
        ("HDEL", "h", "a"), ("EXPIREAT", "h", at), ("EXPIRETIME", "h"), ("PERSIST", "h"),
        ("TTL", "h"), ("RPUSH", "l", "x"), ("PEXPIRE", "l", "1"))
    time.sleep(0.01)
    run(pair, ("EXISTS", "l"), ("LLEN", "l"), ("RPUSH", "l", "y"), ("TTL", "l"),
        ("SADD", "s", "m"), ("EXPIRE", "s", "-1"), ("EXISTS", "s"),
        ("ZADD", "z", "1", "m"), ("EXPIRE", "z", "100", "NX"), ("EXPIRE", "z", "200", "GT"))
    pair.check("TTL", "z", allow=TTL_CLOCK)


def test_rename_copy_move(pair):
    at = int(time.time()) + 100_000
    run(pair,
        ("RPUSH", "l", "a", "b"), ("EXPIREAT", "l", at), ("RENAME", "l", "l2"),
        ("LRANGE", "l2", "0", "-1"), ("EXPIRETIME", "l2"), ("EXISTS", "l"),
        ("SET", "str", "v"), ("RENAME", "l2", "str"), ("TYPE", "str"), ("LRANGE", "str", "0", "-1"),
        ("ZADD", "z", "1", "a"), ("RENAMENX", "z", "str"), ("RENAMENX", "z", "z2"),
        ("ZRANGE", "z2", "0", "-1", "WITHSCORES"),
        ("HSET", "h", "f", "v"), ("COPY", "h", "h2"), ("HSET", "h2", "g", "w"),
        ("HGETALL", "h"), ("HGETALL", "h2"), ("COPY", "h", "h2"), ("COPY", "h", "h2", "REPLACE"),
        ("HGETALL", "h2"), ("COPY", "str", "z2", "REPLACE"), ("TYPE", "z2"),
        ("SADD", "s", "1", "2"), ("EXPIREAT", "s", at), ("COPY", "s", "s", "DB", "1"),
        ("MOVE", "s", "1"), ("EXISTS", "s"), ("SELECT", "1"), ("SMEMBERS", "s"),
        ("EXPIRETIME", "s"), ("SMEMBERS", "s"), ("SELECT", "0"), ("SWAPDB", "0", "1"),
        ("SMEMBERS", "s"), ("TYPE", "h"))


def test_scan_type(pair):
    run(pair,
        ("HSET", "h", "a", "1"), ("RPUSH", "l", "a"), ("SADD", "s", "a"), ("ZADD", "z", "1", "a"),
        ("SET", "str", "v"))
    for type_name in ("hash", "list", "set", "zset", "string", "STRING", "none"):
        redis, caskd = (decode(raw) for raw in pair.both("SCAN", "0", "TYPE", type_name,
                                                            "COUNT", "100"))
        assert caskd[0] == redis[0] == b"0" and sorted(caskd[1]) == sorted(redis[1])


def test_transactions(pair):
    run(pair,
        ("MULTI",), ("HSET", "h", "a", "1"), ("HGETALL", "h"), ("HSET", "h", "b", "2"),
        ("RPUSH", "l", "x"), ("LRANGE", "l", "0", "-1"), ("RPUSH", "l", "y"),
        ("SADD", "s", "1"), ("SMEMBERS", "s"), ("SADD", "s", "2"), ("GET", "h"),
        ("ZADD", "z", "1", "a"), ("ZRANGE", "z", "0", "-1"), ("ZADD", "z", "0", "b"),
        ("EXEC",),
        ("WATCH", "l"), ("MULTI",), ("LLEN", "l"), ("EXEC",))


def test_watch_sees_collection_changes(servers, pair):
    """A WATCHed list changed by another client fails the EXEC; a command that
    changes nothing (SADD of a member already there) does not."""
    from tests.compat.harness import Pair
    other = Pair(*servers, protocol=pair.protocol)
    try:
        run(pair, ("RPUSH", "l", "a"), ("SADD", "s", "m"), ("WATCH", "l", "s"))
        other.check("SADD", "s", "m")
        run(pair, ("MULTI",), ("LLEN", "l"), ("EXEC",), ("WATCH", "l"))
        other.check("LPUSH", "l", "b")
        run(pair, ("MULTI",), ("LLEN", "l"), ("EXEC",))
    finally:
        other.close()


def test_command_getkeys(pair):
    """Key positions, numkeys-counted ones (ZUNIONSTORE, SINTERCARD…) included: ACL
    key patterns and WATCH see the same keys as Redis."""
    run(pair, *[("COMMAND", "GETKEYS", *command) for command in (
        ("LMOVE", "a", "b", "LEFT", "RIGHT"), ("BLPOP", "a", "b", "0"),
        ("BZPOPMIN", "a", "0"), ("SINTERSTORE", "d", "a", "b"), ("SMOVE", "a", "b", "m"),
        ("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"), ("ZINTER", "2", "a", "b"),
        ("ZDIFF", "1", "a"), ("SINTERCARD", "2", "a", "b", "LIMIT", "1"),
        ("ZRANGESTORE", "d", "s", "0", "-1"), ("HSET", "h", "f", "v"))])
