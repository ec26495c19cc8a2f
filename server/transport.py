"""One client connection: bytes in -> commands -> replies out, on an asyncio.Protocol.

The transport side of a client. Its command state is a :class:`Session`
(server/session.py); each parsed command goes to the dispatcher with it, and the
reply is encoded into ``out``. Protocol callbacks (not streams) keep the per-read
overhead low. Replies that wait for no log write (reads) go out at once, with one
write; otherwise the server's end-of-iteration commit flushes the log once for all
clients and then sends each client's replies with one write, or holds them until
the log is durable where ``appendfsync always`` (or a disk error) asks for that.

**The input gate.** Parsed commands wait in ``queued`` and run in order while the
gate is open. Three things close it: a CLIENT PAUSE that holds the next command
(``postponed``), a blocking command that waits (``session.blocked``), and replies
the client has not taken (``output_full``: more than OUTPUT_BATCH from one read).
Whatever opens it again calls :meth:`resume`, the one way back in.

Compiled (server/transport.pxd), a connection is a C type: the per-read path
(data_received, _process, _run_slice) reads its fields, its session's and the
parser's as struct fields and calls the dispatcher and the reply encoder in C. So it
cannot subclass asyncio.Protocol (a Python class); it needs not: asyncio and uvloop
take any object with the protocol's methods (uvloop's UVStream._set_protocol checks
only for SSLProtocol and for a get_buffer method, which would make it a buffered
protocol), and :meth:`Connection.eof_received` is the one asyncio.Protocol gave.
"""

from __future__ import annotations

import asyncio
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING

from protocol import ProtocolError
from protocol.parser import RequestParser
from protocol.reply import Error, encode_into
from server.blocking import Blocked
from server.pause import Postponed
from server.session import Session

if TYPE_CHECKING:
    from server.app import Server

# A client that pipelines requests without reading the replies must not make the
# server buffer replies without bound: once this much waits in its transport, reading
# from it stops until the client has read most of it (unless a client-output-buffer-
# limit sets the mark). The other bounds keep one read's commands from producing more
# than OUTPUT_BATCH of replies at once: the rest wait until the client reads.
WRITE_BUFFER_HIGH = 256 * 1024
OUTPUT_BATCH = 256 * 1024
OUTPUT_SLICE = 16  # commands run between looks at the size of the replies


class Connection:
    """A client's transport, parser and replies on their way; ``session`` its state."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.parser = RequestParser(proto_max_bulk_len=server.config["proto-max-bulk-len"])
        self.session = Session(server, peer=self, address="?")
        self.transport: asyncio.Transport | None = None
        self.out: list[bytes] = []
        self.held: deque[tuple[int, bytes]] = deque()  # (log position, replies)
        self.closed = False
        self.queued: deque[list[bytes]] = deque()  # parsed, not yet run: see the gate
        self.postponed = False  # CLIENT PAUSE holds the first queued command
        self.output_full = False  # the replies so far must be taken before more run
        self.writing_paused = False  # its transport holds more than the high-water mark
        self.output_limits = (0, 0, 0)  # client-output-buffer-limit normal: hard, soft, s
        self._soft_limit_timer: asyncio.TimerHandle | None = None
        self.dispatcher = server.dispatcher

    # ------------------------------------------------------------ transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.session.address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        refusal = self.server.accept(self)
        if refusal is not None:
            transport.write(refusal)
            transport.close()
            self.closed = True
            return
        self.set_output_limits(self.server.pubsub.output_limits(self.session))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._soft_limit_timer is not None:
            self._soft_limit_timer.cancel()
        self.server.forget(self)
        self.session.peer = None  # no cycle left for the garbage collector to find

    def eof_received(self) -> bool | None:
        """The client shut down its side: close ours too (asyncio.Protocol's default)."""
        return None

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
        self.session.last_interaction = monotonic()
        if self._soft_limit_timer is not None:
            self._soft_limit_timer.cancel()
            self._soft_limit_timer = None
        self.resume()

    @property
    def reading(self) -> bool:
        """Whether its requests are being read (not stopped by backpressure or a pause)."""
        return not (self.writing_paused or self.output_full or self.postponed)

    def output_size(self) -> int:
        """Reply bytes the client has not taken yet (CLIENT LIST omem)."""
        buffered = self.transport.get_write_buffer_size() if self.transport else 0
        return buffered + sum(len(data) for _, data in self.held)

    def held_replies(self) -> int:
        return len(self.held)

    def query_buffer_size(self) -> int:
        return self.parser.buffered_bytes

    def local_address(self) -> str:
        """The server side of the connection, ``ip:port`` (CLIENT LIST laddr=)."""
        sock = self.transport.get_extra_info("sockname") if self.transport else None
        return f"{sock[0]}:{sock[1]}" if isinstance(sock, tuple) else "?"

    def fileno(self) -> int:
        sock = self.transport.get_extra_info("socket") if self.transport else None
        return sock.fileno() if sock is not None else -1

    def limit_requests(self, before_auth: bool) -> None:
        """Before AUTH, Redis caps requests (10 arguments of 16 KiB at most)."""
        self.parser.authenticated = not before_auth

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
                                "overcoming of output buffer limits.", self.session.id,
                                self.session.address)
        self.closed = True
        self.transport.abort()  # what it has not read is dropped

    # ------------------------------------------------------------- requests

    def data_received(self, data: bytes) -> None:
        if self.closed or self.session.close_after_reply:
            return
        self.session.last_interaction = monotonic()
        self.parser.feed(data)
        self._process()

    def _gate_open(self) -> bool:
        return not (self.postponed or self.output_full or self.closed
                    or self.session.close_after_reply or self.session.blocked is not None)

    def _process(self) -> None:
        """Run what the gate lets through: the commands queued, then those parsed from
        the input; then send the replies, or leave them to the commit."""
        parser = self.parser
        while self._gate_open():
            if not self.queued:
                try:
                    commands = parser.get_commands()
                except ProtocolError as exc:
                    self.server.log_protocol_error(self, exc)
                    encode_into(self.out, Error(str(exc)), self.session.resp3)
                    self.session.close_after_reply = True
                    break
                if not commands:
                    break
                self.queued.extend(commands)
            self._run_slice()
        if parser.buffered_bytes > self.server.query_buffer_limit:
            self.server.log.warning("Closing client that reached max query buffer length "
                                    "(id=%d addr=%s)", self.session.id, self.session.address)
            self.out.clear()
            self.close()
            return
        if self.out and self.may_send_now():
            self.transport.write(b"".join(self.out))
            self.out.clear()
        else:
            self.server.schedule_commit(self)

    def may_send_now(self) -> bool:
        """Whether the replies may be written at once, skipping the commit at the end
        of the loop iteration: they answered no write that waits for the log (the
        engine is settled: nothing is buffered, and under ``always`` everything written
        is durable), so they cannot reveal a change a crash could lose. The common
        case of a read."""
        engine = self.session.engine
        return (not self.held and not self.closed and not self.session.close_after_reply
                and not self.output_full and engine.settled())

    def _run_slice(self) -> None:
        """Run up to OUTPUT_SLICE queued commands; past OUTPUT_BATCH of replies, stop
        until the client has taken them."""
        dispatcher = self.dispatcher
        session = self.session
        queued = self.queued
        out = self.out
        count = min(OUTPUT_SLICE, len(queued))
        for _ in range(count):
            argv = queued.popleft()
            try:
                encode_into(out, dispatcher.execute(session, argv), session.resp3)
            except Postponed:  # the server is paused: this command and the rest wait
                queued.appendleft(argv)
                self.postponed = True
                self._stop_reading()
                return
            except Blocked as blocked:  # it waits; the rest runs once it is answered
                self.server.blocking.block(session, argv, blocked)
                return
            if session.close_after_reply:  # QUIT, or a command that closes the connection
                queued.clear()
                return
        if queued and sum(map(len, out)) > OUTPUT_BATCH:
            self.output_full = True
            self._stop_reading()

    def _stop_reading(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        """Something that closed the gate may be over (a pause ended, a blocked command
        was answered, replies were taken): run what waits, and read again."""
        if self.closed:
            return
        self.postponed = False  # a pause still in force postpones the command again
        if self.output_full and not self.held and not self.writing_paused:
            self.output_full = False
        if self.reading and self.transport is not None:
            self.transport.resume_reading()
        self._process()

    # -------------------------------------------------------------- replies

    def deliver(self, reply: object) -> None:
        """The answer of a blocked command; then the commands sent after it."""
        encode_into(self.out, reply, self.session.resp3)
        self.server.schedule_commit(self)
        self.server.loop.call_soon(self.resume)

    def push(self, data: bytes) -> None:
        """Bytes that answer no request of this client's (a MONITOR line)."""
        if not self.out:
            self.server.schedule_commit(self)
        self.out.append(data)

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
        self._after_send()

    def release(self, released: int) -> bool:
        """Send held replies whose writes are now durable; True when none are left."""
        held = self.held
        while held and held[0][0] <= released:
            data = held.popleft()[1]
            if self.transport is not None and not self.closed:
                self.transport.write(data)
        self._after_send()
        return not held

    def _after_send(self) -> None:
        if self.writing_paused and not self.closed:
            # Redis checks the limits as replies are added: a client over its mark
            # that keeps being sent messages (a subscriber) must still meet its hard
            # limit, not only when writing first paused.
            self._check_output_limits()
        if self.held:
            return
        if self.session.close_after_reply:
            self.close()
        elif self.output_full and not self.writing_paused:
            self.server.loop.call_soon(self.resume)

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()
