"""Shared by the replica tests: a real redis-server master holding every type, and
comparing what a caskd replica holds with it, key by key."""

from __future__ import annotations

import redis

from tests.support import wait_until

# Small enough for the compact encodings (listpack, intset), and big enough for the
# real ones (quicklist of several nodes, hashtable, skiplist, set).
BIG = 700


def populate(master: redis.Redis, prefix: str = "") -> None:
    """Every type Redis has, small and big, some with TTLs, plus a function library."""
    p = prefix
    master.set(f"{p}str", "hello")
    master.set(f"{p}int", 12345)
    master.set(f"{p}big-str", "x" * 100_000)  # LZF-compressed in the RDB
    master.set(f"{p}ttl-str", "soon", px=900_000)
    master.rpush(f"{p}list", "a", "b", 1, 2, -3)
    master.rpush(f"{p}big-list", *(f"element-{i}" * 3 for i in range(BIG * 4)))
    master.hset(f"{p}hash", mapping={"f1": "v1", "f2": 2})
    master.hset(f"{p}big-hash", mapping={f"field{i}": f"value{i}" for i in range(BIG)})
    master.expire(f"{p}big-hash", 800)
    master.sadd(f"{p}intset", 1, 2, 3, -40000, 2**40)
    master.sadd(f"{p}set", "a", "b", "c")
    master.sadd(f"{p}big-set", *(f"member{i}" for i in range(BIG)))
    master.zadd(f"{p}zset", {"a": 1, "b": 2.5, "c": -1})
    master.zadd(f"{p}big-zset", {f"m{i}": i / 3 for i in range(BIG)})
    for i in range(20):
        master.xadd(f"{p}stream", {"n": i, "name": f"event-{i}"})
    master.xadd(f"{p}stream", {"other": "fields"})
    master.xgroup_create(f"{p}stream", "workers", id="0")
    master.xreadgroup("workers", "alice", {f"{p}stream": ">"}, count=3)
    master.xreadgroup("workers", "bob", {f"{p}stream": ">"}, count=2)
    master.xack(f"{p}stream", "workers", master.xrange(f"{p}stream", count=1)[0][0])
    master.xgroup_create(f"{p}stream", "idle", id="$")
    master.pfadd(f"{p}hll", *range(100))
    master.function_load("#!lua name=mylib\n"
                         "redis.register_function{function_name='echo1', flags={'no-writes'}, "
                         "callback=function(keys, args) return args[1] end}", replace=True)


def stream_view(client: redis.Redis, key: str) -> tuple:
    """A stream's entries, ids and groups (pending entries, consumers): what XINFO
    STREAM FULL shows, but the node layout, which is each server's own, and a consumer's
    seen-time, which a replica takes from its own clock when it applies the master's
    XCLAIM (as a redis-server replica does)."""
    full = client.xinfo_stream(key, full=True)
    groups = [(g["name"], g["last-delivered-id"], g["entries-read"], g["pel-count"],
               [tuple(entry) for entry in g["pending"]],
               [(c[b"name"], [tuple(p) for p in c[b"pending"]]) for c in g["consumers"]])
              for g in full["groups"]]
    return (full["length"], full["last-generated-id"], full["max-deleted-entry-id"],
            full["entries-added"], full["entries"], groups)


def assert_same_data(expected: redis.Redis, replica: redis.Redis) -> None:
    """Every key of db 0: the same type, TTL (within a second) and value (DUMP's bytes,
    or a hash table's contents; a stream's entries and groups), and the same function
    libraries."""
    keys = sorted(expected.keys("*"))
    assert sorted(replica.keys("*")) == keys
    for key in keys:
        kind = expected.type(key)
        assert replica.type(key) == kind, key
        expected_ttl, replica_ttl = expected.pttl(key), replica.pttl(key)
        assert (expected_ttl < 0 and replica_ttl == expected_ttl) or \
            abs(expected_ttl - replica_ttl) < 1000, key
        if kind == b"stream":
            view = stream_view(replica, key)
            assert view == stream_view(expected, key), (key, view)
        elif expected.object("encoding", key) == b"hashtable":  # DUMP's order is the dict's
            assert replica.object("encoding", key) == b"hashtable", key
            read = "SMEMBERS" if kind == b"set" else "HGETALL"
            assert replica.execute_command(read, key) == expected.execute_command(read, key), key
        else:
            assert replica.dump(key) == expected.dump(key), key
    assert replica.function_list(withcode=True) == expected.function_list(withcode=True)


def offset(client: redis.Redis, field: str) -> int:
    return int(client.info("replication")[field])


def wait_caught_up(master: redis.Redis, replica: redis.Redis) -> None:
    """Until the replica has applied everything the master has sent."""
    wait_until(lambda: replica.info("replication")["master_link_status"] == "up"
               and offset(replica, "slave_repl_offset") == offset(master, "master_repl_offset"),
               timeout=20, what="the replica to catch up")
