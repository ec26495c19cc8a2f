"""maxmemory against a real caskd process: writing past the limit evicts by the
policy and keeps the data set bounded, the evictions are logged (they stay evicted
after a restart), announced and counted; noeviction refuses writes and loses
nothing. Sizes take a knob: CASKD_EVICTION_WRITES (default 20,000 writes of 1 KB
under a 2 MB limit; the issue's figure is 200,000 under 20mb)."""

from __future__ import annotations

import os

import pytest
import redis

from server.app import Server
from server.config import parse_command_line
from storage.datasize import KEY_OVERHEAD
from tests.support import wait_until

WRITES = int(os.environ.get("CASKD_EVICTION_WRITES", "20000"))
LIMIT = max(WRITES // 10_000, 1) << 20  # 2 MB for 20,000 writes: a tenth fits
VALUE = b"v" * 1024
KEY_SIZE = KEY_OVERHEAD + len("key:000000") + len(VALUE)  # what one key counts for
OOM_TEXT = r"^command not allowed when used memory > 'maxmemory'\.$"  # redis-py drops "OOM "


def write(client: redis.Redis, prefix: str, count: int, start: int = 0, **options) -> None:
    for first in range(start, start + count, 500):
        pipe = client.pipeline(transaction=False)
        for i in range(first, min(first + 500, start + count)):
            pipe.set(f"{prefix}:{i:06d}", VALUE, **options)
        pipe.execute()


def counted(client: redis.Redis) -> int:
    return client.info("memory")["caskd_maxmemory_counted"]


def next_lru_second(client: redis.Redis) -> None:
    """Wait for the server's LRU clock (seconds) to move on: keys used from now on are
    more recently used than those before."""
    start = client.info("server")["lru_clock"]
    wait_until(lambda: client.info("server")["lru_clock"] != start, timeout=5,
               what="the LRU clock to advance")


def test_allkeys_lru_keeps_memory_bounded_and_the_hot_keys(caskd_factory):
    server = caskd_factory("--maxmemory", str(LIMIT), "--maxmemory-policy", "allkeys-lru",
                           "--notify-keyspace-events", "Ee")
    client = server.client()
    fits = LIMIT // KEY_SIZE
    write(client, "cold", fits * 3 // 4)
    write(client, "hot", 50)
    next_lru_second(client)  # the LRU clock counts seconds: a second apart from here
    hot = [f"hot:{i:06d}" for i in range(50)]
    assert all(client.mget(hot))  # used: now among the most recently used keys
    events = client.pubsub()
    events.subscribe("__keyevent@0__:evicted")
    assert events.get_message(timeout=5)["type"] == "subscribe"

    write(client, "new", fits // 2)  # past the limit: cold keys make room
    assert client.info()["evicted_keys"] >= fits // 4
    assert all(client.mget(hot)), "a recently used key was evicted"
    assert len(client.keys("new:*")) == fits // 2
    message = events.get_message(timeout=5)
    assert message["type"] == "message" and message["data"].startswith(b"cold:")

    write(client, "more", WRITES)  # every write succeeds, memory stays bounded
    assert client.info()["evicted_keys"] >= WRITES
    assert counted(client) <= LIMIT
    assert client.dbsize() <= fits
    assert client.get(f"more:{WRITES - 1:06d}") == VALUE

    survivors = set(client.keys("*"))
    server.restart()  # evictions are logged deletes: what went stays gone
    client = server.client()
    assert set(client.keys("*")) == survivors


def test_noeviction_refuses_writes_and_loses_nothing(caskd_factory):
    server = caskd_factory("--maxmemory", str(LIMIT // 4))
    client = server.client()
    written = 0
    with pytest.raises(redis.exceptions.OutOfMemoryError, match=OOM_TEXT):
        while True:
            client.set(f"key:{written:06d}", VALUE)
            written += 1
    assert written == pytest.approx(LIMIT // 4 // KEY_SIZE, abs=2)
    assert client.dbsize() == written
    assert client.get("key:000000") == VALUE  # reads go on
    assert client.info()["evicted_keys"] == 0
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.rpush("list", "x")
    client.delete("key:000000", "key:000001")  # DEL is not denyoom: it makes room
    client.set("again", VALUE)
    server.restart()
    client = server.client()
    assert client.dbsize() == written - 1
    assert all(client.mget([f"key:{i:06d}" for i in range(2, written)]))


def test_volatile_policies_evict_only_keys_with_a_ttl(caskd_factory):
    for policy in ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"):
        server = caskd_factory("--maxmemory", str(LIMIT // 4), "--maxmemory-policy", policy)
        client = server.client()
        fits = LIMIT // 4 // KEY_SIZE
        write(client, "keep", fits // 2)
        write(client, "ttl", fits, ex=1000)  # past the limit: these make room
        assert client.info()["evicted_keys"] > 0
        assert len(client.keys("keep:*")) == fits // 2, policy
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            write(client, "more", fits)  # once no key with a TTL is left
        assert len(client.keys("keep:*")) == fits // 2, policy
        server.stop()


def test_watch_and_tracking_see_evictions(caskd_factory):
    server = caskd_factory("--maxmemory-policy", "allkeys-random")
    client = server.client()
    client.set("watched", "v")
    with client.pipeline() as pipe:
        pipe.watch("watched")
        client.config_set("maxmemory", "1")
        client.config_set("maxmemory", "0")  # CONFIG SET maxmemory evicts at once
        pipe.multi()
        pipe.set("other", "1")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.exists("watched") == 0
    assert client.info()["evicted_keys"] == 1


def test_object_idletime_and_touch(caskd_factory):
    server = caskd_factory()
    client = server.client()
    client.mset({"a": "1", "b": "2"})
    next_lru_second(client)
    assert client.touch("a", "missing") == 1
    assert client.object("idletime", "a") == 0
    assert client.object("idletime", "b") >= 1
    client.config_set("maxmemory-policy", "allkeys-lfu")
    with pytest.raises(redis.exceptions.ResponseError, match="LFU maxmemory policy is selected"):
        client.object("idletime", "a")


class _Loop:
    """Keeps what the server schedules, to run it when the test says so."""

    def __init__(self) -> None:
        self.scheduled: list = []

    def call_soon(self, callback) -> None:
        self.scheduled.append(callback)


def test_an_eviction_cycle_out_of_time_goes_on_between_commands(tmp_path):
    """maxmemory-eviction-tenacity 0: 16 keys a cycle, then the event loop's next
    iteration goes on (Redis's evictionTimeProc) until the data set fits."""
    server = Server(parse_command_line(["--dir", str(tmp_path), "--port", "0",
                                        "--maxmemory-policy", "allkeys-random",
                                        "--maxmemory-eviction-tenacity", "0"]))
    server.open_storage()
    server.loop = loop = _Loop()
    try:
        for i in range(100):
            server.engine.put(0, b"k%d" % i, VALUE)
        server.config.set_many([("maxmemory", str(10 * KEY_SIZE))])
        server.apply_config()
        assert server.engine.dbsize(0) == 100 - 16 and len(loop.scheduled) == 1
        while loop.scheduled:
            loop.scheduled.pop()()
        assert server.engine.dbsize(0) <= 10
        assert server.engine.stats["evicted_keys"] >= 90
    finally:
        server.engine.close()
