"""Keyspace notifications: the engine's change events published over pub/sub.

As Redis's notify.c: with ``notify-keyspace-events`` naming the classes wanted, a
change of ``key`` in db ``N`` publishes the event's name on
``__keyspace@N__:key`` (class K) and the key on ``__keyevent@N__:event``
(class E), for events of the enabled classes. The events are the engine's
change events (server/changes.py), so every command that changes a key, expiry
(lazy and active) and eviction notify without any command naming them twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.pubsub import PubSub

# Redis's class letters (server.h NOTIFY_*), in keyspaceEventsFlagsToString's order.
KEYSPACE, KEYEVENT, GENERIC, STRING, LIST, SET, HASH, ZSET, EXPIRED, EVICTED, STREAM, \
    KEY_MISS, MODULE, NEW = (1 << n for n in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14))
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE
_LETTERS = {"g": GENERIC, "$": STRING, "l": LIST, "s": SET, "h": HASH, "z": ZSET,
            "x": EXPIRED, "e": EVICTED, "t": STREAM, "d": MODULE, "n": NEW}
_TRAILING = {"K": KEYSPACE, "E": KEYEVENT, "m": KEY_MISS}
INVALID = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."

# The class of each event, as Redis's notifyKeyspaceEvent calls pass it.
_CLASSES: dict[str, int] = {
    **dict.fromkeys(("del", "expire", "persist", "rename_from", "rename_to", "move_from",
                     "move_to", "copy_to", "restore"), GENERIC),
    **dict.fromkeys(("set", "setrange", "incrby", "incrbyfloat", "append", "setbit", "pfadd"),
                    STRING),
    **dict.fromkeys(("lpush", "rpush", "lpop", "rpop", "linsert", "lset", "lrem", "ltrim",
                     "sortstore"), LIST),
    **dict.fromkeys(("sadd", "srem", "spop", "sinterstore", "sunionstore", "sdiffstore"), SET),
    **dict.fromkeys(("hset", "hdel", "hincrby", "hincrbyfloat"), HASH),
    **dict.fromkeys(("zadd", "zincr", "zrem", "zremrangebyscore", "zremrangebyrank",
                     "zremrangebylex", "zunionstore", "zinterstore", "zdiffstore", "zrangestore",
                     "zpopmin", "zpopmax", "georadiusstore", "geosearchstore"), ZSET),
    "expired": EXPIRED, "evicted": EVICTED, "new": NEW,
}


def parse_classes(text: str) -> int:
    """keyspaceEventsStringToFlags; ValueError on a letter that names no class."""
    flags = 0
    for letter in text:
        if letter == "A":
            flags |= ALL
        elif letter in _LETTERS:
            flags |= _LETTERS[letter]
        elif letter in _TRAILING:
            flags |= _TRAILING[letter]
        else:
            raise ValueError(INVALID)
    return flags


def show_classes(flags: int) -> str:
    """keyspaceEventsFlagsToString: what CONFIG GET shows."""
    if flags & ALL == ALL:  # "n" is not shown beside it, as in Redis
        text = "A"
    else:
        text = "".join(letter for letter, flag in _LETTERS.items() if flags & flag)
    return text + "".join(letter for letter, flag in _TRAILING.items() if flags & flag)


def event_class(event: str) -> int:
    """An event's class: the table's, or stream (Redis's x* events) and generic."""
    found = _CLASSES.get(event)
    if found is not None:
        return found
    return STREAM if event.startswith("x") else GENERIC


class Notifications:
    def __init__(self, pubsub: PubSub) -> None:
        self.pubsub = pubsub
        self.flags = 0

    def configure(self, classes: str) -> None:
        """notify-keyspace-events' letters (already checked by the config)."""
        self.flags = parse_classes(classes)

    def __bool__(self) -> bool:
        """Whether any event can be published: some class and K or E."""
        return bool(self.flags & (KEYSPACE | KEYEVENT)) and bool(self.flags & ~(KEYSPACE |
                                                                                KEYEVENT))

    def notify(self, db: int, key: bytes, event: str) -> None:
        flags = self.flags
        if not event or not flags & event_class(event):  # UNANNOUNCED, or not wanted
            return
        name = event.encode()
        if flags & KEYSPACE:
            self.pubsub.publish(b"__keyspace@%d__:%b" % (db, key), name)
        if flags & KEYEVENT:
            self.pubsub.publish(b"__keyevent@%d__:%b" % (db, name), key)
