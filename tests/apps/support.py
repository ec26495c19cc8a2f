"""Running an application's own processes (workers, client scripts) for a test:
each with its output in a file the failure message shows, and a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from tests.support import ROOT, wait_until

APPS = Path(__file__).resolve().parent


class AppProcess:
    """A subprocess such as ``celery worker`` or ``arq``, run from tests/apps/
    (so its app modules import by their plain names) with ``env`` added."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=APPS, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": f"{APPS}{os.pathsep}{ROOT}", **env})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        """The exit code; a test failure with the log if it takes longer than ``timeout``."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(signal.SIGKILL)
            raise AssertionError(f"{self.proc.args[:3]} still running after {timeout}s:\n"
                                 f"{self.log()[-4000:]}") from None

    def kill_with_children(self) -> None:
        """kill -9 the process, then the children it had (a worker's pool): the whole
        worker gone at once, as when its machine fails. The parent goes first, so it
        never sees a child die and acts on it."""
        children = [int(pid) for path in Path(f"/proc/{self.proc.pid}/task").glob("*/children")
                    for pid in path.read_text().split()]
        self.stop(signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Spawner:
    """Starts app processes for one test and stops whatever is left at its end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[AppProcess] = []

    def __call__(self, argv: list[str], **env: str) -> AppProcess:
        name = Path(argv[0]).name
        log_path = self.directory / f"{len(self.started)}-{name}.log"
        process = AppProcess(argv, log_path, env)
        self.started.append(process)
        return process

    def until_ready(self, argv: list[str], ready: str, **env: str) -> AppProcess:
        """Start a worker and wait until its log says ``ready``; fail if it exits first."""
        process = self(argv, **env)
        wait_until(lambda: ready in process.log() or process.proc.poll() is not None,
                   timeout=40, what=f"{Path(argv[0]).name} to be ready")
        assert process.proc.poll() is None, process.log()
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()
