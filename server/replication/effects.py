"""What a command that changed the data set sends down the replication stream.

Replicas must end up with the master's data, so what goes to them is the effect
of a command, never a command whose result depends on the clock, chance or the
master's state: Redis's commands rewrite their own argv for propagation
(rewriteClientCommandVector / rewriteClientCommandArgument, alsoPropagate) and
each rewrite here follows the Redis 7.0.15 source it names. A rewrite gets the
command's argv and reply after it ran, and the engine as the command left it; it
returns the commands to propagate (usually one). Commands without a rewrite go
as they were sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from protocol.reply import NullArray
from server.commands.streams import parse_strict_id
from storage.streams import format_id

if TYPE_CHECKING:
    from server.session import Session

Argv = list[bytes]
Rewrite = Callable[["Session", Argv, object], list[Argv]]

#: Never propagated themselves: EXEC's commands and a script's (or function's)
#: calls go on their own (Redis's call() skips execCommand; scriptResetRun
#: calls preventCommandPropagation on the script's caller).
NOT_PROPAGATED = frozenset({"exec", "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall",
                            "fcall_ro"})

#: Propagated whenever they succeed, changed or not: PUBLISH (pubsub.c's
#: forceCommandPropagation outside cluster mode, so sentinel hellos reach the
#: replicas), FLUSHDB/FLUSHALL of an empty db (db.c), and the function library
#: commands (their libraries are not keys: no change event reports them).
FORCED = frozenset({"publish", "spublish", "flushdb", "flushall", "function|load",
                    "function|delete", "function|flush", "function|restore"})

_EXPIRE_OPTIONS = (b"ex", b"px", b"exat", b"pxat")


def _config(session: Session, name: str) -> bool:
    return session.server.config[name]


def _deletion(session: Session, key: bytes, lazy_setting: str) -> Argv:
    """DEL, or UNLINK where the lazyfree setting asks for it (propagateDeletion)."""
    return [b"UNLINK" if _config(session, lazy_setting) else b"DEL", key]


def _expire_at(session: Session, key: bytes) -> int | None:
    """The key's absolute expiry in ms as the command left it; None if it is gone."""
    return session.engine.get_expire(session.db, key)


def _set(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """setGenericCommand: with EX/PX/EXAT/PXAT, SET key value PXAT <ms>."""
    if not any(arg.lower() in _EXPIRE_OPTIONS for arg in argv[3:]):
        return [argv]
    return _set_pxat(session, argv[1], argv[2])


def _set_pxat(session: Session, key: bytes, value: bytes) -> list[Argv]:
    at = _expire_at(session, key)
    if not at:  # already past its time, and gone: the effect is its deletion
        return [_deletion(session, key, "lazyfree-lazy-expire")]
    return [[b"SET", key, value, b"PXAT", b"%d" % at]]


def _setex(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """SETEX and PSETEX go through setGenericCommand with an expiry too."""
    return _set_pxat(session, argv[1], argv[3])


def _getset(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [[b"SET", *argv[1:]]]  # getsetCommand


def _getdel(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [_deletion(session, argv[1], "lazyfree-lazy-user-del")]  # getdelCommand


def _getex(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """getexCommand: PEXPIREAT, DEL/UNLINK for a time already past, or PERSIST."""
    key = argv[1]
    options = [arg.lower() for arg in argv[2:]]
    if b"persist" in options:
        return [[b"PERSIST", key]]
    at = _expire_at(session, key)
    if not at:
        return [_deletion(session, key, "lazyfree-lazy-expire")]
    return [[b"PEXPIREAT", key, b"%d" % at]]


def _incrbyfloat(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [[b"SET", argv[1], reply, b"KEEPTTL"]]  # incrbyfloatCommand


def _hincrbyfloat(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [[b"HSET", argv[1], argv[2], reply]]  # hincrbyfloatCommand


def _expire(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """expireGenericCommand: PEXPIREAT <absolute ms> (options kept), or DEL/UNLINK
    when the time is already past."""
    at = _expire_at(session, argv[1])
    if not at:
        return [_deletion(session, argv[1], "lazyfree-lazy-expire")]
    if argv[0].lower() == b"pexpireat":
        return [argv]
    return [[b"PEXPIREAT", argv[1], b"%d" % at, *argv[3:]]]


def _spop(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """spopCommand: SREM of the member; spopWithCountCommand: one SREM per member,
    or DEL when the whole set went."""
    key = argv[1]
    if len(argv) == 2:
        return [[b"SREM", key, reply]]
    if not session.engine.exists(session.db, key):
        return [[b"DEL", key]]
    return [[b"SREM", key, member] for member in reply]


def _pop_as(name: bytes) -> Rewrite:
    """BLPOP/BRPOP (serveClientBlockedOnList, blockingPopGenericCommand) and
    BZPOPMIN/BZPOPMAX: the plain pop of the key that answered."""
    def rewrite(session: Session, argv: Argv, reply: object) -> list[Argv]:
        return [[name, reply[0]]]
    return rewrite


def _mpop(command: str) -> Rewrite:
    """LMPOP/BLMPOP and ZMPOP/BZMPOP: [LR]POP or ZPOP[MIN|MAX] key <count popped>."""
    numkeys_at = 1 if command in ("lmpop", "zmpop") else 2
    names = ({b"left": b"LPOP", b"right": b"RPOP"} if command.endswith("lmpop")
             else {b"min": b"ZPOPMIN", b"max": b"ZPOPMAX"})

    def rewrite(session: Session, argv: Argv, reply: object) -> list[Argv]:
        where = argv[numkeys_at + 1 + int(argv[numkeys_at])].lower()
        key, popped = reply
        return [[names[where], key, b"%d" % len(popped)]]
    return rewrite


def _blmove(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [[b"LMOVE", *argv[1:5]]]  # blmoveGenericCommand


def _brpoplpush(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [[b"RPOPLPUSH", argv[1], argv[2]]]


# --------------------------------------------------------------------- streams


def _exact_trim(session: Session, argv: Argv, index: int) -> Argv:
    """streamRewriteApproxSpecifier / streamRewriteTrimArgument: MAXLEN|MINID ~ x at
    ``index`` goes as ``=`` the stream's length, or its first id, after the trim."""
    if argv[index + 1] != b"~":
        return argv
    stream = session.engine.get_object(session.db, argv[1])
    threshold = (b"%d" % len(stream) if argv[index].lower() == b"maxlen"
                 else format_id(stream.first_id))
    return [*argv[:index + 1], b"=", threshold, *argv[index + 3:]]


def _xadd(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """xaddCommand: an approximate trim as an exact one, and the id the entry got in
    place of one with ``*`` in it."""
    index = 2  # past the options, as streamParseAddOrTrimArgsOrReply reads them
    trim_at = None
    while True:
        option = argv[index].lower()
        if option == b"nomkstream":
            index += 1
        elif option in (b"maxlen", b"minid"):
            trim_at = index
            index += 3 if argv[index + 1] in (b"=", b"~") else 2
        elif option == b"limit":
            index += 2
        else:
            break
    rewritten = argv if b"*" not in argv[index] else [*argv[:index], reply, *argv[index + 1:]]
    return [rewritten if trim_at is None else _exact_trim(session, rewritten, trim_at)]


def _xtrim(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [_exact_trim(session, argv, 2)]


def _xclaim_of(session: Session, key: bytes, group_name: bytes, entry_id: bytes,
               last_id: bytes | None = None) -> Argv:
    """streamPropagateXCLAIM: the pending entry as it now stands (its consumer,
    delivery time and count), with the group's last id."""
    group = session.engine.get_object(session.db, key).groups[group_name]
    pending = group.pel.get(parse_strict_id(entry_id))
    if pending is None:  # claimed away because deleted: XCLAIM on the replica drops it too
        consumer, time, count = b"", 0, 0
    else:
        consumer, time, count = pending.consumer.name, pending.time, pending.count
    return [b"XCLAIM", key, group_name, consumer, b"0", entry_id, b"TIME", b"%d" % time,
            b"RETRYCOUNT", b"%d" % count, b"FORCE", b"JUSTID", b"LASTID",
            last_id or format_id(group.last_id)]


def _xreadgroup(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """streamReplyWithRange's propagation: each entry a ``>`` read delivered as an
    XCLAIM (its id being the group's last id then), or with NOACK the group's new
    last id (XGROUP SETID). Reading a consumer's history propagates nothing."""
    if reply is NullArray:
        return []
    index, noack = 4, False
    while argv[index].lower() != b"streams":
        noack = noack or argv[index].lower() == b"noack"
        index += 1 if argv[index].lower() == b"noack" else 2
    keys_count = (len(argv) - index - 1) // 2
    ids = dict(zip(argv[index + 1:index + 1 + keys_count], argv[index + 1 + keys_count:],
                   strict=True))
    group_name = argv[2]
    effects = []
    for key, entries in (reply.items() if isinstance(reply, dict) else reply):
        if ids[key] != b">":
            continue
        if noack:
            group = session.engine.get_object(session.db, key).groups[group_name]
            effects.append([b"XGROUP", b"SETID", key, group_name, format_id(group.last_id),
                            b"ENTRIESREAD", b"%d" % group.entries_read])
        else:
            effects.extend(_xclaim_of(session, key, group_name, entry[0], entry[0])
                           for entry in entries)
    return effects


def _xclaim(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """xclaimCommand: each entry it claimed, as an XCLAIM of its new state."""
    return [_xclaim_of(session, argv[1], argv[2], entry if isinstance(entry, bytes)
                       else entry[0]) for entry in reply]


def _xautoclaim(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """xautoclaimCommand: the claimed entries, and those found deleted (dropped from
    the pending list), each as an XCLAIM."""
    _, claimed, deleted = reply
    return [_xclaim_of(session, argv[1], argv[2], entry if isinstance(entry, bytes)
                       else entry[0]) for entry in (*claimed, *deleted)]


def _xack(session: Session, argv: Argv, reply: object) -> list[Argv]:
    return [argv] if reply else []  # xackCommand: dirty for each entry acknowledged


def _restore(session: Session, argv: Argv, reply: object) -> list[Argv]:
    """restoreCommand (cluster.c): a relative TTL goes as an absolute one (ABSTTL)."""
    options = [arg.lower() for arg in argv[4:]]
    if argv[2] == b"0" or b"absttl" in options:
        return [argv]
    at = _expire_at(session, argv[1])
    if not at:
        return [[b"DEL", argv[1]]]
    return [[*argv[:2], b"%d" % at, *argv[3:], b"ABSTTL"]]


REWRITES: dict[str, Rewrite] = {
    "set": _set, "setex": _setex, "psetex": _setex, "getset": _getset, "getdel": _getdel,
    "getex": _getex, "incrbyfloat": _incrbyfloat, "hincrbyfloat": _hincrbyfloat,
    "expire": _expire, "pexpire": _expire, "expireat": _expire, "pexpireat": _expire,
    "spop": _spop, "blpop": _pop_as(b"LPOP"), "brpop": _pop_as(b"RPOP"),
    "bzpopmin": _pop_as(b"ZPOPMIN"), "bzpopmax": _pop_as(b"ZPOPMAX"),
    "lmpop": _mpop("lmpop"), "blmpop": _mpop("blmpop"), "zmpop": _mpop("zmpop"),
    "bzmpop": _mpop("bzmpop"), "blmove": _blmove, "brpoplpush": _brpoplpush,
    "xadd": _xadd, "xtrim": _xtrim, "restore": _restore,
    "xreadgroup": _xreadgroup, "xclaim": _xclaim, "xautoclaim": _xautoclaim, "xack": _xack,
}

#: Consumer-group changes the engine reports no event for (the DESIGN's
#: "unannounced" deliveries and acks): these rewrites run after every call and
#: decide for themselves whether anything changed.
SELF_JUDGED = frozenset({"xreadgroup", "xclaim", "xautoclaim", "xack"})


def effects(session: Session, name: str, argv: Argv, reply: object) -> list[Argv]:
    """What command ``name`` (run as ``argv``, answered ``reply``) propagates."""
    rewrite = REWRITES.get(name)
    return [argv] if rewrite is None else rewrite(session, argv, reply)
