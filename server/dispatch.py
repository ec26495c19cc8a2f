"""The dispatcher: runs one command for a session and returns its reply (sans-I/O).

A request flows one way: the transport (server/transport.py) hands each parsed
command to :meth:`Dispatcher.execute` with the client's session; the dispatcher
resolves it in the command table (:meth:`resolve`, the one place argv becomes a
command), checks it (arity, auth, ACL, MISCONF, the session's state), runs its
handler (:meth:`call`) and returns the reply object, which the transport encodes.
Nothing here touches a socket, so a Lua script, a replica or an HTTP request can
run commands with a session of their own, and tests can dispatch in-process.

The common case (no MULTI, CLIENT REPLY, MONITOR or pause) goes through
:meth:`execute` alone, past one test for all the server-wide states that may refuse
or hold a command (``guarded``: maxmemory, a master link, a pause; each is a property whose
setter calls :meth:`Dispatcher.refresh_guards`) and one for the session's
(``slow_path``); the rest through :meth:`_execute_guarded`. As in Redis's
processCommand, a refused command is counted (rejected_calls) and, inside MULTI,
dooms the transaction.
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import TYPE_CHECKING

from protocol.reply import QUEUED, Error, Raw, encode
from server import observe
from server.commands import transactions
from server.commands.registry import (
    ADMIN,
    FAST,
    NO_MULTI,
    READONLY,
    SKIP_MONITOR,
    SKIP_SLOWLOG,
    Command,
)
from server.errors import (
    NOAUTH,
    WRONGTYPE,
    CommandError,
    unknown_command,
    unknown_subcommand,
    wrong_arity,
)
from server.maxmemory import OOM
from server.pubsub import ALLOWED_IN_RESP2, NOT_ALLOWED
from server.replies import NO_REPLY
from storage.datatypes import WrongType
from storage.engine import CorruptValue

if TYPE_CHECKING:
    from server.app import Server
    from server.session import Session


class Dispatcher:
    def __init__(self, server: Server, commands: dict[bytes, Command]) -> None:
        self.server = server
        self.commands = commands  # name (as given, lower and upper case) -> row
        self._own_monitor_lines: list[bytes] = []  # a monitor's own commands: after its reply
        # min-replicas-to-write unmet: writes get -NOREPLICAS (server/replication/master.py)
        self.too_few_replicas = False
        self.guarded = False  # see refresh_guards

    def refresh_guards(self) -> None:
        """maxmemory, a master link (a replica's READONLY, MASTERDOWN, LOADING) or a
        CLIENT PAUSE may refuse or hold any command: while one is in force every
        command takes execute()'s guarded path. Called by their setters as they change."""
        server = self.server
        self.guarded = bool(server.maxmemory.limit) or server.master_link is not None \
            or server.pause.mode is not None

    def resolve(self, argv: list[bytes]) -> Command | None:
        """The table row ``argv`` names, a container's subcommand where it names one
        (Redis's lookupCommand); None if there is none."""
        commands = self.commands
        command = commands.get(argv[0]) or commands.get(argv[0].lower())
        if command is not None and command.subcommands and len(argv) > 1:
            return command.subcommands.get(argv[1].lower())
        return command

    def unresolved(self, argv: list[bytes]) -> str:
        """The error for an ``argv`` that resolve() found nothing for."""
        container = self.commands.get(argv[0].lower())
        if container is not None:
            return unknown_subcommand(container.name, argv[1])
        return unknown_command(argv)

    # ------------------------------------------------------------ execute

    def execute(self, session: Session, argv: list[bytes]):
        """Run one command for ``session`` and return its reply (the hot path).

        May raise Postponed (CLIENT PAUSE holds it) or Blocked (it waits for a key):
        both are the transport's to handle."""
        commands = self.commands
        command = commands.get(argv[0])  # resolve(), inlined: every command passes here
        if command is None:
            command = commands.get(argv[0].lower())
            if command is None:
                return self._reject(session, None, unknown_command(argv))
        if command.subcommands and len(argv) > 1:
            command = command.subcommands.get(argv[1].lower())
            if command is None:
                return self._reject(session, None, self.unresolved(argv))
        arity = command.arity  # command.arity_ok(), inlined
        if (len(argv) != arity) if arity > 0 else (len(argv) < -arity):
            return self._reject(session, command, wrong_arity(command.full_name))
        server = self.server
        if not session.authenticated and command.needs_auth and \
                server.acl.auth_required(session):
            return self._reject(session, command, NOAUTH)
        if not session.user.unrestricted:
            denied = server.acl.deny(session, command, argv)
            if denied is not None:
                return self._reject(session, command, denied)
        if self.guarded or session.slow_path:  # the uncommon states, behind one test
            return self._execute_guarded(session, command, argv)
        return self._call_writable(session, command, argv)

    def _execute_guarded(self, session: Session, command: Command, argv: list[bytes]):
        """The rest of execute() while a server-wide state may refuse or hold commands
        (``guarded``), or for a session in MULTI, CLIENT REPLY OFF|SKIP, MONITOR or
        pub/sub (``slow_path``): processCommand's checks in its order."""
        server = self.server
        if server.maxmemory.limit and server.maxmemory.refuses(session, command):
            return self._reject(session, command, OOM)  # evicting was not enough
        if server.master_link is not None:  # a replica: READONLY, MASTERDOWN, LOADING
            refusal = server.master_link.refusal(session, command)
            if refusal is not None:
                return self._reject(session, command, refusal)
        if session.slow_path or server.pause.mode is not None:
            return self._execute_special(session, command, argv)
        return self._call_writable(session, command, argv)

    def _call_writable(self, session: Session, command: Command, argv: list[bytes]):
        """call(), unless it writes while writes are refused (MISCONF, NOREPLICAS)."""
        if command.is_write and (self.too_few_replicas or not self.server.engine.writable):
            return self._reject(session, command, self.write_refusal())
        return self.call(session, command, argv)

    def _execute_special(self, session: Session, command: Command, argv: list[bytes]):
        """The rest of execute() for a session in MULTI, in CLIENT REPLY OFF|SKIP, in
        MONITOR, or while the server is paused."""
        server = self.server
        if session.monitoring and (command.is_write or READONLY in command.flag_set):
            reply = self.refuse(session, command, "ERR Replica can't interact with the keyspace")
        elif (self.too_few_replicas or not server.engine.writable) and \
                self._writes(session, command):
            reply = self.refuse(session, command, self.write_refusal())
        elif session.pubsub and not session.resp3 and command.full_name not in ALLOWED_IN_RESP2:
            reply = self.refuse(session, command, NOT_ALLOWED.format(command.full_name))
        else:
            server.pause.hold(session, command)
            if session.multi is None or not command.queued_in_multi:
                reply = self.call(session, command, argv)
                if self._own_monitor_lines:  # a MONITOR client sees its reply first
                    lines, self._own_monitor_lines = self._own_monitor_lines, []
                    reply = Raw(encode(reply, session.resp3) + b"".join(lines))
            elif NO_MULTI in command.flag_set:
                reply = self.refuse(session, command, "ERR Command not allowed inside a "
                                                       "transaction")
            else:
                session.multi.append((command, argv))
                reply = QUEUED
        return self.reply_mode(session, command, reply)

    @staticmethod
    def _writes(session: Session, command: Command) -> bool:
        """A write command, or an EXEC that would run one."""
        return command.is_write or (command.full_name == "exec" and session.multi is not None
                                    and any(queued.is_write for queued, _ in session.multi))

    @staticmethod
    def reply_mode(session: Session, command: Command | None, reply):
        """CLIENT REPLY OFF drops replies; SKIP drops the next one. CLIENT REPLY decides
        about its own reply."""
        mode = session.reply_mode
        if mode == "on" or (command is not None and command.full_name == "client|reply"):
            return reply
        if mode == "skip":
            session.reply_mode = "on"
        return NO_REPLY

    def call(self, session: Session, command: Command, argv: list[bytes]):
        """Run a handler, counting it for INFO commandstats and SLOWLOG; while anyone
        WATCHes, waits or MONITORs (``server.observed``), tell them too."""
        server = self.server
        observed = server.observed
        if observed:
            server.tracking.current = session
            dirty = server.replication.before_command(session)
        session.last_command = command.full_name
        started = perf_counter_ns()
        try:
            reply = command.handler(session, argv)
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
            server.log.exception("Command %s failed", command.full_name)
            reply = Error(f"ERR internal error in '{command.full_name}': "
                          f"{type(exc).__name__}: {exc}")
        usec = (perf_counter_ns() - started) // 1000
        command.calls += 1
        command.usec += usec
        if type(reply) is Error:
            server.stats.count_error(reply.text)
        if usec >= server.slowlog_threshold and SKIP_SLOWLOG not in command.flag_set:
            server.slowlog.record(session, command.full_name, argv, usec)
        if usec >= server.latency_threshold_us:  # Redis's call(): by the fast flag
            server.latency.add("fast-command" if FAST in command.flag_set else "command",
                               usec // 1000)
        if observed:
            reply = self._observe(session, command, argv, reply, dirty)
        return reply

    def _observe(self, session: Session, command: Command, argv: list[bytes], reply,
                 dirty: int):
        """After a command: a tracking session remembers the keys it read, and hears of
        its own changes after its reply; clients blocked on keys it changed are served
        (once the command, or its whole transaction, is over: the engine's change
        events made those keys ready); MONITOR clients see every command but admin
        ones."""
        server = self.server
        if server.replication.propagating:  # its effects go to the replicas (and backlog)
            server.replication.master.after_command(session, command, argv, reply, dirty)
        if session.tracking is not None and READONLY in command.flag_set:
            server.tracking.remember(session, command, argv)
        if not session.in_exec:
            reply = server.tracking.after_command(session, command, reply)
            server.tracking.current = None
        if server.blocking.ready and not session.in_exec:
            server.blocking.serve()
        if server.monitors and ADMIN not in command.flag_set and \
                SKIP_MONITOR not in command.flag_set:
            self.feed_monitors(session, command.full_name, argv)
        return reply

    def feed_monitors(self, session: Session, name: str, argv: list[bytes]) -> None:
        """Show a command to the MONITOR clients (EVAL and FCALL show themselves, before
        the commands they run, as Redis's evalCommand does)."""
        line = observe.monitor_line(session, name, argv)
        for monitor in self.server.monitors:
            if monitor is session:
                self._own_monitor_lines.append(line)
            elif monitor.peer is not None:
                monitor.peer.push(line)

    # ------------------------------------------------------------ refusals

    def _reject(self, session: Session, command: Command | None, message: str):
        """A command refused before it runs (unknown, wrong arity, NOAUTH, MISCONF)."""
        error = self.refuse(session, command, message)
        return self.reply_mode(session, command, error) if session.slow_path else error

    def refuse(self, session: Session, command: Command | None, message: str) -> Error:
        """Count a refusal; inside MULTI it dooms the transaction, and a refused EXEC
        discards it (Redis's rejectCommand)."""
        if command is not None:
            command.rejected_calls += 1
            if command.full_name == "exec":
                transactions.end_transaction(session)
                reason = message[4:] if message.startswith("ERR ") else message
                message = f"EXECABORT Transaction discarded because of: {reason}"
        if session.multi is not None:
            session.multi_failed = True
        return self.server.error_reply(message)

    def write_refusal(self) -> str:
        """Why writes are refused: the disk (MISCONF), or too few good replicas for
        min-replicas-to-write (processCommand's order)."""
        if not self.server.engine.writable:
            return self.misconf_error()
        return "NOREPLICAS Not enough good replicas to write."

    def misconf_error(self) -> str:
        return f"MISCONF Errors writing to the AOF file: {self.disk_error()}"

    def disk_error(self) -> str:
        """Why the engine refuses writes (its last write or fsync error)."""
        error = self.server.engine.last_error
        return error.strerror if error is not None and error.strerror else str(error)
