"""This server as a replica: following a master with Redis's protocol (replication.c's
replica side: connectWithMaster, syncWithMaster, readSyncBulkPayload, replicationCron).

:class:`MasterLink` is ``server.master_link`` while the server replicates (REPLICAOF
host port, or ``replicaof`` in the config), None on a master. One asyncio task runs the
link: connect, the handshake (PING, AUTH, REPLCONF listening-port / ip-address / capa
eof capa psync2), PSYNC with this server's replication id and offset (or ``? -1``),
then either +CONTINUE, or +FULLRESYNC and the master's RDB (``$len`` or the diskless
``$EOF:<mark>`` form) received into a temp file and loaded (server/replication/load.py)
as one atomic replace of the data. Then the command stream: parsed as a client's
requests, run through the dispatcher with a session of its own that sends no replies
(but REPLCONF ACK), each applied command's bytes fed to ``Replication.feed`` so the
offset is the master's. On link loss (or repl-timeout of silence) it reconnects once
a second and tries PSYNC again.

The replication id, offset and the master's db are kept with the data as the engine's
``replication`` metadata, written in the same log batch as the commands they count, so
a replica restarted even after ``kill -9`` resumes with PSYNC where its data stands
(Redis 7.0 keeps them only in an RDB it saved at shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from protocol import ProtocolError, RequestParser
from protocol.reply import encode
from server.acl import User
from server.blocking import Blocked
from server.commands import transactions
from server.commands.registry import LOADING, STALE, Command
from server.pause import Postponed
from server.replication import load, state
from server.session import Session
from storage import rdb
from storage.engine import DELETE_EXPIRED, HIDE_EXPIRED, KEEP_EXPIRED

if TYPE_CHECKING:
    from server.app import Server

READONLY_ERROR = "READONLY You can't write against a read only replica."
MASTERDOWN_ERROR = ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is "
                    "set to 'no'.")
LOADING_ERROR = "LOADING Redis is loading the dataset in memory"

EOF_MARK_SIZE = 40  # RDB_EOF_MARK_SIZE
READ_SIZE = 1 << 16  # PROTO_IOBUF_LEN

# repl_state, as ROLE names them (slaveIsInHandshakeState is "handshake").
CONNECT, CONNECTING, HANDSHAKE, TRANSFER, CONNECTED = (
    "connect", "connecting", "handshake", "sync", "connected")


_AUTH_ERRORS = ("-NOAUTH", "-NOPERM", "-ERR operation not permitted")


class LinkError(Exception):
    """The link failed; the message says why (logged, then a reconnection)."""


class TryLater(LinkError):
    """The master cannot serve a PSYNC now (-LOADING, -NOMASTERLINK)."""


def master_user() -> User:
    """The master's client runs as Redis's does: with no user, so no ACL limit."""
    user = User(b"master")
    user.enabled = user.nopass = user.all_commands = user.all_keys = user.all_channels = True
    user.refresh()
    return user


class MasterLink:
    """Following ``host``:``port`` (see the module docstring)."""

    def __init__(self, server: Server, host: str, port: int) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.state = CONNECT
        self.loading = False  # the master's RDB is being loaded: -LOADING for most
        self.session = self._master_session()
        # Our Replication's id and offset are worth offering to PSYNC: we synced with
        # a master before, were one, or restarted with the state saved with the data.
        self.can_continue = False
        self.read_offset = 0  # master stream bytes received (slave_read_repl_offset)
        self.applied_offset = 0  # ...and applied (slave_repl_offset, what ACK says)
        self.last_io = time.time()
        self.down_since = 0.0  # repl_down_since: 0 while never connected
        self.transfer_size = -1
        self.transfer_read = 0
        self._unapplied: list[bytes] = []  # a transaction received, not yet applied
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None

    def _master_session(self) -> Session:
        session = Session(self.server, address=f"{self.host}:{self.port}")
        session.user = master_user()
        session.authenticated = True
        return session

    # ---------------------------------------------------------- life cycle

    def start(self, continue_from: state.State | None) -> None:
        """Start following. ``continue_from``: the replication id, offset and db to
        PSYNC with (our own, or saved with the data), None for ``? -1``."""
        replication = self.server.replication
        if continue_from is not None:
            replication.replid, replication.offset, self.session.db = continue_from
            self.applied_offset = self.read_offset = replication.offset
            self.can_continue = True
        self.server.engine.expiry = HIDE_EXPIRED
        self.server.log.info("Connecting to MASTER %s:%d", self.host, self.port)
        self._task = self.server.loop.create_task(self._run())

    def stop(self) -> None:
        """Stop following (REPLICAOF NO ONE, another master, shutdown)."""
        self.state = CONNECT  # a link closed on purpose is not "lost"
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._close()
        self.server.engine.expiry = DELETE_EXPIRED

    def drop_connection(self) -> bool:
        """CLIENT KILL TYPE master: close the link (it reconnects with PSYNC); False
        if it was not up."""
        if self.state != CONNECTED or self._writer is None:
            return False
        self._writer.close()
        return True

    def engine_reopened(self) -> None:
        """DEBUG RELOAD opened the data again: the master's session and the expiry
        rule follow the new engine."""
        self.session.engine = self.server.engine
        self.server.engine.expiry = HIDE_EXPIRED

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def _run(self) -> None:
        """Redis's replicationCron for a replica: connect, sync, follow; reconnect a
        second after any failure."""
        log = self.server.log
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except TryLater as exc:
                log.info("Master is currently unable to PSYNC but should be in the "
                         "future: %s", exc)
            except (LinkError, OSError, asyncio.IncompleteReadError, ProtocolError,
                    rdb.RdbError) as exc:
                log.warning("%s", exc or type(exc).__name__)
            except Exception:  # a bug here must not end replication for good
                log.exception("Replication failed; trying again")
            finally:
                self._link_down()
            await asyncio.sleep(1)
            log.info("Reconnecting to MASTER %s:%d after failure", self.host, self.port)

    def _link_down(self) -> None:
        """Redis's replicationHandleMasterDisconnection (and replicationCacheMaster):
        a transaction half received is dropped, the offset is what was applied."""
        if self.state == CONNECTED:
            self.down_since = time.time()
            self.server.log.info("Connection with master lost.")
        self.state = CONNECT
        self.loading = False
        self.read_offset = self.applied_offset
        self._unapplied.clear()
        if self.session.multi is not None:
            transactions.end_transaction(self.session)
        self._close()

    # ---------------------------------------------------------- the link

    async def _follow(self) -> None:
        timeout = self.server.config["repl-timeout"]
        self.state = CONNECTING
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), timeout)
        except TimeoutError:
            raise LinkError("Timeout connecting to the MASTER...") from None
        except OSError as exc:
            raise LinkError(f"Unable to connect to MASTER: {exc.strerror or exc}") from None
        self.server.log.info("MASTER <-> REPLICA sync started")
        self.state = HANDSHAKE
        self.last_io = time.time()
        await self._handshake(reader)
        full = await self._psync(reader)
        if full is not None:
            await self._full_sync(reader, *full)
        self.state = CONNECTED
        self.down_since = 0
        await self._stream(reader)

    async def _send(self, *args: bytes | str | int) -> None:
        argv = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
        self._writer.write(encode(argv))
        await self._writer.drain()

    async def _line(self, reader: asyncio.StreamReader) -> str:
        """One reply line, skipping the empty lines a master sends to keep the link
        alive while it prepares (receiveSynchronousResponse)."""
        timeout = self.server.config["repl-timeout"]
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), timeout)
            except TimeoutError:
                raise LinkError("Master did not respond to command during SYNC "
                                "handshake") from None
            if not line:
                raise LinkError("Master closed the connection during the handshake")
            self.last_io = time.time()
            text = line.rstrip(b"\r\n").decode(errors="replace")
            if text:
                return text

    async def _handshake(self, reader: asyncio.StreamReader) -> None:
        """syncWithMaster's steps up to PSYNC."""
        config = self.server.config
        await self._send("PING")
        reply = await self._line(reader)
        # As Redis: an auth error here is fine, AUTH comes next.
        if reply.startswith("-") and not reply.startswith(_AUTH_ERRORS):
            raise LinkError(f"Error reply to PING from master: '{reply}'")
        self.server.log.info("Master replied to PING, replication can continue...")
        if config["masterauth"]:
            credentials = ([config["masteruser"]] if config["masteruser"] else []) + [
                config["masterauth"]]
            await self._send("AUTH", *credentials)
            reply = await self._line(reader)
            if reply.startswith("-"):
                raise LinkError(f"Unable to AUTH to MASTER: {reply}")
        port = config["replica-announce-port"] or config["port"]
        await self._send("REPLCONF", "listening-port", port)
        await self._line(reader)  # an old master's error is not fatal (as Redis)
        if config["replica-announce-ip"]:
            await self._send("REPLCONF", "ip-address", config["replica-announce-ip"])
            await self._line(reader)
        await self._send("REPLCONF", "capa", "eof", "capa", "psync2")
        await self._line(reader)

    async def _psync(self, reader: asyncio.StreamReader) -> tuple[str, int] | None:
        """slaveTryPartialResynchronization: None for +CONTINUE, (replid, offset)
        for +FULLRESYNC."""
        replication, log = self.server.replication, self.server.log
        if self.can_continue:
            replid, offset = replication.replid, str(replication.offset + 1)
            log.info("Trying a partial resynchronization (request %s:%s).", replid, offset)
        else:
            log.info("Partial resynchronization not possible (no cached master)")
            replid, offset = "?", "-1"
        await self._send("PSYNC", replid, offset)
        reply = await self._line(reader)
        if reply.startswith("+FULLRESYNC"):
            parts = reply.split()
            if len(parts) != 3 or len(parts[1]) != 40 or not parts[2].isdigit():
                raise LinkError("Master replied with wrong +FULLRESYNC syntax.")
            log.info("Full resync from master: %s:%s", parts[1], parts[2])
            return parts[1], int(parts[2])
        if reply.startswith("+CONTINUE"):
            log.info("Successful partial resynchronization with master.")
            new_id = reply[10:].strip()
            if len(new_id) == 40 and new_id != replication.replid:
                log.warning("Master replication ID changed to %s", new_id)
                replication.replid2 = replication.replid
                replication.second_replid_offset = replication.offset + 1
                replication.replid = new_id
            log.info("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            return None
        if reply.startswith(("-NOMASTERLINK", "-LOADING")):
            raise TryLater(reply)
        if reply.startswith("-ERR"):
            raise LinkError(f"Master does not support PSYNC or is in error state (reply: "
                            f"{reply})")
        raise LinkError(f"Unexpected reply to PSYNC from master: {reply}")

    # ---------------------------------------------------------- full sync

    async def _full_sync(self, reader: asyncio.StreamReader, replid: str,
                         offset: int) -> None:
        """readSyncBulkPayload: the RDB to a temp file, then loaded in place of
        the data, with the replication id and offset, as one atomic change."""
        self.state = TRANSFER
        path = Path(self.server.config["dir"]) / f"temp-{os.getpid()}.{int(time.time())}.rdb"
        try:
            await self._receive_rdb(reader, path)
            await self._load(path, replid, offset)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    async def _receive_rdb(self, reader: asyncio.StreamReader, path: Path) -> None:
        header = await self._line(reader)
        if not header.startswith("$"):
            raise LinkError(f"Bad protocol from MASTER, the first byte is not '$' (we "
                            f"received '{header}'), are you sure the host and port are "
                            f"right?")
        mark = header[5:].encode() if header.startswith("$EOF:") else None
        if mark is not None and len(mark) != EOF_MARK_SIZE:
            raise LinkError("Bad EOF mark from MASTER")
        self.transfer_size = -1 if mark is not None else int(header[1:])
        self.transfer_read = 0
        log = self.server.log
        if mark is None:
            log.info("MASTER <-> REPLICA sync: receiving %d bytes from master to disk",
                     self.transfer_size)
        else:
            log.info("MASTER <-> REPLICA sync: receiving streamed RDB from master with "
                     "EOF to disk")
        timeout = self.server.config["repl-timeout"]
        tail = b""  # the last bytes read: the EOF mark ends a diskless transfer
        with path.open("wb") as out:
            while True:
                wanted = READ_SIZE if mark is not None else min(
                    READ_SIZE, self.transfer_size - self.transfer_read)
                if mark is None and wanted == 0:
                    break
                try:
                    chunk = await asyncio.wait_for(reader.read(wanted), timeout)
                except TimeoutError:
                    raise LinkError("Timeout receiving bulk data from MASTER... If the "
                                    "problem persists try to set the 'repl-timeout' "
                                    "parameter in redis.conf to a larger value.") from None
                if not chunk:
                    raise LinkError("I/O error trying to sync with MASTER: connection lost")
                self.last_io = time.time()
                self.transfer_read += len(chunk)
                out.write(chunk)
                if mark is not None:
                    tail = (tail + chunk)[-EOF_MARK_SIZE:]
                    if tail == mark:
                        out.truncate(self.transfer_read - EOF_MARK_SIZE)
                        break
            out.flush()

    async def _load(self, path: Path, replid: str, offset: int) -> None:
        server, log = self.server, self.server.log
        engine = server.engine
        self.loading = True
        log.info("MASTER <-> REPLICA sync: Flushing old data")
        log.info("MASTER <-> REPLICA sync: Loading DB in memory")
        try:
            with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) \
                    as data, load.replacing(engine, len(data)):
                state.save(engine, None)
                loader = load.RdbLoader(server, data, keep_expired=True)
                newline_sent = time.monotonic()
                while not loader.load_some(load.LOAD_SLICE):
                    if time.monotonic() - newline_sent >= 1:  # replicationSendNewlineToMaster
                        newline_sent = time.monotonic()
                        self._writer.write(b"\n")
                    await asyncio.sleep(0)
                state.save(engine, (replid, offset, loader.stream_db))
        finally:
            self.loading = False
        # Redis: the master's id and offset are ours now, replid2 cleared.
        replication = server.replication
        replication.replid, replication.offset = replid, offset
        replication.replid2, replication.second_replid_offset = "0" * 40, -1
        self.session.db = loader.stream_db
        self.applied_offset = self.read_offset = offset
        self.can_continue = True
        log.info("MASTER <-> REPLICA sync: Finished with success")

    # ---------------------------------------------------------- the stream

    async def _stream(self, reader: asyncio.StreamReader) -> None:
        """Apply the master's commands as they come, ACK once a second."""
        parser = RequestParser(proto_max_bulk_len=1 << 62, max_inline_size=1 << 62)
        timeout = self.server.config["repl-timeout"]
        self._send_ack()  # at once: a master streams to a new replica after its first ACK
        ack = self.server.loop.create_task(self._ack_every_second())
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
                except TimeoutError:
                    raise LinkError("MASTER timeout: no data nor PING received...") from None
                if not data:
                    raise LinkError("Connection with master lost.")
                self.last_io = time.time()
                self.read_offset += len(data)
                parser.feed(data)
                commands = parser.get_commands()
                while commands:  # the rest waits while CLIENT PAUSE holds one
                    commands = self.apply(commands)
                    if commands:
                        await self.server.pause.ended()
        finally:
            ack.cancel()

    async def _ack_every_second(self) -> None:
        while True:
            await asyncio.sleep(1)
            self._send_ack()

    def _send_ack(self) -> None:
        """replicationSendAck."""
        if self._writer is not None:
            self._writer.write(encode([b"REPLCONF", b"ACK", b"%d" % self.applied_offset]))

    def apply(self, commands: list[list[bytes]]) -> list[list[bytes]]:
        """Run the master's commands, as Redis's processCommandAndResetClient for its
        master client: replies go nowhere, the applied offset moves only outside MULTI,
        and what was applied goes on to our own backlog (Redis's
        replicationFeedStreamFromMasterStream), stored with its offset in the same
        log batch. Returns the commands a CLIENT PAUSE holds, from the first one held
        (Redis pauses its master client too), to apply once the pause ends."""
        server = self.server
        engine = server.engine
        session = self.session
        unapplied = self._unapplied  # a transaction's commands so far (MULTI, ...)
        held: list[list[bytes]] = []
        engine.expiry = KEEP_EXPIRED  # the master decides when a key expires
        try:
            with engine.batch():
                before = self.applied_offset
                for i, argv in enumerate(commands):
                    if argv[0].lower() == b"replconf":
                        self._replconf(argv)
                    elif not self._execute(argv):
                        held = commands[i:]
                        break
                    unapplied.append(encode(argv))
                    if session.multi is None:
                        applied = b"".join(unapplied)
                        unapplied.clear()
                        self.applied_offset += len(applied)
                        server.replication.feed(applied)
                if self.applied_offset != before:
                    state.save(engine, (server.replication.replid, self.applied_offset,
                                        session.db))
        finally:
            engine.expiry = HIDE_EXPIRED
        return held

    def _execute(self, argv: list[bytes]) -> bool:
        """Run one command for the master; False if a pause holds it."""
        try:
            self.server.dispatcher.execute(self.session, argv)
        except Postponed:
            return False
        except Blocked:  # a master sends effects, never a command that waits
            self.server.log.warning("A blocking command from the master: %r", argv[:1])
        return True

    def _replconf(self, argv: list[bytes]) -> None:
        """REPLCONF GETACK from the master: ACK at once, with the offset of what was
        applied before it (Redis's replconfCommand)."""
        if len(argv) >= 2 and argv[1].lower() == b"getack":
            self._send_ack()

    # ---------------------------------------------------------- clients

    def refusal(self, session: Session, command: Command) -> str | None:
        """Why a client's command is refused on this replica (processCommand's
        READONLY, MASTERDOWN and LOADING checks), None if it may run. EXEC is judged
        by the commands it would run."""
        if session is self.session:
            return None
        commands = [command]
        if command.full_name == "exec" and session.multi:
            commands += [queued for queued, _ in session.multi]
        if self.refuses_writes(session) and any(c.is_write for c in commands):
            return READONLY_ERROR
        if self.refuses_stale(session) and any(STALE not in c.flag_set for c in commands):
            return MASTERDOWN_ERROR
        if self.loading and any(LOADING not in c.flag_set for c in commands):
            return LOADING_ERROR
        return None

    def refuses_writes(self, session: Session) -> bool:
        """replica-read-only: writes are the master's alone."""
        return session is not self.session and self.server.config["replica-read-only"]

    def refuses_stale(self, session: Session) -> bool:
        """replica-serve-stale-data no, and the link is down."""
        return session is not self.session and self.state != CONNECTED and \
            not self.server.config["replica-serve-stale-data"]

    # ---------------------------------------------------------- what it shows

    def info_fields(self) -> dict:
        """INFO replication's replica fields, as Redis's genRedisInfoString."""
        now = time.time()
        config = self.server.config
        fields = {
            "role": "slave", "master_host": self.host, "master_port": self.port,
            "master_link_status": "up" if self.state == CONNECTED else "down",
            "master_last_io_seconds_ago": int(now - self.last_io)
            if self.state == CONNECTED else -1,
            "master_sync_in_progress": int(self.state == TRANSFER),
            "slave_read_repl_offset": self.read_offset,
            "slave_repl_offset": self.applied_offset,
        }
        if self.state == TRANSFER:
            size = self.transfer_size
            fields.update({
                "master_sync_total_bytes": size, "master_sync_read_bytes": self.transfer_read,
                "master_sync_left_bytes": size - self.transfer_read,
                "master_sync_perc": "%.2f" % (self.transfer_read / size * 100 if size > 0
                                              else 0),
                "master_sync_last_io_seconds_ago": int(now - self.last_io)})
        if self.state != CONNECTED:
            fields["master_link_down_since_seconds"] = int(now - self.down_since) \
                if self.down_since else -1
        fields.update({"slave_priority": config["replica-priority"],
                       "slave_read_only": int(config["replica-read-only"]),
                       "replica_announced": int(config["replica-announced"])})
        return fields

    def role(self) -> list:
        """ROLE's replica form: slave, host, port, state, offset."""
        offset = self.applied_offset if self.state == CONNECTED else -1
        return [b"slave", self.host.encode(), self.port, self.state.encode(), offset]
