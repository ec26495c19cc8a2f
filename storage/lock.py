"""The data directory's LOCK file: one process at a time uses a directory.

caskd holds an exclusive ``flock`` on ``DIR/LOCK`` for as long as it runs and
writes its pid there (for the error a second opener gets); ``caskd-check --fix``
takes the same lock, so it never repairs a log a running server appends to.
The lock goes with the process, however it ends: nothing stale is left behind.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from storage.errors import DirectoryLocked
from storage.segment import FILE_MODE

LOCK_NAME = "LOCK"


def try_lock(directory: Path, *, create: bool = True) -> int | None:
    """An fd holding the directory's lock, or None if another process holds it.
    Without ``create``, a directory with no LOCK file raises FileNotFoundError."""
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    fd = os.open(directory / LOCK_NAME, flags, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return None
        raise
    return fd


def lock_directory(directory: Path) -> int:
    """Take the directory for this process (the engine): the lock's fd, with our
    pid written in the file; DirectoryLocked names the holder's pid otherwise."""
    fd = try_lock(directory)
    if fd is None:
        try:
            holder = (directory / LOCK_NAME).read_text(errors="replace").strip()
        except OSError:
            holder = ""
        raise DirectoryLocked(
            f"The data directory {directory} is in use by another caskd process "
            f"(pid {holder or 'unknown'}); stop it or choose another --dir")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
