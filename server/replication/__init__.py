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
import time
from typing import TYPE_CHECKING

from server.replication.backlog import Backlog
from server.replication.master import Master

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
        self.backlog: Backlog | None = None  # made with the first replica (or by following)
        # The replica side sets it while this server follows a master: its stream then
        # comes from there (feed()), and its own commands' effects are not propagated.
        self.following = False
        # Whether commands' effects go to the stream (a backlog, and no master): the
        # dispatcher and the change events look at it (server/dispatch.py, changes.py).
        self.propagating = False
        self.dirty = 0  # changes reported by the engine (Redis's server.dirty)
        self.master = Master(self)
        self._last_cron = time.monotonic()

    # ------------------------------------------------------------ the stream

    def feed(self, data: bytes) -> None:
        """Append ``data`` to the replication stream: advance the offset, keep it in
        the backlog, send it to every replica (Redis's feedReplicationBuffer). With
        no backlog there is no stream to keep: nothing happens, as in Redis."""
        backlog = self.backlog
        if backlog is None:
            return
        self.offset += len(data)
        backlog.append(data)
        self.master.send(data)

    def create_backlog(self) -> None:
        """createReplicationBacklog: its first byte is the next of the stream."""
        self.backlog = Backlog(self.server.config["repl-backlog-size"], self.offset)
        self.refresh()

    def drop_backlog(self) -> None:
        self.backlog = None
        self.refresh()

    def refresh(self) -> None:
        """Whether to propagate changed: tell the dispatcher and the engine."""
        propagating = self.backlog is not None and not self.following
        if propagating != self.propagating:
            self.propagating = propagating
            self.server.refresh_observed()

    # ------------------------------------------------------------ history

    def new_history(self) -> None:
        """changeReplicationId and clearReplicationId2: no replica's offset can be
        continued from any more."""
        self.replid = new_replid()
        self.replid2 = "0" * 40
        self.second_replid_offset = -1

    def shift_replid(self) -> None:
        """shiftReplicationId, on promotion: the old history stays valid up to here,
        so the master's other replicas continue from the new master with +CONTINUE."""
        self.replid2 = self.replid
        # The replicas ask for the first byte they lack: our offset + 1.
        self.second_replid_offset = self.offset + 1
        self.replid = new_replid()
        self.server.log.info("Setting secondary replication ID to %s, valid up to offset: "
                             "%d. New replication ID is %s", self.replid2,
                             self.second_replid_offset, self.replid)

    # ------------------------------------------------------------ upkeep

    def cron(self) -> None:
        """Every server tick: send the deletions active expiry made (one unit, as
        activeExpireCycle's propagatePendingCommands), and once a second the
        master's upkeep (PINGs, timeouts, the backlog's TTL)."""
        if self.propagating:
            self.master.flush()
        now = time.monotonic()
        if now - self._last_cron >= 1:
            self._last_cron = now
            if self.backlog is not None and self.backlog.size != \
                    self.server.config["repl-backlog-size"]:
                self.backlog.resize(self.server.config["repl-backlog-size"])
            self.master.cron()

    def info_fields(self) -> dict:
        """INFO replication for a master, Redis's fields in Redis's order."""
        backlog = self.backlog
        return {
            "role": "master", **self.master.info_fields(),
            "master_failover_state": "no-failover",
            "master_replid": self.replid, "master_replid2": self.replid2,
            "master_repl_offset": self.offset, "second_repl_offset": self.second_replid_offset,
            "repl_backlog_active": int(backlog is not None),
            "repl_backlog_size": self.server.config["repl-backlog-size"],
            "repl_backlog_first_byte_offset": backlog.first_byte_offset if backlog else 0,
            "repl_backlog_histlen": backlog.histlen if backlog else 0,
        }
