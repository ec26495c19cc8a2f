"""Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
BZMPOP, XREAD and XREADGROUP with BLOCK): a client that finds nothing waits for
it, without holding up anyone else.

A handler that must wait raises :class:`Blocked`. Its connection keeps the
commands that came after it (they run once it is answered) and
:class:`BlockedClients` parks the client under each key it waits for, with a
timer for its timeout. A write to a key someone waits for makes the key
*ready*: once the command that wrote it is over, its waiters, in the order they
blocked, run their command again, and each one that now gets something is
answered; the others wait on, until their deadline. Inside MULTI/EXEC nothing
blocks (the handlers answer as on a timeout), and waiters are served only when
the transaction is over, as in Redis.

The engine's change events (server/changes.py) make keys ready; they are
reported only while someone waits or watches, so commands pay nothing for it
otherwise.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from protocol.numbers import LLONG_MAX
from protocol.reply import Error, NullArray
from server.algorithms import longdouble
from server.errors import CommandError

if TYPE_CHECKING:
    import asyncio

    from server.app import Server
    from server.commands.registry import Command
    from server.session import Session

UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"


class Blocked(BaseException):
    """Raised by a blocking command's handler when it must wait for ``keys`` to
    hold a ``kind`` (deque or ZSet); ``timeout`` in seconds, 0 for ever.

    A BaseException so that it passes the dispatcher's guard against failing
    handlers (which catches Exception) on its way to the connection."""

    def __init__(self, keys: list[bytes], kind: type, timeout: float, *,
                 argv: list[bytes] | None = None, any_change: bool = False) -> None:
        super().__init__()
        self.keys = keys
        self.kind = kind
        self.timeout = timeout
        # The command to run again, if not as sent (XREAD's "$" becomes the id it meant).
        self.argv = argv
        # Run again on any change of a key, whatever it holds then (XREADGROUP answers
        # a deleted stream or a destroyed group with an error), not only when it holds
        # something of ``kind``.
        self.any_change = any_change


def parse_timeout(arg: bytes) -> float:
    """A blocking command's timeout in seconds, as Redis 7.0 reads it: a long
    double, times 1000 and cut to whole milliseconds in a long long (where an
    infinite or too large product comes out negative, as on x86)."""
    value = longdouble.parse(arg)
    if value is None:
        raise CommandError("ERR timeout is not a float or out of range")
    product = None if isinstance(value, float) else longdouble.round_to_long_double(value * 1000)
    ms = math.trunc(product) if product is not None else -1
    if not 0 <= ms <= LLONG_MAX:
        raise CommandError("ERR timeout is negative")
    return ms / 1000


@dataclass(eq=False)
class BlockState:
    """A waiting client: the command to run again, what it waits for, its timer."""

    client: Session
    command: Command
    argv: list[bytes]
    keys: list[tuple[int, bytes]]
    kind: type
    any_change: bool = False
    timer: asyncio.TimerHandle | None = None


class BlockedClients:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.waiters: dict[tuple[int, bytes], deque[BlockState]] = {}
        self.ready: deque[tuple[int, bytes]] = deque()
        self.count = 0  # blocked clients (INFO blocked_clients)
        self._serving = False

    def block(self, client: Session, argv: list[bytes], blocked: Blocked) -> None:
        """Park ``client``, which ran ``argv`` and raised ``blocked``."""
        server = self.server
        argv = blocked.argv or argv
        command = server.dispatcher.resolve(argv)
        state = BlockState(client, command, argv, [(client.db, key) for key in blocked.keys],
                           blocked.kind, blocked.any_change)
        for slot in dict.fromkeys(state.keys):
            self.waiters.setdefault(slot, deque()).append(state)
        if blocked.timeout:
            state.timer = server.loop.call_later(blocked.timeout, self.unblock, client,
                                                 NullArray)
        client.blocked = state
        self.count += 1
        server.refresh_observed()

    def signal(self, db: int, keys: list[bytes]) -> None:
        """``keys`` of ``db`` were written: their waiters may now be served."""
        for key in keys:
            if (db, key) in self.waiters:
                self.ready.append((db, key))

    def signal_dbs(self, dbs: set[int] | None) -> None:
        """Whole databases changed (SWAPDB …): every key waited for there is ready."""
        self.ready.extend(slot for slot in self.waiters if dbs is None or slot[0] in dbs)

    def serve(self) -> None:
        """Serve the waiters of every ready key (commands that serve them may make
        more keys ready: BLMOVE's destination)."""
        if self._serving:
            return
        self._serving = True
        try:
            while self.ready:
                self._serve_key(*self.ready.popleft())
        finally:
            self._serving = False

    def _serve_key(self, db: int, key: bytes) -> None:
        engine = self.server.engine
        for state in list(self.waiters.get((db, key), ())):
            if state.client.blocked is not state:
                continue
            if not state.any_change:
                value = engine.get_object(db, key)
                if not value:
                    continue
                if type(value) is not state.kind:
                    continue
            try:
                reply = self.server.dispatcher.call(state.client, state.command, state.argv)
            except Blocked:  # nothing for it after all: it waits on
                continue
            self.unblock(state.client, reply)

    def unblock(self, client: Session, reply) -> None:
        """Answer a waiting client and let it go on with the commands it sent since."""
        state = self._release(client)
        if state is None:
            return
        if client.slow_path:  # CLIENT REPLY OFF|SKIP decides about this reply too
            reply = self.server.dispatcher.reply_mode(client, state.command, reply)
        if client.peer is not None:
            client.peer.deliver(reply)

    def unblock_by_id(self, client_id: int, error: bool) -> bool:
        """CLIENT UNBLOCK: answer a waiting client as on a timeout, or with an error."""
        client = self.server.clients.get(client_id)
        if client is None or client.blocked is None:
            return False
        self.unblock(client, Error(UNBLOCKED) if error else NullArray)
        return True

    def forget(self, client: Session) -> None:
        """A waiting client disconnected."""
        self._release(client)

    def _release(self, client: Session) -> BlockState | None:
        state = client.blocked
        if state is None:
            return None
        client.blocked = None
        self.count -= 1
        if state.timer is not None:
            state.timer.cancel()
        for slot in dict.fromkeys(state.keys):
            waiters = self.waiters[slot]
            waiters.remove(state)
            if not waiters:
                del self.waiters[slot]
        self.server.refresh_observed()
        return state
