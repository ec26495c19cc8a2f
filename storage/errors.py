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
