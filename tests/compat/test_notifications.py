"""Keyspace notifications, caskd against redis-server: the same commands on both, and
every notification a subscriber gets compared byte for byte, in order."""

from __future__ import annotations

import pytest

from tests.compat.harness import Pair
from tests.support import wait_until

END = ("PUBLISH", "end", "end")  # what closes each stream of notifications

COMMANDS = [
    ("SET", "s", "v"), ("SET", "s", "v2", "EX", "100"), ("SET", "s", "v3", "KEEPTTL"),
    ("SETEX", "t", "100", "v"), ("SETNX", "t", "no"), ("GETSET", "s", "v4"),
    ("MSET", "a", "1", "b", "2"), ("INCR", "n"), ("INCRBY", "n", "5"), ("DECR", "n"),
    ("INCRBYFLOAT", "n", "1.5"), ("APPEND", "s", "x"), ("SETRANGE", "s", "1", "yy"),
    ("GETEX", "s", "PX", "50000"), ("GETEX", "s", "PERSIST"), ("GETDEL", "a"),
    ("EXPIRE", "b", "100"), ("PERSIST", "b"), ("PEXPIRE", "b", "-1"),
    ("RENAME", "s", "s2"), ("COPY", "s2", "s3"), ("MOVE", "s3", "1"), ("DEL", "s2", "nope"),
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d"), ("LPOP", "l"), ("RPOP", "l", "1"),
    ("LSET", "l", "0", "z"), ("LINSERT", "l", "BEFORE", "z", "y"), ("LREM", "l", "0", "y"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("LTRIM", "l", "1", "0"), ("RPOPLPUSH", "l2", "l2"),
    ("HSET", "h", "f", "1", "g", "2"), ("HSETNX", "h", "f", "x"), ("HINCRBY", "h", "f", "2"),
    ("HINCRBYFLOAT", "h", "f", "0.5"), ("HDEL", "h", "f", "g"),
    ("SADD", "set", "a", "b", "c"), ("SREM", "set", "a"), ("SMOVE", "set", "set2", "b"),
    ("SINTERSTORE", "dst", "set", "set2"), ("SUNIONSTORE", "dst", "set", "set2"),
    ("SPOP", "set2", "5"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZINCRBY", "z", "5", "a"),
    ("ZADD", "z", "INCR", "1", "b"), ("ZREM", "z", "c"), ("ZPOPMIN", "z"),
    ("ZADD", "z", "1", "m", "2", "n"), ("ZREMRANGEBYSCORE", "z", "0", "1"),
    ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZUNIONSTORE", "zu", "1", "z"),
    ("ZRANGESTORE", "zr", "zu", "0", "-1"), ("ZINTERSTORE", "zu", "1", "nothing"),
    ("SETBIT", "bits", "7", "1"), ("SETBIT", "bits", "7", "1"),
    ("BITFIELD", "bits", "SET", "u8", "0", "255"), ("BITOP", "OR", "dest", "bits"),
    ("BITOP", "AND", "dest", "none"), ("PFADD", "hll", "a", "b"), ("PFADD", "hll", "a"),
    ("PFCOUNT", "hll"), ("PFMERGE", "hll2", "hll"),
    ("RPUSH", "tosort", "b", "a"), ("SORT", "tosort", "ALPHA", "STORE", "sorted"),
    ("GEOADD", "geo", "13.361389", "38.115556", "Palermo"),
    ("GEOSEARCHSTORE", "geo2", "geo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
    ("LMPOP", "1", "tosort", "LEFT", "COUNT", "5"), ("ZADD", "zz", "1", "a"),
    ("ZMPOP", "1", "zz", "MIN"),
    ("FLUSHDB",),
]


def notifications(pair: Pair, listener: Pair, commands) -> None:
    for command in commands:
        pair.check(*command)
    pair.both(*END)
    streams = []
    for side in (listener.redis, listener.caskd):
        frames = []
        while b"$3\r\nend\r\n" not in (frame := side.reply()):
            frames.append(frame)
        streams.append(frames)
    assert streams[1] == streams[0]


@pytest.fixture
def listener(servers, pair):
    other = Pair(*servers, protocol=pair.protocol)
    other.redis.send(("PSUBSCRIBE", "__key*__:*"))
    other.caskd.send(("PSUBSCRIBE", "__key*__:*"))
    assert other.redis.reply() == other.caskd.reply()
    other.redis.send(("SUBSCRIBE", "end"))
    other.caskd.send(("SUBSCRIBE", "end"))
    assert other.redis.reply() == other.caskd.reply()
    yield other
    other.close()
    pair.both("CONFIG", "SET", "notify-keyspace-events", "")


def test_every_command_notifies_as_redis_does(pair, listener):
    pair.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    notifications(pair, listener, COMMANDS)


def test_new_keys_and_single_classes(pair, listener):
    pair.check("CONFIG", "SET", "notify-keyspace-events", "Kn$")
    pair.check("CONFIG", "GET", "notify-keyspace-events")
    notifications(pair, listener, [("SET", "k", "v"), ("SET", "k", "w"), ("LPUSH", "l", "x"),
                                   ("INCR", "n"), ("RENAME", "k", "k2"),
                                   ("DEL", "k2")])
    pair.check("CONFIG", "SET", "notify-keyspace-events", "Elx")
    notifications(pair, listener, [("RPUSH", "l", "y"), ("SET", "k", "v"), ("LPOP", "l", "5")])


def test_expired_keys_notify_lazily_and_actively(pair, listener):
    pair.check("CONFIG", "SET", "notify-keyspace-events", "Ex")
    pair.check("SET", "lazy", "v", "PX", "1")
    pair.check("SET", "active", "v", "PX", "1")
    wait_until(lambda: pair.both("EXISTS", "lazy") == (b":0\r\n", b":0\r\n"), timeout=5)
    wait_until(lambda: pair.both("DBSIZE") == (b":0\r\n", b":0\r\n"), timeout=5,
               what="the active expiry of both servers")
    pair.both(*END)
    header = b">4" if pair.protocol == 3 else b"*4"
    for side in (listener.redis, listener.caskd):
        frames = []
        while b"$3\r\nend\r\n" not in (frame := side.reply()):
            frames.append(frame)
        assert sorted(frames) == sorted(
            header + b"\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$22\r\n"
            b"__keyevent@0__:expired\r\n$%d\r\n%s\r\n" % (len(key), key)
            for key in (b"active", b"lazy"))


def test_configuration_is_checked_and_shown_as_redis_does(pair):
    for value in ("KEA", "AKE", "gx", "Ag$lshzxetKEmn", "E$", "", "K"):
        pair.check("CONFIG", "SET", "notify-keyspace-events", value)
        pair.check("CONFIG", "GET", "notify-keyspace-events")
    pair.check("CONFIG", "SET", "notify-keyspace-events", "KEq")
