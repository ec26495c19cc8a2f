"""What the master writes to the replication stream, in-process: each command's
effects as Redis 7.0.15 propagates them (the rewrites of server/replication/
effects.py), SELECT when the db changes, MULTI/EXEC around a unit of several
effects, expiry as DEL, and nothing for a command that changed nothing."""

from __future__ import annotations

import re

import pytest

from protocol.reply import encode
from server.app import Server
from server.commands.streams import parse_strict_id
from server.session import Session
from storage.streams import format_id


@pytest.fixture
def server(server):
    """The in-process server (tests/replication/conftest.py), with a backlog made as
    the first replica's PSYNC makes it."""
    server.replication.create_backlog()
    return server


@pytest.fixture
def session(server):
    return Session(server)


def run(server: Server, session: Session, *args: str) -> object:
    return server.dispatcher.execute(session, [arg.encode() for arg in args])


def stream(server: Server) -> bytes:
    """What the backlog holds, emptied for the next look."""
    backlog = server.replication.backlog
    data = bytes(backlog.data)
    backlog.first_byte_offset += len(data)
    backlog.data.clear()
    return data


def commands(*argvs: tuple[str, ...]) -> bytes:
    return b"".join(encode([arg.encode() for arg in argv]) for argv in argvs)


def test_the_first_write_selects_its_db_and_goes_as_sent(server, session):
    run(server, session, "set", "k", "v")
    assert stream(server) == commands(("SELECT", "0"), ("set", "k", "v"))
    run(server, session, "SELECT", "3")
    run(server, session, "INCR", "n")
    run(server, session, "INCR", "n")
    assert stream(server) == commands(("SELECT", "3"), ("INCR", "n"), ("INCR", "n"))
    assert server.replication.offset == server.replication.backlog.first_byte_offset - 1


def test_reads_and_writes_that_change_nothing_are_not_propagated(server, session):
    run(server, session, "SET", "k", "v")
    stream(server)
    for argv in (("GET", "k"), ("SET", "k", "w", "NX"), ("DEL", "missing"),
                 ("EXPIRE", "missing", "10"), ("SREM", "nothing", "x"), ("SELECT", "2")):
        run(server, session, *argv)
    assert stream(server) == b""


def test_relative_expiries_become_absolute(server, session):
    run(server, session, "SET", "k", "v", "EX", "100")
    at = server.engine.get_expire(0, b"k")
    run(server, session, "EXPIRE", "k", "200", "GT")
    at2 = server.engine.get_expire(0, b"k")
    run(server, session, "SETEX", "s", "50", "v")
    at3 = server.engine.get_expire(0, b"s")
    run(server, session, "GETEX", "s", "PERSIST")
    run(server, session, "PEXPIREAT", "s", str(at3))
    assert stream(server) == commands(
        ("SELECT", "0"), ("SET", "k", "v", "PXAT", str(at)),
        ("PEXPIREAT", "k", str(at2), "GT"), ("SET", "s", "v", "PXAT", str(at3)),
        ("PERSIST", "s"), ("PEXPIREAT", "s", str(at3)))


def test_an_expiry_already_past_goes_as_a_delete(server, session):
    run(server, session, "SET", "k", "v")
    run(server, session, "EXPIRE", "k", "-1")
    run(server, session, "CONFIG", "SET", "lazyfree-lazy-expire", "yes")
    run(server, session, "SET", "j", "v")
    run(server, session, "PEXPIREAT", "j", "1")
    assert stream(server) == commands(("SELECT", "0"), ("SET", "k", "v"), ("DEL", "k"),
                                      ("SET", "j", "v"), ("UNLINK", "j"))


def test_values_computed_by_the_master_go_as_results(server, session):
    run(server, session, "INCRBYFLOAT", "f", "1.5")
    run(server, session, "HINCRBYFLOAT", "h", "x", "0.25")
    run(server, session, "GETSET", "f", "3")
    run(server, session, "GETDEL", "f")
    assert stream(server) == commands(
        ("SELECT", "0"), ("SET", "f", "1.5", "KEEPTTL"), ("HSET", "h", "x", "0.25"),
        ("SET", "f", "3"), ("DEL", "f"))


def test_random_pops_go_as_what_they_removed(server, session):
    run(server, session, "SADD", "s", "a", "b", "c")
    stream(server)
    popped = run(server, session, "SPOP", "s")
    more = run(server, session, "SPOP", "s", "1")
    run(server, session, "SPOP", "s", "5")
    assert stream(server) == commands(("SREM", "s", popped.decode()),
                                      ("SREM", "s", next(iter(more)).decode()), ("DEL", "s"))


def test_pops_of_several_keys_go_as_plain_pops(server, session):
    run(server, session, "RPUSH", "l", "a", "b", "c")
    run(server, session, "ZADD", "z", "1", "a", "2", "b")
    stream(server)
    run(server, session, "BLPOP", "none", "l", "0")
    run(server, session, "LMPOP", "2", "none", "l", "RIGHT", "COUNT", "5")
    run(server, session, "BZPOPMAX", "z", "0")
    run(server, session, "ZMPOP", "1", "z", "MIN")
    assert stream(server) == commands(("LPOP", "l"), ("RPOP", "l", "2"), ("ZPOPMAX", "z"),
                                      ("ZPOPMIN", "z", "1"))


def test_an_entry_added_with_a_generated_id_goes_with_that_id_and_exact_trim(server, session):
    entry_id = run(server, session, "XADD", "x", "MAXLEN", "~", "10", "*", "f", "*")
    assert stream(server) == commands(("SELECT", "0"),
                                      ("XADD", "x", "MAXLEN", "=", "1", entry_id.decode(),
                                       "f", "*"))


def test_a_transaction_and_a_script_go_as_one_unit(server, session):
    run(server, session, "MULTI")
    run(server, session, "SET", "a", "1")
    run(server, session, "SELECT", "1")
    run(server, session, "SET", "b", "2")
    run(server, session, "EXEC")
    run(server, session, "EVAL", "redis.call('set', KEYS[1], 'x') redis.call('incr', 'n')",
        "1", "k")
    run(server, session, "EVAL", "redis.call('set', 'only', 'one')", "0")
    assert stream(server) == commands(
        ("SELECT", "0"), ("MULTI",), ("SET", "a", "1"), ("SELECT", "1"), ("SET", "b", "2"),
        ("EXEC",),
        ("MULTI",), ("set", "k", "x"), ("incr", "n"), ("EXEC",), ("set", "only", "one"))


def expire_now(server: Server, key: bytes) -> None:
    """Make ``key`` due at once, as if its time had come."""
    server.engine._keyspace.expires[0][key] = 1


def test_a_key_found_expired_goes_as_del_with_the_command(server, session):
    run(server, session, "SET", "k", "v")
    run(server, session, "SET", "j", "v")
    stream(server)
    expire_now(server, b"k")
    expire_now(server, b"j")
    run(server, session, "GET", "k")  # a read: only the deletion goes
    run(server, session, "SET", "j", "w")  # a write: one unit with the deletion
    assert stream(server) == commands(("DEL", "k"), ("MULTI",), ("DEL", "j"),
                                      ("SET", "j", "w"), ("EXEC",))


def test_an_active_expiry_cycle_goes_as_one_unit_of_deletions(server, session):
    """activeExpireCycle ends with one propagatePendingCommands: in 7.0.15 the
    DELs of one cycle are wrapped in MULTI/EXEC when there are several."""
    run(server, session, "SET", "a", "v", "PX", "100000")
    run(server, session, "SET", "b", "v", "PX", "100000")
    stream(server)
    expire_now(server, b"a")
    expire_now(server, b"b")
    server.engine._keyspace.rebuild_expiry_heap()
    assert server.engine.expire_cycle() == 2
    server.replication.cron()
    assert stream(server) == commands(("MULTI",), ("DEL", "a"), ("DEL", "b"), ("EXEC",))


def test_publish_and_flushes_go_even_when_nothing_changed(server, session):
    run(server, session, "PUBLISH", "__sentinel__:hello", "hi")
    run(server, session, "FLUSHDB")
    run(server, session, "FLUSHALL")
    assert stream(server) == commands(("SELECT", "0"), ("PUBLISH", "__sentinel__:hello", "hi"),
                                      ("FLUSHDB",), ("FLUSHALL",))


def test_approximate_trims_go_as_exact_ones(server, session):
    for i in range(1, 301):
        run(server, session, "XADD", "x", f"{i}-0", "f", "v")
    stream(server)
    run(server, session, "XADD", "x", "MAXLEN", "~", "10", "301-0", "f", "v")
    length = len(server.engine.get_object(0, b"x"))
    run(server, session, "XTRIM", "x", "MINID", "~", "301")
    first = format_id(server.engine.get_object(0, b"x").first_id).decode()
    assert length < 301
    assert stream(server) == commands(
        ("XADD", "x", "MAXLEN", "=", str(length), "301-0", "f", "v"),
        ("XTRIM", "x", "MINID", "=", first))


def pending(server: Server, entry_id: str):
    return server.engine.get_object(0, b"x").groups[b"g"].pel[parse_strict_id(entry_id.encode())]


def xclaim(server: Server, consumer: str, entry_id: str, last_id: str) -> tuple[str, ...]:
    entry = pending(server, entry_id)
    assert entry.consumer.name == consumer.encode()
    return ("XCLAIM", "x", "g", consumer, "0", entry_id, "TIME", str(entry.time),
            "RETRYCOUNT", str(entry.count), "FORCE", "JUSTID", "LASTID", last_id)


def test_consumer_group_deliveries_go_as_xclaims(server, session):
    run(server, session, "XADD", "x", "1-0", "f", "v")
    run(server, session, "XADD", "x", "2-0", "f", "v")
    run(server, session, "XGROUP", "CREATE", "x", "g", "0")
    stream(server)
    run(server, session, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "x", ">")
    assert stream(server) == commands(("MULTI",), xclaim(server, "alice", "1-0", "1-0"),
                                      xclaim(server, "alice", "2-0", "2-0"), ("EXEC",))
    run(server, session, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "x", "0")  # history
    run(server, session, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "x", ">")  # nothing
    run(server, session, "XACK", "x", "g", "9-0")  # nothing to acknowledge
    assert stream(server) == b""
    run(server, session, "XACK", "x", "g", "1-0", "9-0")
    run(server, session, "XCLAIM", "x", "g", "bob", "0", "2-0", "JUSTID")
    assert stream(server) == commands(("XACK", "x", "g", "1-0", "9-0"),
                                      xclaim(server, "bob", "2-0", "2-0"))
    run(server, session, "XADD", "x", "3-0", "f", "v")
    stream(server)
    run(server, session, "XREADGROUP", "GROUP", "g", "carol", "NOACK", "STREAMS", "x", ">")
    assert stream(server) == commands(("XGROUP", "SETID", "x", "g", "3-0", "ENTRIESREAD", "3"))


def test_evictions_go_as_deletions_of_their_own(server, session):
    """performEvictions propagates its DELs as a unit of their own, before the command
    that made room for itself (here CONFIG SET maxmemory, which evicts at once)."""
    run(server, session, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    for i in range(20):
        run(server, session, "SET", f"k{i}", "v" * 100)
    stream(server)
    run(server, session, "CONFIG", "SET", "maxmemory", "3000")
    run(server, session, "SET", "new", "v")
    data = stream(server)
    evicted = [f"k{i}" for i in range(20) if not server.engine.exists(0, f"k{i}".encode())]
    assert len(evicted) > 1
    unit = commands(("MULTI",), *(("DEL", key) for key in evicted), ("EXEC",))
    assert data.startswith(commands(("MULTI",))) and len(data) == len(unit) + len(
        commands(("SET", "new", "v")))
    assert data.endswith(commands(("EXEC",), ("SET", "new", "v")))
    assert sorted(re.findall(rb"DEL\r\n\$\d+\r\n(k\d+)\r\n", data)) == \
        sorted(key.encode() for key in evicted)
