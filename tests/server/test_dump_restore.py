"""DUMP and RESTORE inside caskd: restored values are logged like any write (they
survive a restart and compaction, TTL included) and a RESTORE touches WATCHed keys."""

from __future__ import annotations

import redis

from tests.support import watch_aborts


def test_restored_values_survive_restart_and_compaction(caskd):
    client = caskd.client()
    client.hset("h", mapping={"a": "1", "b": "2"})
    client.zadd("z", {"m": 2.5, "n": -1})
    client.rpush("l", *[f"item{i}" for i in range(2000)])
    client.sadd("s", 1, 2, 3)
    client.set("str", "x" * 1000)
    for key in ("h", "z", "l", "s", "str"):
        client.restore(f"{key}:copy", 600_000, client.dump(key))
    client.restore("h:copy", 0, client.dump("z"), replace=True)  # another type replaces it
    before = {key: client.dump(key) for key in client.keys("*:copy")}
    client.bgrewriteaof()
    caskd.restart()
    client = caskd.client()
    assert {key: client.dump(key) for key in client.keys("*:copy")} == before
    assert client.type("h:copy") == b"zset"
    assert 0 < client.pttl("l:copy") <= 600_000
    assert client.lrange("l:copy", 0, 2) == [b"item0", b"item1", b"item2"]


def test_restore_touches_watched_keys(caskd):
    client, other = caskd.client(), caskd.client()
    client.set("k", "old")
    payload = client.dump("k")
    assert watch_aborts(client, "k", lambda: other.restore("k", 0, payload, replace=True))


def test_a_restore_that_fails_leaves_the_key(caskd):
    client = caskd.client()
    client.rpush("l", "a", "b")
    payload = client.dump("l")
    broken = payload[:-1] + bytes((payload[-1] ^ 0xFF,))
    for args in ((broken,), (payload[:3] + payload[-10:],)):
        try:
            client.restore("l", 0, *args, replace=True)
        except redis.ResponseError as error:
            assert str(error) in ("DUMP payload version or checksum are wrong",
                                  "Bad data format")
    assert client.lrange("l", 0, -1) == [b"a", b"b"]
