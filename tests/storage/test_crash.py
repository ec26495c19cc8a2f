"""Crash tests: a real child process writes through the engine and is killed
with SIGKILL at random moments (and, for compaction, at each of its file
operations in turn). After each kill the directory must open with every change
the child reported safe, and hold exactly the state after some prefix of the
changes it made.

Short by default; CASKD_CRASH_CYCLES=50 makes the random-kill tests longer.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from itertools import islice
from pathlib import Path

import pytest

from storage.engine import Engine

from .crash_writer import KEYS, apply, changes

ROOT = Path(__file__).resolve().parents[2]
CYCLES = int(os.environ.get("CASKD_CRASH_CYCLES", "4"))


class Child:
    """A running crash_writer, its stdout collected by a thread."""

    def __init__(self, directory: Path, policy: str, seed: int, cycle: int, mode: str,
                 die_at: int = -1) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crash_writer", str(directory), policy,
             str(seed), str(cycle), mode, str(die_at)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            if raw.endswith(b"\n"):
                self.lines.append(raw.decode().strip())

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while "ready" not in self.lines:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"child did not start: {self.proc.stderr.read()!r}")
            time.sleep(0.005)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.finish()

    def finish(self) -> int:
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        self.stderr = self.proc.stderr.read().decode()
        return self.proc.returncode

    def last(self, kind: str) -> int:
        marks = [int(line.split()[1]) for line in self.lines if line.startswith(kind + " ")]
        return max(marks, default=-1)


def merge_processes(directory: Path) -> list[int]:
    """Pids of compaction child processes working on ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"storage.compaction" in cmdline and str(directory).encode() in cmdline:
                found.append(int(entry.name))
    return found


def recovered_state(directory: Path) -> dict:
    engine = Engine(directory, fsync="no")
    try:
        return {(db, key): engine.get(db, key) for db in (0, 1) for key in engine.keys(db)}
    finally:
        engine.close()


def check_prefix(before: dict, recovered: dict, seed: int, cycle: int, safe: int,
                 flushed: int) -> int:
    """The recovered state is the state after changes 0..k for some k >= safe.
    Returns k. (k may pass the last reported flush: a kill can land between a
    flush and its report, and rotation flushes without a report; the search
    stops a generous distance after it.)"""
    model = dict(before)
    if safe < 0 and model == recovered:
        return -1
    for k, change in enumerate(islice(changes(seed, cycle), flushed + 5000)):
        apply(model, change)
        if k >= safe and model == recovered:
            return k
    missing = {key for key in model if key not in recovered}
    raise AssertionError(
        f"cycle {cycle}: recovered state is no prefix from change {safe} on "
        f"(flushed up to {flushed}); e.g. missing {sorted(missing)[:3]}")


def run_cycles(tmp_path: Path, policy: str, mode: str, seed: int) -> None:
    directory = tmp_path / "data"
    rng = random.Random(seed)
    state: dict = {}
    progressed = 0
    for cycle in range(CYCLES):
        child = Child(directory, policy, seed, cycle, mode)
        child.wait_ready()
        time.sleep(rng.uniform(0.05, 0.4))
        child.kill()
        assert child.proc.returncode == -signal.SIGKILL, child.stderr
        deadline = time.monotonic() + 5
        while merge_processes(directory):  # a merge dies with the process that ran it
            assert time.monotonic() < deadline, "a compaction process outlived its parent"
            time.sleep(0.01)
        durable, flushed = child.last("D"), child.last("F")
        assert durable <= flushed
        safe = durable if policy == "always" else flushed  # a process crash keeps flushed data
        recovered = recovered_state(directory)
        k = check_prefix(state, recovered, seed, cycle, safe, flushed)
        progressed += k >= 0
        state = recovered
    assert progressed, "the child never got to write anything"
    assert set(state) <= set(KEYS)


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_kill_during_writes(tmp_path, policy):
    run_cycles(tmp_path, policy, "plain", seed=11 if policy == "always" else 12)


def test_kill_during_writes_and_compactions(tmp_path):
    run_cycles(tmp_path, "always", "compact", seed=13)


def test_kill_at_each_file_operation_of_a_compaction(tmp_path):
    """Kill the child just before its n-th file operation after a compaction
    starts, for n = 0, 1, 2, … until one compaction completes: every step of the
    merge, the renames and the deletion of the inputs is a crash point."""
    seed = 21
    points = 0
    for n in range(10_000):
        directory = tmp_path / f"data{n}"
        child = Child(directory, "always", seed, 0, "compact", die_at=n)
        code = child.finish()
        if code == 0:
            assert "done" in child.lines
            break
        assert code == -signal.SIGKILL, child.stderr
        points += 1
        recovered = recovered_state(directory)
        check_prefix({}, recovered, seed, 0, child.last("D"), child.last("F"))
        # The recovered directory goes on working, compaction included.
        engine = Engine(directory, fsync="no")
        engine.put(0, b"after", b"crash")
        engine.start_compaction()
        engine.close()
        assert recovered_state(directory) == {**recovered, (0, b"after"): b"crash"}
    assert points >= 8, "compaction did fewer file operations than expected"
