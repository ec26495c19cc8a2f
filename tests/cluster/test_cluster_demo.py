"""scripts/cluster_demo.py: starts nodes and proxy, serves through it, stops on a signal."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from scripts.twemproxy import HOST, accepts_connections, find_nutcracker, redis_py_options
from tests.demos import Demo, free_port_run, processes_mentioning
from tests.support import ROOT, require_tool, wait_until

NODES = 2


def demo_argv(base: int, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "scripts.cluster_demo", "--nodes", str(NODES),
            "--base-port", str(base), "--dir", str(workdir)]


@pytest.fixture
def nutcracker():
    return find_nutcracker() or require_tool("nutcracker")


def test_demo_serves_through_the_proxy_and_stops_everything_on_a_signal(nutcracker, tmp_path):
    base = free_port_run(NODES + 2)
    ports = range(base, base + NODES + 2)  # proxy, nodes, stats
    demo = Demo(demo_argv(base, tmp_path))
    try:
        demo.wait_ready()
        assert redis.Redis(port=base, **redis_py_options()).set("demo", "kept") is True
        out = demo.stop(signal.SIGINT)  # Ctrl-C
        assert f"redis-cli -p {base}" in out
        assert out.rstrip().endswith("stopped.")
        assert not any(accepts_connections(port) for port in ports)
        assert (tmp_path / "nutcracker.yml").exists()

        # --dir keeps the data: a second run serves the key again; SIGTERM stops it too.
        demo = Demo(demo_argv(base, tmp_path))
        demo.wait_ready()
        assert redis.Redis(port=base, **redis_py_options()).get("demo") == b"kept"
        demo.stop(signal.SIGTERM)
        assert not any(accepts_connections(port) for port in ports)
        assert processes_mentioning(tmp_path) == []
    finally:
        demo.kill()


def test_demo_stopped_while_starting_leaves_no_process_behind(nutcracker, tmp_path):
    base = free_port_run(NODES + 2)
    demo = Demo(demo_argv(base, tmp_path))
    try:
        # Stop it as soon as the first node is up, while the rest is starting.
        wait_until(lambda: demo.proc.poll() is not None or accepts_connections(base + 1),
                   timeout=30, what="the first node")
        out = demo.stop(signal.SIGTERM)
        assert out.rstrip().endswith("stopped.")
        assert processes_mentioning(tmp_path) == []
    finally:
        demo.kill()


def test_demo_refuses_a_taken_port_and_starts_nothing(nutcracker, tmp_path):
    base = free_port_run(NODES + 2)
    with socket.socket() as taken:
        taken.bind((HOST, base + 2))
        taken.listen()
        done = subprocess.run(demo_argv(base, tmp_path), cwd=ROOT, capture_output=True,
                              text=True, timeout=30)
    assert done.returncode == 1
    assert f"port {base + 2} is not free" in done.stderr
    assert not accepts_connections(base + 1)
    assert not (tmp_path / "node1").exists()
