"""The master side of replication, as Redis 7.0.15's replication.c serves replicas.

A replica connects as a client and says who it is (REPLCONF listening-port,
ip-address, capa eof psync2), then PSYNC <replid> <offset>:

- ``+CONTINUE <replid>`` and the backlog from its offset on, when this server's
  history (its replid, or replid2 up to second_replid_offset) and the backlog
  cover where the replica stopped (masterTryPartialResynchronization);
- otherwise ``+FULLRESYNC <replid> <offset>``, an RDB snapshot of the data set as
  it was at ``offset`` (written by a forked child: storage/snapshot.py), sent as
  ``$EOF:<mark>...<mark>`` to a replica that has ``capa eof`` while
  ``repl-diskless-sync`` is on, else as a ``$<length>`` bulk; the stream written
  since the fork was buffered for it and follows.

From then on every command that changed the data set is fed, as its effects
(server/replication/effects.py), to the stream: the backlog and every online
replica. A command's effects and those of what it ran (EXEC's commands, a
script's calls, a lazy expiry) are one unit, wrapped in MULTI/EXEC when there
is more than one, as Redis's propagatePendingCommands does. The replicas
answer REPLCONF ACK <offset> every second, which WAIT and min-replicas-to-write
count on.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING

from protocol.reply import Error, encode
from server.commands.objects import encoding
from server.replication.effects import FORCED, NOT_PROPAGATED, SELF_JUDGED, effects
from storage.engine import now_ms
from storage.snapshot import fork_rdb

if TYPE_CHECKING:
    from server.commands.registry import Command
    from server.replication import Replication
    from server.session import Session

# Replica states as INFO names them (replstateToString).
WAIT_BGSAVE = "wait_bgsave"
SEND_BULK = "send_bulk"
ONLINE = "online"

SEND_CHUNK = 256 * 1024
SEND_HIGH_WATER = 1 << 20  # the RDB is read from its file only as the socket drains
SEND_POLL_SECONDS = 0.005
PING = encode([b"PING"])
GETACK = encode([b"REPLCONF", b"GETACK", b"*"])
MULTI = [b"MULTI"]
EXEC = [b"EXEC"]
EOF_MARK_BYTES = 40  # RDB_EOF_MARK_SIZE
SNAPSHOT_GLOB = "temp-caskd-sync-*.rdb"  # the files snapshots are written to


class ReplicaLink:
    """One replica's side of the link (Redis's CLIENT_SLAVE client fields)."""

    def __init__(self, session: Session, capa: set[bytes], listening_port: int,
                 announced_ip: str | None) -> None:
        self.session = session
        self.capa = capa
        self.listening_port = listening_port
        self.announced_ip = announced_ip
        self.state = WAIT_BGSAVE
        self.pre_psync = False  # came with SYNC: sends no ACKs
        self.ack_offset = 0
        self.ack_time = time.time()
        self.buffer: list[bytes] = []  # the stream, while it cannot be sent yet
        self.buffered = 0
        self.stream_on_ack = False  # diskless: the stream starts after the first ACK
        self.attached = False  # to the snapshot under way (else it waits for the next)
        self.sender: asyncio.Task | None = None

    @property
    def ip(self) -> str:
        return self.announced_ip or self.session.address.rsplit(":", 1)[0]

    @property
    def transport(self):
        peer = self.session.peer
        return None if peer is None or peer.closed else peer.transport

    def send(self, data: bytes) -> None:
        """The stream: written at once when online, else kept for later."""
        if self.state == ONLINE and not self.stream_on_ack:
            transport = self.transport
            if transport is not None:
                transport.write(data)
            return
        self.buffer.append(data)
        self.buffered += len(data)

    def release_buffer(self) -> None:
        transport = self.transport
        if transport is not None and self.buffer:
            transport.write(b"".join(self.buffer))
        self.buffer.clear()
        self.buffered = 0


class Snapshot:
    """A forked child writing the RDB for the replicas waiting on it."""

    def __init__(self, offset: int, diskless: bool) -> None:
        self.offset = offset  # the stream offset the snapshot stands at
        self.diskless = diskless
        self.links: list[ReplicaLink] = []  # see attach()
        self.pid = 0
        self.path = ""
        self.done_fd = -1

    def attach(self, link: ReplicaLink) -> None:
        """``link`` gets this snapshot, and meanwhile keeps the stream from its offset."""
        link.attached = True
        self.links.append(link)


class Master:
    def __init__(self, replication: Replication) -> None:
        self.replication = replication
        self.server = replication.server
        self.links: dict[int, ReplicaLink] = {}  # by session id, in attach order
        self.handshakes: dict = {}  # session id -> its REPLCONF so far (commands/replication)
        self.pending: list[tuple[int, list[bytes]]] = []  # (db, argv): the unit's effects
        self.selected_db = -1  # the db the stream last SELECTed (Redis's slaveseldb)
        self.snapshot: Snapshot | None = None
        self.snapshot_timer: asyncio.TimerHandle | None = None
        self.waiting: list[tuple[Session, int, int]] = []  # WAIT: (client, offset, replicas)
        self.ack_requested = False
        self.no_replicas_since = time.monotonic()
        self.last_ping = time.monotonic()
        self.good_replicas = 0
        self.sync_full = self.sync_partial_ok = self.sync_partial_err = 0
        self.total_forks = self.latest_fork_usec = 0  # INFO stats
        self._snapshots = 0

    # ------------------------------------------------------------ propagation

    def after_command(self, session: Session, command: Command, argv: list[bytes],
                      reply: object, dirty: int) -> None:
        """Called by the dispatcher after each command while propagating (Redis's
        call(): a command that changed something, or must go anyway, is added to
        the unit's effects; the outermost call sends the unit)."""
        name = command.full_name
        if name not in NOT_PROPAGATED and (self.replication.dirty != dirty or (
                (name in FORCED or name in SELF_JUDGED) and type(reply) is not Error)):
            db = session.db
            self.pending.extend((db, effect) for effect in effects(session, name, argv, reply))
        if not session.in_exec:
            self.flush()

    def deleted(self, db: int, key: bytes, lazy_setting: str) -> None:
        """A key expired (or was evicted): its deletion goes to the stream
        (propagateDeletion), with the command that met it, or alone."""
        name = b"UNLINK" if self.server.config[lazy_setting] else b"DEL"
        self.pending.append((db, [name, key]))

    def flush(self) -> None:
        """Send the unit's effects (propagatePendingCommands): wrapped in MULTI/EXEC
        when there are several."""
        pending = self.pending
        if not pending:
            return
        self.pending = []
        if len(pending) > 1:
            pending = [(pending[0][0], MULTI), *pending, (pending[-1][0], EXEC)]
        out = []
        for db, argv in pending:
            if db != self.selected_db and argv is not EXEC:
                out.append(encode([b"SELECT", b"%d" % db]))
                self.selected_db = db
            out.append(encode(argv))
        self.replication.feed(b"".join(out))

    def send(self, data: bytes) -> None:
        """Bytes of the stream (Replication.feed has counted and kept them): to every
        replica but those waiting for a snapshot still to be started."""
        for link in self.links.values():
            if link.attached:
                link.send(data)
                if link.buffered and link.buffered > self._hard_limit():
                    self._drop(link, "overcoming of output buffer limits")

    # -------------------------------------------------------------- handshake

    def psync(self, session: Session, replid: str, offset: int, capa: set[bytes],
              listening_port: int, announced_ip: str | None) -> None:
        """PSYNC (or SYNC, with ``replid`` None): +CONTINUE or a full resync."""
        link = ReplicaLink(session, capa, listening_port, announced_ip)
        log = self.server.log
        log.info("Replica %s asks for synchronization", self._name(link))
        if replid is not None:
            if self._try_partial(link, replid, offset):
                self.sync_partial_ok += 1
                return
            if replid != "?":
                self.sync_partial_err += 1
        else:
            link.pre_psync = True
        self.sync_full += 1
        self._attach(link)
        if self.replication.backlog is None:
            # syncCommand: a backlog made from scratch starts a new history.
            self.replication.new_history()
            self.replication.create_backlog()
            log.info("Replication backlog created, my new replication IDs are '%s' and '%s'",
                     self.replication.replid, self.replication.replid2)
        diskless = self.server.config["repl-diskless-sync"] and b"eof" in capa
        snapshot = self.snapshot
        if snapshot is not None and snapshot.pid == 0 and snapshot.diskless == diskless:
            snapshot.attach(link)  # not forked yet: it will cover this replica too
            return
        if snapshot is not None and not snapshot.diskless and not diskless:
            # Case 1 of syncCommand: a disk snapshot under way serves it too, from the
            # same offset, with what the stream has buffered since.
            donor = snapshot.links[0] if snapshot.links else None
            if donor is not None:
                link.buffer, link.buffered = list(donor.buffer), donor.buffered
                snapshot.attach(link)
                self._full_resync_reply(link, snapshot.offset)
                log.info("Waiting for end of BGSAVE for SYNC")
                return
        if snapshot is not None:
            log.info("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
            return  # started for it once the current one ends (see _snapshot_done)
        self._new_snapshot([link], diskless)

    def _try_partial(self, link: ReplicaLink, replid: str, offset: int) -> bool:
        """masterTryPartialResynchronization."""
        replication = self.replication
        log = self.server.log
        if replid != replication.replid and (replid != replication.replid2
                                             or offset > replication.second_replid_offset):
            if replid == "?":
                log.info("Full resync requested by replica %s", self._name(link))
            elif replid not in (replication.replid, replication.replid2):
                log.info("Partial resynchronization not accepted: Replication ID mismatch "
                         "(Replica asked for '%s', my replication IDs are '%s' and '%s')",
                         replid, replication.replid, replication.replid2)
            else:
                log.info("Partial resynchronization not accepted: Requested offset for "
                         "second ID was %d, but I can reply up to %d", offset,
                         replication.second_replid_offset)
            return False
        backlog = replication.backlog
        if backlog is None or not backlog.covers(offset):
            log.info("Unable to partial resync with replica %s for lack of backlog (Replica "
                     "request was: %d).", self._name(link), offset)
            if offset > replication.offset:
                log.warning("Warning: replica %s tried to PSYNC with an offset that is "
                            "greater than the master replication offset.", self._name(link))
            return False
        self._attach(link)
        link.state = ONLINE
        link.attached = True
        link.ack_time = time.time()
        reply = (b"+CONTINUE %s\r\n" % replication.replid.encode() if b"psync2" in link.capa
                 else b"+CONTINUE\r\n")
        data = backlog.since(offset)
        link.transport.write(reply + data)
        log.info("Partial resynchronization request from %s accepted. Sending %d bytes of "
                 "backlog starting from offset %d.", self._name(link), len(data), offset)
        self.refresh_good_replicas()
        return True

    def _attach(self, link: ReplicaLink) -> None:
        session = link.session
        self.links[session.id] = link
        session.replica = link
        peer = session.peer
        if peer is not None:
            peer.set_output_limits(self.server.pubsub.output_limits(session))
        self.server.replication.refresh()

    def _full_resync_reply(self, link: ReplicaLink, offset: int) -> None:
        """replicationSetupSlaveForFullResync: the stream re-selects its db for it."""
        self.selected_db = -1
        if not link.pre_psync and link.transport is not None:
            link.transport.write(b"+FULLRESYNC %s %d\r\n"
                                 % (self.replication.replid.encode(), offset))

    # --------------------------------------------------------------- snapshots

    def _new_snapshot(self, links: list[ReplicaLink], diskless: bool) -> None:
        snapshot = self.snapshot = Snapshot(self.replication.offset, diskless)
        for link in links:
            snapshot.attach(link)
        delay = self.server.config["repl-diskless-sync-delay"] if diskless else 0
        if delay:
            self.server.log.info("Delay next BGSAVE for diskless SYNC")
            self.snapshot_timer = self.server.loop.call_later(delay, self._fork, snapshot)
        else:
            self._fork(snapshot)

    def _fork(self, snapshot: Snapshot) -> None:
        """startBgsaveForReplication: fork the child writing the RDB; the replicas
        get +FULLRESYNC with the offset it stands at."""
        self.snapshot_timer = None
        server = self.server
        snapshot.links = [link for link in snapshot.links if link.transport is not None]
        if not snapshot.links:
            self.snapshot = None
            return
        self.flush()
        snapshot.offset = self.replication.offset
        self._snapshots += 1
        snapshot.path = os.path.join(server.config["dir"], SNAPSHOT_GLOB.replace(
            "*", f"{os.getpid()}-{self._snapshots}"))
        server.log.info("Starting BGSAVE for SYNC with target: %s",
                        "replicas sockets" if snapshot.diskless else "disk")
        for link in snapshot.links:
            self._full_resync_reply(link, snapshot.offset)
        aux = {b"redis-ver": server.redis_version.encode(), b"redis-bits": b"64",
               b"ctime": b"%d" % time.time(), b"used-mem": b"0",
               b"repl-stream-db": b"0", b"repl-id": self.replication.replid.encode(),
               b"repl-offset": b"%d" % snapshot.offset, b"aof-base": b"0"}
        read_fd, snapshot.done_fd = os.pipe()
        started = time.perf_counter_ns()
        try:
            snapshot.pid = fork_rdb(server.engine, snapshot.path, aux, encoding, now_ms(),
                                    snapshot.done_fd, read_fd)
        except OSError as exc:  # no memory or processes left for the child
            os.close(read_fd)
            os.close(snapshot.done_fd)
            self.snapshot = None
            server.log.warning("Can't save in background: fork: %s", exc.strerror)
            for link in snapshot.links:
                self._drop(link, "BGSAVE failed, replication can't continue")
            return
        os.close(snapshot.done_fd)
        self.total_forks += 1
        self.latest_fork_usec = (time.perf_counter_ns() - started) // 1000
        server.loop.add_reader(read_fd, self._snapshot_done, snapshot, read_fd)
        server.log.info("Background RDB transfer started by pid %d", snapshot.pid)

    def _snapshot_done(self, snapshot: Snapshot, read_fd: int) -> None:
        """The child exited: send the file to each replica waiting on it."""
        server = self.server
        server.loop.remove_reader(read_fd)
        status = os.read(read_fd, 1)
        os.close(read_fd)
        os.waitpid(snapshot.pid, 0)
        self.snapshot = None
        if status != b"0":
            server.log.warning("BGSAVE for replication failed")
            for link in snapshot.links:
                self._drop(link, "BGSAVE failed, replication can't continue")
        else:
            server.log.info("Background RDB transfer terminated with success")
            for link in snapshot.links:
                if link.transport is None:
                    continue
                link.state = SEND_BULK
                rdb = open(snapshot.path, "rb")  # noqa: SIM115 (the sender closes it)
                link.sender = server.loop.create_task(self._send_rdb(link, rdb,
                                                                     snapshot.diskless))
        if os.path.exists(snapshot.path):
            os.unlink(snapshot.path)  # each sender has its own handle on it
        waiting = [link for link in self.links.values() if not link.attached]
        if waiting:  # replicas that came while it ran: the next snapshot is theirs
            self._new_snapshot(waiting, all(self.server.config["repl-diskless-sync"]
                                            and b"eof" in link.capa for link in waiting))

    async def _send_rdb(self, link: ReplicaLink, file, diskless: bool) -> None:
        """sendBulkToSlave / the diskless pipe: the header, the file read as the
        socket drains, then the stream buffered meanwhile."""
        with file:
            size = os.fstat(file.fileno()).st_size
            mark = os.urandom(EOF_MARK_BYTES // 2).hex().encode() if diskless else b""
            transport = link.transport
            if transport is None:
                return
            transport.write(b"$EOF:%s\r\n" % mark if diskless else b"$%d\r\n" % size)
            while chunk := file.read(SEND_CHUNK):
                transport = link.transport
                if transport is None:
                    return
                transport.write(chunk)
                # Waiting for the socket to drain (flow control's callbacks belong
                # to the connection, which serves the replica's ACKs meanwhile).
                while transport.get_write_buffer_size() > SEND_HIGH_WATER:
                    await asyncio.sleep(SEND_POLL_SECONDS)
                    if link.transport is None:
                        return
            transport.write(mark)
        link.sender = None
        link.state = ONLINE
        link.ack_time = time.time()
        if diskless:
            # The replica reads the payload until the mark: whatever followed it in
            # the same read would be lost, so the stream waits for its first ACK.
            link.stream_on_ack = True
        else:
            link.release_buffer()
        self.server.log.info("Synchronization with replica %s succeeded", self._name(link))
        self.refresh_good_replicas()

    # ------------------------------------------------------------------ acks

    def ack(self, session: Session, offset: int) -> None:
        """REPLCONF ACK <offset>: how far the replica has applied the stream."""
        link = self.links.get(session.id)
        if link is None:
            return
        link.ack_offset = max(link.ack_offset, offset)
        link.ack_time = time.time()
        if link.stream_on_ack and link.state == ONLINE:
            link.stream_on_ack = False
            link.release_buffer()
        if self.waiting:
            self.serve_waiting()

    def acks_for(self, offset: int) -> int:
        """replicationCountAcksByOffset."""
        return sum(1 for link in self.links.values()
                   if link.state == ONLINE and link.ack_offset >= offset)

    def request_acks(self) -> None:
        """Ask every replica for an ACK, once per loop iteration (Redis's
        get_ack_from_slaves, sent in beforeSleep)."""
        if not self.ack_requested:
            self.ack_requested = True
            self.server.loop.call_soon(self._send_getack)

    def _send_getack(self) -> None:
        self.ack_requested = False
        if self.links:
            self.replication.feed(GETACK)

    def wait(self, session: Session, replicas: int, timeout: float) -> int | None:
        """WAIT: the count at once if enough replicas have the stream so far (or the
        client is in MULTI), else None, having parked the client."""
        offset = self.replication.offset
        acked = self.acks_for(offset)
        if acked >= replicas or session.in_exec:
            return acked
        entry = (session, offset, replicas)
        self.waiting.append(entry)
        if timeout:
            self.server.loop.call_later(timeout, self._wait_timeout, entry)
        self.request_acks()
        return None

    def _wait_timeout(self, entry: tuple[Session, int, int]) -> None:
        if entry in self.waiting:
            self.waiting.remove(entry)
            self.server.blocking.unblock(entry[0], self.acks_for(entry[1]))

    def serve_waiting(self) -> None:
        """processClientsWaitingReplicas."""
        for entry in list(self.waiting):
            session, offset, replicas = entry
            acked = self.acks_for(offset)
            if acked >= replicas:
                self.waiting.remove(entry)
                self.server.blocking.unblock(session, acked)

    # ------------------------------------------------------------------ cron

    def cron(self) -> None:
        """replicationCron's master half, once a second."""
        now = time.monotonic()
        config = self.server.config
        if self.links and not self.replication.following and \
                now - self.last_ping >= config["repl-ping-replica-period"]:
            self.last_ping = now
            self.replication.feed(PING)  # with no SELECT: Redis feeds it in slaveseldb
            # (A replica passes its master's PINGs on instead: they come through feed().)
        for link in list(self.links.values()):
            if link.state == WAIT_BGSAVE and link.transport is not None:
                link.transport.write(b"\n")  # keeps the replica's read timeout at bay
            elif link.state == ONLINE and not link.pre_psync and \
                    time.time() - link.ack_time > config["repl-timeout"]:
                self._drop(link, "timeout")
        backlog_ttl = config["repl-backlog-ttl"]
        if not self.links and self.replication.backlog is not None and backlog_ttl and \
                not self.replication.following and now - self.no_replicas_since > backlog_ttl:
            # A master without replicas for so long drops its backlog and history.
            self.replication.new_history()
            self.replication.drop_backlog()
            self.server.log.info("Replication backlog freed after %d seconds without "
                                 "connected replicas.", backlog_ttl)
        self.refresh_good_replicas()

    def refresh_good_replicas(self) -> None:
        """refreshGoodSlavesCount: online replicas that acked within the max lag."""
        config = self.server.config
        if not (config["min-replicas-to-write"] and config["min-replicas-max-lag"]):
            self.good_replicas = 0
            self.server.dispatcher.too_few_replicas = False
            return
        now = time.time()
        self.good_replicas = sum(1 for link in self.links.values() if link.state == ONLINE
                                 and now - link.ack_time <= config["min-replicas-max-lag"])
        # checkGoodReplicasStatus failing: writes get -NOREPLICAS (see the dispatcher).
        enough = self.good_replicas >= config["min-replicas-to-write"]
        self.server.dispatcher.too_few_replicas = not (enough or self.replication.following)

    # ---------------------------------------------------------------- leaving

    def forget(self, session: Session) -> None:
        """A client's connection closed: a replica's, or one waiting in WAIT."""
        if self.waiting:
            self.waiting = [entry for entry in self.waiting if entry[0] is not session]
        self.handshakes.pop(session.id, None)
        link = self.links.pop(session.id, None)
        if link is None:
            return
        if link.sender is not None:
            link.sender.cancel()
        if self.snapshot is not None and link in self.snapshot.links:
            self.snapshot.links.remove(link)
        self.server.log.info("Connection with replica %s lost.", self._name(link))
        if not self.links:
            self.no_replicas_since = time.monotonic()
        self.refresh_good_replicas()

    def _drop(self, link: ReplicaLink, why: str) -> None:
        self.server.log.warning("Disconnecting replica %s: %s", self._name(link), why)
        link.session.close()

    def _hard_limit(self) -> int:
        return self.server.config["client-output-buffer-limit"]["slave"][0] or 1 << 62

    @staticmethod
    def _name(link: ReplicaLink) -> str:
        """replicationGetSlaveName: ip:port as announced."""
        return f"{link.ip}:{link.listening_port}"

    # ------------------------------------------------------------ reporting

    def info_fields(self) -> dict:
        """INFO replication's replica lines and min-replicas figure."""
        fields: dict = {"connected_slaves": len(self.links)}
        config = self.server.config
        if config["min-replicas-to-write"] and config["min-replicas-max-lag"]:
            fields["min_slaves_good_slaves"] = self.good_replicas
        now = time.time()
        for number, link in enumerate(self.links.values()):
            lag = int(now - link.ack_time) if link.state == ONLINE else 0
            fields[f"slave{number}"] = (f"ip={link.ip},port={link.listening_port},"
                                        f"state={link.state},offset={link.ack_offset},"
                                        f"lag={lag}")
        return fields

    def role_replicas(self) -> list[list[bytes]]:
        """ROLE's list of online replicas: ip, port, acked offset."""
        return [[link.ip.encode(), b"%d" % link.listening_port, b"%d" % link.ack_offset]
                for link in self.links.values() if link.state == ONLINE]
