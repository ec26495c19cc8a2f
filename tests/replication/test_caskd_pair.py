"""caskd replicating to caskd: every type with its TTL, live writes, READONLY, WAIT,
and partial resyncs after either side is killed with ``kill -9`` and restarted."""

from __future__ import annotations

import pytest
import redis

from tests.replication.replica_support import assert_same_data, populate
from tests.replication.support import HOST, info, link_up, wait_caught_up
from tests.support import CaskdProcess, wait_until


@pytest.fixture
def pair(tmp_path):
    master = CaskdProcess(tmp_path / "master", "--repl-diskless-sync-delay", "0").start()
    populate(master.client())
    replica = CaskdProcess(tmp_path / "replica", "--replicaof", HOST, str(master.port)).start()
    wait_until(lambda: link_up(replica.port), timeout=20, what="the replica to sync")
    yield master, replica
    replica.stop()
    master.stop()


def test_the_replica_holds_every_type_and_follows_live_writes(pair):
    master, replica = pair
    client, replica_client = master.client(), replica.client()
    assert_same_data(client, replica_client)
    client.set("live", "1", ex=1000)
    client.hincrbyfloat("hash", "f2", 0.5)
    client.eval("redis.call('LPUSH', KEYS[1], ARGV[1]) return redis.call('SPOP', KEYS[2])",
                2, "list", "set", "pushed")
    assert client.wait(1, 5000) == 1
    assert_same_data(client, replica_client)
    with pytest.raises(redis.ReadOnlyError):
        replica_client.set("on-the-replica", "no")


def test_a_killed_replica_continues_with_a_partial_resync(pair):
    master, replica = pair
    client = master.client()
    client.incr("counter")
    assert client.wait(1, 5000) == 1
    replica.kill()
    client.incr("counter")  # while it is down: the backlog keeps it
    replica.start()
    wait_caught_up(master.port, replica.port)
    assert info(master.port, "stats")["sync_partial_ok"] == 1
    assert "Successful partial resynchronization with master." in replica.log()  # +CONTINUE
    assert replica.client().get("counter") == b"2"  # applied exactly once each


def test_a_killed_master_is_continued_from_by_its_replica(pair):
    master, replica = pair
    client = master.client()
    client.set("before", "1")
    assert client.wait(1, 5000) == 1
    master.kill()
    master.start()
    wait_until(lambda: link_up(replica.port), timeout=20, what="the replica to reconnect")
    master.client().set("after", "2")
    wait_caught_up(master.port, replica.port)
    assert info(master.port, "stats")["sync_partial_ok"] == 1
    assert info(master.port, "stats")["sync_full"] == 0  # none since the restart
    assert replica.log().count("Successful partial resynchronization with master.") == 1
    assert replica.client().mget("before", "after") == [b"1", b"2"]
