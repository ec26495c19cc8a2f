"""caskd as a replica of a real redis-server 7.0.15: the full sync of every type (both
transfer forms), the live stream after it, PSYNC's +CONTINUE after a kill -9 of the
replica, expiry that waits for the master, and REPLICAOF NO ONE keeping the data."""

from __future__ import annotations

import pytest
import redis

from tests.compat.harness import Pair, RedisServer
from tests.replication.replica_support import assert_same_data, offset, populate, wait_caught_up
from tests.support import CaskdProcess, require_tool, wait_until


@pytest.fixture
def redis_master(tmp_path):
    """A redis-server master (no snapshot delay: the sync starts at once)."""
    server = RedisServer(require_tool("redis-server"), tmp_path / "redis",
                         "--appendonly", "no", "--repl-diskless-sync-delay", "0",
                         "--enable-debug-command", "yes")
    yield server
    server.stop()


@pytest.fixture
def redis_replica(tmp_path, redis_master):
    """``redis_replica()`` starts a redis-server replica of ``redis_master``: what a
    replica should hold (started when the caskd one is, so both sync the same way)."""
    started: list[RedisServer] = []

    def start() -> redis.Redis:
        started.append(RedisServer(require_tool("redis-server"), tmp_path / "redis-replica",
                                   "--appendonly", "no", "--replicaof", "127.0.0.1",
                                   str(redis_master.port)))
        return redis.Redis(port=started[-1].port)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def replica_of(tmp_path):
    """``replica_of(master_port, *args)``: a caskd started with --replicaof."""
    started: list[CaskdProcess] = []

    def start(master_port: int, *args: str) -> CaskdProcess:
        server = CaskdProcess(tmp_path / f"caskd{len(started)}", "--replicaof", "127.0.0.1",
                              str(master_port), *args).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize("diskless", ["yes", "no"], ids=["eof-stream", "bulk-length"])
def test_full_sync_of_every_type_then_the_live_stream(redis_master, redis_replica,
                                                      replica_of, diskless):
    """What the caskd replica holds is what a redis-server replica of the same master
    holds (the master itself differs from both in one thing: XREADGROUP reaches them as
    XCLAIM ... LASTID, which carries no entries-read counter)."""
    master = redis.Redis(port=redis_master.port)
    master.config_set("repl-diskless-sync", diskless)
    populate(master)
    redis.Redis(port=redis_master.port, db=2).set("in-db-2", "two")
    caskd, redis_replica = replica_of(redis_master.port), redis_replica()
    replica = caskd.client()
    wait_caught_up(master, replica)
    wait_caught_up(master, redis_replica)
    assert_same_data(master, replica)
    assert redis.Redis(port=caskd.port, db=2).get("in-db-2") == b"two"
    assert replica.fcall("echo1", 0, "hi") == b"hi"  # the library loaded, and runs

    # The stream: each command's effect, as redis-server propagates it.
    master.set("str", "changed", ex=500)
    master.incr("int")
    master.lpush("list", "new")
    master.hdel("big-hash", "field1")
    master.srem("intset", 2)
    master.zincrby("big-zset", 10, "m1")
    master.xadd("stream", {"live": "1"})
    master.xreadgroup("workers", "carol", {"stream": ">"}, count=1)
    master.delete("set")
    master.eval("redis.call('set', KEYS[1], 'from a script'); redis.call('incr', KEYS[2])",
                2, "scripted", "counter")
    with master.pipeline() as transaction:
        transaction.set("in-multi", 1).rpush("big-list", "tail").execute()
    redis.Redis(port=redis_master.port, db=2).set("in-db-2", "again")
    master.function_delete("mylib")
    wait_caught_up(master, replica)
    wait_caught_up(master, redis_replica)
    assert_same_data(redis_replica, replica)
    assert redis.Redis(port=caskd.port, db=2).get("in-db-2") == b"again"
    assert offset(replica, "slave_read_repl_offset") == offset(master, "master_repl_offset")
    assert replica.role() == redis_replica.role()
    assert list(replica.info("replication")) == list(redis_replica.info("replication"))


def test_a_replica_refuses_writes_and_replicaof_no_one_keeps_the_data(redis_master,
                                                                      replica_of):
    master = redis.Redis(port=redis_master.port)
    master.set("k", "v")
    caskd = replica_of(redis_master.port)
    replica = caskd.client()
    wait_caught_up(master, replica)
    raw = caskd.raw()
    raw.roundtrip("SET", "k", "mine", reply=b"-READONLY You can't write against a read only "
                                            b"replica.\r\n")
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("INCR", "n", reply=b"-READONLY You can't write against a read only "
                                      b"replica.\r\n")
    raw.roundtrip("EXEC", reply=b"-EXECABORT Transaction discarded because of previous "
                                b"errors.\r\n")
    assert replica.execute_command("HELLO", "2")[11] == b"replica"  # its role
    info = replica.info("replication")
    assert (info["role"], info["master_port"], info["slave_read_only"],
            info["slave_priority"], info["replica_announced"]) == (
        "slave", redis_master.port, 1, 100, 1)
    master_replid = master.info("replication")["master_replid"]
    assert info["master_replid"] == master_replid

    assert replica.replicaof("NO", "ONE")
    assert replica.get("k") == b"v"
    assert replica.set("k", "mine") and replica.get("k") == b"mine"
    assert replica.role()[0] == b"master"
    info = replica.info("replication")
    assert info["role"] == "master" and info["master_replid2"] == master_replid
    assert info["master_replid"] != master_replid
    raw.close()


def test_scripts_on_a_replica_answer_as_redis_replicas_do(redis_master, redis_replica,
                                                          replica_of):
    master = redis.Redis(port=redis_master.port)
    master.set("k", "v")
    caskd, redis_replica = replica_of(redis_master.port), redis_replica()
    wait_caught_up(master, caskd.client())
    wait_caught_up(master, redis_replica)
    pair = Pair(redis_replica.connection_pool.connection_kwargs["port"], caskd.port)
    for script in ("return redis.call('get', KEYS[1])",
                   "return redis.call('set', KEYS[1], 'x')",
                   "return redis.pcall('set', KEYS[1], 'x')",
                   "#!lua\nreturn redis.call('set', KEYS[1], 'x')",
                   "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"):
        pair.check("EVAL", script, "1", "k")
    pair.close()


def test_a_replica_restarted_after_kill_9_continues_with_psync(redis_master, replica_of):
    master = redis.Redis(port=redis_master.port)
    populate(master)
    caskd = replica_of(redis_master.port)
    replica = caskd.client()
    wait_caught_up(master, replica)
    for i in range(200):
        master.incr("counter")  # not idempotent: applied twice would show
        master.rpush("log", i)
    wait_caught_up(master, replica)
    partial_before = master.info("stats")["sync_partial_ok"]
    caskd.kill()
    master.incr("counter", 1000)
    master.set("while-down", "x")
    caskd.start()
    replica = caskd.client()
    wait_caught_up(master, replica)
    assert master.info("stats")["sync_partial_ok"] == partial_before + 1
    assert "Successful partial resynchronization with master." in caskd.log()
    assert replica.get("counter") == b"1200"
    assert_same_data(master, replica)


def test_client_kill_type_master_reconnects_with_psync(redis_master, replica_of):
    master = redis.Redis(port=redis_master.port)
    master.set("k", "v")
    caskd = replica_of(redis_master.port)
    replica = caskd.client()
    wait_caught_up(master, replica)
    partial_before = master.info("stats")["sync_partial_ok"]
    assert replica.client_kill_filter(_type="master") == 1
    master.set("k", "after")
    wait_until(lambda: master.info("stats")["sync_partial_ok"] == partial_before + 1,
               what="the partial resync")
    wait_caught_up(master, replica)
    assert replica.get("k") == b"after"


def test_expired_keys_wait_for_the_masters_del(redis_master, replica_of):
    """As Redis's replicas: a key past its TTL reads as gone, but only the master's
    DEL removes it (DBSIZE still counts it until then)."""
    master = redis.Redis(port=redis_master.port)
    master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    caskd = replica_of(redis_master.port)
    replica = caskd.client()
    master.set("short", "v", px=300)
    wait_caught_up(master, replica)
    wait_until(lambda: replica.get("short") is None, what="the key to expire")
    assert replica.exists("short") == 0 and replica.dbsize() == 1
    assert master.get("short") is None  # the master expires it now, and sends DEL
    wait_until(lambda: replica.dbsize() == 0, what="the master's DEL")


def test_stale_data_is_refused_while_the_link_is_down(redis_master, replica_of):
    master = redis.Redis(port=redis_master.port)
    master.set("k", "v")
    caskd = replica_of(redis_master.port, "--replica-serve-stale-data", "no")
    replica = caskd.client()
    wait_caught_up(master, replica)
    assert replica.get("k") == b"v"
    redis_master.stop()
    wait_until(lambda: replica.info("replication")["master_link_status"] == "down",
               what="the link to go down")
    raw = caskd.raw()
    raw.roundtrip("GET", "k", reply=b"-MASTERDOWN Link with MASTER is down and "
                                    b"replica-serve-stale-data is set to 'no'.\r\n")
    raw.roundtrip("PING", reply=b"-MASTERDOWN Link with MASTER is down and "
                                b"replica-serve-stale-data is set to 'no'.\r\n")
    raw.close()
    info = replica.info("replication")  # INFO is a "stale" command: it answers
    assert info["master_link_down_since_seconds"] >= 0
    assert info["master_last_io_seconds_ago"] == -1


def test_masterauth_and_the_announced_port(redis_master, replica_of):
    master = redis.Redis(port=redis_master.port)
    master.set("k", "v")
    master.config_set("requirepass", "secret")
    master = redis.Redis(port=redis_master.port, password="secret")
    caskd = replica_of(redis_master.port, "--masterauth", "secret",
                       "--replica-announce-port", "4242", "--replica-priority", "0")
    replica = caskd.client()
    wait_caught_up(master, replica)
    assert replica.get("k") == b"v"
    assert master.info("replication")["slave0"]["port"] == 4242
    assert replica.info("replication")["slave_priority"] == 0
