"""The storage engine's exceptions (all importable from :mod:`storage.engine` too)."""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """A problem opening or using a data directory."""


class DirectoryLocked(StorageError):
    pass


class CorruptValue(StorageError):
    """A value read for a client failed its checksum: the disk changed it."""

    def __init__(self, path: Path, offset: int) -> None:
        super().__init__(f"the value's record in {path.name} at offset {offset} failed its "
                         f"checksum (corrupted on disk); 'caskd-check' reports the damage")
        self.path = path
        self.offset = offset


class CorruptLog(StorageError):
    """A bad record before the end of the log: refuse to start, say how to repair."""

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        super().__init__(
            f"Bad record in {path} at offset {offset} ({reason}). The log is corrupted; "
            f"run 'caskd-check --fix {path.parent}' to truncate it at the last good record "
            f"(what it would drop is shown first)."
        )
        self.path = path
        self.offset = offset
