"""Blocking commands: a waiting client holds up no one else, is served in the order
it blocked, times out, and can be unblocked; what it sent meanwhile runs after."""

from __future__ import annotations

import time

import pytest

from tests.support import hello_reply, wait_until


def blocked(client) -> int:
    return client.info("clients")["blocked_clients"]


@pytest.fixture
def server(caskd_factory):
    return caskd_factory("--appendfsync", "always")  # replies also wait for the fsync


def test_a_waiting_client_blocks_no_one(server):
    waiter, other = server.raw(), server.client()
    waiter.command("BLPOP", "queue", "0")
    wait_until(lambda: blocked(other) == 1, what="the client to block")
    started = time.monotonic()
    for i in range(50):
        assert other.set(f"k{i}", i)
        assert other.ping()
    assert time.monotonic() - started < 5
    other.rpush("queue", "job")
    waiter.expect(b"*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n")
    assert other.exists("queue") == 0
    assert blocked(other) == 0


def test_waiters_are_served_in_the_order_they_blocked(server):
    client = server.client()
    waiters = []
    for n in range(3):
        waiter = server.raw()
        waiter.command("BRPOP", "other", "queue", "0")
        wait_until(lambda n=n: blocked(client) == n + 1, what="the client to block")
        waiters.append(waiter)
    client.lpush("queue", "a", "b")  # the list is [b, a]: BRPOP takes a, then b
    waiters[0].expect(b"*2\r\n$5\r\nqueue\r\n$1\r\na\r\n")
    waiters[1].expect(b"*2\r\n$5\r\nqueue\r\n$1\r\nb\r\n")
    assert blocked(client) == 1
    client.lpush("other", "c")
    waiters[2].expect(b"*2\r\n$5\r\nother\r\n$1\r\nc\r\n")


def test_a_transaction_serves_waiters_only_when_it_is_over(server):
    client, waiter = server.client(), server.raw()
    waiter.command("BLPOP", "queue", "0")
    wait_until(lambda: blocked(client) == 1, what="the client to block")
    pipe = client.pipeline(transaction=True)
    pipe.rpush("queue", "one")
    pipe.lpop("queue")  # the transaction takes it first, as in Redis
    pipe.rpush("queue", "two")
    assert pipe.execute() == [1, b"one", 1]
    waiter.expect(b"*2\r\n$5\r\nqueue\r\n$3\r\ntwo\r\n")


def test_commands_sent_while_waiting_run_after_the_answer(server):
    client, waiter = server.client(), server.raw()
    waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n"
                b"*2\r\n$4\r\nLLEN\r\n$1\r\nq\r\n")
    wait_until(lambda: blocked(client) == 1, what="the client to block")
    waiter.command("ECHO", "later")
    time.sleep(0.05)
    waiter.sock.setblocking(False)
    with pytest.raises(BlockingIOError):  # nothing answered while it waits
        waiter.sock.recv(1)
    waiter.sock.setblocking(True)
    client.rpush("q", "x", "y")
    waiter.expect(b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n+PONG\r\n:1\r\n$5\r\nlater\r\n")


def test_timeouts(server):
    """A timeout answers a null array: *-1 in RESP2, _ in RESP3."""
    client, waiter = server.client(), server.raw()
    started = time.monotonic()
    waiter.roundtrip("BLPOP", "q", "0.2", reply=b"*-1\r\n")
    assert 0.15 < time.monotonic() - started < 3
    waiter_id = waiter.client_id()
    waiter.roundtrip("HELLO", "3", reply=hello_reply(waiter_id, 3))
    waiter.roundtrip("BZPOPMIN", "z", "0.1", reply=b"_\r\n")
    assert blocked(client) == 0


def test_client_unblock(server):
    client, waiter = server.client(), server.raw()
    waiter_id = waiter.client_id()
    for reason, reply in ((b"TIMEOUT", b"*-1\r\n"),
                          (b"ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")):
        waiter.command("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
        wait_until(lambda: blocked(client) == 1, what="the client to block")
        assert client.client_unblock(waiter_id, error=reason == b"ERROR")
        waiter.expect(reply)
    assert not client.client_unblock(waiter_id)
    assert blocked(client) == 0


def test_a_client_that_left_takes_nothing(server):
    client, waiter = server.client(), server.raw()
    waiter.command("BLPOP", "q", "0")
    wait_until(lambda: blocked(client) == 1, what="the client to block")
    waiter.close()
    wait_until(lambda: blocked(client) == 0, what="the disconnection to be seen")
    client.rpush("q", "kept")
    assert client.lrange("q", 0, -1) == [b"kept"]


def test_blmove_chains_to_the_next_waiter(server):
    """BLMOVE's push to its destination serves whoever waits on that."""
    client, mover, popper = server.client(), server.raw(), server.raw()
    popper.command("BLPOP", "done", "0")
    wait_until(lambda: blocked(client) == 1, what="the popper to block")
    mover.command("BLMOVE", "todo", "done", "LEFT", "RIGHT", "0")
    wait_until(lambda: blocked(client) == 2, what="the mover to block")
    client.rpush("todo", "task")
    mover.expect(b"$4\r\ntask\r\n")
    popper.expect(b"*2\r\n$4\r\ndone\r\n$4\r\ntask\r\n")
    assert client.exists("todo", "done") == 0


def test_a_key_of_another_type_keeps_the_client_waiting(server):
    client, waiter = server.client(), server.raw()
    waiter.command("BZPOPMAX", "k", "0")
    wait_until(lambda: blocked(client) == 1, what="the client to block")
    client.rpush("k", "not a zset")
    time.sleep(0.05)
    assert blocked(client) == 1
    client.delete("k")
    client.zadd("k", {"m": 2})
    waiter.expect(b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n2\r\n")


def test_swapdb_and_move_feed_waiters_in_other_databases(server):
    client, waiter = server.client(), server.raw()
    waiter.roundtrip("SELECT", "1", reply=b"+OK\r\n")
    waiter.command("BLPOP", "q", "0")
    wait_until(lambda: blocked(client) == 1, what="the client to block")
    client.rpush("q", "swapped")
    client.swapdb(0, 1)
    waiter.expect(b"*2\r\n$1\r\nq\r\n$7\r\nswapped\r\n")
    waiter.command("BRPOP", "m", "0")
    wait_until(lambda: blocked(client) == 1, what="the client to block")
    client.rpush("m", "moved")
    client.move("m", 1)
    waiter.expect(b"*2\r\n$1\r\nm\r\n$5\r\nmoved\r\n")


def test_client_reply_off_holds_for_a_served_waiter(server):
    client, waiter = server.client(), server.raw()
    waiter.roundtrip("CLIENT", "REPLY", "SKIP", reply=b"")
    waiter.command("BLPOP", "q", "0")
    wait_until(lambda: blocked(client) == 1, what="the client to block")
    client.rpush("q", "x")
    waiter.roundtrip("PING", reply=b"+PONG\r\n")  # the BLPOP's answer was skipped
