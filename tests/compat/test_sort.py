"""SORT and SORT_RO, caskd against redis-server: replies byte for byte in RESP2 and
RESP3 for lists, sets and sorted sets, numeric and ALPHA order, BY patterns and
hash fields, nosort, GET, LIMIT, STORE, and Redis's errors."""

from __future__ import annotations

from tests.compat.harness import Connection, Pair
from tests.compat.test_lists import blocked_clients
from tests.compat.test_strings import BINARY
from tests.support import wait_until

# Weights as strtod reads them, and what it refuses: the error comes after sorting.
NUMBERS = ["3", "-1", "10", "2.5", " 7", "\t4", "+5", "0x10", "1e3", ".5", "5.", "-0", "0",
           "", "inf", "-INF", "infinity", "2\x00tail", "0x1p-1070", "99999999999999999999"]
BAD_NUMBERS = ["abc", "1x", "nan", "1e400", "-1e400", "1e-400", "4e-320", "1 "]


def reset_redis_errno(pair) -> None:
    """See differences.SORT_STALE_ERANGE: Redis accepts connections until accept()
    fails with EAGAIN, so a new connection leaves errno at EAGAIN."""
    connection = Connection(pair.redis.sock.getpeername()[1])
    connection.send(("PING",))
    assert connection.reply() == b"+PONG\r\n"
    connection.close()


def run(pair, *commands: tuple) -> None:
    """Each command to both servers, compared, starting from a Redis errno that
    no earlier parse left at ERANGE; after the commands too."""
    reset_redis_errno(pair)
    for command in commands:
        pair.check(*command)
        if command[0] == "SORT" and len(command) > 1 and command[1].startswith("bad"):
            reset_redis_errno(pair)


def _data() -> list[tuple]:
    return [
        ("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5", "2"),
        ("SADD", "ints", "30", "-2", "7", "100", "0"),
        ("ZADD", "z", "1", "c", "2", "a", "3", "b", "4", "10", "5", "9"),
        ("RPUSH", "words", "banana", "Apple", "cherry", "apple", "a\x00z", "a\x00b", "a",
         "\xff", "\x01", "é", "~", "10", "9"),
        *[("SET", f"w_{name}", weight) for name, weight in
          [("3", "1"), ("1", "30"), ("2", "20"), ("10", "-1"), ("-5", "0"), ("1.5", "5")]],
        *[("HSET", f"h_{name}", "n", weight, "s", f"str{weight}") for name, weight in
          [("3", "9"), ("1", "8"), ("2", "7"), ("10", "6")]],
        ("HSET", "h_-5", "other", "x"), ("SADD", "w_1.5x", "not-a-string"),
    ]


def test_numeric_and_alpha_order(pair):
    run(pair, *_data(),
        ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "ASC", "DESC", "ASC"),
        ("SORT", "ints"), ("SORT", "ints", "desc"), ("SORT", "z"), ("SORT", "z", "DESC"),
        ("SORT", "words", "ALPHA"), ("SORT", "words", "ALPHA", "DESC"),
        ("SORT", "words"), ("SORT", "z", "ALPHA"), ("SORT", "ints", "ALPHA"),
        ("SORT", "nokey"), ("SORT", "nokey", "ALPHA", "DESC", "LIMIT", "0", "1"),
        ("SORT_RO", "l"), ("SORT_RO", "words", "ALPHA", "LIMIT", "2", "3"))


def test_numbers_as_strtod_reads_them(pair):
    run(pair,
        ("RPUSH", "n", *NUMBERS), ("SORT", "n"), ("SORT", "n", "DESC"),
        *[("RPUSH", f"bad{i}", "1", value, "2") for i, value in enumerate(BAD_NUMBERS)],
        *[("SORT", f"bad{i}") for i in range(len(BAD_NUMBERS))],
        ("RPUSH", "bad0", "1"), ("SORT", "bad0", "LIMIT", "0", "0"),
        ("SORT", "bad0", "STORE", "dst"), ("EXISTS", "dst"), ("SORT", "bad0", "ALPHA"),
        ("RPUSH", "ties", "1.0", "1", "01", "1e0", "-0", "0", "0.0"), ("SORT", "ties"),
        ("SORT", "ties", "DESC"))


def test_limit(pair):
    limits = [("0", "3"), ("2", "2"), ("-5", "2"), ("5", "100"), ("7", "1"), ("100", "1"),
              ("0", "0"), ("0", "-1"), ("3", "-7"), ("-1", "-1"), ("2", "9223372036854775807")]
    run(pair, *_data(),
        *[("SORT", key, "LIMIT", start, count, *extra)
          for key in ("l", "z") for start, count in limits
          for extra in ((), ("DESC",), ("BY", "nosort"), ("BY", "nosort", "DESC"))],
        *[("SORT", "ints", "LIMIT", start, count) for start, count in limits],
        ("SORT", "l", "LIMIT", "1"), ("SORT", "l", "LIMIT", "x", "1"),
        ("SORT", "l", "LIMIT", "1", "1.5"), ("SORT", "l", "LIMIT", "0", "1", "LIMIT", "2", "2"))


def test_by_patterns_and_get(pair):
    run(pair, *_data(),
        ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "DESC"),
        ("SORT", "l", "BY", "w_*", "ALPHA"), ("SORT", "l", "BY", "w_*", "ALPHA", "DESC"),
        ("SORT", "l", "BY", "h_*->n"), ("SORT", "l", "BY", "h_*->n", "DESC", "LIMIT", "1", "3"),
        ("SORT", "l", "BY", "h_*->s", "ALPHA"), ("SORT", "l", "BY", "h_*->missing"),
        ("SORT", "l", "BY", "w_*x"), ("SORT", "l", "BY", "w_*", "LIMIT", "1", "2"),
        ("SORT", "l", "BY", "*->"), ("SORT", "l", "BY", "h_*->n", "GET", "#", "GET", "w_*"),
        ("SORT", "l", "GET", "w_*"), ("SORT", "l", "GET", "h_*->s", "GET", "#"),
        ("SORT", "l", "GET", "h_*->"), ("SORT", "l", "GET", "nostar"), ("SORT", "l", "GET", "*"),
        ("SORT", "l", "GET", "#", "GET", "h_*->other", "GET", "w_*x", "LIMIT", "0", "3"),
        ("SORT", "z", "BY", "nosort"), ("SORT", "z", "BY", "nosort", "DESC"),
        ("SORT", "l", "BY", "nosort"), ("SORT", "l", "BY", "nosort", "DESC", "GET", "w_*"),
        ("SORT", "l", "BY", "nosort", "BY", "w_*"), ("SORT", "ints", "BY", "nosort"),
        ("SORT", "ints", "BY", "nosort", "DESC", "LIMIT", "1", "2"),
        ("SORT", "z", "BY", "w_*", "GET", "#"), ("SORT_RO", "l", "BY", "w_*", "GET", "w_*"),
        ("SET", "*x", "star"), ("RPUSH", "bin", BINARY, "*"), ("SORT", "bin", "ALPHA",
                                                             "GET", "#", "GET", "*x"),
        ("SET", "w_abc", "1"), ("RPUSH", "nums", "abc", "1"), ("SORT", "nums", "BY", "w_*"))


def test_store(pair):
    run(pair, *_data(),
        ("SORT", "l", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"), ("TYPE", "dst"),
        ("SORT", "l", "GET", "#", "GET", "h_*->s", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "words", "ALPHA", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "words", "ALPHA", "BY", "w_*", "STORE", "dst"),
        ("SORT", "ints", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "ints", "BY", "nosort", "DESC", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SET", "str", "v"), ("EXPIRE", "str", "100"), ("SORT", "l", "STORE", "str"),
        ("TTL", "str"), ("SORT", "l", "STORE", "l"), ("LRANGE", "l", "0", "-1"),
        ("SORT", "nokey", "STORE", "dst"), ("EXISTS", "dst"), ("SORT", "nokey", "STORE", "dst"),
        ("SORT", "l", "STORE", "a", "STORE", "b"), ("EXISTS", "a", "b"),
        ("SORT", "l", "LIMIT", "0", "0", "STORE", "b"), ("EXISTS", "b"),
        ("SORT_RO", "l", "STORE", "dst"), ("SORT", "l", "STORE"))


def test_errors(pair):
    run(pair, *_data(),
        ("SET", "str", "v"), ("SORT", "str"), ("HSET", "hash", "f", "v"), ("SORT", "hash"),
        ("SORT", "l", "BOGUS"), ("SORT", "l", "BY"), ("SORT", "l", "GET"), ("SORT", "str", "BOGUS"),
        ("SORT", "str", "LIMIT", "x", "0"), ("SORT",), ("SORT_RO",), ("SORT_RO", "str"),
        ("SORT", "words"), ("SORT", "words", "LIMIT", "0", "1"))


def test_a_sorted_set_sorted_becomes_a_skiplist(pair):
    run(pair,
        ("ZADD", "z", "1", "b", "2", "a"), ("OBJECT", "ENCODING", "z"), ("SORT", "z", "ALPHA"),
        ("OBJECT", "ENCODING", "z"), ("ZADD", "small", "1", "x"), ("SORT_RO", "small", "BY",
                                                                  "nosort"),
        ("OBJECT", "ENCODING", "small"))


def test_key_positions(pair2):
    run(pair2,
        ("COMMAND", "GETKEYS", "SORT", "k"),
        ("COMMAND", "GETKEYS", "SORT", "k", "STORE", "d"),
        ("COMMAND", "GETKEYS", "SORT", "k", "STORE", "d", "BY", "store", "STORE", "e"),
        ("COMMAND", "GETKEYS", "SORT", "k", "LIMIT", "store", "x", "GET", "store"),
        ("COMMAND", "GETKEYS", "SORT", "k", "store", "store", "x"),
        ("COMMAND", "GETKEYS", "SORT_RO", "k", "STORE", "d"))


def test_acl_restricted_user(pair2):
    """A user without access to every key may sort, but not BY a pattern nor GET."""
    run(pair2, *_data(),
        ("ACL", "SETUSER", "sorter", "on", "nopass", "~l", "~d*", "+@all"),
        ("AUTH", "sorter", "x"), ("SORT", "l"), ("SORT", "l", "BY", "nosort"),
        ("SORT", "l", "BY", "w_*"), ("SORT", "l", "GET", "#"), ("SORT", "l", "STORE", "dst"),
        ("SORT", "l", "STORE", "other"), ("AUTH", "default", "x"))


def test_store_wakes_a_client_waiting_on_the_destination(servers, pair):
    waiter = Pair(*servers, protocol=pair.protocol)
    try:
        run(pair, ("RPUSH", "l", "3", "1", "2"))
        for connection, other in ((waiter.redis, pair.redis), (waiter.caskd, pair.caskd)):
            connection.send(("BLPOP", "dst", "5"))
            wait_until(lambda other=other: blocked_clients(other) == 1, what="a blocked client")
        pair.check("SORT", "l", "STORE", "dst")
        assert waiter.caskd.reply() == waiter.redis.reply()
        pair.check("LRANGE", "dst", "0", "-1")
    finally:
        waiter.close()
