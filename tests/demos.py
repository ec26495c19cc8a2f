"""Running the `make *-demo` launchers (scripts/*_demo.py) as a user does: as a
subprocess that prints a banner, serves until a signal, then stops everything."""

from __future__ import annotations

import queue
import random
import socket
import subprocess
import threading
import time
from pathlib import Path

from scripts.twemproxy import HOST
from tests.support import ROOT


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


class Demo:
    """A demo launcher as a subprocess; its output is collected line by line as it comes."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the banner's last line: everything is up by then."""
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
    """Command lines of running processes that name ``path``: a demo's processes all
    do, so none may be left once it has exited."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:  # exited meanwhile
            continue
        if any(str(path) in arg for arg in args):
            found.append(" ".join(args))
    return found
