"""Hashes, lists, sets and sorted sets survive restarts, DEBUG RELOAD, kill -9 and
BGREWRITEAOF exactly as they were."""

from __future__ import annotations

import math

import redis

from tests.support import kill_under_load, wait_until


def dump(client: redis.Redis) -> dict:
    """Every key of the selected db: its type, contents and TTL."""
    found = {}
    for key in client.keys("*"):
        kind = client.type(key)
        if kind == b"hash":
            value = client.hgetall(key)
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        elif kind == b"set":
            value = client.smembers(key)
        elif kind == b"zset":
            value = client.zrange(key, 0, -1, withscores=True)
        else:
            value = client.get(key)
        found[key] = (kind, value, client.pexpiretime(key), client.object("encoding", key))
    return found


def fill(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(300):
        pipe.rpush("queue", f"job{i}")
        pipe.hset("user", f"field{i % 50}", i)
        pipe.sadd("tags", f"t{i % 70}", i)
        pipe.zadd("board", {f"p{i}": i / 7})
    pipe.lpop("queue", 20)
    pipe.ltrim("queue", 0, 199)
    pipe.linsert("queue", "BEFORE", "job100", "inserted")
    pipe.lset("queue", -1, "last")
    pipe.lrem("queue", 0, "job50")
    pipe.hdel("user", "field0")
    pipe.hincrbyfloat("user", "float", "0.1")
    pipe.srem("tags", "t1", "t2")
    pipe.zrem("board", "p0")
    pipe.zincrby("board", 2.5, "p1")
    pipe.zadd("board", {"neg": -0.0, "inf": float("inf")})
    pipe.zremrangebyscore("board", 10, 20)
    pipe.zpopmin("board", 3)
    pipe.sinterstore("both", ["tags", "tags"])
    pipe.zunionstore("union", ["board", "board"])
    pipe.rpush("moved", "a", "b")
    pipe.rename("moved", "renamed")
    pipe.copy("user", "user-copy")
    pipe.expire("user-copy", 100_000)
    pipe.rpush("emptied", "x")
    pipe.lpop("emptied")
    pipe.set("string", "on disk")
    pipe.execute_command("SORT", "queue", "ALPHA", "LIMIT", "5", "50", "STORE", "sorted")
    pipe.execute_command("LMPOP", "2", "nolist", "queue", "RIGHT", "COUNT", "3")
    pipe.execute_command("ZMPOP", "1", "board", "MAX", "COUNT", "2")
    pipe.execute_command("GEOADD", "places", "13.361389", "38.115556", "Palermo",
                         "15.087269", "37.502669", "Catania")
    pipe.execute_command("GEOSEARCHSTORE", "near", "places", "FROMLONLAT", "15", "37",
                         "BYRADIUS", "200", "km", "STOREDIST")
    pipe.execute()


def test_restart_and_debug_reload_give_back_the_same_collections(caskd_factory):
    caskd = caskd_factory("--enable-debug-command", "local")
    client = caskd.client()
    fill(client)
    client.execute_command("SELECT", 2)
    client.rpush("in-db-2", "x")
    client.execute_command("SELECT", 0)
    before = dump(client)
    assert b"emptied" not in before and before[b"renamed"][1] == [b"a", b"b"]
    assert len(before[b"sorted"][1]) == 50 and before[b"near"][1][0][0] == b"Catania"
    assert client.execute_command("DEBUG", "RELOAD") == b"OK"
    assert dump(client) == before
    caskd.restart()
    client = caskd.client()
    assert dump(client) == before
    client.execute_command("SELECT", 2)
    assert client.lrange("in-db-2", 0, -1) == [b"x"]


def test_bgrewriteaof_writes_contents_not_history(caskd):
    """A list pushed and popped many times compacts to its few elements; writes
    made while the rewrite runs are kept too."""
    client = caskd.client()
    pipe = client.pipeline(transaction=False)
    for i in range(20_000):
        pipe.rpush("queue", f"element-{i:06d}")
        pipe.lpop("queue")
        pipe.hset("counters", "n", i)
    pipe.execute()
    fill(client)
    assert client.bgrewriteaof() is not None
    client.rpush("during", "x")
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0,
               timeout=30, what="the rewrite to finish")
    before = dump(client)
    assert client.info("persistence")["aof_current_size"] < 100_000  # was 60,000 operations
    caskd.restart()
    assert dump(caskd.client()) == before


def test_kill_9_with_always_loses_no_acknowledged_change(caskd_factory):
    """Writers push, set fields, add scores and members under appendfsync always;
    after kill -9 every acknowledged one is there."""
    server = caskd_factory("--appendfsync", "always")

    def write(client, worker: int, i: int) -> None:
        pipe = client.pipeline(transaction=False)
        pipe.lpush(f"list{worker}", i)
        pipe.hset(f"hash{worker}", f"f{i}", i)
        pipe.zadd(f"zset{worker}", {f"m{i}": i})
        pipe.sadd(f"set{worker}", i)
        pipe.execute()

    acknowledged = kill_under_load(server, write, acknowledged_at_least=400)
    client = server.client()
    for worker in range(4):
        done = [i for w, i in acknowledged if w == worker]
        count = len(done)
        items = client.lrange(f"list{worker}", 0, -1)
        assert items[-count:] == [b"%d" % i for i in reversed(done)]  # all, in order
        assert len(items) <= count + 1  # at most the one in flight beyond them
        fields = client.hgetall(f"hash{worker}")
        assert all(fields[b"f%d" % i] == b"%d" % i for i in done)
        scores = dict(client.zrange(f"zset{worker}", 0, -1, withscores=True))
        assert all(scores[b"m%d" % i] == i for i in done)
        assert {b"%d" % i for i in done} <= client.smembers(f"set{worker}")


def test_a_compaction_keeps_the_configured_encoding_thresholds(caskd_factory):
    """With zset-max-listpack-entries 0 every sorted set is a skiplist, which keeps -0
    (a listpack would store 0): a compaction in its child process and a restart keep
    it so, as Redis's reload would."""
    server = caskd_factory("--zset-max-listpack-entries", "0")
    client = server.client()
    client.zadd("z", {"a": -0.0})
    assert math.copysign(1, client.zscore("z", "a")) == -1
    assert client.bgrewriteaof()
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0
               and client.info("persistence")["aof_rewrites"] >= 1, timeout=30,
               what="the rewrite to finish")
    server.restart()
    client = server.client()
    assert math.copysign(1, client.zscore("z", "a")) == -1
    assert client.object("encoding", "z") == b"skiplist"
