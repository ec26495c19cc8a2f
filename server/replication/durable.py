"""The replication history kept on disk beside the log, so that a master restarted
after a crash (``kill -9``) still knows its replication id, its offset and the
backlog's bytes, and answers a replica that comes back with ``+CONTINUE``: Redis
7.0 forgets all three and makes every replica load a full snapshot again.

``replication-backlog`` in the data directory is one header line, then the newest
bytes of the stream::

    caskd-backlog 1 <boot id|clean> <replid> <replid2> <second_replid_offset> <first byte>\\n

The stream's bytes are appended at each commit, just before the log's own write
of the same loop iteration (Server.commit), so after a process crash the file
ends where the log does. It is trusted on start only where that holds: after a
clean shutdown (``clean``), or after a crash of the process on the same boot of
the machine (the kernel's boot id). After a power loss or a reboot the OS may
have kept the log's bytes and lost the file's, or the other way round, so a new
history begins (replicas resync fully), as in Redis; which is also why the file
needs no fsync of its own but at a clean shutdown. The file is rewritten whole
(written aside, fsynced, renamed) when it has grown to twice the backlog, and on
every change of the history's ids.
"""

from __future__ import annotations

import os
from pathlib import Path

from server.replication.backlog import Backlog

FILE_NAME = "replication-backlog"
MAGIC = b"caskd-backlog"
VERSION = b"1"
CLEAN = b"clean"
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> bytes:
    """This boot of the machine (Linux's); elsewhere nothing tells reboots apart,
    so only a clean shutdown's file is trusted."""
    try:
        return _BOOT_ID.read_bytes().strip()
    except OSError:
        return b"unknown-boot"


class History:
    """What a data directory's file says: the ids, the offsets, the bytes."""

    def __init__(self, replid: str, replid2: str, second_replid_offset: int,
                 first_byte_offset: int, data: bytes) -> None:
        self.replid, self.replid2 = replid, replid2
        self.second_replid_offset = second_replid_offset
        self.first_byte_offset = first_byte_offset
        self.data = data

    @property
    def offset(self) -> int:
        """master_repl_offset: the number of the last byte."""
        return self.first_byte_offset + len(self.data) - 1


def load(directory: Path) -> tuple[History | None, str]:
    """The history the directory's file keeps, if it can be trusted; and why not."""
    path = directory / FILE_NAME
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return None, "no replication history kept"
    header, _, data = content.partition(b"\n")
    fields = header.split(b" ")
    if len(fields) != 7 or fields[:2] != [MAGIC, VERSION]:
        return None, "the replication history file is not one caskd wrote"
    if fields[2] not in (CLEAN, boot_id()):
        return None, "the machine restarted since the replication history was written"
    try:
        history = History(fields[3].decode(), fields[4].decode(), int(fields[5]),
                          int(fields[6]), data)
    except ValueError:
        return None, "the replication history file's header is damaged"
    return history, ""


class BacklogFile:
    """The file, kept in step with the backlog (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / FILE_NAME
        self.fd = -1
        self.size = 0
        self.written_offset = 0  # the stream's bytes up to here are in the file
        self.replid = ""  # the id its header names

    def rewrite(self, replid: str, replid2: str, second_replid_offset: int,
                backlog: Backlog, offset: int, clean: bool = False) -> None:
        """Write the file afresh (aside, fsynced, renamed) from the backlog."""
        self.close()
        header = b" ".join((MAGIC, VERSION, CLEAN if clean else boot_id(), replid.encode(),
                            replid2.encode(), b"%d" % second_replid_offset,
                            b"%d" % backlog.first_byte_offset)) + b"\n"
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "wb") as out:
            out.write(header + backlog.data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.size = len(header) + backlog.histlen
        self.written_offset = offset
        self.replid = replid
        if not clean:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, backlog: Backlog, offset: int) -> bool:
        """Append the stream's bytes written since the last call; False when the file
        has grown past twice the backlog and should be rewritten."""
        new = offset - self.written_offset
        if new <= 0 or self.fd < 0:
            return True
        data = backlog.since(offset - new + 1) if new <= backlog.histlen else b""
        if len(data) != new:  # more came than the backlog keeps: only a rewrite can do
            return False
        os.write(self.fd, data)
        self.size += new
        self.written_offset = offset
        return self.size <= 2 * backlog.size + 4096

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
