"""Collections (hashes, lists, sets, sorted sets): their in-memory objects and how
their changes are logged.

Strings stay on disk: the index holds a packed int location for them. A collection
lives in memory, as the index value itself:

========  ===================================================================
hash      ``dict[bytes, bytes]``
list      ``collections.deque[bytes]``
set       ``set[bytes]``
zset      :class:`ZSet` (member -> score, plus the (score, member) pairs sorted)
stream    :class:`storage.streams.Stream` (entries by id, consumer groups)
========  ===================================================================

Every change is logged as an *operation*: an op code and its arguments, applied
by :func:`apply`. The live engine and recovery apply the same operations with
the same function, so a replayed log rebuilds exactly the objects the server
had. Operations record effects, not commands: HINCRBY is logged as the HSET of
its result, SPOP as the SREM of what it popped, so replay needs no randomness
or arithmetic.

A *snapshot* (written by compaction, RENAME, COPY, the STORE commands) is the
"add" operation of the collection's type (HSET, RPUSH, SADD, ZADD) applied to a
fresh collection, cut into chunks: the first replaces whatever the key held,
the rest add to it. A stream's is its counters (XSETID, on a fresh stream), its
entries, its node layout and its groups (see :func:`storage.streams.snapshot`).

Encoding: one op-code byte, then each argument as a 4-byte little-endian length
and its bytes. Counts and indexes are decimal text; a score is its 8-byte IEEE
double, so it comes back bit for bit.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from collections.abc import Iterator
from enum import IntEnum

from sortedcontainers import SortedList

from storage import streams
from storage.encoding import ENCODING, EncodingLimits  # noqa: F401 (re-exported)
from storage.streams import Stream

_LENGTH = struct.Struct("<I")
_DOUBLE = struct.Struct("<d")
SNAPSHOT_CHUNK = 1 << 20  # bytes of arguments per snapshot record

class WrongType(Exception):
    """The key holds a value of another type than the operation needs."""


class ZSet:
    """A sorted set: ``scores`` maps member -> score, ``order`` keeps the
    (score, member) pairs sorted as Redis orders them, so ranks and ranges cost
    O(log n). ``listpack`` says whether Redis would still hold it in its compact
    encoding: once grown past the limits it never goes back (as in Redis)."""

    __slots__ = ("listpack", "order", "scores")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self.order = SortedList()
        self.listpack = True

    def __len__(self) -> int:
        return len(self.scores)

    def __repr__(self) -> str:
        return f"ZSet({list(self.order)!r})"

    def add(self, member: bytes, score: float) -> bool:
        """Set ``member``'s score; True if it is new."""
        if self.listpack and member not in self.scores and (
                len(self.scores) >= ENCODING.zset_entries or len(member) > ENCODING.zset_value):
            self.listpack = False
        if score == 0 and self.listpack:
            score = 0.0  # a listpack stores scores as text, where -0 reads back as 0
        old = self.scores.get(member)
        if old is not None:
            if old == score:
                return False
            self.order.remove((old, member))
        self.scores[member] = score
        self.order.add((score, member))
        return old is None

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        return None if score is None else self.order.bisect_left((score, member))

    def count_below(self, score: float, inclusive: bool) -> int:
        """How many members score below ``score`` (or at most ``score``)."""
        if inclusive:
            if score == math.inf:
                return len(self.order)
            score = math.nextafter(score, math.inf)
        return self.order.bisect_left((score,))

    def count_below_member(self, member: bytes, inclusive: bool) -> int:
        """For lexicographic ranges, which Redis defines only when every member has
        the same score: how many members sort before ``member`` (or up to it)."""
        if not self.order:
            return 0
        probe = (self.order[0][0], member)
        return self.order.bisect_right(probe) if inclusive else self.order.bisect_left(probe)

    def copy(self) -> ZSet:
        other = ZSet()
        other.scores = dict(self.scores)
        other.order = SortedList(self.order)
        other.listpack = self.listpack
        return other


class Op(IntEnum):
    """Operation codes, as stored in the log: never renumber."""

    HSET = 1  # field value ...
    HDEL = 2  # field ...
    LPUSH = 3  # value ... (each pushed at the head in turn)
    RPUSH = 4  # value ...
    LPOP = 5  # count
    RPOP = 6  # count
    LSET = 7  # index value (index >= 0)
    LINSERT = 8  # index value: the value goes in before position index
    LREM = 9  # count value, as LREM's arguments
    LTRIM = 10  # head tail: how many elements go from each end
    SADD = 11  # member ...
    SREM = 12  # member ...
    ZADD = 13  # score member ... (score: 8-byte double)
    ZREM = 14  # member ...
    # Streams: see storage/streams.py for each one's arguments.
    XADD = 15
    XENTRIES = 16
    XDEL = 17
    XTRIM = 18
    XSETID = 19
    XGROUPSET = 20
    XGROUPDEL = 21
    XDELIVER = 22
    XACK = 23
    XDELCONSUMER = 24
    XNODES = 25


KIND: dict[int, type] = {
    Op.HSET: dict, Op.HDEL: dict,
    Op.LPUSH: deque, Op.RPUSH: deque, Op.LPOP: deque, Op.RPOP: deque, Op.LSET: deque,
    Op.LINSERT: deque, Op.LREM: deque, Op.LTRIM: deque,
    Op.SADD: set, Op.SREM: set,
    Op.ZADD: ZSet, Op.ZREM: ZSet,
    **{Op[name]: Stream for name in streams.APPLY},
}
ADD_OP: dict[type, Op] = {dict: Op.HSET, deque: Op.RPUSH, set: Op.SADD, ZSet: Op.ZADD}
_OP_BYTES = {op: bytes((op,)) for op in Op}


# ------------------------------------------------------------------ encoding


def encode(op: Op, args: list[bytes] | tuple[bytes, ...]) -> bytes:
    """An operation as logged."""
    pack = _LENGTH.pack
    if len(args) == 1:  # the common case (LPUSH one value…)
        return _OP_BYTES[op] + pack(len(args[0])) + args[0]
    if len(args) == 2:  # the next one (HSET one field, ZADD one member)
        first, second = args
        return _OP_BYTES[op] + pack(len(first)) + first + pack(len(second)) + second
    parts = [_OP_BYTES[op]]
    for arg in args:
        parts.append(pack(len(arg)))
        parts.append(arg)
    return b"".join(parts)


def decode(data: bytes) -> tuple[Op, list[bytes]]:
    """The op code and arguments of a logged operation."""
    unpack = _LENGTH.unpack_from
    args = []
    pos, end = 1, len(data)
    while pos < end:
        (length,) = unpack(data, pos)
        pos += 4
        args.append(data[pos:pos + length])
        pos += length
    return Op(data[0]), args


def zadd_args(pairs: list[tuple[float, bytes]]) -> list[bytes]:
    """ZADD's arguments for (score, member) pairs."""
    pack = _DOUBLE.pack
    return [part for score, member in pairs for part in (pack(score), member)]


# ------------------------------------------------------------------ applying


def apply(current: object, op: Op, args: list[bytes]) -> tuple[object, object]:
    """Apply an operation to ``current`` (the collection, or None for no key).

    Returns the collection afterwards (empty: the key should go, as Redis
    deletes emptied collections; None: nothing was there and nothing is) and
    the operation's result (see each op). ``current`` must be of the op's type
    or None: callers check (the engine raises WrongType, replay starts afresh).
    """
    return _APPLY[op](current, args)


def _hset(obj, args):
    obj = {} if obj is None else obj
    before = len(obj)
    for i in range(0, len(args), 2):
        obj[args[i]] = args[i + 1]
    return obj, len(obj) - before  # fields added


def _hdel(obj, args):
    if obj is None:
        return None, 0
    before = len(obj)
    for field in args:
        obj.pop(field, None)
    return obj, before - len(obj)  # fields removed


def _lpush(obj, args):
    obj = deque() if obj is None else obj
    obj.extendleft(args)
    return obj, len(obj)


def _rpush(obj, args):
    obj = deque() if obj is None else obj
    obj.extend(args)
    return obj, len(obj)


def _lpop(obj, args):
    if obj is None:
        return None, []
    if args[0] == b"1":  # the common case
        return obj, [obj.popleft()]
    count = min(int(args[0]), len(obj))
    popleft = obj.popleft
    return obj, [popleft() for _ in range(count)]


def _rpop(obj, args):
    if obj is None:
        return None, []
    if args[0] == b"1":
        return obj, [obj.pop()]
    count = min(int(args[0]), len(obj))
    pop = obj.pop
    return obj, [pop() for _ in range(count)]


def _lset(obj, args):
    index = int(args[0])
    if obj is not None and index < len(obj):
        obj[index] = args[1]
    return obj, None


def _linsert(obj, args):
    if obj is not None:
        obj.insert(int(args[0]), args[1])
    return obj, None if obj is None else len(obj)


def _lrem(obj, args):
    """LREM count value: count > 0 removes from the head, < 0 from the tail,
    0 all of them; returns how many went."""
    if obj is None:
        return None, 0
    count, value = int(args[0]), args[1]
    limit = abs(count) or len(obj)
    items = reversed(obj) if count < 0 else obj
    kept, removed = [], 0
    for item in items:
        if removed < limit and item == value:
            removed += 1
        else:
            kept.append(item)
    if removed:
        obj.clear()
        (obj.extendleft if count < 0 else obj.extend)(kept)
    return obj, removed


def _ltrim(obj, args):
    if obj is None:
        return None, None
    head, tail = int(args[0]), int(args[1])
    if head + tail >= len(obj):
        obj.clear()
        return obj, None
    for _ in range(head):
        obj.popleft()
    for _ in range(tail):
        obj.pop()
    return obj, None


def _sadd(obj, args):
    obj = set() if obj is None else obj
    before = len(obj)
    obj.update(args)
    return obj, len(obj) - before


def _srem(obj, args):
    if obj is None:
        return None, 0
    before = len(obj)
    obj.difference_update(args)
    return obj, before - len(obj)


def _zadd(obj, args):
    obj = ZSet() if obj is None else obj
    unpack = _DOUBLE.unpack
    add = obj.add
    added = 0
    for i in range(0, len(args), 2):
        added += add(args[i + 1], unpack(args[i])[0])
    return obj, added


def _zrem(obj, args):
    if obj is None:
        return None, 0
    return obj, sum(obj.remove(member) for member in args)


_APPLY = {
    Op.HSET: _hset, Op.HDEL: _hdel, Op.LPUSH: _lpush, Op.RPUSH: _rpush, Op.LPOP: _lpop,
    Op.RPOP: _rpop, Op.LSET: _lset, Op.LINSERT: _linsert, Op.LREM: _lrem, Op.LTRIM: _ltrim,
    Op.SADD: _sadd, Op.SREM: _srem, Op.ZADD: _zadd, Op.ZREM: _zrem,
    **{Op[name]: apply_op for name, apply_op in streams.APPLY.items()},
}


def replay(current: object, data: bytes) -> object:
    """The collection after the logged operation ``data`` (recovery, compaction).

    In a consistent log an operation always meets its own type. A compaction
    interrupted while deleting its inputs can leave only the newest of them, so
    an operation may meet a missing key or another type; it then starts from an
    empty collection, and the compacted snapshot that follows in the log sets the
    key right."""
    op, args = decode(data)
    if type(current) is not KIND[op]:
        current = None
    return apply(current, op, args)[0]


def replay_snapshot(data: bytes) -> object:
    """The collection a snapshot's first record describes (it replaces the key)."""
    op, args = decode(data)
    return apply(None, op, args)[0]


# ------------------------------------------------------------------ snapshots


def snapshot(obj: object) -> Iterator[bytes]:
    """A collection as logged operations: the first replaces the key (a snapshot
    record), the others add to it. A non-empty collection gives at least one."""
    kind = type(obj)
    if kind is Stream:  # its counters, entries and groups: several kinds of op
        for name, args in streams.snapshot(obj, SNAPSHOT_CHUNK):
            yield encode(Op[name], args)
        return
    if kind is ZSet:
        pack = _DOUBLE.pack
        units = ((pack(score), member) for score, member in obj.order)
    elif kind is dict:
        units = obj.items()
    else:
        units = ((item,) for item in obj)
    op = ADD_OP[kind]
    chunk: list[bytes] = []
    size = 0
    for unit in units:
        chunk += unit
        size += sum(map(len, unit)) + 4 * len(unit)
        if size >= SNAPSHOT_CHUNK:
            yield encode(op, chunk)
            chunk, size = [], 0
    if chunk:
        yield encode(op, chunk)


def copy(obj: object) -> object:
    """An independent copy of a collection (COPY)."""
    if type(obj) in (ZSet, Stream):
        return obj.copy()
    return type(obj)(obj)
