"""Replication with Redis's own protocol (PSYNC, the RDB transfer, the command stream).

:class:`Replication` is the server's replication state, as Redis keeps it in
``server.replid``/``server.master_repl_offset``/``server.repl_backlog``: one object
that both sides share. ``master.py`` serves replicas (REPLCONF, PSYNC/SYNC, the
backlog, WAIT); ``replica.py`` follows a master (REPLICAOF, loading its RDB,
applying its stream). A replica feeds the stream it applies into its own backlog
(Redis's replicationFeedStreamFromMasterStream), so its offset is the master's and
it can serve sub-replicas, and be promoted, without a full resync.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.app import Server


def new_replid() -> str:
    """40 random hex digits, as Redis's changeReplicationId."""
    return os.urandom(20).hex()


class Replication:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.replid = new_replid()
        self.replid2 = "0" * 40  # the previous master's id, after a promotion
        self.second_replid_offset = -1  # up to which offset replid2 is valid
        self.offset = 0  # master_repl_offset: bytes of replication stream so far

    def feed(self, data: bytes) -> None:
        """Stand-in (the master side's adds the backlog and sub-replicas): advance the
        offset by the stream bytes applied."""
        self.offset += len(data)

    def shift_replid(self) -> None:
        """Stand-in for Redis's shiftReplicationId: the current id becomes the
        previous one, valid up to this offset, and a new id starts."""
        self.replid2 = self.replid
        self.second_replid_offset = self.offset + 1
        self.replid = new_replid()
