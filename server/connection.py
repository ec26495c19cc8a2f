"""One client connection: bytes in -> commands -> replies out, on an asyncio.Protocol.

Protocol callbacks (not streams) keep the per-read overhead low. Every complete
command in a read is executed in order and its reply encoded into ``out``; the
server's end-of-iteration commit then flushes the log once for all clients and
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
from server.pause import Postponed

if TYPE_CHECKING:
    from server.app import Server

_client_ids = itertools.count(1)


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

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.forget(self)

    def pause_writing(self) -> None:
        """The client is not reading its replies: stop reading its requests."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closed and self.postponed is None:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.closed or self.close_after_reply:
            return
        self.last_interaction = time.monotonic()
        self.parser.feed(data)
        self._process()

    def _process(self) -> None:
        """Execute every complete command buffered, unless a CLIENT PAUSE holds us."""
        parser = self.parser
        while not self.close_after_reply and self.postponed is None:
            try:
                commands = parser.get_commands()
            except ProtocolError as exc:
                self.server.log_protocol_error(self, exc)
                encode_into(self.out, Error(str(exc)), self.resp3)
                self.close_after_reply = True
                break
            if not commands:
                break
            self._run(commands)
        if parser.buffered_bytes > self.server.query_buffer_limit:
            self.server.log.warning("Closing client that reached max query buffer length "
                                    "(id=%d addr=%s)", self.id, self.address)
            self.out.clear()
            self.close()
            return
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

    def resume(self) -> None:
        """The pause is over: run the commands that waited, then what came meanwhile."""
        commands, self.postponed = self.postponed, None
        self._run(commands)
        if self.postponed is None and self.transport is not None and not self.closed:
            self.transport.resume_reading()
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

    def release(self, released: int) -> bool:
        """Send held replies whose writes are now durable; True when none are left."""
        held = self.held
        while held and held[0][0] <= released:
            data = held.popleft()[1]
            if self.transport is not None and not self.closed:
                self.transport.write(data)
        if not held and self.close_after_reply:
            self.close()
        return not held

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()
