"""Client-side caching: CLIENT TRACKING, as Redis 7.0's tracking.c keeps it.

A tracking session's read commands remember their keys (by name, whatever the
db, as Redis does); the first change of such a key, reported by the engine's
change events, sends the session one ``invalidate`` message and forgets the
key. In BCAST mode nothing is remembered: every change of a key under one of
the session's prefixes is collected, and the keys of a loop iteration go out
together at its end (Redis's beforeSleep). FLUSHDB/FLUSHALL/SWAPDB invalidate
everything with a null. Messages are RESP3 pushes, or, with REDIRECT to a
RESP2 subscriber, messages on ``__redis__:invalidate``. A session's own changes
are announced after its reply (Redis's pending invalidations), and not at all
with NOLOOP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from protocol.reply import Push, Raw, encode

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.session import Session

CHANNEL = b"__redis__:invalidate"


@dataclass(eq=False)
class Tracking:
    """A session's CLIENT TRACKING state (Redis's CLIENT_TRACKING_* flags)."""

    redirect: int = 0
    bcast: bool = False
    optin: bool = False
    optout: bool = False
    noloop: bool = False
    caching: bool = False  # CLIENT CACHING YES|NO for the next command
    broken_redirect: bool = False
    prefixes: list[bytes] = field(default_factory=list)


@dataclass(eq=False)
class _Prefix:
    sessions: dict[Session, None] = field(default_factory=dict)
    keys: dict[bytes, Session | None] = field(default_factory=dict)  # key -> who changed it


class ClientTracking:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.table: dict[bytes, set[int]] = {}  # key -> ids of the sessions caching it
        self.prefixes: dict[bytes, _Prefix] = {}
        self.sessions = 0  # INFO tracking_clients
        self.current: Session | None = None  # the session whose command is running
        self._pending: list[bytes | None] = []  # the current session's own keys

    def __bool__(self) -> bool:
        return bool(self.sessions)

    @property
    def items(self) -> int:
        """INFO tracking_total_items: remembered (key, session) pairs."""
        return sum(map(len, self.table.values()))

    # ------------------------------------------------------------ on / off

    def enable(self, session: Session, state: Tracking) -> None:
        if session.tracking is None:
            self.sessions += 1
            self.server.refresh_observed()
        elif session.tracking.bcast:  # the same prefixes carry on, plus the new ones
            state.prefixes = session.tracking.prefixes + state.prefixes
        session.tracking = state
        if state.bcast:
            for prefix in state.prefixes or [b""]:
                self.prefixes.setdefault(prefix, _Prefix()).sessions[session] = None
            if not state.prefixes:
                state.prefixes.append(b"")

    def disable(self, session: Session) -> None:
        state = session.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes[prefix]
            entry.sessions.pop(session, None)
            if not entry.sessions:
                del self.prefixes[prefix]
        session.tracking = None
        self.sessions -= 1
        self.server.refresh_observed()

    @staticmethod
    def overlap(state: Tracking, prefixes: list[bytes]) -> str | None:
        """Redis's checkPrefixCollisionsOrReply: the error if two prefixes overlap."""
        for i, prefix in enumerate(prefixes):
            for existing in state.prefixes if state.bcast else ():
                if prefix.startswith(existing) or existing.startswith(prefix):
                    return (f"ERR Prefix '{prefix.decode(errors='replace')}' overlaps with an "
                            f"existing prefix '{existing.decode(errors='replace')}'. Prefixes "
                            f"for a single client must not overlap.")
            for other in prefixes[i + 1:]:
                if prefix.startswith(other) or other.startswith(prefix):
                    return (f"ERR Prefix '{prefix.decode(errors='replace')}' overlaps with "
                            f"another provided prefix '{other.decode(errors='replace')}'. "
                            f"Prefixes for a single client must not overlap.")
        return None

    # --------------------------------------------------------- remembering

    def remember(self, session: Session, command: Command, argv: list[bytes]) -> None:
        """After a read command: its keys are cached by ``session`` (trackingRememberKeys)."""
        state = session.tracking
        if state.bcast or (state.optin and not state.caching) or \
                (state.optout and state.caching) or command.channels:
            return
        for index in command.key_positions(argv):
            self.table.setdefault(argv[index], set()).add(session.id)

    def after_command(self, session: Session, command: Command, reply):
        """At the end of a top-level command: CLIENT CACHING lasts one command (or one
        transaction), and the session's own invalidations follow its reply."""
        state = session.tracking
        if state is not None and session.multi is None and \
                not command.full_name.startswith("client|"):
            state.caching = False
        if not self._pending:
            return reply
        pending, self._pending = self._pending, []
        own = []
        for key in pending:
            destination, data = self._message(session, None if key is None else [key])
            if data is None:
                continue
            if destination is session:
                own.append(data)
            elif destination.peer is not None:
                destination.peer.push(data)
        return Raw(encode(reply, session.resp3) + b"".join(own)) if own else reply

    # -------------------------------------------------------- invalidating

    def changed(self, key: bytes) -> None:
        """``key`` changed (in any db): tell whoever caches it (trackingInvalidateKey)."""
        writer = self.current
        for entry_prefix, entry in self.prefixes.items():
            if key.startswith(entry_prefix):
                entry.keys[key] = writer
        ids = self.table.pop(key, None)
        if not ids:
            return
        clients = self.server.clients
        for session_id in ids:
            target = clients.get(session_id)
            state = target.tracking if target is not None else None
            if state is None or state.bcast or (state.noloop and target is writer):
                continue
            if target is writer:
                self._pending.append(key)
            else:
                self._send(target, [key])

    def flushed(self) -> None:
        """Every key changed: every tracking session is told with a null."""
        for session in list(self.server.clients.values()):
            if session.tracking is not None:
                if session is self.current:
                    self._pending.append(None)
                else:
                    self._send(session, None)
        self.table.clear()

    def broadcast(self) -> None:
        """End of a loop iteration: each BCAST prefix's changed keys, in one message
        (prefixes and keys in the sorted order of Redis's radix trees)."""
        for _, entry in sorted(self.prefixes.items()):
            if not entry.keys:
                continue
            for session in list(entry.sessions):
                keys = [key for key, writer in sorted(entry.keys.items())
                        if not (session.tracking.noloop and writer is session)]
                if keys:
                    self._send(session, keys)
            entry.keys.clear()

    def limit(self, max_keys: int) -> None:
        """tracking-table-max-keys: past it, keys are invalidated to make room."""
        while max_keys and len(self.table) > max_keys:
            key = next(iter(self.table))
            saved, self.current = self.current, None
            try:
                self.changed(key)
            finally:
                self.current = saved

    # ------------------------------------------------------------ messages

    def _send(self, session: Session, keys: list[bytes] | None) -> None:
        destination, data = self._message(session, keys)
        if data is not None and destination.peer is not None:
            destination.peer.push(data)

    def _message(self, session: Session,
                 keys: list[bytes] | None) -> tuple[Session, bytes | None]:
        """Where sendTrackingMessage sends ``session``'s invalidation of ``keys`` (None:
        all), and its bytes (None: nothing can be sent)."""
        state = session.tracking
        target = self.server.clients.get(state.redirect) if state.redirect else session
        if target is None:  # the redirect is gone: the session itself is told so
            state.broken_redirect = True
            if session.resp3:
                return session, encode(Push([b"tracking-redir-broken", state.redirect]), True)
            return session, None
        if target.resp3:
            return target, encode(Push([b"invalidate", keys]), True)
        if state.redirect and target.pubsub:
            return target, encode(Push([b"message", CHANNEL, keys]), False)
        return target, None
