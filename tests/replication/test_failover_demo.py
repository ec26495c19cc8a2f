"""scripts/failover_demo.py: a master, a replica and a sentinel start, replicate, stop."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import redis

from scripts.sentinel import MASTER_NAME
from tests.demos import Demo, free_port_run, processes_mentioning
from tests.support import require_tool, wait_until


def demo_argv(base: int, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "scripts.failover_demo", "--replicas", "1",
            "--sentinels", "1", "--base-port", str(base), "--dir", str(workdir)]


def test_demo_replicates_is_watched_and_stops_everything_on_a_signal(tmp_path):
    require_tool("redis-sentinel", "redis-sentinel")
    base = free_port_run(3)  # master, replica, sentinel
    demo = Demo(demo_argv(base, tmp_path))
    try:
        demo.wait_ready()
        redis.Redis(port=base).set("demo", "replicated")
        wait_until(lambda: redis.Redis(port=base + 1).get("demo") == b"replicated",
                   what="the replica to receive the write")
        sentinel = redis.Redis(port=base + 2, decode_responses=True)
        assert sentinel.sentinel_get_master_addr_by_name(MASTER_NAME) == ("127.0.0.1", base)
        out = demo.stop(signal.SIGINT)
        assert f"redis-cli -p {base + 2} sentinel get-master-addr-by-name" in out
        assert out.rstrip().endswith("stopped.")
        assert processes_mentioning(tmp_path) == []
    finally:
        demo.kill()
