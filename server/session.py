"""A client's command state, apart from any socket.

Every command runs for a :class:`Session`: the database it selected, its user,
protocol version, MULTI queue, watched keys, reply mode, blocking state. A
network client's session has a *peer* (its :class:`server.transport.Connection`),
which owns the transport, the parser and the replies on their way; a session with
no peer (a test, and later a Lua script's ``redis.call``, a replica applying its
master's stream, an HTTP request) runs commands through the same dispatcher.

The session alone decides whether its commands need the dispatcher's slow path
(:attr:`slow_path`): the four states that ask for it are properties whose setters
keep it current, so no other module caches it.

Compiled (server/session.pxd), a session is a C type whose hot fields the transport
and the dispatcher read as struct fields.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Protocol

from protocol.reply import encode

if TYPE_CHECKING:
    from server.acl import User
    from server.app import Server
    from server.blocking import BlockState
    from server.commands.registry import Command
    from server.replication.master import ReplicaLink
    from server.tracking import Tracking

_session_ids = itertools.count(1)


class Peer(Protocol):
    """What a session asks of the transport behind it, when it has one."""

    def close(self) -> None: ...

    def deliver(self, reply: object) -> None:
        """Send a reply that was not the answer to a request just read (a blocked
        command's), then go on with the requests that waited for it."""

    def resume(self) -> None:
        """Whatever held this client's requests (a pause) may be over: go on."""

    def limit_requests(self, before_auth: bool) -> None:
        """Whether the client must still AUTH, which caps its requests, as Redis does
        (10 arguments of 16 KiB at most)."""

    def push(self, data: bytes) -> None:
        """Send bytes that answer no request (a MONITOR line)."""

    def set_output_limits(self, limits: tuple[int, int, int]) -> None:
        """client-output-buffer-limit's hard, soft and seconds for its class."""

    # What CLIENT LIST shows of it.
    reading: bool

    def output_size(self) -> int: ...

    def held_replies(self) -> int: ...

    def query_buffer_size(self) -> int: ...

    def local_address(self) -> str: ...

    def fileno(self) -> int: ...


class Session:
    """One client's state for running commands (see the module docstring)."""

    def __init__(self, server: Server, peer: Peer | None = None, address: str = "") -> None:
        self.server = server
        self.engine = server.engine
        self.peer = peer
        self.id = next(_session_ids)
        self.address = address
        self.db = 0
        self.protocol = 2
        self.resp3 = False
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.user: User = server.acl.default
        self.authenticated = False  # set by Acl.set_default_auth just below
        self.created = time.monotonic()
        self.last_interaction = self.created
        self.last_command = "NULL"
        self.multi_failed = False  # a command was refused while queuing: EXEC aborts
        self.in_exec = False
        self.watched: dict[tuple[int, bytes], int | None] = {}  # see server.watch
        self.cas_dirty = False  # a watched key changed: EXEC will answer null
        self.no_evict = False
        self.blocked: BlockState | None = None  # while a blocking command waits
        self.close_after_reply = False  # QUIT, CLIENT KILL of itself, ...
        self._multi: list[tuple[Command, list[bytes]]] | None = None
        self._reply_mode = "on"  # CLIENT REPLY: on, off, skip (the next reply)
        self._monitoring = False
        self._pubsub = False
        self.channels: dict[bytes, None] = {}  # subscribed, in order (see server.pubsub)
        self.shard_channels: dict[bytes, None] = {}
        self.patterns: list[bytes] = []
        self.tracking: Tracking | None = None  # CLIENT TRACKING ON (see server.tracking)
        self.replica: ReplicaLink | None = None  # after its PSYNC (server/replication/master.py)
        self.slow_path = False  # MULTI, CLIENT REPLY OFF|SKIP, MONITOR, pub/sub: see above
        server.acl.set_default_auth(self)

    # The states that send commands down the dispatcher's slow path.

    @property
    def multi(self) -> list[tuple[Command, list[bytes]]] | None:
        """The commands queued since MULTI; None outside a transaction."""
        return self._multi

    @multi.setter
    def multi(self, queue: list[tuple[Command, list[bytes]]] | None) -> None:
        self._multi = queue
        self._refresh_slow_path()

    @property
    def reply_mode(self) -> str:
        return self._reply_mode

    @reply_mode.setter
    def reply_mode(self, mode: str) -> None:
        self._reply_mode = mode
        self._refresh_slow_path()

    @property
    def monitoring(self) -> bool:
        return self._monitoring

    @monitoring.setter
    def monitoring(self, on: bool) -> None:
        self._monitoring = on
        self._refresh_slow_path()

    @property
    def pubsub(self) -> bool:
        """Subscribed to anything (Redis's CLIENT_PUBSUB): RESP2 limits its commands."""
        return self._pubsub

    @pubsub.setter
    def pubsub(self, on: bool) -> None:
        self._pubsub = on
        self._refresh_slow_path()

    def _refresh_slow_path(self) -> None:
        self.slow_path = (self._multi is not None or self._reply_mode != "on"
                          or self._monitoring or self._pubsub)

    # What it asks of its peer; a session without one has nothing to do.

    def close(self) -> None:
        """Disconnect at once (CLIENT KILL of another client, ACL DELUSER)."""
        self.close_after_reply = True
        if self.peer is not None:
            self.peer.close()

    def push(self, reply: object) -> None:
        """Send ``reply`` out of band, before the current command's own reply (pub/sub
        confirmations and messages, as Redis's CLIENT_PUSHING replies)."""
        if self.peer is not None:
            self.peer.push(encode(reply, self.resp3))

    def refresh_request_limits(self) -> None:
        """Whether it must still AUTH may have changed: so may its request limits."""
        if self.peer is not None:
            self.peer.limit_requests(self.server.acl.auth_required(self))
