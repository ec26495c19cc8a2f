"""Stream commands, caskd against redis-server: replies byte for byte in RESP2 and
RESP3, errors, id edge cases (0-0, the largest ids, sequence overflow), trimming,
consumer groups, XINFO, and XREAD / XREADGROUP BLOCK."""

from __future__ import annotations

import pytest

from tests.compat.differences import (
    CONSUMER_IDLE,
    PENDING_IDLE,
    STREAM_CLOCK,
)
from tests.compat.harness import Pair, decode
from tests.compat.test_lists import blocked_clients
from tests.compat.test_notifications import listener, notifications  # noqa: F401
from tests.compat.test_strings import BINARY, run
from tests.support import wait_until

MAX = "18446744073709551615"


def test_xadd_ids_and_errors(pair):
    run(pair,
        ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-1", "a", "1"),
        ("XADD", "s", "1-*", "b", "2"), ("XADD", "s", "2", "c", "3"),
        ("XADD", "s", "0-0", "a", "1"), ("XADD", "s", "0", "a", "1"),
        ("XADD", "s", "-", "a", "1"), ("XADD", "s", "+", "a", "1"),
        ("XADD", "s", "abc", "a", "1"), ("XADD", "s", "3-x", "a", "1"),
        ("XADD", "s", "5-1", "a"), ("XADD", "s", "5-1"),
        ("XADD", "s", "+1", "a", "b"), ("XADD", "s", " 7", "a", "b"), ("XADD", "s", "-0", "a", "b"),
        ("XADD", "s", "00009-01", "a", "b"), ("XADD", "s", "10-" + "9" * 30, "a", "b"),
        ("XADD", "s", "1" * 130, "a", "b"),
        ("XADD", "s", "MAXLEN", "-1", "20-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "x", "20-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "10", "MINID", "1", "20-1", "a", "1"),
        ("XADD", "s", "LIMIT", "10", "20-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "10", "LIMIT", "10", "20-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "~", "10", "LIMIT", "-1", "20-1", "a", "1"),
        ("XADD", "nokey", "NOMKSTREAM", "*", "a", "1"), ("EXISTS", "nokey"),
        ("XADD", "s", "21-0", BINARY, "", "", BINARY), ("XRANGE", "s", "-", "+"),
        ("SET", "str", "v"), ("XADD", "str", "1-1", "a", "1"), ("XLEN", "str"),
        ("XLEN", "s"), ("XLEN", "nokey"), ("TYPE", "s"), ("OBJECT", "ENCODING", "s"))


def test_the_largest_ids_and_sequence_overflow(pair):
    run(pair,
        ("XADD", "s", f"{MAX}-{int(MAX) - 1}", "x", "y"), ("XADD", "s", f"{MAX}-*", "x", "y"),
        ("XADD", "s", f"{MAX}-*", "x", "y"), ("XADD", "s", "*", "x", "y"),
        ("XADD", "s", f"{MAX}-{MAX}", "x", "y"),
        ("XADD", "u", f"1-{MAX}", "a", "b"), ("XADD", "u", "1-*", "a", "b"),
        ("XADD", "u", "2-*", "a", "b"), ("XRANGE", "u", "-", "+"),
        ("XRANGE", "s", f"({MAX}-{MAX}", "+"), ("XRANGE", "s", "-", "(0-0"),
        ("XRANGE", "s", "(-", "+"), ("XRANGE", "s", "-", "(+"),
        ("XINFO", "STREAM", "s"))


def test_auto_ids_are_made_from_the_clock(pair):
    for command in (("XADD", "s", "*", "f", "v"), ("XADD", "s", "*", "f", "v"),
                    ("XADD", "s", "MAXLEN", "1", "*", "f", "v"), ("XLEN", "s")):
        pair.check(*command, allow=STREAM_CLOCK)


def test_ranges(pair):
    run(pair,
        *[("XADD", "s", f"{ms}-{seq}", "f", f"{ms}.{seq}") for ms in (1, 2, 3) for seq in (0, 1)],
        *[("XRANGE", "s", start, end) for start, end in [
            ("-", "+"), ("(1-1", "+"), ("-", "(2-0"), ("1", "1"), ("2", "1"), ("(1", "(3"),
            ("2", "2-0"), ("(2-1", "3"), ("0", MAX), ("x", "+"), ("-", "1-x")]],
        ("XRANGE", "s", "-", "+", "COUNT", "2"), ("XRANGE", "s", "-", "+", "COUNT", "0"),
        ("XRANGE", "s", "-", "+", "COUNT", "-1"), ("XRANGE", "s", "-", "+", "COUNT"),
        ("XRANGE", "s", "-", "+", "COUNT", "x"), ("XRANGE", "s", "-", "+", "FOO", "1"),
        ("XRANGE", "nokey", "-", "+"), ("XRANGE", "nokey", "-", "+", "COUNT", "0"),
        ("XREVRANGE", "s", "+", "-"), ("XREVRANGE", "s", "+", "-", "COUNT", "1"),
        ("XREVRANGE", "s", "(2-0", "-"), ("XREVRANGE", "s", "3", "(1-1"),
        ("XREVRANGE", "s", "-", "+"), ("SET", "str", "v"), ("XRANGE", "str", "-", "+"))


def test_delete_trim_and_setid(pair):
    run(pair,
        *[("XADD", "s", f"{i}-0", "f", str(i)) for i in range(1, 9)],
        ("XDEL", "s", "2-0"), ("XDEL", "s", "2-0", "3-0", "9-9", "3-0"), ("XDEL", "s", "x"),
        ("XDEL", "s", "4-0", "x"), ("XDEL", "nokey", "1-1"), ("XLEN", "s"),
        ("XINFO", "STREAM", "s"),
        ("XTRIM", "s", "MAXLEN", "4"), ("XTRIM", "s"), ("XTRIM", "s", "LIMIT", "1"),
        ("XTRIM", "s", "MAXLEN", "~", "1"), ("XTRIM", "s", "MAXLEN", "=", "4"),
        ("XTRIM", "nokey", "MAXLEN", "1"), ("XTRIM", "s", "FOO", "1"),
        ("XTRIM", "s", "MINID", "7"), ("XRANGE", "s", "-", "+"),
        ("XTRIM", "s", "MINID", "~", "9"), ("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "0"),
        ("XADD", "s", "MINID", "10", "10-0", "a", "1"), ("XRANGE", "s", "-", "+"),
        ("XSETID", "s", "1-1"), ("XSETID", "nokey", "1-1"), ("XSETID", "s", "-"),
        ("XSETID", "s", "20-0", "ENTRIESADDED", "0"),
        ("XSETID", "s", "20-0", "ENTRIESADDED", "-1"),
        ("XSETID", "s", "20-0", "MAXDELETEDID", "21-0"),
        ("XSETID", "s", "20-0", "ENTRIESADDED", "30", "MAXDELETEDID", "15-0"),
        ("XSETID", "s", "20-0", "FOO"), ("XSETID", "s", "20-0", "ENTRIESADDED"),
        ("XINFO", "STREAM", "s"), ("XADD", "s", "20-0", "a", "1"), ("XADD", "s", "20-1", "a", "1"),
        ("XDEL", "s", "10-0", "20-1"), ("XLEN", "s"), ("EXISTS", "s"), ("XINFO", "STREAM", "s"))


def test_approximate_trimming_cuts_whole_nodes(pair2):
    """Entries of mixed sizes fill Redis's listpack nodes (100 entries or 4 KB); ~
    removes whole nodes only: the same ones in both servers."""
    pair = pair2
    sizes = [1, 5, 90, 300, 7, 2000, 12]
    for i in range(1, 500):
        value = "v" * sizes[i % len(sizes)] if i % 5 else str(i * 1000)
        fields = ("f", value) if i % 3 else ("f", value, "other", "12")
        pair.check("XADD", "s", f"{1_700_000_000_000 + i // 4}-*", *fields)
    for maxlen in (480, 400, 399, 250, 100, 0):
        pair.check("XTRIM", "s", "MAXLEN", "~", maxlen)
        pair.check("XINFO", "STREAM", "s")
    for i in range(1, 300):
        pair.check("XADD", "t", f"{i}-0", "f", "v" * (i % 50))
    pair.check("XDEL", "t", "150-0", "101-0", *[f"{i}-0" for i in range(201, 240)])
    for minid in ("50", "120", "151", "201-0"):
        pair.check("XTRIM", "t", "MINID", "~", minid)
        pair.check("XTRIM", "t", "MINID", "~", minid, "LIMIT", "100")
        pair.check("XINFO", "STREAM", "t")
    pair.check("XADD", "t", "MAXLEN", "~", "10", "LIMIT", "10000", "500-0", "f", "v")
    pair.check("XLEN", "t")
    for i in range(1, 2000, 7):  # ids far apart: the radix tree branches in other bytes
        pair.check("XADD", "far", f"{i * 7919 ** 3}-{i % 5}", "f", "v" * (i % 300))
    pair.check("XDEL", "far", *[f"{i * 7919 ** 3}-{i % 5}" for i in range(300, 700, 7)])
    pair.check("XINFO", "STREAM", "far")
    pair.check("XTRIM", "far", "MAXLEN", "~", "100")
    pair.check("XINFO", "STREAM", "far")
    pair.check("MEMORY", "USAGE", "far")
    pair.check("XGROUP", "CREATE", "far", "g", "0")
    pair.check("XREADGROUP", "GROUP", "g", "alice", "COUNT", "40", "STREAMS", "far", ">")
    pair.check("XREADGROUP", "GROUP", "g", "bob", "COUNT", "3", "STREAMS", "far", ">")
    pair.check("XGROUP", "CREATECONSUMER", "far", "g", "carol")
    pair.check("MEMORY", "USAGE", "far")


def test_xread(pair):
    run(pair,
        ("XADD", "s", "1-0", "a", "1"), ("XADD", "s", "2-0", "b", "2"),
        ("XADD", "t", "5-0", "c", "3"),
        ("XREAD", "STREAMS", "s", "0"), ("XREAD", "COUNT", "1", "STREAMS", "s", "0"),
        ("XREAD", "STREAMS", "s", "t", "0", "0"), ("XREAD", "STREAMS", "s", "nokey", "1-0", "0"),
        ("XREAD", "STREAMS", "s", "$"), ("XREAD", "STREAMS", "s", "2"),
        ("XREAD", "STREAMS", "s", "x"), ("XREAD", "STREAMS", "s", ">"), ("XREAD", "STREAMS", "s"),
        ("XREAD", "STREAMS", "s", "t", "0"),
        ("XREAD", "COUNT", "1"), ("XREAD", "FOO", "STREAMS", "s", "0"),
        ("XREAD", "GROUP", "g", "c", "STREAMS", "s", ">"), ("XREAD", "NOACK", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "x", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "-1", "STREAMS", "s", "0"),
        ("XREAD", "COUNT", "x", "STREAMS", "s", "0"), ("XREAD", "COUNT", "-5", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "0", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "10", "STREAMS", "s", "$"),
        ("SET", "str", "v"), ("XREAD", "STREAMS", "s", "str", "0", "0"),
        ("MULTI",), ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"), ("EXEC",))


def test_groups_and_pending_entries(pair):
    run(pair,
        ("XGROUP", "CREATE", "s", "g", "$"), ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"),
        ("XGROUP", "CREATE", "s", "g", "$"),
        ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "x"),
        ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-2"),
        ("XGROUP", "CREATE", "s", "g2", "0", "FOO"), ("XGROUP", "CREATE", "s", "g2", "-"),
        ("XGROUP", "CREATE", "s", "g2", "0", "MKSTREAM", "ENTRIESREAD", "0"),
        ("XGROUP", "SETID", "s", "g", "0", "MKSTREAM"), ("XGROUP", "SETID", "s", "nog", "0"),
        ("XGROUP", "SETID", "nokey", "g", "0"), ("XGROUP", "DESTROY", "s", "nog"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "c1"), ("XGROUP", "CREATECONSUMER", "s", "g", "c1"),
        ("XGROUP", "CREATECONSUMER", "s", "nog", "c1"), ("XGROUP", "DELCONSUMER", "s", "g", "x"),
        ("XGROUP", "HELP"), ("XGROUP", "FOO"), ("XGROUP", "CREATE", "s"), ("XGROUP",),
        ("SET", "str", "v"), ("XGROUP", "CREATE", "str", "g", "$", "MKSTREAM"),
        *[("XADD", "s", f"{i}-0", "f", str(i)) for i in range(1, 6)],
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", "$"),
        ("XREADGROUP", "GROUP", "nog", "c2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "nokey", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s"), ("XREADGROUP", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "str", ">"),
        ("XPENDING", "s", "g"), ("XPENDING", "s", "nog"), ("XPENDING", "nokey", "g"),
        ("XPENDING", "s", "g", "-", "+"), ("XPENDING", "s", "g", "-", "+", "x"),
        ("XPENDING", "s", "g", "x", "+", "10"), ("XPENDING", "s", "g", "-", "+", "10", "nobody"),
        ("XPENDING", "s", "g", "IDLE", "x", "-", "+", "10"),
        ("XPENDING", "s", "g", "IDLE", "10", "-", "+"),
        ("XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10"),
        ("XACK", "s", "g", "1-0", "1-0", "9-9"), ("XACK", "s", "g", "x"),
        ("XACK", "s", "nog", "1-0"), ("XACK", "nokey", "g", "1-0"), ("XACK", "str", "g", "1-0"),
        ("XPENDING", "s", "g"), ("XDEL", "s", "2-0"),
        ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", "1-0"),
        ("XREADGROUP", "GROUP", "g", "c3", "NOACK", "STREAMS", "s", ">"),
        ("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "DELCONSUMER", "s", "g", "c1"), ("XPENDING", "s", "g"),
        ("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "0"),
        ("XREADGROUP", "GROUP", "g", "c4", "COUNT", "1", "STREAMS", "s", ">"),
        ("XPENDING", "s", "g"), ("XGROUP", "SETID", "s", "g", "$"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "s", "g"), ("XINFO", "GROUPS", "s"))
    for command in (("XPENDING", "s", "g2", "-", "+", "10"),
                    ("XPENDING", "s", "g2", "(1-0", "(4-0", "10", "c1"),
                    ("XPENDING", "s", "g2", "IDLE", "0", "-", "+", "1")):
        pair.check(*command, allow=PENDING_IDLE)


def test_claiming(pair):
    run(pair,
        *[("XADD", "s", f"{i}-0", "f", str(i)) for i in range(1, 7)],
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"), ("XDEL", "s", "2-0"),
        ("XCLAIM", "s", "g", "c2", "0", "2-0", "3-0", "JUSTID"),
        ("XCLAIM", "s", "g", "c2", "0", "3-0", "4-0", "RETRYCOUNT", "7"),
        ("XCLAIM", "s", "g", "c2", "0", "3-0", "3-0", "4-0"),
        ("XCLAIM", "s", "g", "c2", "0", "3-0", "FOO"), ("XCLAIM", "s", "g", "c2", "x", "3-0"),
        ("XCLAIM", "s", "nog", "c2", "0", "3-0"), ("XCLAIM", "nokey", "g", "c2", "0", "3-0"),
        ("XCLAIM", "s", "g", "c2", "0", "3-0", "IDLE", "x"),
        ("XCLAIM", "s", "g", "c2", "0", "3-0", "TIME", "x"),
        ("XCLAIM", "s", "g", "c2", "0", "3-0", "RETRYCOUNT", "x"),
        ("XCLAIM", "s", "g", "c2", "0", "3-0", "LASTID", "x"),
        ("XCLAIM", "s", "g", "c3", "100000", "3-0", "5-0"),
        ("XCLAIM", "s", "g", "c3", "-5", "5-0", "IDLE", "500000", "JUSTID"),
        ("XCLAIM", "s", "g", "c4", "100000", "5-0", "JUSTID"),
        ("XACK", "s", "g", "1-0"), ("XCLAIM", "s", "g", "c4", "0", "1-0", "JUSTID"),
        ("XCLAIM", "s", "g", "c4", "0", "1-0", "FORCE", "JUSTID"),
        ("XCLAIM", "s", "g", "c4", "0", "1-0", "9-0", "FORCE", "LASTID", "9-0"),
        ("XINFO", "GROUPS", "s"), ("XPENDING", "s", "g"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "COUNT", "1"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "COUNT", "2", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", "(3-0"), ("XAUTOCLAIM", "s", "g", "c5", "0", "0"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "COUNT", "0"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "COUNT", "x"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", "x"), ("XAUTOCLAIM", "s", "g", "c5", "x", "0"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "FOO"), ("XAUTOCLAIM", "s", "nog", "c5", "0", "0"),
        ("XAUTOCLAIM", "s", "g", "c5", "0", f"({MAX}-{MAX}"),
        ("XAUTOCLAIM", "s", "g", "c6", "100000", "0"), ("XDEL", "s", "4-0", "5-0"),
        ("XAUTOCLAIM", "s", "g", "c6", "0", "0"), ("XPENDING", "s", "g"))


def test_xinfo(pair):
    run(pair,
        ("XINFO", "STREAM", "nokey"), ("XINFO", "GROUPS", "nokey"), ("XINFO", "HELP"),
        ("XINFO", "HELP", "x"), ("XINFO", "FOO", "s"), ("XINFO", "STREAM"),
        ("XADD", "s", "1-0", "a", "1"), ("XADD", "s", "2-0", "b", "2", "c", "3"),
        ("XINFO", "STREAM", "s"), ("XINFO", "STREAM", "s", "FOO"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT"), ("XINFO", "STREAM", "s", "FULL", "COUNT", "x"),
        ("XINFO", "STREAM", "s", "FULL", "FOO", "1"), ("XINFO", "GROUPS", "s"),
        ("XINFO", "CONSUMERS", "s", "nog"), ("XINFO", "CONSUMERS", "nokey", "g"),
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "a", "$"),
        ("XINFO", "GROUPS", "s"), ("SET", "str", "v"), ("XINFO", "STREAM", "str"),
        ("XADD", "e", "1-0", "a", "1"), ("XDEL", "e", "1-0"), ("XINFO", "STREAM", "e"),
        ("XGROUP", "CREATE", "e", "g", "0"), ("XADD", "e", "2-0", "a", "1"),
        ("XINFO", "GROUPS", "e"))
    pair.check("XREADGROUP", "GROUP", "g", "zed", "COUNT", "1", "STREAMS", "s", ">")
    pair.check("XREADGROUP", "GROUP", "g", "amy", "STREAMS", "s", ">")
    pair.check("XINFO", "CONSUMERS", "s", "g", allow=CONSUMER_IDLE)
    for command in (("XINFO", "STREAM", "s", "FULL"),
                    ("XINFO", "STREAM", "s", "FULL", "COUNT", "1"),
                    ("XINFO", "STREAM", "s", "FULL", "COUNT", "0")):
        pair.check(*command, allow=STREAM_CLOCK)


def test_scan_type_and_command_info(pair):
    run(pair,
        ("XADD", "s", "1-0", "a", "1"), ("SET", "str", "v"), ("SCAN", "0", "TYPE", "stream"),
        ("COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"),
        ("COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"))
    redis, caskd = pair.both("ACL", "CAT", "stream")  # Redis lists them in hash order
    assert sorted(decode(caskd)) == sorted(decode(redis))


@pytest.mark.parametrize("command", [
    ("XREAD", "BLOCK", "50", "STREAMS", "nokey", "$"),
    ("XREAD", "BLOCK", "50", "COUNT", "2", "STREAMS", "s", "nokey", "$", "0")])
def test_blocking_timeout(pair, command):
    pair.check("XADD", "s", "1-0", "a", "1")
    pair.check(*command)


def _block(waiter: Pair, watcher: Pair, blocked: int, *command) -> None:
    for connection, other in ((waiter.redis, watcher.redis), (waiter.caskd, watcher.caskd)):
        connection.send(command)
        wait_until(lambda other=other: blocked_clients(other) == blocked,
                   what="the client to block")


def _replies(waiter: Pair) -> None:
    assert waiter.caskd.reply() == waiter.redis.reply()


def test_xadd_serves_the_waiters_in_the_order_they_blocked(servers, pair):
    """XREAD $ and XREADGROUP > wait; one XADD serves them all, the group's readers in
    turn (the first gets the entry, the second waits on); MULTI/EXEC serves after."""
    waiters = [Pair(*servers, protocol=pair.protocol) for _ in range(4)]
    try:
        pair.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        _block(waiters[0], pair, 1, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        _block(waiters[1], pair, 2, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS",
               "s", ">")
        _block(waiters[2], pair, 3, "XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS",
               "s", ">")
        _block(waiters[3], pair, 4, "XREAD", "BLOCK", "0", "STREAMS", "other", "s", "0", "$")
        pair.check("XADD", "s", "1-0", "f", "v")
        for waiter in (waiters[0], waiters[1], waiters[3]):
            _replies(waiter)
        pair.check("INFO", "keyspace")
        run(pair, ("MULTI",), ("XADD", "s", "2-0", "a", "1"), ("XADD", "s", "3-0", "b", "2"),
            ("EXEC",))
        _replies(waiters[2])
        run(pair, ("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s"))
    finally:
        for waiter in waiters:
            waiter.close()


def test_a_waiting_group_reader_learns_its_group_or_stream_is_gone(servers, pair):
    waiter = Pair(*servers, protocol=pair.protocol)
    try:
        pair.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        _block(waiter, pair, 1, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        pair.check("XGROUP", "DESTROY", "s", "g")
        _replies(waiter)
        pair.check("XGROUP", "CREATE", "s", "g", "$")
        _block(waiter, pair, 1, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        pair.check("DEL", "s")
        _replies(waiter)
        pair.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        _block(waiter, pair, 1, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        pair.check("SET", "s", "now a string")
        _replies(waiter)
        _block(waiter, pair, 1, "XREAD", "BLOCK", "0", "STREAMS", "s2", "$")
        run(pair, ("SET", "s2", "x"), ("DEL", "s2"), ("XADD", "s2", "5-0", "f", "v"))
        _replies(waiter)
    finally:
        waiter.close()


def test_client_unblock(servers, pair):
    waiter = Pair(*servers, protocol=pair.protocol)
    try:
        ids = {}
        for name, connection in (("redis", waiter.redis), ("caskd", waiter.caskd)):
            connection.send(("CLIENT", "ID"))
            ids[name] = connection.reply().strip(b":\r\n")
        for mode in ("TIMEOUT", "ERROR"):
            _block(waiter, pair, 1, "XREAD", "BLOCK", "0", "STREAMS", "nokey", "$")
            pair.redis.send(("CLIENT", "UNBLOCK", ids["redis"], mode))
            pair.caskd.send(("CLIENT", "UNBLOCK", ids["caskd"], mode))
            assert pair.caskd.reply() == pair.redis.reply()
            _replies(waiter)
    finally:
        waiter.close()


@pytest.mark.parametrize("command", [
    ("XGROUP", "CREATE", "s", "g2", "0"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
    ("XACK", "s", "g", "1-0"), ("XGROUP", "SETID", "s", "g", "0"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "d"), ("XCLAIM", "s", "g", "d", "0", "1-0"),
    ("XGROUP", "DESTROY", "s", "g"), ("XADD", "s", "2-0", "f", "v"), ("XDEL", "s", "1-0"),
    ("XTRIM", "s", "MAXLEN", "0"), ("XSETID", "s", "5-0")])
def test_watch_sees_what_redis_signals(servers, pair, command):
    """Redis's consumer-group commands do not touch a WATCH of the stream; entries'
    changes do."""
    other = Pair(*servers, protocol=pair.protocol)
    try:
        run(pair, ("XADD", "s", "1-0", "f", "v"), ("XGROUP", "CREATE", "s", "g", "0"),
            ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
            ("WATCH", "s"), ("MULTI",), ("XLEN", "s"))
        other.check(*command)
        pair.check("EXEC")
    finally:
        other.close()


def test_lookups_are_counted_as_redis_counts_them(pair2):
    """xreadCommand looks each stream up twice: keyspace_hits and _misses show it."""
    pair2.check("XADD", "s", "1-0", "f", "v")
    pair2.check("CONFIG", "RESETSTAT")
    pair2.check("XREAD", "STREAMS", "s", "nokey", "0", "0")
    pair2.check("XRANGE", "s", "-", "+")
    pair2.check("COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "STREAMS", "c", "STREAMS", "s", ">")
    redis, caskd = pair2.both("INFO", "stats")
    for field in (b"keyspace_hits", b"keyspace_misses"):
        assert caskd.split(field)[1].split(b"\r\n")[0] == redis.split(field)[1].split(b"\r\n")[0]


def test_other_commands_on_a_stream(pair):
    run(pair,
        *[("XADD", "s", f"{i}-0", "f", str(i)) for i in range(1, 200)], ("XDEL", "s", "150-0"),
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("LPUSH", "s", "x"), ("GET", "s"), ("SORT", "s"), ("HGET", "s", "f"), ("SCARD", "s"),
        ("ZCARD", "s"), ("STRLEN", "s"), ("APPEND", "s", "x"), ("GETRANGE", "s", "0", "1"),
        ("COPY", "s", "copy"), ("XTRIM", "copy", "MAXLEN", "~", "120"), ("XLEN", "copy"),
        ("XINFO", "GROUPS", "copy"), ("RENAME", "copy", "renamed"), ("XLEN", "renamed"),
        ("TYPE", "renamed"), ("EXPIRE", "renamed", "100"), ("XADD", "renamed", "500-0", "a", "b"),
        ("TTL", "renamed"), ("MOVE", "renamed", "1"), ("EXISTS", "renamed"), ("SELECT", "1"),
        ("XLEN", "renamed"), ("SELECT", "0"), ("DEL", "s"), ("XLEN", "s"))


STREAM_COMMANDS = [
    ("XADD", "s", "1-0", "f", "v"), ("XADD", "s", "MAXLEN", "1", "2-0", "f", "v"),
    ("XADD", "s", "3-0", "f", "v"), ("XADD", "nokey", "NOMKSTREAM", "*", "f", "v"),
    ("XDEL", "s", "3-0"), ("XDEL", "s", "9-0"), ("XTRIM", "s", "MAXLEN", "0"),
    ("XTRIM", "s", "MAXLEN", "0"), ("XSETID", "s", "5-0"),
    ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"),
    ("XADD", "s", "6-0", "f", "v"), ("XADD", "s", "7-0", "f", "v"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "c2"), ("XACK", "s", "g", "6-0"),
    ("XCLAIM", "s", "g", "c3", "0", "7-0"), ("XAUTOCLAIM", "s", "g", "c4", "0", "0"),
    ("XGROUP", "SETID", "s", "g", "0"), ("XGROUP", "DELCONSUMER", "s", "g", "c1"),
    ("XGROUP", "DESTROY", "s", "g"), ("DEL", "s", "new"),
]


def test_keyspace_notifications(pair, listener):  # noqa: F811 (the fixture, imported)
    """Every stream command notifies as Redis's t_stream.c does, byte for byte."""
    pair.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    notifications(pair, listener, STREAM_COMMANDS)


def test_node_size_settings(pair2):
    """stream-node-max-entries and -bytes decide where nodes end, so what ~ trims."""
    pair = pair2
    try:
        for entries, size in (("10", "4096"), ("0", "200"), ("3", "0")):
            run(pair, ("CONFIG", "SET", "stream-node-max-entries", entries),
                ("CONFIG", "SET", "stream-node-max-bytes", size), ("DEL", "s"),
                *[("XADD", "s", f"{i}-0", "f", "v" * (i % 40)) for i in range(1, 60)],
                ("XINFO", "STREAM", "s"), ("XADD", "s", "MAXLEN", "~", "30", "60-0", "f", "v"),
                ("XTRIM", "s", "MAXLEN", "~", "5"), ("XINFO", "STREAM", "s"))
    finally:
        pair.both("CONFIG", "SET", "stream-node-max-entries", "100")
        pair.both("CONFIG", "SET", "stream-node-max-bytes", "4096")


def test_scripts(pair):
    run(pair,
        ("XADD", "s", "1-0", "f", "v"),
        ("EVAL", "return redis.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$')", "0"),
        ("EVAL", "return redis.pcall('xreadgroup', 'GROUP', 'g', 'c', 'BLOCK', '10', "
                 "'STREAMS', 's', '>')", "0"),
        ("EVAL", "return redis.call('XREAD', 'STREAMS', 's', '0')", "0"),
        ("EVAL", "redis.call('XGROUP', 'CREATE', 's', 'g', '0'); "
                 "return redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '>')", "0"),
        ("EVAL", "return redis.call('XADD', 's', '*', 'f', 'v') ~= nil", "0"),
        ("XLEN", "s"), ("XPENDING", "s", "g"))
