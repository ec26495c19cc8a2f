"""Whole RDB files (storage.rdb.FileWriter / FileReader) against a real redis-server:
it loads a file caskd wrote, and caskd reads the file its SAVE wrote."""

from __future__ import annotations

import time
from collections import deque

import pytest
import redis

from storage import rdb
from tests.compat.harness import RedisServer
from tests.storage.test_rdb import REDIS_STREAM, same, zset
from tests.support import require_tool

FUTURE = int(time.time() * 1000) + 3_600_000

# (db, key, value, OBJECT ENCODING, expire_at)
ENTRIES = [
    (0, b"string", b"hello", "embstr", 0),
    (0, b"int", b"-42", "int", FUTURE),
    (0, b"compressed", b"abc" * 1000, "raw", 0),
    (0, b"list", deque([b"a", b"1", b"x" * 5000] * 10), "quicklist", FUTURE),
    (0, b"small hash", {b"f": b"v", b"n": b"7"}, "listpack", 0),
    (0, b"big hash", {b"f%d" % i: b"v" for i in range(600)}, "hashtable", 0),
    (0, b"intset", {b"1", b"-70000", b"5"}, "intset", 0),
    (0, b"set", {b"a", b"b"}, "hashtable", 0),
    (3, b"small zset", zset({b"a": 1.5, b"b": -2.0}), "listpack", FUTURE),
    (3, b"big zset", zset({b"m%d" % i: i / 7 for i in range(300)}), "skiplist", 0),
    (3, b"expired", b"gone", "embstr", 1000),  # Redis drops it while loading
    (3, b"stream", rdb.load_payload(bytes.fromhex(REDIS_STREAM)), "stream", FUTURE),
]


def read_back(client: redis.Redis, key: bytes):
    kind = client.type(key)
    if kind == b"string":
        return client.get(key)
    if kind == b"list":
        return deque(client.lrange(key, 0, -1))
    if kind == b"hash":
        return client.hgetall(key)
    if kind == b"set":
        return client.smembers(key)
    if kind == b"stream":  # its groups and pending entries too: as Redis DUMPs it
        return rdb.load_payload(client.dump(key))
    return zset(dict(client.zrange(key, 0, -1, withscores=True)))


@pytest.fixture
def redis_binary():
    return require_tool("redis-server")


def test_redis_server_loads_a_file_caskd_wrote(tmp_path, redis_binary):
    writer = rdb.FileWriter()
    parts = [writer.header({b"redis-ver": b"7.0.15", b"redis-bits": b"64",
                            b"ctime": b"%d" % time.time(), b"aof-base": b"0"})]
    for db in (0, 3):
        in_db = [entry for entry in ENTRIES if entry[0] == db]
        parts.append(writer.select_db(db, len(in_db), sum(1 for e in in_db if e[4])))
        parts += [writer.entry(key, value, encoding, expire_at)
                  for _, key, value, encoding, expire_at in in_db]
    parts.append(writer.end())
    (tmp_path / "dump.rdb").write_bytes(b"".join(parts))
    server = RedisServer(redis_binary, tmp_path, "--appendonly", "no",
                         "--dbfilename", "dump.rdb")
    try:
        for db, key, value, encoding, expire_at in ENTRIES:
            client = redis.Redis(port=server.port, db=db)
            if key == b"expired":
                assert not client.exists(key)
                continue
            assert same(read_back(client, key), value), key
            assert client.object("encoding", key).decode() == encoding
            assert client.pexpiretime(key) == (expire_at or -1)
    finally:
        server.stop()


def test_caskd_reads_the_file_redis_server_saved(tmp_path, redis_binary):
    server = RedisServer(redis_binary, tmp_path, "--appendonly", "no",
                         "--dbfilename", "saved.rdb")
    try:
        client = redis.Redis(port=server.port)
        client.set("string", "x" * 100)
        client.set("number", 12345)
        client.rpush("list", *[f"item{i}" for i in range(1000)])
        client.hset("hash", mapping={"f": "v"})
        client.hset("big hash", mapping={f"f{i}": "v" * 70 for i in range(20)})
        client.sadd("intset", 1, 2, 3)
        client.sadd("set", *[f"m{i}" for i in range(600)])
        client.zadd("zset", {"a": 1, "b": 2})
        client.zadd("big zset", {f"m{i}": i for i in range(200)})
        client.pfadd("hll", "a", "b", "c")
        client.xadd("stream", {"f": "v"}, id="5-1")
        client.xadd("stream", {"f": "w", "g": "1"}, id="6-0")
        client.xgroup_create("stream", "group", id="0")
        client.xreadgroup("group", "reader", {"stream": ">"}, count=1)
        client.pexpireat("list", FUTURE)
        client.function_load("#!lua name=mylib\nredis.register_function('f', "
                             "function() return 1 end)")
        redis.Redis(port=server.port, db=5).set("elsewhere", "5")
        expected = {(0, key): read_back(client, key) for key in client.keys("*")}
        expected[(5, b"elsewhere")] = b"5"
        client.save()
    finally:
        server.stop()
    reader = rdb.FileReader((tmp_path / "saved.rdb").read_bytes())
    found = {(entry.db, entry.key): entry for entry in reader.entries()}
    assert found.keys() == expected.keys()
    for where, value in expected.items():
        assert same(found[where].value, value), where
    assert found[(0, b"list")].expire_at == FUTURE
    assert found[(0, b"hash")].expire_at == 0
    assert reader.aux[b"redis-ver"] == b"7.0.15"
    assert reader.functions and b"mylib" in reader.functions[0]


def test_a_damaged_file_is_refused():
    writer = rdb.FileWriter()
    data = bytearray(writer.header() + writer.select_db(0, 1, 0)
                     + writer.entry(b"k", b"value", "embstr") + writer.end())
    assert [entry.key for entry in rdb.FileReader(bytes(data)).entries()] == [b"k"]
    data[-12] ^= 1  # inside the value
    with pytest.raises(rdb.RdbError):
        list(rdb.FileReader(bytes(data)).entries())
    with pytest.raises(rdb.RdbError):
        rdb.FileReader(b"REDIS0011")
    with pytest.raises(rdb.RdbError):
        rdb.FileReader(b"NOTREDIS!")


def test_without_a_checksum_the_crc_is_zero_and_not_checked():
    writer = rdb.FileWriter(checksum=False)
    data = writer.header() + writer.entry(b"k", b"v", "embstr") + writer.end()
    assert data.endswith(b"\xff" + bytes(8))
    assert [entry.value for entry in rdb.FileReader(data).entries()] == [b"v"]
