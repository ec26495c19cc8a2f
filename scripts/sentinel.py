"""Real redis-sentinel watching caskd: its config, its process, what it says.

scripts/failover_demo.py and tests/replication/test_failover.py both use this
module, so the setup tried by hand is the one CI proves. caskd speaks Redis's
replication protocol and answers what Sentinel asks (PING, INFO, the hello
channel, MULTI + SLAVEOF + CONFIG REWRITE + CLIENT KILL + EXEC to promote), so the
sentinels are Redis's own, unmodified: no home-made consensus.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scripts.twemproxy import HOST, stop_process, wait_for_port

MASTER_NAME = "caskd"


def find_sentinel() -> str | None:
    """The redis-sentinel binary (Debian's redis-sentinel package), or None."""
    return shutil.which("redis-sentinel")


@dataclass(frozen=True)
class Watch:
    """What each sentinel monitors: the master at ``master_port``, with a quorum.

    The timings are Sentinel's own settings, short so that a failover shows
    within seconds: the master is subjectively down after ``down_after_ms``
    without a valid PING reply, and a failover that stalls is retried after
    ``failover_timeout_ms``.
    """

    master_port: int
    quorum: int = 2
    down_after_ms: int = 1000
    failover_timeout_ms: int = 5000
    password: str | None = None  # the master's requirepass, sent as auth-pass

    def config(self, port: int, workdir: Path) -> str:
        lines = [f"port {port}", f"bind {HOST}", f"dir {workdir}",
                 f"sentinel monitor {MASTER_NAME} {HOST} {self.master_port} {self.quorum}",
                 f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}",
                 f"sentinel failover-timeout {MASTER_NAME} {self.failover_timeout_ms}",
                 f"sentinel parallel-syncs {MASTER_NAME} 1"]
        if self.password is not None:
            lines.append(f"sentinel auth-pass {MASTER_NAME} {self.password}")
        return "\n".join(lines) + "\n"


class Sentinel:
    """One redis-sentinel process on ``port``, its config (which Sentinel rewrites
    as it learns the replicas and the other sentinels) and log in ``workdir``."""

    def __init__(self, workdir: Path, port: int, watch: Watch,
                 binary: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.port = port
        self.watch = watch
        self.binary = binary or find_sentinel() or "redis-sentinel"
        self.config_path = self.workdir / f"sentinel-{port}.conf"
        self.log_path = self.workdir / f"sentinel-{port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Sentinel:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():  # a restarted sentinel keeps what it learnt
            self.config_path.write_text(self.watch.config(self.port, self.workdir))
        argv = [self.binary, str(self.config_path), "--logfile", str(self.log_path)]
        with self.log_path.open("ab") as log:
            # Own session, as the nodes: a Ctrl-C reaches only the launcher.
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.proc, "redis-sentinel", self.log)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
