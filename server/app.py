"""The server: listens, dispatches commands through the table, runs the cron.

All commands run on the event-loop thread, so the engine has a single writer.
Once per loop iteration :meth:`Server.commit` flushes the log with one write and
sends the replies that waited for it (a read's go out at once: see
:meth:`server.transport.Connection.may_send_now`); under ``appendfsync always``
replies wait until the fsync thread reports their writes durable (group commit).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import ssl
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from protocol.reply import Error
from server import info as info_module
from server import observe
from server.acl import Acl, AclFileError
from server.blocking import BlockedClients
from server.changes import Changes
from server.commands import objects
from server.commands.migrate import MigrateSockets
from server.commands.registry import Command, renamed
from server.commands.table import COMMANDS, TABLE
from server.config import Config
from server.dispatch import Dispatcher
from server.heap import HeapTrimmer
from server.latency import LatencyMonitor
from server.maxmemory import Maxmemory
from server.notifications import Notifications
from server.pause import ClientPause
from server.pubsub import PubSub
from server.replication import Replication
from server.replication import state as replication_state
from server.replication.replica import MasterLink
from server.scripting.run import Scripting
from server.security import DENIED, TlsConfigError, protected_mode_refuses, server_context
from server.session import Session
from server.tracking import ClientTracking
from server.transport import Connection
from server.watch import Watches
from storage.engine import Engine

if TYPE_CHECKING:
    from protocol import ProtocolError
    from server.http import HttpListener

REDIS_VERSION = "7.0.15"
CASKD_VERSION = "0.1.0"
# Why an optional (``-``) bind address is skipped rather than fatal (Redis's listenToPort).
_UNAVAILABLE_ADDRESS = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.ENOPROTOOPT,
                                  errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT,
                                  errno.EPFNOSUPPORT})


class Server:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.log = logging.getLogger("caskd")
        self.redis_version = REDIS_VERSION
        self.caskd_version = CASKD_VERSION
        self.run_id = os.urandom(20).hex()  # 40 hex digits, as Redis's
        self.started = time.time()
        self.command_table: list[Command] = TABLE
        try:
            self.commands: dict[bytes, Command] = renamed(COMMANDS, config.renames)
        except ValueError as exc:
            raise SystemExit(f"*** FATAL CONFIG FILE ERROR ***\n{exc}") from None
        self.acl = self._load_acl()
        self.dispatcher = Dispatcher(self, self.commands)
        self.clients: dict[int, Session] = {}  # every connected client's, by id
        self.holding: set[Connection] = set()
        self._to_commit: list[Connection] = []
        self._commit_scheduled = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[asyncio.base_events.Server] = []
        self.http: HttpListener | None = None  # the http-port's (server/http/)
        self._stopped: asyncio.Event | None = None
        self.last_save = int(time.time())
        self.stats = info_module.Stats()
        self.engine: Engine | None = None
        self.query_buffer_limit = config["client-query-buffer-limit"]
        self._refused_bytes = 0  # log bytes the disk refused, as of the last commit
        # Observers: call() does their work only while ``observed`` is set.
        self.changes = Changes(self)
        self.watches = Watches(self.refresh_observed)
        self.blocking = BlockedClients(self)
        self.pubsub = PubSub(self)
        self.notifications = Notifications(self.pubsub)
        self.notifications.configure(config["notify-keyspace-events"])
        self.tracking = ClientTracking(self)
        self.monitors: list[Session] = []
        self.observed = False
        self.pause = ClientPause(self)
        self.slowlog = observe.SlowLog(config["slowlog-max-len"])
        self.scripting = Scripting(self)
        self.replication = Replication(self)
        self._master_link: MasterLink | None = None  # while a replica (replicaof)
        self.migrate_sockets = MigrateSockets()  # MIGRATE's connections to its targets
        self.slowlog_threshold = observe.slowlog_threshold(config["slowlog-log-slower-than"])
        self.latency = LatencyMonitor()
        self.latency.threshold_ms = config["latency-monitor-threshold"]
        self.latency_threshold_us = self.latency.threshold_us
        self.bgsave_scheduled = False
        self.heap = HeapTrimmer()
        self.maxmemory = Maxmemory(self)
        objects.follow_config(config)

    @property
    def master_link(self) -> MasterLink | None:
        """The link to our master while a replica: the dispatcher's guards follow it."""
        return self._master_link

    @master_link.setter
    def master_link(self, link: MasterLink | None) -> None:
        self._master_link = link
        self.dispatcher.refresh_guards()

    # ------------------------------------------------------------- life cycle

    def _load_acl(self) -> Acl:
        """The users: the default one follows ``requirepass``; ``aclfile`` adds the rest
        (and may redefine the default user). A bad ACL file stops the start."""
        acl = Acl(TABLE, self.config["acllog-max-len"])
        acl.follow_requirepass(self.config["requirepass"])
        if self.config["aclfile"]:
            try:
                acl.load_file(Path(self.config["aclfile"]))
            except AclFileError as exc:
                raise SystemExit(f"Aborting Redis startup because of ACL errors: {exc}") \
                    from None
        return acl

    def open_storage(self) -> None:
        config = self.config
        self.engine = Engine(
            config["dir"], fsync=config["appendfsync"], segment_size=config["caskd-segment-size"],
            databases=config["databases"], on_durable=self._on_durable,
            auto_compact_percentage=config["auto-aof-rewrite-percentage"],
            auto_compact_min_size=config["auto-aof-rewrite-min-size"],
            auto_compact_dead_ratio=config["caskd-dead-ratio-percent"] / 100)
        self.refresh_observed()  # the new engine reports its changes if anyone listens
        self.maxmemory.follow_config()
        self.engine.on_latency = self.latency.record
        self.scripting.load_libraries(self.engine.libraries)
        self.replication.restore()
        stats = self.engine.stats
        self.log.info("DB loaded from disk: %.3f seconds, %d keys",
                      stats["load_seconds"], stats["loaded_keys"])

    async def serve(self) -> None:
        """Listen until SHUTDOWN or a signal, then stop gracefully."""
        self.loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        tls = self._tls_context()
        self.http = self._http_listener()
        self.open_storage()
        for port, context in ((self.config["port"], None), (self.config["tls-port"], tls)):
            try:
                await self._listen(port, context)
            except OSError as exc:
                self.engine.close()
                raise SystemExit(f"Could not listen on {self.config['bind']}:{port}: "
                                 f"{exc.strerror}") from None
        if self.http is not None:
            try:
                await self.http.start()
            except OSError as exc:
                self.engine.close()
                raise SystemExit(f"Could not listen for HTTP on port "
                                 f"{self.config['http-port']}: {exc.strerror}") from None
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.request_shutdown, signum)
        cron = self.loop.create_task(self._cron())
        self._start_replication()
        for kind, port in (("tcp", self.config["port"]), ("tls", self.config["tls-port"])):
            if port:
                self.log.info("Ready to accept connections %s on %s port %s", kind,
                              self.config["bind"], port)
        await self._stopped.wait()
        cron.cancel()
        await self._shutdown()

    def _start_replication(self) -> None:
        """Follow the ``replicaof`` master, from the replication id and offset kept with
        the data if any; a master drops them (its own writes would not be counted)."""
        saved = replication_state.saved(self.engine)
        if self.config["replicaof"]:
            host, port = self.config["replicaof"].rsplit(" ", 1)
            self.follow(host, int(port), saved)
        elif saved is not None:
            replication_state.save(self.engine, None)

    def follow(self, host: str, port: int,
               continue_from: replication_state.State | None) -> None:
        """Become a replica of ``host``:``port`` (REPLICAOF, replicaof at start)."""
        if self.master_link is not None:
            self.master_link.stop()
        self.master_link = MasterLink(self, host, port)
        self.master_link.start(continue_from)
        self.config.values["replicaof"] = f"{host} {port}"

    def unfollow(self) -> None:
        """Become a master (REPLICAOF NO ONE), keeping the data, as Redis's
        replicationUnsetMaster: a new replication id, the old one kept as replid2."""
        self.master_link.stop()
        self.master_link = None
        self.config.values["replicaof"] = ""
        self.replication.shift_replid()
        replication_state.save(self.engine, None)  # a master's writes are not counted there

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self.config["tls-port"]:
            return None
        config = self.config
        try:
            return server_context(config["tls-cert-file"], config["tls-key-file"],
                                  config["tls-ca-cert-file"], config["tls-auth-clients"])
        except TlsConfigError as exc:
            raise SystemExit(f"Failed to configure TLS: {exc}") from None

    def _http_listener(self) -> HttpListener | None:
        if not self.config["http-port"]:
            return None
        # Imported only when asked for: aiohttp's import adds about 0.2 s to a start.
        from server.http import HttpListener
        return HttpListener(self)

    async def _listen(self, port: int, tls: ssl.SSLContext | None) -> None:
        """Listen on ``port`` (0: not at all) at every ``bind`` address. As Redis's
        listenToPort: ``*`` is every IPv4 address, ``::*`` every IPv6 one, and an
        address starting with ``-`` is skipped if this machine does not have it."""
        if not port:
            return
        for address in str(self.config["bind"]).split():
            host = address.removeprefix("-")
            host = {"*": "0.0.0.0", "::*": "::"}.get(host, host)
            try:
                self._listeners.append(await self.loop.create_server(
                    lambda: Connection(self), host, port, ssl=tls,
                    backlog=self.config["tcp-backlog"], reuse_address=True))
            except OSError as exc:
                unavailable = isinstance(exc, socket.gaierror) or exc.errno in _UNAVAILABLE_ADDRESS
                if not (address.startswith("-") and unavailable):
                    raise
                self.log.warning("Could not listen on optional address %s: %s", host,
                                 exc.strerror)

    def request_shutdown(self, signum: int | None = None) -> None:
        if signum is not None:
            self.log.warning("Received %s scheduling shutdown...", signal.Signals(signum).name)
        else:
            self.log.warning("User requested shutdown...")
        if self._stopped is not None:
            self._stopped.set()

    async def _shutdown(self) -> None:
        """Stop accepting, finish replies, flush and fsync, release the directory."""
        if self.http is not None:
            await self.http.stop()  # first: its requests under way still need the engine
        for listener in self._listeners:
            listener.close()
        if self.master_link is not None:
            self.master_link.stop()
        self.commit()
        self.engine.close()
        self.replication.close()
        self.release()
        for session in list(self.clients.values()):
            session.close()
        await asyncio.sleep(0)  # let transports write what they hold
        self.log.warning("caskd is now ready to exit, bye bye...")

    # ----------------------------------------------------------- connections

    def accept(self, client: Connection) -> bytes | None:
        """Register a new connection, or return the error that turns it away (maxclients,
        protected mode)."""
        if len(self.clients) >= self.config["maxclients"]:
            self.stats.rejected_connections += 1
            return b"-ERR max number of clients reached\r\n"
        if protected_mode_refuses(self.config["protected-mode"], self.acl.default.nopass,
                                  client.transport.get_extra_info("peername")):
            self.stats.rejected_connections += 1
            return DENIED
        self.clients[client.session.id] = client.session
        self.stats.total_connections_received += 1
        sock = client.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return None

    def forget(self, client: Connection) -> None:
        session = client.session
        self.clients.pop(session.id, None)
        self.holding.discard(client)
        self.watches.unwatch_all(session)
        self.blocking.forget(session)
        self.pubsub.forget(session)
        self.tracking.disable(session)
        self.set_monitoring(session, False)
        self.replication.master.forget(session)

    def log_protocol_error(self, client: Connection, exc: ProtocolError) -> None:
        self.log.debug("Protocol error (%s) from client: id=%d addr=%s", exc,
                       client.session.id, client.session.address)

    def error_reply(self, message: str) -> Error:
        self.stats.count_error(message)
        return Error(message)

    def count_lookup(self, hit: bool) -> None:
        if hit:
            self.stats.keyspace_hits += 1
        else:
            self.stats.keyspace_misses += 1

    def refresh_observed(self) -> None:
        """Whether commands must be followed up (blocked clients to serve, MONITOR lines:
        ``observed``) and the engine must report its changes."""
        listening = self.changes.wanted
        self.observed = listening or bool(self.monitors)  # tracking included
        if self.engine is not None:
            self.engine.changes = self.changes if listening else None

    def set_monitoring(self, session: Session, on: bool) -> None:
        """MONITOR (on), RESET or a disconnect (off)."""
        if session.monitoring != on:
            session.monitoring = on
            if on:
                self.monitors.append(session)
            else:
                self.monitors.remove(session)
            self.refresh_observed()

    def reopen_storage(self) -> None:
        """DEBUG RELOAD: close the engine and load the data set again from disk."""
        self.engine.close()  # flushed and fsynced: every held reply may go now
        for client in list(self.holding):
            client.release(1 << 62)
        self.holding.clear()
        self.open_storage()
        for session in self.clients.values():
            session.engine = self.engine
        if self.master_link is not None:
            self.master_link.engine_reopened()
        self.changes.flushed(None)

    # ------------------------------------------------------- replies and log

    def schedule_commit(self, client: Connection) -> None:
        self._to_commit.append(client)
        if not self._commit_scheduled:
            self._commit_scheduled = True
            self.loop.call_soon(self.commit)

    def commit(self) -> None:
        """End of a loop iteration: one log write, then every client's replies."""
        self._commit_scheduled = False
        if self.tracking.prefixes:
            self.tracking.broadcast()  # BCAST: this iteration's changed keys, at once
        engine = self.engine
        self.replication.persist()  # the stream's bytes first: see replication/durable.py
        if engine.pending_bytes:
            started = time.perf_counter()
            engine.flush()
            self.latency.record("aof-write", time.perf_counter() - started)
        # Where this iteration's writes end; a failed flush keeps them pending. While
        # the disk refuses writes, an iteration that added none (its writes got
        # -MISCONF) waits for no refused byte: its reads and errors are answered.
        refused = engine.pending_bytes
        position = engine.position + (refused if refused != self._refused_bytes else 0)
        self._refused_bytes = refused
        released = engine.released_position()
        clients, self._to_commit = self._to_commit, []
        for client in clients:
            client.commit(position, released)

    def _on_durable(self, position: int) -> None:
        """Called from the fsync thread."""
        if self.loop is not None and self.holding:
            self.loop.call_soon_threadsafe(self.release)

    def release(self) -> None:
        released = self.engine.released_position()
        for client in list(self.holding):
            if client.release(released):
                self.holding.discard(client)

    # ------------------------------------------------------------------ cron

    async def _cron(self) -> None:
        """Redis's serverCron: upkeep ``hz`` times a second."""
        last_second = time.monotonic()
        while True:
            await asyncio.sleep(1 / self.config["hz"])
            self.engine.tick()
            self.replication.cron()
            if self.tracking:
                self.tracking.limit(self.config["tracking-table-max-keys"])
            if self.bgsave_scheduled and not self.engine.compacting:
                self.bgsave_scheduled = False
                self.engine.start_compaction()
            if self.holding:
                self.release()
            self.stats.sample(time.monotonic(), info_module.total_commands(self))
            now = time.monotonic()
            if now - last_second >= 1:
                last_second = now
                self._close_idle_clients(now)
                self.heap.check()

    def _close_idle_clients(self, now: float) -> None:
        timeout = self.config["timeout"]
        if timeout:
            for session in list(self.clients.values()):
                if now - session.last_interaction > timeout and session.multi is None \
                        and session.blocked is None:
                    session.close()

    # --------------------------------------------------------------- config

    def apply_config(self) -> None:
        """Push CONFIG SET changes to the parts that hold a copy."""
        self.query_buffer_limit = self.config["client-query-buffer-limit"]
        for session in self.clients.values():
            session.peer.parser.proto_max_bulk_len = self.config["proto-max-bulk-len"]
            session.peer.set_output_limits(self.pubsub.output_limits(session))
        if self.acl.follow_requirepass(self.config["requirepass"]):
            self.acl.default_changed(self.clients.values())
        self.acl.log_max_len = self.config["acllog-max-len"]
        engine = self.engine
        engine.auto_compact_percentage = self.config["auto-aof-rewrite-percentage"]
        engine.auto_compact_min_size = self.config["auto-aof-rewrite-min-size"]
        engine.auto_compact_dead_ratio = self.config["caskd-dead-ratio-percent"] / 100
        self.slowlog_threshold = observe.slowlog_threshold(self.config["slowlog-log-slower-than"])
        self.latency.threshold_ms = self.config["latency-monitor-threshold"]
        self.latency_threshold_us = self.latency.threshold_us
        self.slowlog.max_len = self.config["slowlog-max-len"]
        self.notifications.configure(self.config["notify-keyspace-events"])
        self.replication.master.refresh_good_replicas()
        self.refresh_observed()
        self.slowlog.trim()
        objects.follow_config(self.config)
        self.maxmemory.follow_config()
        if engine.fsync_policy != self.config["appendfsync"]:
            engine.set_fsync_policy(self.config["appendfsync"])
            self.release()

    def reset_stats(self) -> None:
        self.stats = info_module.Stats()
        self.engine.stats["expired_keys"] = self.engine.stats["evicted_keys"] = 0
        for command in self.all_commands():
            command.calls = command.usec = command.rejected_calls = command.failed_calls = 0

    def all_commands(self) -> list[Command]:
        rows = []
        for command in self.command_table:
            rows.append(command)
            rows.extend(command.subcommands.values())
        return rows

    def info_text(self, sections: list[str]) -> str:
        return info_module.render(self, sections)

    def describe_client(self, session: Session, running: list[bytes] | None = None) -> str:
        return info_module.describe_client(self, session, running)


def configure_logging(config: Config) -> None:
    """Redis-style log lines: ``pid:M 25 Nov 2026 21:29:09.123 * message``."""
    levels = {"debug": logging.DEBUG, "verbose": logging.INFO, "notice": logging.INFO,
              "warning": logging.WARNING}
    handler: logging.Handler
    if config["logfile"]:
        handler = logging.FileHandler(config["logfile"])
    else:
        handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_RedisFormatter())
    root = logging.getLogger("caskd")
    root.handlers[:] = [handler]
    root.setLevel(levels[config["loglevel"]])
    root.propagate = False


class _RedisFormatter(logging.Formatter):
    _MARKS = {logging.DEBUG: ".", logging.INFO: "*", logging.WARNING: "#",
              logging.ERROR: "#", logging.CRITICAL: "#"}

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(record.created))
        millis = int(record.msecs)
        mark = self._MARKS.get(record.levelno, "*")
        return f"{os.getpid()}:M {stamp}.{millis:03d} {mark} {record.getMessage()}"
