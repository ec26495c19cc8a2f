"""A real redis-server as a replica of caskd: the full sync carries every type with
its TTL (and the function libraries), live writes follow as their effects, WAIT
counts the replica, and a replica whose link broke continues with a partial
resync."""

from __future__ import annotations

import subprocess

import pytest
import redis

from storage.rdb import FileReader
from tests.replication.support import (
    info,
    redis_log,
    start_redis_replica,
    wait_caught_up,
)
from tests.support import CaskdProcess, require_tool, wait_until

LIBRARY = "#!lua name=lib\nredis.register_function('bump', function(keys) " \
          "return redis.call('incr', keys[1]) end)"


def fill(client: redis.Redis) -> None:
    """Every type caskd can send, in both of Redis's encodings, with and without TTLs,
    in two databases."""
    client.set("int", 12345)
    client.set("text", "hello")
    client.set("long", "x" * 5000, px=900_000)  # LZF-compressed in the RDB
    client.hset("small-hash", mapping={"a": "1", "b": "2"})
    client.hset("big-hash", mapping={f"f{i}": i for i in range(600)})
    client.rpush("list", *range(100))
    client.sadd("intset", 1, 2, 3)
    client.sadd("set", "a", "b", "c")
    client.zadd("small-zset", {"a": 1.5, "b": -2})
    client.zadd("big-zset", {f"m{i}": i / 3 for i in range(200)})
    client.expire("small-hash", 5000)
    client.expireat("list", 4_000_000_000)
    client.function_load(LIBRARY)
    other = redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=3)
    other.set("in-three", "v", ex=1000)


def contents(client: redis.Redis, key: bytes):
    kind = client.type(key)
    read = {b"string": client.get, b"hash": client.hgetall, b"list":
            lambda k: client.lrange(k, 0, -1), b"set": client.smembers,
            b"zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            b"stream": client.xrange}[kind]
    return kind, read(key), client.pexpiretime(key)


def same_data(master_port: int, replica_port: int, dbs=(0, 3)) -> None:
    for db in dbs:
        master = redis.Redis(port=master_port, db=db)
        replica = redis.Redis(port=replica_port, db=db)
        keys = sorted(master.keys())
        assert sorted(replica.keys()) == keys
        for key in keys:
            assert contents(replica, key) == contents(master, key), key
            if master.object("encoding", key) in (b"listpack", b"intset", b"quicklist",
                                                   b"embstr", b"int", b"raw"):
                assert replica.dump(key) == master.dump(key), key


@pytest.fixture
def master(tmp_path):
    server = CaskdProcess(tmp_path / "master", "--repl-diskless-sync-delay", "0").start()
    yield server
    server.stop()


@pytest.fixture
def replica(tmp_path, master):
    fill(master.client())
    server = start_redis_replica(tmp_path / "replica", master.port)
    yield server
    server.stop()


def test_a_full_sync_carries_every_type_with_its_ttl(master, replica):
    same_data(master.port, replica.port)
    library = redis.Redis(port=replica.port).function_list(withcode=True)[0]
    assert library[library.index(b"library_code") + 1] == LIBRARY.encode()
    fields = info(master.port)
    assert fields["connected_slaves"] == 1
    assert fields["slave0"]["port"] == replica.port
    assert fields["slave0"]["state"] == "online"
    stats = info(master.port, "stats")
    assert stats["sync_full"] == 1 and stats["total_forks"] == 1
    assert "MASTER <-> REPLICA sync: Finished with success" in redis_log(replica)


def test_live_writes_follow_as_their_effects(master, replica):
    client = master.client()
    client.set("ex", "v", ex=300)
    client.expire("text", 700)
    client.incrbyfloat("float", "1.25")
    client.eval("redis.call('set', KEYS[1], 'x') redis.call('lpush', 'list', 'new')", 1,
                "scripted")
    with client.pipeline() as pipe:
        pipe.hset("small-hash", "c", "3").srem("set", "a").zincrby("small-zset", 1, "a")
        pipe.execute()
    client.spop("set")
    client.xadd("stream", {"f": "v"})
    client.xadd("stream", {"f": "w"}, maxlen=1, approximate=True)
    client.xgroup_create("stream", "group", id="0")
    client.xreadgroup("group", "alice", {"stream": ">"})
    client.xack("stream", "group", client.xrange("stream")[0][0])
    client.set("short", "v", px=50)
    wait_until(lambda: not client.exists("short"), what="the key to expire on the master")
    wait_caught_up(master.port, replica.port)
    same_data(master.port, replica.port)
    replica_client = redis.Redis(port=replica.port)
    assert replica_client.xpending("stream", "group") == client.xpending("stream", "group")
    # (entries-read stays unknown on the replica: Redis's XCLAIM propagation has no room
    # for it, between two redis-servers too)
    groups = [client.xinfo_groups("stream"), replica_client.xinfo_groups("stream")]
    assert [[{**group, "entries-read": None} for group in side] for side in groups] == \
        [groups[1]] * 2
    # The master's expiry reached the replica as a DEL: it holds no trace of the key.
    wait_until(lambda: replica_client.dbsize() == client.dbsize(), what="the replica's DEL")


def test_wait_counts_the_replica_that_has_the_writes(master, replica):
    client = master.client()
    client.set("acknowledged", "yes")
    assert client.wait(1, 5000) == 1
    assert redis.Redis(port=replica.port).get("acknowledged") == b"yes"
    assert client.wait(2, 100) == 1  # only one replica: after the timeout, the count
    role = client.execute_command("ROLE")
    assert role[0] == b"master" and role[2][0][:2] == [b"127.0.0.1", str(replica.port).encode()]


def test_a_broken_link_continues_with_a_partial_resync(master, replica):
    client = master.client()
    redis.Redis(port=replica.port).client_kill_filter(_type="master")
    client.set("while-away", "1")
    wait_until(lambda: info(master.port, "stats")["sync_partial_ok"] == 1,
               what="the replica to come back with PSYNC")
    wait_caught_up(master.port, replica.port)
    assert redis.Redis(port=replica.port).get("while-away") == b"1"
    assert "Successful partial resynchronization with master" in redis_log(replica)
    assert info(master.port, "stats")["sync_full"] == 1
    assert "Partial resynchronization request from" in master.log()


def test_a_replica_that_syncs_from_a_file_gets_a_sized_payload(tmp_path, master):
    """repl-diskless-sync no: the RDB goes as a $<length> bulk, as from a disk BGSAVE."""
    client = master.client()
    client.config_set("repl-diskless-sync", "no")
    fill(client)
    server = start_redis_replica(tmp_path / "replica", master.port)
    try:
        same_data(master.port, server.port)
        assert "MASTER <-> REPLICA sync: receiving" in redis_log(server)
        assert "target: disk" in master.log()
    finally:
        server.stop()


def test_redis_cli_rdb_exports_the_data_set(tmp_path, master):
    """``redis-cli --rdb`` (REPLCONF rdb-only, SYNC) saves caskd's data as an RDB file."""
    client = master.client()
    client.set("k", "v")
    client.zadd("z", {"a": 1})
    path = tmp_path / "dump.rdb"
    subprocess.run([require_tool("redis-cli"), "-p", str(master.port), "--rdb", str(path)],
                   check=True, capture_output=True, timeout=30)
    entries = {entry.key: entry.value for entry in FileReader(path.read_bytes()).entries()}
    assert entries[b"k"] == b"v" and entries[b"z"].scores == {b"a": 1.0}
