"""twemproxy (nutcracker) in front of caskd nodes: its config, its process, its stats.

scripts/cluster_demo.py and tests/cluster both use this module, so the setup
tried by hand is the one CI proves.
"""

from __future__ import annotations

import inspect
import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
# Debian installs nutcracker in /usr/sbin, which is not on every user's PATH.
_SBIN_DIRS = "/usr/local/sbin:/usr/sbin:/sbin"


def find_nutcracker() -> str | None:
    """The nutcracker binary on PATH or in the sbin directories, or None."""
    return shutil.which("nutcracker") or shutil.which("nutcracker", path=_SBIN_DIRS)


def redis_py_options() -> dict:
    """redis-py settings that work through twemproxy, which closes the connection on
    any command it does not proxy: RESP2 (no ``HELLO 3``) and no ``CLIENT SETINFO``
    on connect. redis-py releases that have ``driver_info`` (late 2025 on) turn the
    latter off with ``driver_info=None``; older ones (4.6-7.x) with
    ``lib_name=None, lib_version=None``, which newer ones still accept but deprecate."""
    import redis

    if "driver_info" in inspect.signature(redis.Redis).parameters:
        return {"protocol": 2, "driver_info": None}
    return {"protocol": 2, "lib_name": None, "lib_version": None}


def node_name(index: int) -> str:
    """Servers are named in the config so that ketama hashes the name, not host:port:
    a node moved to another address keeps its keys."""
    return f"node{index + 1}"


@dataclass(frozen=True)
class Pool:
    """One twemproxy server pool over caskd nodes listening on ``node_ports``."""

    listen_port: int
    node_ports: Sequence[int]
    password: str | None = None  # redis_auth: sent to the nodes, required from clients
    redis_db: int = 0
    auto_eject_hosts: bool = True
    server_failure_limit: int = 2
    server_retry_timeout_ms: int = 2000
    timeout_ms: int = 2000
    name: str = "caskd"

    def yaml(self) -> str:
        """The pool as nutcracker's YAML configuration."""
        lines = [
            f"{self.name}:",
            f"  listen: {HOST}:{self.listen_port}",
            "  redis: true",
            "  hash: fnv1a_64",
            '  hash_tag: "{}"',
            "  distribution: ketama",
            f"  timeout: {self.timeout_ms}",
            f"  auto_eject_hosts: {'true' if self.auto_eject_hosts else 'false'}",
            f"  server_retry_timeout: {self.server_retry_timeout_ms}",
            f"  server_failure_limit: {self.server_failure_limit}",
        ]
        if self.password is not None:
            lines.append(f"  redis_auth: {json.dumps(self.password)}")
        if self.redis_db:
            lines.append(f"  redis_db: {self.redis_db}")
        lines.append("  servers:")
        lines += [f"   - {HOST}:{port}:1 {node_name(i)}" for i, port in enumerate(self.node_ports)]
        return "\n".join(lines) + "\n"


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, proc: subprocess.Popen, what: str, log: Callable[[], str],
                  timeout: float = 30) -> None:
    """Poll until ``proc`` accepts connections on ``port``; fail early if it exits.

    caskd loads its data before it listens, so accepting means ready for both it
    and nutcracker.
    """
    deadline = time.monotonic() + timeout
    while not accepts_connections(port):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}:\n{log()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f}s")
        time.sleep(0.02)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Send ``sig`` and wait; SIGKILL if it has not exited after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


class Nutcracker:
    """nutcracker serving ``pool``, with its config and log in ``workdir``.

    Stats are served as JSON on ``stats_port`` and refreshed every 100 ms (the
    default, 30 s, is too slow to watch an ejection happen).
    """

    def __init__(self, workdir: Path, pool: Pool, stats_port: int,
                 binary: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.pool = pool
        self.port = pool.listen_port
        self.stats_port = stats_port
        self.binary = binary or find_nutcracker() or "nutcracker"
        self.config_path = self.workdir / "nutcracker.yml"
        self.log_path = self.workdir / "nutcracker.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Nutcracker:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.pool.yaml())
        argv = [self.binary, "-c", str(self.config_path), "-o", str(self.log_path),
                "-s", str(self.stats_port), "-a", HOST, "-i", "100"]
        with self.log_path.open("ab") as log:  # errors before -o takes effect land here too
            # Own session: a Ctrl-C at the terminal reaches only the launcher,
            # which then stops everything in order.
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.proc, "nutcracker", self.log)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stats(self) -> dict:
        """nutcracker's stats: pool counters (server_ejects…) and one dict per node."""
        with socket.create_connection((HOST, self.stats_port), timeout=5) as sock:
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return json.loads(b"".join(chunks))[self.pool.name]

    def stop(self) -> None:
        # nutcracker has no SIGTERM handler: the default action ends it at once,
        # which is all a stateless proxy needs.
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
