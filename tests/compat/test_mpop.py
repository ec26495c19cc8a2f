"""LMPOP, BLMPOP, ZMPOP and BZMPOP (Redis 7.0), caskd against redis-server: replies
byte for byte in RESP2 and RESP3, argument errors, and the blocking forms waiting,
timing out, waking in the order they blocked and answering at once inside MULTI."""

from __future__ import annotations

import pytest

from tests.compat.harness import Pair
from tests.compat.test_lists import blocked_clients
from tests.compat.test_strings import run
from tests.support import wait_until

# Argument errors shared by the four commands, after "<prefix> numkeys".
_BAD_ARGUMENTS = [("0", "k", "{end}"), ("-1", "k", "{end}"), ("x", "k", "{end}"),
                  ("3", "k", "{end}"), ("1", "k"), ("1", "k", "UP"),
                  ("1", "k", "{end}", "COUNT"), ("1", "k", "{end}", "COUNT", "0"),
                  ("1", "k", "{end}", "COUNT", "-2"), ("1", "k", "{end}", "COUNT", "x"),
                  ("1", "k", "{end}", "COUNT", "1", "COUNT", "2"),
                  ("1", "k", "{end}", "BOGUS"), ("1", "k", "{end}", "COUNT", "1", "x"),
                  ("99999999999999999999", "k", "{end}")]


def _bad(prefix: tuple, end: str) -> list[tuple]:
    return [(*prefix, *(arg.format(end=end) for arg in args)) for args in _BAD_ARGUMENTS]


def test_lmpop(pair):
    run(pair,
        ("RPUSH", "a", *"12345"), ("RPUSH", "b", "x", "y"),
        ("LMPOP", "2", "nokey", "a", "LEFT"), ("LMPOP", "2", "nokey", "a", "right"),
        ("LMPOP", "1", "a", "LEFT", "COUNT", "2"), ("LMPOP", "1", "a", "RIGHT", "count", "10"),
        ("EXISTS", "a"), ("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"), ("EXISTS", "b"),
        ("LMPOP", "2", "a", "b", "LEFT"), ("LMPOP", "1", "nokey", "LEFT", "COUNT", "3"),
        ("SET", "str", "v"), ("RPUSH", "c", "z"), ("LMPOP", "2", "str", "c", "LEFT"),
        ("LMPOP", "2", "nokey", "str", "LEFT"), ("LMPOP", "2", "c", "str", "LEFT"),
        ("LMPOP", "1", "k", "LEFT", "COUNT", "9223372036854775807"), ("RPUSH", "big", "a", "b"),
        ("LMPOP", "1", "big", "RIGHT", "COUNT", "9223372036854775807"),
        ("LMPOP", "2", "dup", "dup", "LEFT"),
        *_bad(("LMPOP",), "LEFT"), ("LMPOP", "1", "k"), ("LMPOP", "1"))


def test_zmpop(pair):
    run(pair,
        ("ZADD", "a", "1", "one", "2", "two", "3", "three", "-0.5", "neg"),
        ("ZADD", "b", "1.5", "x", "inf", "y"),
        ("ZMPOP", "2", "nokey", "a", "MIN"), ("ZMPOP", "1", "a", "max"),
        ("ZMPOP", "1", "a", "MIN", "COUNT", "5"), ("EXISTS", "a"),
        ("ZMPOP", "2", "a", "b", "MAX", "COUNT", "1"), ("ZMPOP", "1", "b", "MIN", "COUNT", "1"),
        ("ZMPOP", "1", "b", "MIN"), ("ZMPOP", "1", "nokey", "MAX", "COUNT", "2"),
        ("SET", "str", "v"), ("ZADD", "c", "1", "m"), ("ZMPOP", "2", "str", "c", "MIN"),
        ("ZMPOP", "2", "c", "str", "MIN"), ("ZMPOP", "1", "c", "LEFT"),
        ("ZADD", "big", "1", "a", "2", "b"), ("ZMPOP", "1", "big", "MAX", "COUNT",
                                              "9223372036854775807"),
        *_bad(("ZMPOP",), "MIN"), ("ZMPOP", "1", "k"))


def test_blocking_forms_that_need_not_wait(pair):
    run(pair,
        ("RPUSH", "l", *"abc"), ("ZADD", "z", "1", "a", "2", "b"),
        ("BLMPOP", "0", "2", "nokey", "l", "LEFT"),
        ("BLMPOP", "1", "1", "l", "RIGHT", "COUNT", "9"),
        ("BZMPOP", "0", "2", "nokey", "z", "MAX"), ("BZMPOP", "0.5", "1", "z", "MIN", "COUNT", "3"),
        ("BLMPOP", "x", "1", "l", "LEFT"), ("BLMPOP", "-1", "1", "l", "LEFT"),
        ("BZMPOP", "inf", "1", "z", "MIN"), ("BLMPOP", "x", "0", "l", "LEFT"),
        ("BLMPOP", "0", "1", "l", "UP"), ("BZMPOP", "0", "1", "z", "LEFT"),
        ("SET", "str", "v"), ("BLMPOP", "0", "1", "str", "LEFT"),
        ("BZMPOP", "0", "2", "nokey", "str", "MIN"),
        *_bad(("BLMPOP", "0"), "LEFT"), *_bad(("BZMPOP", "0"), "MAX"),
        ("BLMPOP", "0", "1", "k"), ("BZMPOP", "0"),
        ("MULTI",), ("BLMPOP", "0", "1", "nokey", "LEFT"),
        ("BZMPOP", "10", "1", "nokey", "MIN", "COUNT", "2"), ("EXEC",))


@pytest.mark.parametrize("command", [("BLMPOP", "0.05", "2", "x", "y", "LEFT"),
                                     ("BZMPOP", "0.05", "1", "x", "MAX", "COUNT", "2")])
def test_blocking_timeout(pair, command):
    pair.check(*command)


@pytest.mark.parametrize("waits, feed", [
    (("BLMPOP", "5", "2", "q1", "q2", "RIGHT", "COUNT", "2"), ("RPUSH", "q2", "a", "b", "c")),
    (("BZMPOP", "5", "2", "q1", "q2", "MAX", "COUNT", "2"),
     ("ZADD", "q2", "1", "a", "2", "b", "3", "c")),
])
def test_a_write_wakes_the_client_that_waited_first(servers, pair, waits, feed):
    """Two clients wait on the same key in each server; one write feeds both, in the
    order they blocked, each taking up to its COUNT."""
    first, second = Pair(*servers, protocol=pair.protocol), Pair(*servers, protocol=pair.protocol)
    try:
        for blocked, waiter in enumerate((first, second), 1):
            for connection, other in ((waiter.redis, pair.redis), (waiter.caskd, pair.caskd)):
                connection.send(waits)
                wait_until(lambda other=other, n=blocked: blocked_clients(other) == n,
                           what="the client to block")
        pair.check(*feed)
        for waiter in (first, second):
            assert waiter.caskd.reply() == waiter.redis.reply()
        pair.check("EXISTS", "q2")
    finally:
        first.close()
        second.close()


def test_key_positions(pair2):
    run(pair2,
        ("COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT"),
        ("COMMAND", "GETKEYS", "BLMPOP", "0", "1", "a", "LEFT", "COUNT", "2"),
        ("COMMAND", "GETKEYS", "ZMPOP", "1", "a", "MIN"),
        ("COMMAND", "GETKEYS", "BZMPOP", "0", "3", "a", "b", "c", "MAX"))
