"""Applying a master's command stream, in-process (MasterLink.apply, no socket): the
offset counts bytes as Redis's does, a transaction only once whole, and the replication
id, offset and db are stored with the data they count."""

from __future__ import annotations

import pytest

from protocol.reply import encode
from server.replication import state
from server.replication.replica import READONLY_ERROR, MasterLink
from server.session import Session
from storage.engine import HIDE_EXPIRED, now_ms
from tests.support import wait_until


@pytest.fixture
def link(server):
    """Following a master (not connected: the stream is handed to apply())."""
    link = server.master_link = MasterLink(server, "127.0.0.1", 1)
    server.engine.expiry = HIDE_EXPIRED
    return link


def commands(*lines: str) -> list[list[bytes]]:
    return [line.encode().split() for line in lines]


def size(batch: list[list[bytes]]) -> int:
    return sum(len(encode(argv)) for argv in batch)


def test_a_transaction_counts_once_it_is_whole(server, link):
    start = server.replication.offset
    first, second = commands("MULTI", "SET a 1"), commands("INCR b", "EXEC")
    link.apply(first)  # the rest of the transaction is in the next read
    assert link.applied_offset == server.replication.offset == start
    assert server.engine.get(0, b"a") is None
    link.apply(second)
    assert link.applied_offset == server.replication.offset == start + size(first + second)
    assert (server.engine.get(0, b"a"), server.engine.get(0, b"b")) == (b"1", b"1")
    assert state.saved(server.engine) == (server.replication.replid, link.applied_offset, 0)


def test_the_state_survives_a_restart_with_the_masters_db(server, link):
    batch = commands("SELECT 5", "SET k v", "PING")
    link.apply(batch)
    server.engine.close()
    server.open_storage()
    assert state.saved(server.engine) == (server.replication.replid, size(batch), 5)
    assert server.engine.get(5, b"k") == b"v"


def test_clients_may_not_write_but_the_master_may(server, link):
    client = Session(server)
    reply = server.dispatcher.execute(client, [b"SET", b"k", b"mine"])
    assert reply.text == READONLY_ERROR
    link.apply(commands("SET k master"))
    assert server.dispatcher.execute(client, [b"GET", b"k"]) == b"master"


def test_only_the_master_sees_a_key_past_its_ttl(server, link):
    """A key past its TTL on this clock reads as gone, but it is still there for the
    master's commands (its clock decides), as in Redis's expireIfNeeded."""
    link.apply(commands(f"SET k 5 PXAT {now_ms() + 100}"))
    client = Session(server)
    wait_until(lambda: server.dispatcher.execute(client, [b"GET", b"k"]) is None)
    assert server.engine.dbsize(0) == 1
    link.apply(commands("INCR k", "PERSIST k"))  # the master still had it: 6, not 1
    assert server.dispatcher.execute(client, [b"GET", b"k"]) == b"6"


def test_client_pause_holds_the_masters_writes_until_it_ends(server, link):
    """As Redis's processCommand, which pauses the master's client too: nothing is
    dropped, the held commands run in order once the pause is over."""
    server.pause.mode = "write"  # CLIENT PAUSE WRITE, without its timer
    held = link.apply(commands("GET a", "SET a 1", "SET b 2"))
    assert held == commands("SET a 1", "SET b 2")
    assert server.engine.get(0, b"a") is None
    server.pause.mode = None
    assert link.apply(held) == []
    assert (server.engine.get(0, b"a"), server.engine.get(0, b"b")) == (b"1", b"2")
    assert link.applied_offset == size(commands("GET a", "SET a 1", "SET b 2"))
