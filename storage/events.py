"""Change events: every change the engine makes, reported once, as a fact.

``Engine.changes`` holds one :class:`ChangeListener` (None: nobody listens, and
a change costs one attribute test). A listener is called after the change is
applied, only when something really changed, with the event named as Redis's
keyspace notifications name it (``set``, ``del``, ``expired``, ``lpush``,
``rename_from``...). WATCH, blocked clients, keyspace notifications and the
like all subscribe through it; none infers changes from command names.
Recovery, hint loading and compaction's fix-up report nothing: they restore
or move data, they do not change it.
"""

from __future__ import annotations

from typing import Protocol

from storage.datatypes import Op

#: The name of a change that WATCH and blocked clients must see but that Redis
#: announces with no keyspace notification (PFCOUNT caching its estimate).
UNANNOUNCED = ""


class ChangeListener(Protocol):
    def changed(self, db: int, key: bytes, event: str) -> None:
        """``key`` of ``db`` changed; ``event`` is Redis's name for the change."""

    def flushed(self, dbs: tuple[int, ...] | None) -> None:
        """Every key of ``dbs`` changed at once (FLUSHDB, SWAPDB); None: of every db."""


#: A collection operation's default event name, as Redis's t_hash.c, t_list.c,
#: t_set.c and t_zset.c name theirs in notifyKeyspaceEvent calls. None: a change
#: Redis neither announces nor signals (XACK, XREADGROUP's deliveries), which the
#: engine does not report unless the caller names an event.
OP_EVENTS: dict[Op, str | None] = {
    Op.HSET: "hset", Op.HDEL: "hdel",
    Op.LPUSH: "lpush", Op.RPUSH: "rpush", Op.LPOP: "lpop", Op.RPOP: "rpop",
    Op.LSET: "lset", Op.LINSERT: "linsert", Op.LREM: "lrem", Op.LTRIM: "ltrim",
    Op.SADD: "sadd", Op.SREM: "srem",
    Op.ZADD: "zadd", Op.ZREM: "zrem",
    # t_stream.c's
    Op.XADD: "xadd", Op.XENTRIES: "xadd", Op.XNODES: None, Op.XDEL: "xdel", Op.XTRIM: "xtrim",
    Op.XSETID: "xsetid", Op.XGROUPSET: "xgroup-create", Op.XGROUPDEL: "xgroup-destroy",
    Op.XDELIVER: None, Op.XACK: None, Op.XDELCONSUMER: "xgroup-delconsumer",
}

#: Operations whose result says whether they changed anything (a count removed
#: or added, the elements popped); the others change any collection they meet.
_RESULT_TELLS = frozenset({Op.HDEL, Op.LPOP, Op.RPOP, Op.LREM, Op.SADD, Op.SREM, Op.ZREM,
                           Op.XDEL, Op.XACK, Op.XGROUPDEL})


def op_changed(op: Op, before: object, after: object, result: object) -> bool:
    """Whether applying ``op`` (to ``before``, giving ``after`` and ``result``)
    changed the key: LSET, LINSERT and LTRIM on no key change nothing."""
    if op in _RESULT_TELLS:
        return bool(result)
    return before is not None or bool(after)
