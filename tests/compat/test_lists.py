"""List commands, caskd against redis-server: replies byte for byte in RESP2 and
RESP3, errors and edge cases, and the blocking commands."""

from __future__ import annotations

import pytest

from tests.compat.harness import Connection, Pair, decode
from tests.compat.test_strings import BINARY, run
from tests.support import wait_until


def test_push_pop_and_length(pair):
    run(pair,
        ("LPUSH", "l", "a"), ("LPUSH", "l", "b", "c"), ("RPUSH", "l", "d", "e"),
        ("LRANGE", "l", "0", "-1"), ("LLEN", "l"), ("LLEN", "nokey"),
        ("LPUSHX", "nokey", "a"), ("RPUSHX", "nokey", "a"), ("EXISTS", "nokey"),
        ("LPUSHX", "l", "x", "y"), ("RPUSHX", "l", "z"), ("LPUSH", "l"),
        ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "2"), ("RPOP", "l", "0"),
        ("LPOP", "l", "-1"), ("LPOP", "l", "x"), ("LPOP", "l", "1", "2"), ("RPOP", "l", "1", "2"),
        ("LPOP", "nokey"), ("LPOP", "nokey", "3"), ("RPOP", "nokey", "0"),
        ("RPOP", "l", "100"), ("EXISTS", "l"), ("LPOP", "l"),
        ("RPUSH", "b", BINARY, "", "\x00"), ("LRANGE", "b", "0", "-1"))


def test_range_index_set(pair):
    run(pair,
        ("RPUSH", "l", *"abcdefghij"),
        *[("LRANGE", "l", start, end) for start, end in
          [(0, -1), (2, 4), (-3, -1), (-100, 100), (5, 2), (20, 30), (-1, -3), (0, 0),
           (9, 9), (3, -3), (-20, -15), ("x", 1)]],
        ("LRANGE", "nokey", "0", "-1"), ("LRANGE", "nokey", "x", "1"),
        *[("LINDEX", "l", index) for index in (0, 9, 10, -1, -10, -11, "x")],
        ("LINDEX", "nokey", "x"),
        ("LSET", "l", "0", "A"), ("LSET", "l", "-1", "J"), ("LSET", "l", "10", "x"),
        ("LSET", "l", "-11", "x"), ("LSET", "l", "x", "x"), ("LSET", "nokey", "x", "a"),
        ("LRANGE", "l", "0", "-1"))


def test_insert_remove_trim(pair):
    run(pair,
        ("RPUSH", "l", "a", "b", "a", "c", "a", "b"),
        ("LINSERT", "l", "BEFORE", "b", "X"), ("LINSERT", "l", "after", "a", "Y"),
        ("LINSERT", "l", "AFTER", "missing", "Z"), ("LINSERT", "l", "UP", "a", "Z"),
        ("LINSERT", "nokey", "BEFORE", "a", "b"), ("LINSERT", "nokey", "X", "a", "b"),
        ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "1", "a"), ("LREM", "l", "-1", "a"), ("LREM", "l", "0", "b"),
        ("LREM", "l", "5", "missing"), ("LREM", "l", "x", "a"), ("LREM", "nokey", "x", "a"),
        ("LREM", "nokey", "1", "a"), ("LRANGE", "l", "0", "-1"),
        ("RPUSH", "t", *"abcdefgh"), ("LTRIM", "t", "1", "-2"), ("LRANGE", "t", "0", "-1"),
        ("LTRIM", "t", "-3", "100"), ("LRANGE", "t", "0", "-1"), ("LTRIM", "t", "x", "1"),
        ("LTRIM", "nokey", "0", "1"), ("LTRIM", "t", "5", "1"), ("EXISTS", "t"),
        ("RPUSH", "all", "a", "a", "a"), ("LREM", "all", "0", "a"), ("EXISTS", "all"))


def test_lpos(pair):
    run(pair,
        ("RPUSH", "l", "a", "b", "c", "a", "b", "a"),
        ("LPOS", "l", "a"), ("LPOS", "l", "b"), ("LPOS", "l", "z"), ("LPOS", "l", "a", "RANK", "2"),
        ("LPOS", "l", "a", "RANK", "-1"), ("LPOS", "l", "a", "RANK", "-2"),
        ("LPOS", "l", "a", "RANK", "9"), ("LPOS", "l", "a", "COUNT", "0"),
        ("LPOS", "l", "a", "COUNT", "2"), ("LPOS", "l", "a", "COUNT", "2", "RANK", "-1"),
        ("LPOS", "l", "a", "MAXLEN", "3"), ("LPOS", "l", "a", "MAXLEN", "3", "COUNT", "0"),
        ("LPOS", "l", "a", "RANK", "-1", "MAXLEN", "1"), ("LPOS", "l", "z", "COUNT", "1"),
        ("LPOS", "l", "a", "RANK", "0"), ("LPOS", "l", "a", "COUNT", "-1"),
        ("LPOS", "l", "a", "MAXLEN", "-1"), ("LPOS", "l", "a", "BOGUS", "1"),
        ("LPOS", "l", "a", "RANK"), ("LPOS", "l", "a", "RANK", "x"),
        ("LPOS", "l", "a", "RANK", "-9223372036854775808"),
        ("LPOS", "nokey", "a"), ("LPOS", "nokey", "a", "COUNT", "1"),
        ("LPOS", "nokey", "a", "RANK", "0"))


def test_move(pair):
    run(pair,
        ("RPUSH", "src", "1", "2", "3"), ("LMOVE", "src", "dst", "LEFT", "RIGHT"),
        ("LMOVE", "src", "dst", "right", "left"), ("LRANGE", "dst", "0", "-1"),
        ("LMOVE", "src", "src", "LEFT", "RIGHT"), ("LRANGE", "src", "0", "-1"),
        ("RPUSH", "two", "a", "b"), ("LMOVE", "two", "two", "LEFT", "RIGHT"),
        ("LRANGE", "two", "0", "-1"), ("EXPIRE", "src", "1000"),
        ("LMOVE", "src", "src", "RIGHT", "LEFT"), ("TTL", "src"),
        ("RPOPLPUSH", "src", "dst"), ("EXISTS", "src"), ("RPOPLPUSH", "nokey", "dst"),
        ("LMOVE", "nokey", "dst", "LEFT", "LEFT"), ("LMOVE", "dst", "x", "UP", "LEFT"),
        ("LMOVE", "dst", "x", "LEFT", "DOWN"), ("SET", "str", "v"),
        ("LMOVE", "dst", "str", "LEFT", "LEFT"), ("LMOVE", "str", "dst", "LEFT", "LEFT"),
        ("RPOPLPUSH", "dst", "str"), ("LRANGE", "dst", "0", "-1"))


def test_blocking_commands_that_need_not_wait(pair):
    run(pair,
        ("RPUSH", "a", "1", "2"), ("RPUSH", "b", "3"),
        ("BLPOP", "nokey", "a", "b", "0"), ("BRPOP", "b", "a", "0"), ("BLPOP", "a", "1"),
        ("EXISTS", "a"), ("RPUSH", "a", "x"),
        ("BLMOVE", "a", "b", "LEFT", "RIGHT", "0"), ("BRPOPLPUSH", "b", "a", "0"),
        ("LRANGE", "a", "0", "-1"), ("SET", "str", "v"), ("BLPOP", "nokey", "str", "a", "0"),
        ("BLPOP", "a", "x"), ("BLPOP", "a", "-1"), ("BLPOP", "a", "inf"),
        ("BLMOVE", "a", "b", "UP", "LEFT", "x"), ("BLMOVE", "a", "b", "LEFT", "LEFT", "x"),
        ("BLPOP", "a"), ("BRPOPLPUSH", "a", "b"),
        ("MULTI",), ("BLPOP", "nokey", "0"), ("BRPOP", "nokey", "10"),
        ("BLMOVE", "nokey", "b", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "nokey", "b", "0"),
        ("EXEC",))


def blocked_clients(connection: Connection) -> int:
    connection.send(("INFO", "clients"))
    reply = decode(connection.reply())
    text = reply if isinstance(reply, str) else reply.decode()
    return int(text.split("blocked_clients:")[1].split()[0])


@pytest.mark.parametrize("command", [("BLPOP", "nokey", "0.05"), ("BRPOP", "x", "y", "0.05"),
                                     ("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.05"),
                                     ("BRPOPLPUSH", "nokey", "d", "0.05")])
def test_blocking_timeout(pair, command):
    pair.check(*command)


def test_a_push_wakes_the_client_that_waited_first(servers, pair):
    """Two clients wait on the same list in each server; a push of two elements
    serves them in the order they blocked."""
    first, second = Pair(*servers, protocol=pair.protocol), Pair(*servers, protocol=pair.protocol)
    try:
        for blocked, (waiter, keys) in enumerate(((first, ("q1", "q2")), (second, ("q2",))), 1):
            for connection, other in ((waiter.redis, pair.redis), (waiter.caskd, pair.caskd)):
                connection.send(("BLPOP", *keys, "5"))
                wait_until(lambda other=other, n=blocked: blocked_clients(other) == n,
                           what="the client to block")
        pair.check("RPUSH", "q2", "x", "y")
        for waiter in (first, second):
            redis, caskd = waiter.redis.reply(), waiter.caskd.reply()
            assert caskd == redis
        pair.check("EXISTS", "q2")
    finally:
        first.close()
        second.close()
