"""Replication with Redis's own protocol (PSYNC, the RDB transfer, the command stream).

:class:`Replication` is the server's replication state, as Redis keeps it in
``server.replid``/``server.master_repl_offset``/``server.repl_backlog``: one object
that both sides share. ``master.py`` serves replicas (REPLCONF, PSYNC/SYNC, the
backlog, WAIT); ``replica.py`` follows a master (REPLICAOF, loading its RDB,
applying its stream). A replica feeds the stream it applies into its own backlog
(Redis's replicationFeedStreamFromMasterStream), so its offset is the master's and
it can serve sub-replicas, and be promoted, without a full resync.

What the replica side uses: ``server.master_link`` while it follows a master (its
own commands' effects are then not propagated: the stream is its master's, passed on
with :meth:`feed`, whose first bytes make the backlog), and :meth:`shift_replid` on
promotion, once ``master_link`` is None again. ``durable.py`` keeps the history on
disk whichever side writes it.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING

from server.replication import durable
from server.replication.backlog import Backlog
from server.replication.master import SNAPSHOT_GLOB, Master

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
        self.dirty = 0  # changes reported by the engine (Redis's server.dirty)
        self.master = Master(self)
        self.file: durable.BacklogFile | None = None  # the history on disk (durable.py)
        self._last_cron = time.monotonic()

    @property
    def following(self) -> bool:
        """Whether this server follows a master (the replica side's ``master_link``):
        its stream then comes from there, passed on with feed()."""
        return getattr(self.server, "master_link", None) is not None

    @property
    def propagating(self) -> bool:
        """Whether commands' effects go to the stream: a backlog, and no master. The
        dispatcher and the change events look at it (server/dispatch.py, changes.py)."""
        return self.backlog is not None and not self.following

    # ------------------------------------------------------------ the stream

    def before_command(self, session) -> int:
        """The dispatcher, before a command while anything observes: deletions made
        before it (evictions, as performEvictions runs before call()) go as their own
        unit; returns the dirty count to tell whether the command changed anything."""
        if self.master.pending and not session.in_exec:
            self.master.flush()
        return self.dirty

    def feed(self, data: bytes) -> None:
        """Append ``data`` to the replication stream: advance the offset, keep it in
        the backlog, send it to every replica (Redis's feedReplicationBuffer). A
        master without a backlog has no stream to keep: nothing happens, as in
        Redis; a replica makes its backlog with the first bytes from its master."""
        backlog = self.backlog
        if backlog is None:
            if not self.following:
                return
            self.create_backlog()
            backlog = self.backlog
        elif backlog.first_byte_offset + backlog.histlen != self.offset + 1:
            # The offset was set anew (a replica's +FULLRESYNC): what the backlog held
            # is another stretch of history, which no replica may be sent.
            self.backlog = backlog = Backlog(backlog.size, self.offset)
            self._rewrite_file()
        self.offset += len(data)
        backlog.append(data)
        self.master.send(data)

    def create_backlog(self) -> None:
        """createReplicationBacklog: its first byte is the next of the stream."""
        self.backlog = Backlog(self.server.config["repl-backlog-size"], self.offset)
        self.refresh()
        self._rewrite_file()

    def drop_backlog(self) -> None:
        self.backlog = None
        self.refresh()
        if self.file is not None:
            self.file.remove()
            self.file = None

    # ------------------------------------------------------------ on disk

    def restore(self) -> None:
        """At start: take the history the data directory kept, if it is trusted
        (server/replication/durable.py), so that replicas continue from it."""
        if self.backlog is not None:  # DEBUG RELOAD: the history in memory is current
            return
        for leftover in self.server.engine.directory.glob(SNAPSHOT_GLOB):
            leftover.unlink()  # a snapshot a killed caskd was writing for a replica
        history, why = durable.load(self.server.engine.directory)
        if history is None:
            if durable.FILE_NAME in os.listdir(self.server.engine.directory):
                self.server.log.warning("Replication history not restored: %s; a new one "
                                        "begins", why)
                (self.server.engine.directory / durable.FILE_NAME).unlink()
            return
        self.replid, self.replid2 = history.replid, history.replid2
        self.second_replid_offset = history.second_replid_offset
        self.offset = history.offset
        self.backlog = Backlog(self.server.config["repl-backlog-size"],
                               history.first_byte_offset - 1)
        self.backlog.append(history.data)
        self.refresh()
        self._rewrite_file()  # marked with this boot, no longer clean
        self.server.log.info("Replication history restored: replication ID %s, offset %d, "
                             "%d bytes of backlog", self.replid, self.offset,
                             self.backlog.histlen)

    def persist(self) -> None:
        """Append the stream's new bytes to the file: called just before the log's
        write of the same loop iteration (Server.commit)."""
        file = self.file
        if file is not None and file.replid != self.replid:
            self._rewrite_file()  # the ids changed behind our back (a replica's sync)
        elif file is not None and file.written_offset != self.offset:
            try:
                if not file.append(self.backlog, self.offset):
                    self._rewrite_file()
            except OSError as exc:
                self._abandon_file(exc)

    def close(self) -> None:
        """A clean shutdown: the file is complete, and trusted on any later start."""
        if self.file is not None and self.backlog is not None:
            self._rewrite_file(clean=True)

    def _rewrite_file(self, clean: bool = False) -> None:
        if self.backlog is None:
            return
        if self.file is None:
            self.file = durable.BacklogFile(self.server.engine.directory)
        try:
            self.file.rewrite(self.replid, self.replid2, self.second_replid_offset,
                              self.backlog, self.offset, clean)
        except OSError as exc:
            self._abandon_file(exc)

    def _abandon_file(self, exc: OSError) -> None:
        """The disk refused the file: it no longer matches the log, so it must go."""
        self.server.log.warning("Could not write the replication history (%s): a restart "
                                "will begin a new one", exc.strerror or exc)
        file, self.file = self.file, None
        with contextlib.suppress(OSError):
            file.remove()

    def refresh(self) -> None:
        """Whether to propagate may have changed: tell the dispatcher and the engine."""
        self.server.refresh_observed()

    # ------------------------------------------------------------ history

    def new_history(self) -> None:
        """changeReplicationId and clearReplicationId2: no replica's offset can be
        continued from any more."""
        self.replid = new_replid()
        self.replid2 = "0" * 40
        self.second_replid_offset = -1
        self._rewrite_file()

    def shift_replid(self) -> None:
        """shiftReplicationId, on promotion: the old history stays valid up to here,
        so the master's other replicas continue from the new master with +CONTINUE."""
        self.replid2 = self.replid
        # The replicas ask for the first byte they lack: our offset + 1.
        self.second_replid_offset = self.offset + 1
        self.replid = new_replid()
        self.refresh()  # a promoted replica propagates its own commands from now on
        self.server.log.info("Setting secondary replication ID to %s, valid up to offset: "
                             "%d. New replication ID is %s", self.replid2,
                             self.second_replid_offset, self.replid)
        self._rewrite_file()

    # ------------------------------------------------------------ upkeep

    def cron(self) -> None:
        """Every server tick: send the deletions active expiry made (one unit, as
        activeExpireCycle's propagatePendingCommands), and once a second the
        master's upkeep (PINGs, timeouts, the backlog's TTL)."""
        if self.propagating:
            self.master.flush()
        if self.file is not None and self.file.written_offset != self.offset:
            # Stream written outside a command (expiry, PINGs, a PUBLISH answered at
            # once): the commit writes it to the file and the log together.
            self.server.commit()
        now = time.monotonic()
        if now - self._last_cron >= 1:
            self._last_cron = now
            if self.backlog is not None and self.backlog.size != \
                    self.server.config["repl-backlog-size"]:
                self.backlog.resize(self.server.config["repl-backlog-size"])
            self.master.cron()

    def info_fields(self) -> dict:
        """INFO replication, Redis's fields in Redis's order: a replica's own (its
        master's address, the link's state: replica.py) come first."""
        backlog = self.backlog
        link = self.server.master_link
        return {
            **({"role": "master"} if link is None else link.info_fields()),
            **self.master.info_fields(),
            "master_failover_state": "no-failover",
            "master_replid": self.replid, "master_replid2": self.replid2,
            "master_repl_offset": self.offset, "second_repl_offset": self.second_replid_offset,
            "repl_backlog_active": int(backlog is not None),
            "repl_backlog_size": self.server.config["repl-backlog-size"],
            "repl_backlog_first_byte_offset": backlog.first_byte_offset if backlog else 0,
            "repl_backlog_histlen": backlog.histlen if backlog else 0,
        }
