"""CLIENT LIST / CLIENT INFO buffer figures (server/client_memory.py) on a running
caskd, and against redis-server where both measure the same thing."""

from __future__ import annotations

import socket

import redis

from tests.compat.harness import RedisServer
from tests.support import require_tool, wait_until


def fields(line: bytes | str) -> dict[str, str]:
    text = line.decode() if isinstance(line, bytes) else line
    return dict(part.split("=", 1) for part in text.split())


def test_the_running_command_is_in_qbuf_and_argv_mem_as_in_redis(caskd, tmp_path):
    """CLIENT INFO sent as RESP is 26 bytes with 10 of arguments: both servers say so."""
    server = RedisServer(require_tool("redis-server"), tmp_path / "redis")
    try:
        for port in (server.port, caskd.port):
            info = fields(redis.Redis(port=port).execute_command("CLIENT", "INFO"))
            assert (info["qbuf"], info["argv-mem"], info["obl"], info["oll"], info["omem"]) \
                == ("26", "10", "0", "0", "0"), port
            assert int(info["tot-mem"]) > 26
    finally:
        server.stop()


def test_a_blocked_command_keeps_its_arguments(caskd):
    waiting = caskd.raw()
    waiting.command("BLPOP", "somelist", "0")
    client = caskd.client()
    wait_until(lambda: client.info("clients")["blocked_clients"] == 1)
    listed = [fields(row) for row in client.execute_command("CLIENT", "LIST").splitlines()]
    blocked = next(row for row in listed if row["cmd"] == "blpop")
    assert blocked["argv-mem"] == str(len("BLPOP" "somelist" "0"))
    assert "b" in blocked["flags"]
    waiting.close()


def test_a_transaction_counts_its_queued_commands(caskd):
    raw = caskd.raw()
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("SET", "key", "value", reply=b"+QUEUED\r\n")
    client = caskd.client()
    listed = [fields(row) for row in client.execute_command("CLIENT", "LIST").splitlines()]
    queued = next(row for row in listed if row["multi"] == "1")
    assert int(queued["multi-mem"]) >= len("SETkeyvalue")
    raw.close()


def test_replies_a_client_does_not_read_are_counted(caskd):
    """A client that pipelines GETs of a big value without reading: omem grows."""
    client = caskd.client()
    client.set("big", "x" * 100_000)
    sock = socket.create_connection(("127.0.0.1", caskd.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 50)

    def unread() -> dict | None:
        rows = [fields(row) for row in client.execute_command("CLIENT", "LIST").splitlines()]
        row = next((row for row in rows if row["cmd"] == "get"), None)
        return row if row and int(row["omem"]) > 100_000 else None
    row = wait_until(unread, what="unread replies in omem")
    assert int(row["tot-mem"]) > int(row["omem"])
    sock.close()
