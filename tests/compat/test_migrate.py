"""MIGRATE, caskd against redis-server: each migrates to a real redis-server target
(Redis into db 1, caskd into db 2), with the same replies byte for byte (OK, NOKEY,
the target's errors, -IOERR, Redis's syntax errors), and the same keys, values and
TTLs left on the target and the sources."""

from __future__ import annotations

import pytest
import redis

from tests.compat.differences import PTTL_CLOCK
from tests.compat.harness import RedisServer, decode
from tests.compat.test_dump import same_table_rows
from tests.compat.test_strings import run
from tests.support import free_port, require_tool

DBS = {"redis": b"1", "caskd": b"2"}


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    server = RedisServer(require_tool("redis-server"), tmp_path_factory.mktemp("target"),
                         "--appendonly", "no")
    redis.Redis(port=server.port).config_set("requirepass", "secret")
    yield server
    server.stop()


@pytest.fixture
def target_client(target):
    client = redis.Redis(port=target.port, password="secret")
    client.flushall()
    yield client
    client.close()


def migrate(pair, target, *args, port: int | None = None):
    """MIGRATE to the target (AUTH secret unless given), each source into its own db;
    the replies must be the same bytes."""
    replies = []
    for name in ("redis", "caskd"):
        connection = getattr(pair, name)
        connection.send(("MIGRATE", "127.0.0.1", port or target.port, args[0], DBS[name],
                         *args[1:]))
        replies.append(connection.reply())
    assert replies[0] == replies[1], (args, replies)
    return decode(replies[0])


def on_target(target_client, key: str) -> tuple:
    """What each source's db on the target holds under ``key``: (redis's, caskd's)."""
    found = []
    for db in DBS.values():
        target_client.select(int(db))
        found.append((target_client.dump(key), target_client.pttl(key) > 0))
    target_client.select(0)
    return tuple(found)


def test_command_table_row(pair2):
    same_table_rows(pair2, "migrate")
    pair2.check("COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "5", "COPY", "KEYS", "a",
                "b")
    pair2.check("COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "5", "AUTH", "x")


def test_keys_move_with_their_ttls(pair, target, target_client):
    run(pair, ("SET", "s", "value"), ("RPUSH", "l", "a", "b"), ("PEXPIRE", "l", "100000"),
        ("HSET", "h", "f", "v"), ("XADD", "x", "1-1", "f", "v"))
    assert migrate(pair, target, "s", "5000", "AUTH", "secret") == b"OK"
    assert migrate(pair, target, "", "5000", "AUTH2", "default", "secret",
                   "KEYS", "l", "missing", "h", "x") == b"OK"
    for key in ("s", "l", "h", "x"):
        from_redis, from_caskd = on_target(target_client, key)
        assert from_redis == from_caskd and from_redis[0] is not None, key
    assert on_target(target_client, "l")[1][1]  # its TTL went along
    run(pair, ("EXISTS", "s", "l", "h", "x"), ("DBSIZE",))


def test_copy_replace_and_the_targets_errors(pair, target, target_client):
    run(pair, ("SET", "k", "one"))
    assert migrate(pair, target, "k", "5000", "COPY", "AUTH", "secret") == b"OK"
    pair.check("GET", "k")
    pair.both("SET", "k", "two")
    busy = migrate(pair, target, "k", "5000", "COPY", "AUTH", "secret")
    assert busy[0] == "error" and "BUSYKEY" in busy[1]
    migrate(pair, target, "k", "5000", "AUTH", "wrong")  # the AUTH reply's error
    migrate(pair, target, "k", "5000")  # NOAUTH: no AUTH given
    pair.check("GET", "k")
    assert migrate(pair, target, "k", "5000", "REPLACE", "AUTH", "secret") == b"OK"
    pair.check("EXISTS", "k")
    assert redis.Redis(port=target.port, password="secret", db=2).get("k") == b"two"
    pair.check("PTTL", "k", allow=PTTL_CLOCK)


def test_nokey_errors_and_no_target(pair, target):
    pair.both("SET", "k", "v")
    assert migrate(pair, target, "missing", "5000") == b"NOKEY"
    assert migrate(pair, target, "", "5000", "KEYS", "a", "b") == b"NOKEY"
    migrate(pair, target, "k", "5000", "KEYS", "k")
    for bad in (("k", "5000", "AUTH"), ("k", "5000", "AUTH2", "u"), ("k", "5000", "BOGUS"),
                ("k", "x"), ("k", "-1", "COPY", "KEYS")):
        migrate(pair, target, *bad)
    migrate(pair, target, "k", "500", port=free_port())  # nothing listens there
    migrate(pair, target, "k", "500", port="http")  # not a port number
    pair.check("MIGRATE", "no.such.host.invalid", "1", "k", "0", "500")
    pair.check("MIGRATE", "127.0.0.1", "1", "k", "x", "5")  # the db is not a number
    pair.check("MIGRATE", "127.0.0.1", "1", "k", "0")
    pair.check("GET", "k")
