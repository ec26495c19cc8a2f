"""Pub/sub: which sessions subscribe to which channels and patterns, and delivery.

As Redis's pubsub.c: a session subscribes to channels (SUBSCRIBE), patterns
(PSUBSCRIBE) and shard channels (SSUBSCRIBE); PUBLISH delivers a ``message`` to
every subscriber of the channel, in the order they subscribed, then a
``pmessage`` for every matching pattern (a session subscribed both ways gets
both), and answers how many deliveries it made. Messages are RESP2 arrays or
RESP3 pushes, encoded once per protocol for all receivers, and appended to each
receiver's replies in the order they were published.

While a session has any subscription it is in pub/sub mode (Redis's
CLIENT_PUBSUB): in RESP2 it may then run only the commands in
:data:`ALLOWED_IN_RESP2`, and its output is held to the ``pubsub`` class of
``client-output-buffer-limit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from protocol.reply import Push, encode
from server.algorithms.glob import compile_pattern

if TYPE_CHECKING:
    from server.app import Server
    from server.session import Session

ALLOWED_IN_RESP2 = frozenset({"ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                              "psubscribe", "punsubscribe", "quit", "reset"})
NOT_ALLOWED = ("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
               "RESET are allowed in this context")

Subscribers = dict  # Session -> None: an ordered set, in the order they subscribed


class PubSub:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.channels: dict[bytes, Subscribers] = {}
        self.shard_channels: dict[bytes, Subscribers] = {}
        self.patterns: dict[bytes, Subscribers] = {}
        self._matchers: dict[bytes, Callable[[bytes], bool]] = {}

    # ------------------------------------------------------- subscriptions

    def subscribe(self, session: Session, channel: bytes, shard: bool = False) -> None:
        """(S)SUBSCRIBE one channel, and confirm it (even if already subscribed)."""
        mine, everyone = self._sides(session, shard)
        if channel not in mine:
            mine[channel] = None
            everyone.setdefault(channel, {})[session] = None
        self._enter(session)
        session.push(Push([b"ssubscribe" if shard else b"subscribe", channel,
                           len(mine) + (0 if shard else len(session.patterns))]))

    def unsubscribe(self, session: Session, channels: list[bytes], shard: bool = False) -> None:
        """(S)UNSUBSCRIBE these channels, or every one (confirming even none)."""
        mine, _ = self._sides(session, shard)
        kind = b"sunsubscribe" if shard else b"unsubscribe"
        if not channels and not mine:
            session.push(Push([kind, None, self._count(session, shard)]))
        for channel in channels or list(mine):
            self._drop_channel(session, channel, shard)
            session.push(Push([kind, channel, self._count(session, shard)]))
        self._leave_if_done(session)

    def psubscribe(self, session: Session, pattern: bytes) -> None:
        if pattern not in session.patterns:
            session.patterns.append(pattern)
            if pattern not in self.patterns:
                self._matchers[pattern] = compile_pattern(pattern)
            self.patterns.setdefault(pattern, {})[session] = None
        self._enter(session)
        session.push(Push([b"psubscribe", pattern, self._count(session, False)]))

    def punsubscribe(self, session: Session, patterns: list[bytes]) -> None:
        if not patterns and not session.patterns:
            session.push(Push([b"punsubscribe", None, self._count(session, False)]))
        for pattern in patterns or list(session.patterns):
            self._drop_pattern(session, pattern)
            session.push(Push([b"punsubscribe", pattern, self._count(session, False)]))
        self._leave_if_done(session)

    def forget(self, session: Session) -> None:
        """Drop every subscription, saying nothing (RESET, a disconnect)."""
        for channel in list(session.channels):
            self._drop_channel(session, channel, False)
        for channel in list(session.shard_channels):
            self._drop_channel(session, channel, True)
        for pattern in list(session.patterns):
            self._drop_pattern(session, pattern)
        self._leave_if_done(session)

    def _sides(self, session: Session, shard: bool) -> tuple[dict, dict[bytes, Subscribers]]:
        if shard:
            return session.shard_channels, self.shard_channels
        return session.channels, self.channels

    @staticmethod
    def _count(session: Session, shard: bool) -> int:
        """What the confirmations count: Redis's clientSubscriptionsCount (channels and
        patterns) or, for the shard commands, clientShardSubscriptionsCount."""
        if shard:
            return len(session.shard_channels)
        return len(session.channels) + len(session.patterns)

    def _drop_channel(self, session: Session, channel: bytes, shard: bool) -> None:
        mine, everyone = self._sides(session, shard)
        if mine.pop(channel, False) is None:
            subscribers = everyone[channel]
            del subscribers[session]
            if not subscribers:
                del everyone[channel]

    def _drop_pattern(self, session: Session, pattern: bytes) -> None:
        if pattern in session.patterns:
            session.patterns.remove(pattern)
            subscribers = self.patterns[pattern]
            del subscribers[session]
            if not subscribers:
                del self.patterns[pattern]
                del self._matchers[pattern]

    def _enter(self, session: Session) -> None:
        if not session.pubsub:
            session.pubsub = True
            self._output_class_changed(session)

    def _leave_if_done(self, session: Session) -> None:
        if session.pubsub and not (session.channels or session.shard_channels
                                   or session.patterns):
            session.pubsub = False
            self._output_class_changed(session)

    def _output_class_changed(self, session: Session) -> None:
        if session.peer is not None:
            session.peer.set_output_limits(self.output_limits(session))

    def output_limits(self, session: Session) -> tuple[int, int, int]:
        """The client-output-buffer-limit class that applies to ``session``."""
        limits = self.server.config["client-output-buffer-limit"]
        if session.replica is not None:
            return limits["slave"]
        return limits["pubsub" if session.pubsub else "normal"]

    # ------------------------------------------------------------ publish

    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """Deliver ``message`` to every subscriber; how many deliveries were made."""
        receivers = 0
        subscribers = (self.shard_channels if shard else self.channels).get(channel)
        if subscribers:
            kind = b"smessage" if shard else b"message"
            receivers += self._deliver(subscribers, Push([kind, channel, message]))
        if not shard:
            for pattern, subscribers in list(self.patterns.items()):
                if self._matchers[pattern](channel):
                    receivers += self._deliver(
                        subscribers, Push([b"pmessage", pattern, channel, message]))
        return receivers

    @staticmethod
    def _deliver(subscribers: Subscribers, message: Push) -> int:
        encoded: dict[bool, bytes] = {}
        for session in list(subscribers):
            data = encoded.get(session.resp3)
            if data is None:
                data = encoded[session.resp3] = encode(message, session.resp3)
            session.peer.push(data)
        return len(subscribers)

    # ------------------------------------------------------------- PUBSUB

    def channel_list(self, pattern: bytes | None, shard: bool = False) -> list[bytes]:
        channels = self.shard_channels if shard else self.channels
        if pattern is None:
            return list(channels)
        matches = compile_pattern(pattern)
        return [channel for channel in channels if matches(channel)]

    def subscriber_count(self, channel: bytes, shard: bool = False) -> int:
        return len((self.shard_channels if shard else self.channels).get(channel, ()))
