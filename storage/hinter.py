"""Scheduling the hint writer: sealed segments get their hint file from a child
process (``python -m storage.hints``), one batch at a time, never while a
compaction runs (it is about to replace those segments and hints its own)."""

from __future__ import annotations

import logging
import subprocess
from contextlib import suppress
from pathlib import Path

from storage.child import spawn
from storage.hints import write_segment_hint
from storage.segment import hint_path

log = logging.getLogger("caskd.storage")

HINTER_CLOSE_TIMEOUT = 10.0  # seconds close() gives the writing of hint files


class HintWriter:
    def __init__(self) -> None:
        self.unhinted: list[Path] = []  # sealed segments waiting for a hint file
        self.process: subprocess.Popen | None = None  # the child writing hint files
        self._hinting: list[Path] = []  # the segments it writes them for

    def sealed(self, path: Path) -> None:
        """``path`` was sealed (or found without a hint): it is due a hint file."""
        self.unhinted.append(path)

    def step(self, compacting: bool) -> None:
        """Reap a finished writer; start one for the segments waiting, if any."""
        if self.process is not None:
            if self.process.poll() is None:
                return
            self._reap()
        if not self.unhinted or compacting:
            return
        paths, self.unhinted = self.unhinted, []
        try:
            self.process = spawn("storage.hints", {"segments": [str(p) for p in paths]},
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        except OSError as exc:  # no hints: these segments are scanned at start-up
            log.warning("Cannot start a process to write hint files: %s", exc)
            return
        self._hinting = paths

    def _reap(self, timeout: float | None = None) -> None:
        """Reap the hint writer (killing it after ``timeout`` seconds)."""
        process, self.process = self.process, None
        try:
            _, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
        if process.returncode:
            for path in self._hinting:  # a temp file it may have left
                hint_path(path).with_suffix(".hint.tmp").unlink(missing_ok=True)
            if process.returncode > 0:
                log.warning("Writing hint files failed (exit status %d): %s",
                            process.returncode, errors.decode(errors="replace")[-500:])

    def stop(self) -> None:
        """Drop the hint files still to write, stopping the writer if it runs."""
        self.unhinted = []
        if self.process is not None:
            self.process.kill()
            self._reap()

    def finish(self) -> None:
        """At close: let a running writer finish, and hint the rest here (no
        clients to keep waiting), so the next start scans no sealed segment."""
        if self.process is not None:
            self._reap(timeout=HINTER_CLOSE_TIMEOUT)
        for path in self.unhinted:
            with suppress(OSError):  # a hint only saves time: the segment is scanned
                write_segment_hint(path)
        self.unhinted = []
