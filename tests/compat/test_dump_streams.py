"""DUMP and RESTORE of streams, caskd against redis-server: Redis's bytes for the
same stream, and streams with consumer groups, pending entries, consumers and
tombstones moved both ways with XINFO STREAM FULL the same on both servers."""

from __future__ import annotations

from tests.compat.differences import PENDING_IDLE
from tests.compat.test_dump import dumped
from tests.compat.test_strings import run
from tests.storage.test_rdb import payload

# Explicit ids, so both servers build the same nodes: a field set that changes (an
# entry without SAMEFIELDS), integer and long values, a sequence lower than the
# master's (a negative delta), and more than one node (stream-node-max-entries 100).
ENTRIES = [("1-1", "name", "ada", "n", "12"), ("1-5", "name", "bob", "n", "-7"),
           ("2-0", "name", "cy", "n", "70000"), ("2-3", "other", "x" * 70),
           ("5-1", "name", "dee", "n", "3000000000")] + [
    (f"9-{i}", "f", f"value {i}", "g", str(i)) for i in range(230)]


def build(pair, key: str = "s") -> None:
    for stream_id, *fields in ENTRIES:
        pair.both("XADD", key, stream_id, *fields)


def full(pair, key: str) -> None:
    pair.check("XINFO", "STREAM", key, "FULL")


def test_a_stream_dumps_to_redis_bytes(pair):
    build(pair)
    pair.check("DUMP", "s")
    pair.both("XADD", "empty", "MAXLEN", "0", "3-0", "a", "b")
    pair.check("DUMP", "empty")


def test_streams_move_both_ways(pair):
    """Groups (one never read, one with an unknown entries-read counter), pending
    entries of several consumers, a consumer with none, tombstones inside a node and
    a trimmed head: Redis's payload into caskd, and caskd's back into Redis."""
    build(pair)
    run(pair,
        ("XGROUP", "CREATE", "s", "readers", "0"), ("XGROUP", "CREATE", "s", "idle", "$"),
        ("XREADGROUP", "GROUP", "readers", "alice", "COUNT", "3", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "readers", "bob", "COUNT", "2", "STREAMS", "s", ">"),
        ("XGROUP", "CREATECONSUMER", "s", "readers", "carol"),
        ("XACK", "s", "readers", "1-5"), ("XDEL", "s", "9-3", "9-4"),
        ("XTRIM", "s", "MAXLEN", "220"),
        ("XGROUP", "CREATE", "s", "late", "9-10"))
    from_redis = dumped(pair.redis, "s")
    pair.check("RESTORE", "from redis", "0", from_redis)
    full(pair, "from redis")
    from_caskd = dumped(pair.caskd, "from redis")
    pair.check("RESTORE", "from caskd", "0", from_caskd)
    full(pair, "from caskd")
    pair.check("XPENDING", "from caskd", "readers", "-", "+", "10", allow=PENDING_IDLE)
    run(pair, ("XREADGROUP", "GROUP", "late", "dan", "COUNT", "2", "STREAMS", "from caskd", ">"),
        ("XINFO", "GROUPS", "from caskd"),
        ("XADD", "from caskd", "MAXLEN", "~", "100", "10-0", "f", "v"),
        ("XLEN", "from caskd"), ("XINFO", "STREAM", "from caskd"))


def test_a_stream_written_by_caskd_loads_in_redis(pair):
    build(pair, "mine")
    pair.both("XGROUP", "CREATE", "mine", "g", "0")
    pair.caskd.send(("XREADGROUP", "GROUP", "g", "c", "COUNT", "4", "STREAMS", "mine", ">"))
    pair.caskd.reply()
    pair.check("RESTORE", "copy", "0", dumped(pair.caskd, "mine"))
    full(pair, "copy")
    pair.check("XPENDING", "copy", "g")


def test_bad_stream_payloads_change_nothing(pair):
    build(pair)
    body = dumped(pair.redis, "s")[:-10]
    run(pair, ("RESTORE", "bad", "0", payload(body[:len(body) // 2])),
        ("RESTORE", "bad", "0", payload(b"\x13\x01\x05abcde")),
        ("RESTORE", "s", "0", payload(body[:-3]), "REPLACE"), ("EXISTS", "bad"), ("XLEN", "s"))
