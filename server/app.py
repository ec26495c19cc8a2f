"""The server: listens, dispatches commands through the table, runs the cron.

All commands run on the event-loop thread, so the engine has a single writer.
Once per loop iteration :meth:`Server.commit` flushes the log with one write and
sends the replies that waited for it (a read's go out at once: see
:meth:`Server.may_send_now`); under ``appendfsync always`` replies wait until the
fsync thread reports their writes durable (group commit).
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
from collections.abc import Iterable
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING

from protocol.reply import QUEUED, Error, Raw, encode
from server import info as info_module
from server import observe
from server.acl import Acl, AclFileError
from server.blocking import BlockedClients
from server.commands import objects, transactions
from server.commands.registry import ADMIN, NO_MULTI, READONLY, SKIP_SLOWLOG, Command, renamed
from server.commands.table import COMMANDS, TABLE
from server.config import Config
from server.connection import Connection
from server.errors import (
    NOAUTH,
    WRONGTYPE,
    CommandError,
    unknown_command,
    unknown_subcommand,
    wrong_arity,
)
from server.heap import HeapTrimmer
from server.pause import ClientPause
from server.replies import NO_REPLY
from server.security import DENIED, TlsConfigError, protected_mode_refuses, server_context
from server.watch import Watches
from storage.collections import WrongType
from storage.engine import CorruptValue, Engine

if TYPE_CHECKING:
    from protocol import ProtocolError

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
        self.clients: dict[int, Connection] = {}
        self.holding: set[Connection] = set()
        self._to_commit: list[Connection] = []
        self._commit_scheduled = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[asyncio.base_events.Server] = []
        self._stopped: asyncio.Event | None = None
        self.last_save = int(time.time())
        self.stats = info_module.Stats()
        self.engine: Engine | None = None
        self.query_buffer_limit = config["client-query-buffer-limit"]
        self._refused_bytes = 0  # log bytes the disk refused, as of the last commit
        # Observers: call() does their work only while ``observed`` is set.
        self.watches = Watches(self.refresh_observed)
        self.blocking = BlockedClients(self)
        self.monitors: list[Connection] = []
        self._own_monitor_lines: list[bytes] = []  # a monitor's own commands: after its reply
        self.observed = False
        self.pause = ClientPause(self)
        self.slowlog = observe.SlowLog(config["slowlog-max-len"])
        self.slowlog_threshold = observe.slowlog_threshold(config["slowlog-log-slower-than"])
        self.bgsave_scheduled = False
        self.heap = HeapTrimmer()
        objects.follow_config(config)

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
        stats = self.engine.stats
        self.log.info("DB loaded from disk: %.3f seconds, %d keys",
                      stats["load_seconds"], stats["loaded_keys"])

    async def serve(self) -> None:
        """Listen until SHUTDOWN or a signal, then stop gracefully."""
        self.loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        tls = self._tls_context()
        self.open_storage()
        for port, context in ((self.config["port"], None), (self.config["tls-port"], tls)):
            try:
                await self._listen(port, context)
            except OSError as exc:
                self.engine.close()
                raise SystemExit(f"Could not listen on {self.config['bind']}:{port}: "
                                 f"{exc.strerror}") from None
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.request_shutdown, signum)
        cron = self.loop.create_task(self._cron())
        for kind, port in (("tcp", self.config["port"]), ("tls", self.config["tls-port"])):
            if port:
                self.log.info("Ready to accept connections %s on %s port %s", kind,
                              self.config["bind"], port)
        await self._stopped.wait()
        cron.cancel()
        await self._shutdown()

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self.config["tls-port"]:
            return None
        config = self.config
        try:
            return server_context(config["tls-cert-file"], config["tls-key-file"],
                                  config["tls-ca-cert-file"], config["tls-auth-clients"])
        except TlsConfigError as exc:
            raise SystemExit(f"Failed to configure TLS: {exc}") from None

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
        for listener in self._listeners:
            listener.close()
        self.commit()
        self.engine.close()
        self.release()
        for client in list(self.clients.values()):
            client.close()
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
        self.clients[client.id] = client
        self.stats.total_connections_received += 1
        if self.pause.mode is not None:
            client.slow_path = True
        sock = client.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return None

    def forget(self, client: Connection) -> None:
        self.clients.pop(client.id, None)
        self.holding.discard(client)
        self.watches.unwatch_all(client)
        self.blocking.forget(client)
        self.set_monitoring(client, False)

    def log_protocol_error(self, client: Connection, exc: ProtocolError) -> None:
        self.log.debug("Protocol error (%s) from client: id=%d addr=%s", exc, client.id,
                       client.address)

    # -------------------------------------------------------------- dispatch

    def execute(self, client: Connection, argv: list[bytes]):
        """Run one command for ``client`` and return its reply (hot path)."""
        command = self.commands.get(argv[0])
        if command is None:
            command = self.commands.get(argv[0].lower())
            if command is None:
                return self._reject(client, None, unknown_command(argv))
        if command.subcommands and (len(argv) > 1 or command.handler is None):
            if len(argv) < 2:
                return self._reject(client, command, wrong_arity(command.name))
            sub = command.subcommands.get(argv[1].lower())
            if sub is None:
                return self._reject(client, command, unknown_subcommand(command.name, argv[1]))
            command = sub
        arity = command.arity  # command.arity_ok(), inlined: every command passes here
        if (len(argv) != arity) if arity > 0 else (len(argv) < -arity):
            return self._reject(client, command, wrong_arity(command.full_name))
        if not client.authenticated and command.needs_auth and self.acl.auth_required(client):
            return self._reject(client, command, NOAUTH)
        if not client.user.unrestricted:
            denied = self.acl.deny(client, command, argv)
            if denied is not None:
                return self._reject(client, command, denied)
        if client.slow_path:
            return self.execute_special(client, command, argv)
        if command.is_write and not self.engine.writable:
            return self._reject(client, command, self.misconf_error())
        return self.call(client, command, argv)

    def execute_special(self, client: Connection, command: Command, argv: list[bytes]):
        """The rest of execute() for a client in MULTI, in CLIENT REPLY OFF|SKIP, in
        MONITOR, or while the server is paused (``client.slow_path``). May raise
        Postponed: the connection then keeps the command until the pause ends."""
        if client.monitoring and (command.is_write or READONLY in command.flag_set):
            reply = self._refuse(client, command, "ERR Replica can't interact with the keyspace")
        elif not self.engine.writable and self._writes(client, command):
            reply = self._refuse(client, command, self.misconf_error())
        else:
            self.pause.hold(client, command)
            if client.multi is None or not command.queued_in_multi:
                reply = self.call(client, command, argv)
                if self._own_monitor_lines:  # a MONITOR client sees its reply first
                    lines, self._own_monitor_lines = self._own_monitor_lines, []
                    reply = Raw(encode(reply, client.resp3) + b"".join(lines))
            elif NO_MULTI in command.flag_set:
                reply = self._refuse(client, command, "ERR Command not allowed inside a "
                                                      "transaction")
            else:
                client.multi.append((command, argv))
                reply = QUEUED
        return self._reply_mode(client, command, reply)

    @staticmethod
    def _writes(client: Connection, command: Command) -> bool:
        """A write command, or an EXEC that would run one."""
        return command.is_write or (command.full_name == "exec" and client.multi is not None
                                    and any(queued.is_write for queued, _ in client.multi))

    @staticmethod
    def _reply_mode(client: Connection, command: Command | None, reply):
        """CLIENT REPLY OFF drops replies; SKIP drops the next one. CLIENT REPLY decides
        about its own reply."""
        mode = client.reply_mode
        if mode == "on" or (command is not None and command.full_name == "client|reply"):
            return reply
        if mode == "skip":
            client.reply_mode = "on"
            client.server.refresh_slow_path(client)
        return NO_REPLY

    def call(self, client: Connection, command: Command, argv: list[bytes]):
        """Run a handler, counting it for INFO commandstats and SLOWLOG; while anyone
        WATCHes or MONITORs (``observed``), tell them too."""
        observed = self.observed
        if observed:
            log_end = self.engine.position + self.engine.pending_bytes
        client.last_command = command.full_name
        started = perf_counter_ns()
        try:
            reply = command.handler(client, argv)
        except CommandError as exc:
            command.failed_calls += 1
            reply = Error(str(exc))  # counted for errorstats just below, like any Error
        except WrongType:  # the engine met a key of another type (a string command's)
            command.failed_calls += 1
            reply = Error(WRONGTYPE)
        except CorruptValue as exc:  # the disk changed the value: refuse it, never serve it
            command.failed_calls += 1
            reply = Error(f"ERR {exc}")
        except Exception as exc:  # a bug in a handler: answer, log, keep serving
            command.failed_calls += 1
            self.log.exception("Command %s failed", command.full_name)
            reply = Error(f"ERR internal error in '{command.full_name}': "
                          f"{type(exc).__name__}: {exc}")
        usec = (perf_counter_ns() - started) // 1000
        command.calls += 1
        command.usec += usec
        if type(reply) is Error:
            self.stats.count_error(reply.text)
        if usec >= self.slowlog_threshold and SKIP_SLOWLOG not in command.flag_set:
            self.slowlog.record(client, command.full_name, argv, usec)
        if observed:
            self._observe(client, command, argv, log_end)
        return reply

    def _observe(self, client: Connection, command: Command, argv: list[bytes],
                 log_end: int) -> None:
        """After a command: a write that changed something (the log grew) touches its
        keys for WATCH, and readies them for clients blocked on them (served once the
        command, or its whole transaction, is over); MONITOR clients see every
        command but admin ones."""
        if command.is_write and (self.watches or self.blocking.waiters) and \
                self.engine.position + self.engine.pending_bytes != log_end:
            keys = [argv[i] for i in command.key_positions(argv)]
            if self.watches:
                self.watches.touch(client.db, keys)
            self.blocking.signal(client.db, keys)
        if self.blocking.ready and not client.in_exec:
            self.blocking.serve()
        if self.monitors and ADMIN not in command.flag_set:
            line = observe.monitor_line(client, command.full_name, argv)
            for monitor in self.monitors:
                if monitor is client:
                    self._own_monitor_lines.append(line)
                    continue
                if not monitor.out:
                    self.schedule_commit(monitor)
                monitor.out.append(line)

    def _reject(self, client: Connection, command: Command | None, message: str):
        """A command refused before it runs (unknown, wrong arity, NOAUTH, MISCONF)."""
        error = self._refuse(client, command, message)
        return self._reply_mode(client, command, error) if client.slow_path else error

    def _refuse(self, client: Connection, command: Command | None, message: str) -> Error:
        """Count a refusal; inside MULTI it dooms the transaction, and a refused EXEC
        discards it (Redis's rejectCommand)."""
        if command is not None:
            command.rejected_calls += 1
            if command.full_name == "exec":
                transactions.end_transaction(client)
                reason = message[4:] if message.startswith("ERR ") else message
                message = f"EXECABORT Transaction discarded because of: {reason}"
        if client.multi is not None:
            client.multi_failed = True
        return self.error_reply(message)

    def error_reply(self, message: str) -> Error:
        self.stats.count_error(message)
        return Error(message)

    def misconf_error(self) -> str:
        error = self.engine.last_error
        reason = error.strerror if error is not None and error.strerror else str(error)
        return f"MISCONF Errors writing to the AOF file: {reason}"

    def count_lookup(self, hit: bool) -> None:
        if hit:
            self.stats.keyspace_hits += 1
        else:
            self.stats.keyspace_misses += 1

    def keys_flushed(self, dbs: Iterable[int] | None = None) -> None:
        """The contents of ``dbs`` (None: all) were emptied or swapped (FLUSHDB,
        FLUSHALL, SWAPDB, DEBUG RELOAD): clients watching keys there must know."""
        if self.watches:
            self.watches.flushed(self.engine, dbs)
        if self.blocking.waiters:
            self.blocking.signal_dbs(None if dbs is None else set(dbs))

    def touch_keys(self, db: int, keys: list[bytes]) -> None:
        """A command changed keys outside ``client.db`` (MOVE, COPY … DB): the
        dispatcher only sees the keys of the client's own db."""
        if self.watches:
            self.watches.touch(db, keys)
        self.blocking.signal(db, keys)

    def refresh_observed(self) -> None:
        self.observed = bool(self.watches) or bool(self.monitors) or bool(self.blocking.waiters)

    def set_monitoring(self, client: Connection, on: bool) -> None:
        """MONITOR (on), RESET or a disconnect (off)."""
        if client.monitoring != on:
            client.monitoring = on
            if on:
                self.monitors.append(client)
            else:
                self.monitors.remove(client)
            self.refresh_observed()
            self.refresh_slow_path(client)

    def refresh_slow_path(self, client: Connection) -> None:
        """Whether ``client``'s commands need execute_special."""
        client.slow_path = (client.multi is not None or client.reply_mode != "on"
                            or client.monitoring or self.pause.mode is not None)

    def refresh_all_slow_paths(self) -> None:
        for client in self.clients.values():
            self.refresh_slow_path(client)

    def reopen_storage(self) -> None:
        """DEBUG RELOAD: close the engine and load the data set again from disk."""
        self.engine.close()  # flushed and fsynced: every held reply may go now
        for client in list(self.holding):
            client.release(1 << 62)
        self.holding.clear()
        self.open_storage()
        for client in self.clients.values():
            client.engine = self.engine
        self.keys_flushed()

    # ------------------------------------------------------- replies and log

    def may_send_now(self, client: Connection) -> bool:
        """Whether ``client``'s replies may be written at once, skipping the commit at
        the end of the loop iteration: they answered no write that waits for the log
        (nothing is buffered, and under ``always`` everything written is durable), so
        they cannot reveal a change a crash could lose. The common case of a read."""
        engine = self.engine
        return (not engine.pending_bytes and not client.held and not client.closed
                and not client.close_after_reply and client.backlog is None
                and engine.position <= self.released_position())

    def schedule_commit(self, client: Connection) -> None:
        self._to_commit.append(client)
        if not self._commit_scheduled:
            self._commit_scheduled = True
            self.loop.call_soon(self.commit)

    def commit(self) -> None:
        """End of a loop iteration: one log write, then every client's replies."""
        self._commit_scheduled = False
        engine = self.engine
        engine.flush()
        # Where this iteration's writes end; a failed flush keeps them pending. While
        # the disk refuses writes, an iteration that added none (its writes got
        # -MISCONF) waits for no refused byte: its reads and errors are answered.
        refused = engine.pending_bytes
        position = engine.position + (refused if refused != self._refused_bytes else 0)
        self._refused_bytes = refused
        released = self.released_position()
        clients, self._to_commit = self._to_commit, []
        for client in clients:
            client.commit(position, released)

    def released_position(self) -> int:
        """Replies for writes up to here may be sent: durable ones under ``always``,
        flushed ones otherwise."""
        if self.engine.fsync_policy == "always":
            return self.engine.durable_position
        return self.engine.position

    def _on_durable(self, position: int) -> None:
        """Called from the fsync thread."""
        if self.loop is not None and self.holding:
            self.loop.call_soon_threadsafe(self.release)

    def release(self) -> None:
        released = self.released_position()
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
            for client in list(self.clients.values()):
                if now - client.last_interaction > timeout and client.multi is None \
                        and client.blocked is None:
                    client.close()

    # --------------------------------------------------------------- config

    def apply_config(self) -> None:
        """Push CONFIG SET changes to the parts that hold a copy."""
        self.query_buffer_limit = self.config["client-query-buffer-limit"]
        output_limits = self.config["client-output-buffer-limit"]["normal"]
        for client in self.clients.values():
            client.parser.proto_max_bulk_len = self.config["proto-max-bulk-len"]
            client.set_output_limits(output_limits)
        if self.acl.follow_requirepass(self.config["requirepass"]):
            self.acl.default_changed(self.clients.values())
        self.acl.log_max_len = self.config["acllog-max-len"]
        engine = self.engine
        engine.auto_compact_percentage = self.config["auto-aof-rewrite-percentage"]
        engine.auto_compact_min_size = self.config["auto-aof-rewrite-min-size"]
        engine.auto_compact_dead_ratio = self.config["caskd-dead-ratio-percent"] / 100
        self.slowlog_threshold = observe.slowlog_threshold(self.config["slowlog-log-slower-than"])
        self.slowlog.max_len = self.config["slowlog-max-len"]
        self.slowlog.trim()
        objects.follow_config(self.config)
        if engine.fsync_policy != self.config["appendfsync"]:
            engine.set_fsync_policy(self.config["appendfsync"])
            self.release()

    def reset_stats(self) -> None:
        self.stats = info_module.Stats()
        self.engine.stats["expired_keys"] = 0
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

    def describe_client(self, client: Connection) -> str:
        return info_module.describe_client(self, client)


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
