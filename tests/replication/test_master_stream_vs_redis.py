"""The replication stream byte for byte against a real redis-server master: the same
commands sent to both, and what each writes to a replica after the full sync
compared, with only the absolute times (PXAT, PEXPIREAT, XCLAIM's TIME) blanked."""

from __future__ import annotations

import re
import socket

import redis

from storage.rdb import dump_payload
from tests.compat.harness import RedisServer
from tests.support import CaskdProcess, require_tool, wait_until

COMMANDS = [
    ("SET", "a", "1"), ("SET", "b", "2", "EX", "100"), ("INCRBYFLOAT", "f", "1.5"),
    ("HINCRBYFLOAT", "h", "x", "2.5"), ("RPUSH", "l", "1", "2", "3"),
    ("LMPOP", "1", "l", "LEFT", "COUNT", "2"), ("SADD", "s", "m"), ("SPOP", "s"),
    ("GETSET", "a", "3"), ("GETDEL", "a"), ("SET", "e", "v"), ("EXPIRE", "e", "-1"),
    ("SELECT", "2"), ("SET", "in2", "v"), ("ZADD", "z", "1", "a", "2", "b"),
    ("ZMPOP", "1", "z", "MAX"), ("PUBLISH", "ch", "hi"), ("SET", "x", "1", "NX"),
    ("SET", "x", "2", "NX"), ("DEL", "nothing"), ("FLUSHDB",),
    ("EVAL", "redis.call('set', 'k', 'v') redis.call('del', 'k')", "0"),
    ("EVAL", "redis.call('set', 'k1', 'v')", "0"),
    ("MULTI",), ("SET", "m1", "1"), ("INCR", "m2"), ("EXEC",),
    ("MULTI",), ("SET", "m3", "1"), ("EXEC",),
    ("SET", "g", "v", "KEEPTTL"), ("SET", "p", "v", "PX", "100000"), ("GETEX", "p", "PERSIST"),
    ("GETEX", "g", "EX", "100"), ("RESTORE", "r", "5000", dump_payload(b"v", "raw")),
    ("XADD", "x1", "1-0", "f", "v"), ("XGROUP", "CREATE", "x1", "g", "0"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "x1", ">"), ("XACK", "x1", "g", "1-0"),
    ("XADD", "x1", "MAXLEN", "~", "1", "2-0", "f", "v"), ("XTRIM", "x1", "MAXLEN", "5"),
    ("FUNCTION", "LOAD", "#!lua name=l\nredis.register_function('f', function() end)"),
    ("FUNCTION", "DELETE", "l"), ("SWAPDB", "0", "2"), ("FLUSHALL",),
]
_TIMES = re.compile(rb"\$13\r\n1\d{12}\r\n")


def stream_of(port: int) -> bytes:
    """Attach as a replica, run COMMANDS on another connection, return the stream."""
    replica = socket.create_connection(("127.0.0.1", port), timeout=10)
    replica.sendall(b"REPLCONF capa psync2\r\n")
    assert replica.recv(16) == b"+OK\r\n"
    replica.sendall(b"PSYNC ? -1\r\n")
    data = b""
    header = re.compile(rb"\n*\+FULLRESYNC \S+ \d+\r\n\n*\$(\d+)\r\n")
    while not ((match := header.match(data)) and len(data) >= match.end() + int(match[1])):
        data += replica.recv(65536)
    data = data[match.end() + int(match[1]):]
    client = redis.Redis(port=port)
    connection = client.connection_pool.get_connection()
    for command in COMMANDS:
        connection.send_command(*command)
        connection.read_response()
    connection.disconnect()  # it SELECTed another db: not for the pool
    # A blocked BLPOP served by a push: propagated as the LPOP it became.
    waiter = socket.create_connection(("127.0.0.1", port), timeout=10)
    waiter.sendall(b"BLPOP queue 0\r\n")
    wait_until(lambda: client.info("clients")["blocked_clients"] == 1, what="BLPOP to wait")
    client.rpush("queue", "job")
    assert waiter.recv(64) == b"*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n"
    waiter.close()
    client.set("end", "marker")
    marker = b"$6\r\nmarker\r\n"
    while marker not in data:
        data += replica.recv(65536)
    replica.close()
    return _TIMES.sub(b"$13\r\n<time>\r\n", data)


def test_the_stream_is_redis_s_byte_for_byte(tmp_path):
    redis_master = RedisServer(require_tool("redis-server"), tmp_path / "redis",
                               "--appendonly", "no", "--repl-diskless-sync", "no")
    caskd = CaskdProcess(tmp_path / "caskd", "--repl-diskless-sync", "no").start()
    try:
        expected = stream_of(redis_master.port)
        assert all(part in expected for part in (b"XCLAIM", b"PXAT", b"MULTI", b"LPOP"))
        assert stream_of(caskd.port) == expected
    finally:
        caskd.stop()
        redis_master.stop()
