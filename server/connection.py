"""One client connection: bytes in -> commands -> replies out, on an asyncio.Protocol.

Protocol callbacks (not streams) keep the per-read overhead low. Every complete
command in a read is executed in order and its reply encoded into ``out``. Replies
that wait for no log write (reads) go out at once, with one write; otherwise the
server's end-of-iteration commit flushes the log once for all clients and then
sends each client's replies with one write, or holds them until the log is
durable where ``appendfsync always`` (or a disk error) asks for that.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from typing import TYPE_CHECKING

from protocol import ProtocolError, RequestParser
from protocol.reply import Error, encode_into
from server.blocking import Blocked
from server.pause import Postponed

if TYPE_CHECKING:
    from server.app import Server

_client_ids = itertools.count(1)

# A client that pipelines requests without reading the replies must not make the
# server buffer replies without bound: once this much waits in its transport, reading
# from it stops until the client has read most of it (unless a client-output-buffer-
# limit sets the mark). The other bounds keep one read's commands from producing more
# than OUTPUT_BATCH of replies at once: the rest wait until the client reads.
WRITE_BUFFER_HIGH = 256 * 1024
OUTPUT_BATCH = 256 * 1024
OUTPUT_SLICE = 16  # commands run between looks at the size of the replies


class Connection(asyncio.Protocol):
    """A client: its transport, parser, selected db, protocol version and reply queue."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.engine = server.engine
        self.id = next(_client_ids)
        self.db = 0
        self.protocol = 2
        self.resp3 = False
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.parser = RequestParser(proto_max_bulk_len=server.config["proto-max-bulk-len"])
        server.acl.set_default_auth(self)  # .user, .authenticated, the parser's pre-AUTH limits
        self.transport: asyncio.Transport | None = None
        self.address = "?"
        self.out: list[bytes] = []
        self.held: deque[tuple[int, bytes]] = deque()  # (log position, replies)
        self.close_after_reply = False
        self.closed = False
        self.created = time.monotonic()
        self.last_interaction = self.created
        self.last_command = "NULL"
        self.multi: list | None = None  # queued commands while in MULTI
        self.multi_failed = False  # a command was refused while queuing: EXEC aborts
        self.in_exec = False
        self.watched: dict[tuple[int, bytes], int | None] = {}  # see server.watch
        self.cas_dirty = False  # a watched key changed: EXEC will answer null
        self.reply_mode = "on"  # CLIENT REPLY: on, off, skip (the next reply)
        self.monitoring = False
        self.no_evict = False
        self.postponed: list[list[bytes]] | None = None  # commands held by CLIENT PAUSE
        self.backlog: list[list[bytes]] | None = None  # commands waiting for the client to read
        self.blocked = None  # while a blocking command waits: its server.blocking.BlockState
        self.waiting: list[list[bytes]] | None = None  # commands sent after it meanwhile
        self.writing_paused = False  # its transport holds more than the high-water mark
        self.output_limits = (0, 0, 0)  # client-output-buffer-limit normal: hard, soft, s
        self._soft_limit_timer: asyncio.TimerHandle | None = None
        self.slow_path = False  # any of the above in effect: see Server.execute_special

    # ------------------------------------------------------------ transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        refusal = self.server.accept(self)
        if refusal is not None:
            transport.write(refusal)
            transport.close()
            self.closed = True
            return
        self.set_output_limits(self.server.config["client-output-buffer-limit"]["normal"])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._soft_limit_timer is not None:
            self._soft_limit_timer.cancel()
        self.server.forget(self)

    def set_output_limits(self, limits: tuple[int, int, int]) -> None:
        """client-output-buffer-limit for normal clients: hard and soft bytes, soft
        seconds (0: no limit). Writing pauses at the lowest limit set, so that
        pause_writing() is where one is passed (CONFIG SET: or here)."""
        self.output_limits = limits
        high = min((limit for limit in limits[:2] if limit), default=WRITE_BUFFER_HIGH)
        self.transport.set_write_buffer_limits(high=high, low=high // 4)
        if self.writing_paused:  # already over the old mark: judged by the new limits now
            self._check_output_limits()

    def pause_writing(self) -> None:
        """The client is not reading its replies: stop reading its requests."""
        self.writing_paused = True
        if self.transport is not None:
            self.transport.pause_reading()
            self._check_output_limits()

    def resume_writing(self) -> None:
        """The client has read most of its replies: go on with its requests."""
        self.writing_paused = False
        self.last_interaction = time.monotonic()
        if self._soft_limit_timer is not None:
            self._soft_limit_timer.cancel()
            self._soft_limit_timer = None
        if self.backlog is not None:
            self._run_backlog()
        elif self.transport is not None and not self.closed and self.postponed is None:
            self.transport.resume_reading()

    @property
    def reading(self) -> bool:
        """Whether its requests are being read (not stopped by backpressure or a pause)."""
        return not self.writing_paused and self.backlog is None and self.postponed is None

    def output_size(self) -> int:
        """Reply bytes the client has not taken yet (CLIENT LIST omem)."""
        buffered = self.transport.get_write_buffer_size() if self.transport else 0
        return buffered + sum(len(data) for _, data in self.held)

    def _check_output_limits(self) -> None:
        """Redis's checkClientOutputBufferLimits: past the hard limit, or past the soft
        one for its seconds, the client is disconnected."""
        hard, soft, seconds = self.output_limits
        size = self.transport.get_write_buffer_size()
        if hard and size >= hard:
            self._close_for_output()
        elif soft and size >= soft and self._soft_limit_timer is None:
            self._soft_limit_timer = self.server.loop.call_later(seconds, self._soft_limit_due)

    def _soft_limit_due(self) -> None:
        self._soft_limit_timer = None
        if self.writing_paused and self.transport.get_write_buffer_size() >= \
                self.output_limits[1]:
            self._close_for_output()

    def _close_for_output(self) -> None:
        self.server.log.warning("Client id=%d addr=%s scheduled to be closed ASAP for "
                                "overcoming of output buffer limits.", self.id, self.address)
        self.closed = True
        self.transport.abort()  # what it has not read is dropped

    def data_received(self, data: bytes) -> None:
        if self.closed or self.close_after_reply:
            return
        self.last_interaction = time.monotonic()
        self.parser.feed(data)
        self._process()

    def _process(self) -> None:
        """Execute every complete command buffered, unless a CLIENT PAUSE holds us,
        earlier replies wait to be read (backlog) or a blocking command waits."""
        parser = self.parser
        while not self.close_after_reply and self.postponed is None and self.backlog is None \
                and self.waiting is None:
            try:
                commands = parser.get_commands()
            except ProtocolError as exc:
                self.server.log_protocol_error(self, exc)
                encode_into(self.out, Error(str(exc)), self.resp3)
                self.close_after_reply = True
                break
            if not commands:
                break
            self._run_bounded(commands)
        if parser.buffered_bytes > self.server.query_buffer_limit:
            self.server.log.warning("Closing client that reached max query buffer length "
                                    "(id=%d addr=%s)", self.id, self.address)
            self.out.clear()
            self.close()
            return
        if self.out and self.server.may_send_now(self):
            self.transport.write(b"".join(self.out))
            self.out.clear()
        else:
            self.server.schedule_commit(self)

    def _run(self, commands: list[list[bytes]]) -> None:
        execute = self.server.execute
        out = self.out
        argv = None
        try:
            for argv in commands:
                encode_into(out, execute(self, argv), self.resp3)
                if self.close_after_reply:  # QUIT, or a command that closes the connection
                    break
        except Postponed:  # the server is paused: this command and the rest wait
            start = next(i for i, queued in enumerate(commands) if queued is argv)
            self.postponed = commands[start:]
            if self.transport is not None:
                self.transport.pause_reading()
        except Blocked as blocked:  # it waits; the rest runs once it is answered
            start = next(i for i, queued in enumerate(commands) if queued is argv)
            self.waiting = commands[start + 1:]
            self.server.blocking.block(self, argv, blocked)

    def _run_bounded(self, commands: list[list[bytes]]) -> None:
        """_run, but once the replies pass OUTPUT_BATCH the rest of the commands go to
        the backlog, and reading stops, until the client has taken the replies."""
        if len(commands) <= OUTPUT_SLICE:
            self._run(commands)
            return
        for start in range(0, len(commands), OUTPUT_SLICE):
            self._run(commands[start:start + OUTPUT_SLICE])
            rest = commands[start + OUTPUT_SLICE:]
            if self.postponed is not None:  # CLIENT PAUSE: the rest waits with it
                self.postponed += rest
                return
            if self.waiting is not None:  # a blocking command waits: so does the rest
                self.waiting += rest
                return
            if self.close_after_reply or not rest:
                return
            if sum(map(len, self.out)) > OUTPUT_BATCH:
                self.backlog = rest
                if self.transport is not None:
                    self.transport.pause_reading()
                return

    def _run_backlog(self) -> None:
        """The replies so far are on their way: run the commands that waited for
        that, then read again."""
        if self.backlog is None or self.closed:
            return
        commands, self.backlog = self.backlog, None
        self._run_bounded(commands)
        if self.backlog is None and self.postponed is None and not self.writing_paused \
                and not self.closed:
            self.transport.resume_reading()
        self._process()

    def resume(self) -> None:
        """The pause is over: run the commands that waited, then what came meanwhile."""
        commands, self.postponed = self.postponed, None
        self._run_bounded(commands)
        if self.postponed is None and self.backlog is None and self.transport is not None \
                and not self.closed:
            self.transport.resume_reading()
        self._process()

    def resume_after_block(self) -> None:
        """A blocking command was answered: run what was sent while it waited (reading
        never stopped, so a disconnection was noticed meanwhile)."""
        commands, self.waiting = self.waiting, None
        if commands is None or self.closed:
            return
        self._run_bounded(commands)
        self._process()

    # -------------------------------------------------------------- replies

    def commit(self, position: int, released: int) -> None:
        """Send this iteration's replies, or hold them until ``position`` is released."""
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            if self.held or position > released:
                self.held.append((position, data))
                self.server.holding.add(self)
            elif self.transport is not None and not self.closed:
                self.transport.write(data)
        if self.close_after_reply and not self.held:
            self.close()
        elif self.backlog is not None and not self.held and not self.writing_paused:
            self.server.loop.call_soon(self._run_backlog)

    def release(self, released: int) -> bool:
        """Send held replies whose writes are now durable; True when none are left."""
        held = self.held
        while held and held[0][0] <= released:
            data = held.popleft()[1]
            if self.transport is not None and not self.closed:
                self.transport.write(data)
        if not held and self.close_after_reply:
            self.close()
        elif not held and self.backlog is not None and not self.writing_paused:
            self.server.loop.call_soon(self._run_backlog)
        return not held

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()
