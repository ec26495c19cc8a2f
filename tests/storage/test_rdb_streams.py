"""Streams in Redis's RDB (RDB_TYPE_STREAM_LISTPACKS_2, as Redis 7.0 writes them),
read by storage.rdb from what a real redis-server DUMPs: entries in several nodes,
with deleted ones and entries of other fields, and consumer groups with their
pending entries and consumers."""

from __future__ import annotations

import redis

from storage import rdb, streams
from tests.compat.harness import RedisServer
from tests.support import require_tool


def test_a_stream_redis_dumped_loads_whole(tmp_path):
    server = RedisServer(require_tool("redis-server"), tmp_path / "redis",
                         "--stream-node-max-entries", "4")  # several nodes
    try:
        client = redis.Redis(port=server.port)
        for i in range(10):
            client.xadd("s", {"n": i, "text": "x" * i}, id=f"{1000 + i}-{i}")
        client.xadd("s", {"other": "fields"}, id="2000-0")
        client.xdel("s", "1001-1", "1005-5")  # tombstones in their nodes
        client.xgroup_create("s", "g", id="0")
        client.xreadgroup("g", "alice", {"s": ">"}, count=2)
        client.xreadgroup("g", "bob", {"s": ">"}, count=1)
        client.xgroup_create("s", "empty", id="$")
        expected = client.xinfo_stream("s", full=True)
        stream = rdb.load_payload(client.dump("s"))
    finally:
        server.stop()

    assert type(stream) is streams.Stream and len(stream) == expected["length"] == 9
    assert [(streams.format_id(i), dict(zip(f[::2], f[1::2], strict=True)))
            for i, f in stream.range(0, streams.MAX_ID)] == list(expected["entries"].items())
    assert streams.format_id(stream.last_id) == expected["last-generated-id"]
    assert streams.format_id(stream.max_deleted) == expected["max-deleted-entry-id"] == b"1005-5"
    assert stream.entries_added == expected["entries-added"] == 11
    for group in expected["groups"]:
        loaded = stream.groups[group["name"]]
        assert streams.format_id(loaded.last_id) == group["last-delivered-id"]
        read = None if loaded.entries_read == streams.NO_ENTRIES_READ else loaded.entries_read
        assert read == group["entries-read"]
        assert [[streams.format_id(i), p.consumer.name, p.time, p.count]
                for i, p in loaded.pel.items()] == group["pending"]
        assert {name: (c.seen_time, [streams.format_id(i) for i in c.pending])
                for name, c in loaded.consumers.items()} == {
            c[b"name"]: (c[b"seen-time"], [p[0] for p in c[b"pending"]])
            for c in group["consumers"]}
