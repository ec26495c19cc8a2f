"""Helpers for replication tests with real processes: a real redis-server replica
of a caskd master, INFO replication read as a dict, and waiting for a replica to
catch up with its master. Shared by the master, replica and failover tests."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.compat.harness import RedisServer
from tests.support import require_tool, wait_until

HOST = "127.0.0.1"


def info(port: int, section: str = "replication") -> dict:
    return redis.Redis(port=port, socket_timeout=5).info(section)


def start_redis_replica(directory: Path, master_port: int, *args: str) -> RedisServer:
    """A real redis-server replicating from ``master_port`` (no AOF, no RDB saves:
    all it holds comes from the master), once its link is up."""
    server = RedisServer(require_tool("redis-server"), directory, "--appendonly", "no",
                         "--replicaof", HOST, str(master_port), *args)
    wait_until(lambda: link_up(server.port), timeout=20, what="the replica's link to be up")
    return server


def link_up(port: int) -> bool:
    """Whether the replica on ``port`` has loaded its master's data and follows it."""
    try:
        return info(port).get("master_link_status") == "up"
    except redis.ConnectionError:
        return False


def wait_caught_up(master_port: int, replica_port: int, timeout: float = 10) -> None:
    """Until the replica's link is up and it has applied the master's whole stream so
    far."""
    def caught_up() -> bool:
        master_offset = info(master_port)["master_repl_offset"]
        fields = info(replica_port)
        return fields.get("master_link_status") == "up" and \
            fields.get("slave_repl_offset") == master_offset
    wait_until(caught_up, timeout=timeout, what="the replica to catch up with its master")


def redis_log(server: RedisServer) -> str:
    return server.log_path.read_text(errors="replace")
