"""scripts/cluster_demo.py: starts nodes and proxy, serves through it, stops on a signal."""

from __future__ import annotations

import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from scripts.twemproxy import HOST, accepts_connections, find_nutcracker, redis_py_options
from tests.support import ROOT, require_tool, wait_until

NODES = 2


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive ports that are all free right now."""
    for _ in range(100):
        base = random.randrange(20_000, 60_000)
        sockets = [socket.socket() for _ in range(count)]
        try:
            for offset, sock in enumerate(sockets):
                sock.bind((HOST, base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise AssertionError(f"no run of {count} free ports found")


def demo_argv(base: int, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "scripts.cluster_demo", "--nodes", str(NODES),
            "--base-port", str(base), "--dir", str(workdir)]


class Demo:
    """The demo as a subprocess; its output is collected line by line as it comes."""

    def __init__(self, base: int, workdir: Path) -> None:
        self.proc = subprocess.Popen(demo_argv(base, workdir), cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the banner's last line: the nodes and the proxy are up by then."""
        deadline = time.monotonic() + timeout
        while not self.output or not self.output[-1].startswith("Ctrl-C"):
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line, f"the demo exited early:\n{''.join(self.output)}"
            self.output.append(line)

    def stop(self, sig: int) -> str:
        """Signal it, wait for a clean exit, return all it printed."""
        self.proc.send_signal(sig)
        assert self.proc.wait(30) == 0
        while line := self.lines.get(timeout=5):
            self.output.append(line)
        return "".join(self.output)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def processes_mentioning(path: Path) -> list[str]:
    """Command lines of running processes that name ``path``: the demo's nodes and
    proxy all do, so none may be left once it has exited."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:  # exited meanwhile
            continue
        if any(str(path) in arg for arg in args):
            found.append(" ".join(args))
    return found


@pytest.fixture
def nutcracker():
    return find_nutcracker() or require_tool("nutcracker")


def test_demo_serves_through_the_proxy_and_stops_everything_on_a_signal(nutcracker, tmp_path):
    base = free_port_run(NODES + 2)
    ports = range(base, base + NODES + 2)  # proxy, nodes, stats
    demo = Demo(base, tmp_path)
    try:
        demo.wait_ready()
        assert redis.Redis(port=base, **redis_py_options()).set("demo", "kept") is True
        out = demo.stop(signal.SIGINT)  # Ctrl-C
        assert f"redis-cli -p {base}" in out
        assert out.rstrip().endswith("stopped.")
        assert not any(accepts_connections(port) for port in ports)
        assert (tmp_path / "nutcracker.yml").exists()

        # --dir keeps the data: a second run serves the key again; SIGTERM stops it too.
        demo = Demo(base, tmp_path)
        demo.wait_ready()
        assert redis.Redis(port=base, **redis_py_options()).get("demo") == b"kept"
        demo.stop(signal.SIGTERM)
        assert not any(accepts_connections(port) for port in ports)
        assert processes_mentioning(tmp_path) == []
    finally:
        demo.kill()


def test_demo_stopped_while_starting_leaves_no_process_behind(nutcracker, tmp_path):
    base = free_port_run(NODES + 2)
    demo = Demo(base, tmp_path)
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
