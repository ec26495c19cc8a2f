"""The replication backlog: the last ``repl-backlog-size`` bytes of the replication
stream, so that a replica that lost its link continues where it stopped (PSYNC
answered ``+CONTINUE``) instead of loading a whole new snapshot.

Offsets are Redis's: the stream's bytes are numbered from 1, ``master_repl_offset``
is the number of the last one, and a replica asks with PSYNC for the first byte it
lacks (its offset + 1). Redis keeps a list of 16 KB blocks; one ``bytearray``
trimmed from the front once it is a block past its size does the same here.
"""

from __future__ import annotations

TRIM_SLACK = 16 * 1024  # Redis trims its backlog by whole 16 KB blocks too


class Backlog:
    def __init__(self, size: int, offset: int) -> None:
        """An empty backlog whose first byte will be stream byte ``offset + 1``."""
        self.size = size
        self.data = bytearray()
        self.first_byte_offset = offset + 1  # repl_backlog_first_byte_offset

    @property
    def histlen(self) -> int:
        """How many bytes it holds (repl_backlog_histlen)."""
        return len(self.data)

    def append(self, data: bytes) -> None:
        self.data += data
        excess = len(self.data) - self.size
        if excess > TRIM_SLACK:
            del self.data[:excess]
            self.first_byte_offset += excess

    def resize(self, size: int) -> None:
        """CONFIG SET repl-backlog-size: keep the newest ``size`` bytes."""
        self.size = size
        excess = len(self.data) - size
        if excess > 0:
            del self.data[:excess]
            self.first_byte_offset += excess

    def covers(self, offset: int) -> bool:
        """Whether a replica whose next byte is ``offset`` can continue from here
        (masterTryPartialResynchronization: an offset just past the end too)."""
        return self.first_byte_offset <= offset <= self.first_byte_offset + len(self.data)

    def since(self, offset: int) -> bytes:
        """The stream from byte ``offset`` to the end (addReplyReplicationBacklog)."""
        return bytes(self.data[offset - self.first_byte_offset:])
