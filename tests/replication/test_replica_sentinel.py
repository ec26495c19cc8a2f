"""What real redis-sentinel sends a monitored caskd, as traced against redis-server
7.0.15: the hello channel through the replication stream, and its one write to
promote or reconfigure: MULTI, SLAVEOF NO ONE | host port, CONFIG REWRITE,
CLIENT KILL TYPE normal, CLIENT KILL TYPE pubsub, EXEC."""

from __future__ import annotations

import redis

from tests.compat.harness import RedisServer
from tests.replication.replica_support import wait_caught_up
from tests.support import CaskdProcess, require_tool, wait_until

HELLO = "__sentinel__:hello"


def sentinel_reconfiguration(raw, *slaveof: str) -> None:
    """redis-sentinel's sentinelSendSlaveOf, in one transaction (it ignores the
    replies, but they are Redis's)."""
    raw.send(_command("MULTI") + _command("SLAVEOF", *slaveof)
             + _command("CONFIG", "REWRITE") + _command("CLIENT", "KILL", "TYPE", "normal")
             + _command("CLIENT", "KILL", "TYPE", "pubsub") + _command("EXEC"))
    for reply in (b"+OK\r\n", *[b"+QUEUED\r\n"] * 4):
        raw.expect(reply)
    assert raw.read_line() == b"*4\r\n"
    assert raw.read_line() == b"+OK\r\n"  # SLAVEOF
    assert raw.read_line() == b"+OK\r\n"  # CONFIG REWRITE
    assert int(raw.read_line()[1:]) >= 1  # the normal clients (not this one)
    assert int(raw.read_line()[1:]) == 1  # the subscriber


def _command(*args: str) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg.encode()), arg.encode()))
    return b"".join(parts)


def test_promotion_and_demotion_as_sentinel_sends_them(tmp_path):
    server = RedisServer(require_tool("redis-server"), tmp_path / "redis", "--appendonly", "no",
                         "--repl-diskless-sync-delay", "0")
    config = tmp_path / "caskd.conf"
    config.write_text(f"# the replica\nreplicaof 127.0.0.1 {server.port}\n")
    caskd = CaskdProcess(tmp_path / "data", config_file=config).start()
    try:
        master = redis.Redis(port=server.port)
        master.set("k", "v")
        replica = caskd.client()
        wait_caught_up(master, replica)

        # The hello channel: a master's PUBLISH reaches the replica's subscribers.
        subscriber = caskd.client().pubsub()
        subscriber.subscribe(HELLO)
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"
        master.publish(HELLO, "127.0.0.1,26379,runid,0,mymaster,127.0.0.1,6379,0")
        message = wait_until(lambda: subscriber.get_message(timeout=1), what="the hello")
        assert message["data"].startswith(b"127.0.0.1,26379")

        normal = caskd.raw()
        normal.roundtrip("PING", reply=b"+PONG\r\n")
        raw = caskd.raw()
        sentinel_reconfiguration(raw, "NO", "ONE")  # promote
        assert normal.read_until_closed() == b""  # killed
        replica = caskd.client()
        assert replica.role()[0] == b"master"
        assert replica.set("after-promotion", "1") and replica.get("k") == b"v"
        assert "replicaof" not in config.read_text()

        subscriber = caskd.client().pubsub()
        subscriber.subscribe(HELLO)
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"
        normal = caskd.raw()
        normal.roundtrip("PING", reply=b"+PONG\r\n")
        sentinel_reconfiguration(raw, "127.0.0.1", str(server.port))  # demote again
        assert f"replicaof 127.0.0.1 {server.port}" in config.read_text()
        assert normal.read_until_closed() == b""
        replica = caskd.client()
        wait_caught_up(master, replica)
        assert replica.get("after-promotion") is None  # the master's data replaced it
        raw.close()
    finally:
        caskd.stop()
        server.stop()
