"""Streams: the in-memory :class:`Stream` and what each of its logged operations does.

A stream is kept whole in memory, like the other collections (see
:mod:`storage.datatypes`, which registers these operations under its op codes):

- ``entries``: a ``SortedDict`` from entry id to the entry's fields and values (a
  flat tuple), so a range costs O(log n + count) and trimming the head O(k log n);
- ``nodes``: Redis's radix-tree nodes, modelled (entry counts, bytes, last id) but
  not stored: they decide what ``MAXLEN ~`` / ``MINID ~`` trim (whole nodes only)
  and what XINFO reports, as in Redis's t_stream.c;
- ``groups``: consumer groups, each with its pending entries list (PEL) and
  consumers, every pending entry with its owner, delivery time and count.

An id is one int, ``ms << 64 | seq`` (it orders as Redis's 128-bit big-endian key);
in the log it is those 16 bytes.

Operations log effects, never commands: XADD logs the entry with the id it got,
a ``MAXLEN ~`` trim logs how many entries went, XREADGROUP logs the deliveries it
made (owner, time, count per entry), so replay needs no clock and no search.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from itertools import pairwise

from sortedcontainers import SortedDict, SortedList

from storage.encoding import ENCODING

MAX_ID = (1 << 128) - 1
SEQ_MASK = (1 << 64) - 1
NO_ENTRIES_READ = -1  # Redis's SCG_INVALID_ENTRIES_READ: the group's counter is unknown

_LISTPACK_MAX = 1 << 30  # STREAM_LISTPACK_MAX_SIZE
_LISTPACK_EMPTY = 7  # a new listpack's header and terminator

_ID = struct.Struct(">QQ")
_DELIVERY = struct.Struct(">QQqq")  # id (ms, seq), delivery time, delivery count
_NODE = struct.Struct(">QQQQIII")  # first id, last id, live, count, size


def pack_id(stream_id: int) -> bytes:
    return _ID.pack(stream_id >> 64, stream_id & SEQ_MASK)


def unpack_id(data: bytes) -> int:
    ms, seq = _ID.unpack(data)
    return ms << 64 | seq


def format_id(stream_id: int) -> bytes:
    return b"%d-%d" % (stream_id >> 64, stream_id & SEQ_MASK)


class Node:
    """One of Redis's listpack nodes: ``live`` entries, ``count`` with the deleted
    ones, its ``size`` in bytes, the ``last`` id put in it, its master fields."""

    __slots__ = ("count", "fields", "last", "live", "size")

    def __init__(self, fields: tuple[bytes, ...]) -> None:
        self.fields = fields
        self.live = self.count = 0
        self.last = 0
        # count, deleted, field count, the fields, the master entry's terminator
        self.size = (_LISTPACK_EMPTY + 2 + 2 + _int_size(len(fields))
                     + sum(map(_string_size, fields)) + 2)


class Consumer:
    __slots__ = ("name", "pending", "seen_time")

    def __init__(self, name: bytes, seen_time: int) -> None:
        self.name = name
        self.seen_time = seen_time
        self.pending = SortedList()  # ids it owns in the group's PEL


class Pending:
    """A pending entry: delivered to ``consumer``, not yet acknowledged."""

    __slots__ = ("consumer", "count", "time")

    def __init__(self, consumer: Consumer, time: int, count: int) -> None:
        self.consumer = consumer
        self.time = time
        self.count = count


class Group:
    __slots__ = ("consumers", "entries_read", "last_id", "pel")

    def __init__(self, last_id: int, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: SortedDict = SortedDict()  # id -> Pending
        self.consumers: dict[bytes, Consumer] = {}

    def deliver(self, consumer: Consumer, stream_id: int, time: int, count: int) -> None:
        """Make ``stream_id`` pending for ``consumer`` (from whoever had it)."""
        pending = self.pel.get(stream_id)
        if pending is None:
            self.pel[stream_id] = Pending(consumer, time, count)
            consumer.pending.add(stream_id)
            return
        if pending.consumer is not consumer:
            pending.consumer.pending.remove(stream_id)
            consumer.pending.add(stream_id)
            pending.consumer = consumer
        pending.time, pending.count = time, count

    def ack(self, stream_id: int) -> bool:
        pending = self.pel.pop(stream_id, None)
        if pending is None:
            return False
        pending.consumer.pending.remove(stream_id)
        return True


class Stream:
    __slots__ = ("entries", "entries_added", "groups", "last_id", "max_deleted", "nodes")

    def __init__(self) -> None:
        self.entries: SortedDict = SortedDict()  # id -> (field, value, field, value …)
        self.nodes: SortedDict = SortedDict()  # first id -> Node
        self.last_id = 0
        self.max_deleted = 0
        self.entries_added = 0
        self.groups: dict[bytes, Group] = {}

    def __bool__(self) -> bool:
        return True  # an empty stream is still a key (Redis deletes only emptied collections)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Stream({len(self.entries)} entries, last {format_id(self.last_id)!r})"

    @property
    def first_id(self) -> int:
        """Redis's recorded first entry id (0-0 when empty)."""
        return self.entries.keys()[0] if self.entries else 0

    @property
    def top_id(self) -> int:
        """The last entry's id (streamLastValidID), 0 when empty."""
        return self.entries.keys()[-1] if self.entries else 0

    def append(self, stream_id: int, fields: tuple[bytes, ...]) -> None:
        """Add an entry (ids grow) where Redis's streamAppendItem would: in the
        tail node unless that is full (stream-node-max-bytes, -entries)."""
        names = fields[0::2]
        master, node = self.nodes.peekitem(-1) if self.nodes else (stream_id, None)
        if node is not None:
            max_bytes, max_entries = ENCODING.stream_node_bytes, ENCODING.stream_node_entries
            if not 0 < max_bytes <= _LISTPACK_MAX:
                max_bytes = _LISTPACK_MAX
            if (node.size + sum(map(len, fields)) >= max_bytes
                    or (max_entries and node.count >= max_entries)):
                node = None
        if node is None:
            node = self.nodes[stream_id] = Node(names)
            master = stream_id
        ms_delta = ((stream_id >> 64) - (master >> 64)) & SEQ_MASK
        seq_delta = ((stream_id & SEQ_MASK) - (master & SEQ_MASK)) & SEQ_MASK
        # flags, then the id's deltas (small ones: 2 bytes each, the common case)
        size = 2 + (2 if ms_delta < 128 else _int_size(ms_delta))
        size += 2 if seq_delta < 128 else _int_size(seq_delta)
        if names == node.fields:  # only the values, as Redis's SAMEFIELDS entries
            size += sum(map(_string_size, fields[1::2])) + _int_size(len(names) + 3)
        else:
            size += _int_size(len(names)) + sum(map(_string_size, fields))
            size += _int_size(2 * len(names) + 4)
        node.size += size
        node.live += 1
        node.count += 1
        node.last = stream_id
        self.entries[stream_id] = fields

    def delete(self, stream_id: int) -> bool:
        """XDEL one entry: its node keeps a tombstone, or goes with its last entry."""
        if self.entries.pop(stream_id, None) is None:
            return False
        nodes = self.nodes
        index = nodes.bisect_right(stream_id) - 1
        node = nodes.values()[index]
        node.live -= 1
        if not node.live:
            del nodes[nodes.keys()[index]]
        return True

    def trim_head(self, count: int) -> None:
        """Remove the first ``count`` entries, as streamTrim does: whole nodes
        go, the last one touched keeps tombstones."""
        entries, nodes = self.entries, self.nodes
        while count > 0 and nodes:
            master, node = nodes.peekitem(0)
            if node.live <= count:
                # an emptied node (every entry a tombstone) goes with its entries
                taken = node.live
                del nodes[master]
            else:
                taken = count
                node.live -= count
            for _ in range(taken):
                entries.popitem(0)
            count -= taken

    def trim_amount(self, maxlen: int | None, minid: int, approx: bool, limit: int) -> int:
        """How many entries streamTrim would remove for MAXLEN ``maxlen`` (None:
        MINID ``minid``), ``approx`` (~: whole nodes only) and ``limit`` (0: none)."""
        length = len(self.entries)
        deleted = 0
        for master, node in self.nodes.items():
            left = length - deleted
            if maxlen is not None and left <= maxlen:
                break
            if limit and deleted + node.live > limit:
                break
            if (left - node.live >= maxlen) if maxlen is not None else node.last < minid:
                deleted += node.live
                continue
            if approx:
                break
            if maxlen is not None:
                deleted += left - maxlen
            else:
                entries = self.entries
                deleted += entries.bisect_left(minid) - entries.bisect_left(master)
            break
        return deleted

    def range(self, start: int, end: int, reverse: bool = False) -> Iterator[tuple[int, tuple]]:
        """Entries with start <= id <= end, in id order (or reversed)."""
        entries = self.entries
        for stream_id in entries.irange(start, end, reverse=reverse):
            yield stream_id, entries[stream_id]

    def has_tombstones(self, start: int) -> bool:
        """streamRangeHasTombstones(start, +): may an entry at or after ``start``
        have been deleted?"""
        if not self.entries or not self.max_deleted:
            return False
        if self.first_id > self.max_deleted:
            return False
        return start <= self.max_deleted

    def estimate_read(self, stream_id: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry: the entries-read counter of
        ``stream_id``, or NO_ENTRIES_READ when it cannot be known."""
        if not self.entries_added:
            return 0
        if not self.entries and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return NO_ENTRIES_READ
        first = self.first_id
        if not self.max_deleted or self.max_deleted < first:
            if stream_id < first:
                return self.entries_added - len(self.entries)
            if stream_id == first:
                return self.entries_added - len(self.entries) + 1
        return NO_ENTRIES_READ

    def lag(self, group: Group) -> int | None:
        """streamReplyWithCGLag: entries not yet delivered to ``group`` (None: unknown)."""
        if not self.entries_added:
            return 0
        if group.entries_read != NO_ENTRIES_READ and not self.has_tombstones(group.last_id):
            return self.entries_added - group.entries_read
        read = self.estimate_read(group.last_id)
        return None if read == NO_ENTRIES_READ else self.entries_added - read

    def advanced(self, last_id: int, entries_read: int, stream_id: int) -> tuple[int, int]:
        """A group at ``last_id`` with ``entries_read`` reads ``stream_id``: its last
        id and entries-read counter then, as streamReplyWithRange updates them."""
        if stream_id <= last_id:
            return last_id, entries_read
        if entries_read != NO_ENTRIES_READ and not self.has_tombstones(stream_id):
            entries_read += 1
        elif self.entries_added:
            entries_read = self.estimate_read(stream_id)
        return stream_id, entries_read

    def radix_tree_nodes(self) -> int:
        """How many nodes Redis's radix tree of these listpacks has (XINFO STREAM)."""
        return radix_tree_nodes(self.nodes.keys())

    def copy(self) -> Stream:
        other = None
        for name, args in snapshot(self, 1 << 62):
            other = APPLY[name](other, args)[0]
        return other


def radix_tree_nodes(ids) -> int:
    """How many nodes a Redis radix tree (rax) of these ids (sorted) has: the root,
    each prefix where their 16-byte keys branch and each position right after one,
    and the keys' ends; a run without a branch is one compressed node."""
    keys = [pack_id(stream_id) for stream_id in ids]
    branches = set()
    for key, following in pairwise(keys):  # sorted: adjacent keys' common prefixes
        length = 0
        while key[length] == following[length]:
            length += 1
        branches.add(key[:length])
    nodes = {b""} | branches | set(keys)
    nodes.update(key[:length + 1] for key in keys for length in range(16)
                 if key[:length] in branches)
    return len(nodes)


# ------------------------------------------------------------------ listpack sizes


def _backlen(length: int) -> int:
    return 1 if length < 128 else 2 if length < 16384 else 3 if length < 2097152 else 4


def _int_size(value: int) -> int:
    """Bytes of an integer in a listpack, with its back-length."""
    if value > 1 << 63:
        value -= 1 << 64
    if 0 <= value <= 127:
        return 2
    if -4096 <= value <= 4095:
        return 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -(1 << 31) <= value < 1 << 31:
        return 6
    return 10


def _string_size(value: bytes) -> int:
    """Bytes of a string in a listpack: one that reads as an integer is stored as one."""
    number = _as_int64(value)
    if number is not None:
        return _int_size(number)
    length = len(value)
    header = 1 if length < 64 else 2 if length < 4096 else 5
    return header + length + _backlen(header + length)


def _as_int64(value: bytes) -> int | None:
    """The integer a string spells as Redis's string2ll reads it (no sign, space or
    leading zero), or None."""
    if not 0 < len(value) <= 20:
        return None
    digits = value[1:] if value[:1] == b"-" else value
    if not digits.isdigit() or (digits[:1] == b"0" and value != b"0"):
        return None
    number = int(value)
    return number if -(1 << 63) <= number < 1 << 63 else None


# ------------------------------------------------------------------ operations
#
# Each takes the stream (None: no key) and the op's arguments, and returns the
# stream afterwards and the op's result, as storage.datatypes.apply expects.


def _group_args(args: list[bytes]) -> tuple[int, int]:
    return unpack_id(args[1]), int(args[2])


def op_xadd(obj, args):
    """id field value …: a new entry; the stream's counters follow."""
    obj = Stream() if obj is None else obj
    stream_id = unpack_id(args[0])
    obj.append(stream_id, tuple(args[1:]))
    obj.entries_added += 1
    obj.last_id = stream_id
    return obj, None


def op_xentries(obj, args):
    """(id, field count, field, value …)…: entries as they are (a snapshot's)."""
    obj = Stream() if obj is None else obj
    pos = 0
    while pos < len(args):
        width = 2 * int(args[pos + 1])
        obj.append(unpack_id(args[pos]), tuple(args[pos + 2:pos + 2 + width]))
        pos += 2 + width
    return obj, None


def op_xnodes(obj, args):
    """(packed first id, last id and counts, field count, master fields …)…: the
    node layout a snapshot's entries had, which appending them again would not
    give back (trims and deletes leave tombstones), so that ``~`` trims the same
    after a restart as before."""
    nodes = SortedDict()
    pos = 0
    while pos < len(args):
        first_ms, first_seq, last_ms, last_seq, live, count, size = _NODE.unpack(args[pos])
        width = int(args[pos + 1])
        node = Node(tuple(args[pos + 2:pos + 2 + width]))
        node.live, node.count, node.size = live, count, size
        node.last = last_ms << 64 | last_seq
        nodes[first_ms << 64 | first_seq] = node
        pos += 2 + width
    obj.nodes = nodes
    return obj, None


def op_xdel(obj, args):
    """id …: delete entries; the largest deleted id is remembered."""
    if obj is None:
        return None, 0
    deleted = 0
    for arg in args:
        stream_id = unpack_id(arg)
        if obj.delete(stream_id):
            deleted += 1
            obj.max_deleted = max(obj.max_deleted, stream_id)
    return obj, deleted


def op_xtrim(obj, args):
    """count: remove that many entries from the head."""
    if obj is not None:
        obj.trim_head(int(args[0]))
    return obj, None


def op_xsetid(obj, args):
    """last id, entries added, max deleted id: a stream's counters (and, first in
    a snapshot, a fresh stream)."""
    obj = Stream() if obj is None else obj
    obj.last_id = unpack_id(args[0])
    obj.entries_added = int(args[1])
    obj.max_deleted = unpack_id(args[2])
    return obj, None


def op_xgroupset(obj, args):
    """group, last id, entries read: create the group, or move it (SETID)."""
    obj = Stream() if obj is None else obj
    last_id, entries_read = _group_args(args)
    group = obj.groups.get(args[0])
    if group is None:
        obj.groups[args[0]] = Group(last_id, entries_read)
    else:
        group.last_id, group.entries_read = last_id, entries_read
    return obj, None


def op_xgroupdel(obj, args):
    """group: destroy it."""
    if obj is None:
        return None, 0
    return obj, int(obj.groups.pop(args[0], None) is not None)


def op_xdeliver(obj, args):
    """group, consumer, seen time, last id or "", entries read or "", then one
    packed (id, time, count) per entry now pending for the consumer: XREADGROUP,
    XCLAIM, XAUTOCLAIM, CREATECONSUMER (creates the consumer if need be)."""
    if obj is None or args[0] not in obj.groups:
        return obj, None
    group = obj.groups[args[0]]
    consumer = group.consumers.get(args[1])
    seen = int(args[2])
    if consumer is None:
        consumer = group.consumers[args[1]] = Consumer(args[1], seen)
    consumer.seen_time = seen
    if args[3]:
        group.last_id = unpack_id(args[3])
    if args[4]:
        group.entries_read = int(args[4])
    deliver, unpack = group.deliver, _DELIVERY.unpack
    for arg in args[5:]:
        ms, seq, time, count = unpack(arg)
        deliver(consumer, ms << 64 | seq, time, count)
    return obj, None


def pack_delivery(stream_id: int, time: int, count: int) -> bytes:
    return _DELIVERY.pack(stream_id >> 64, stream_id & SEQ_MASK, time, count)


def op_xack(obj, args):
    """group, id …: no longer pending."""
    group = None if obj is None else obj.groups.get(args[0])
    if group is None:
        return obj, 0
    return obj, sum(group.ack(unpack_id(arg)) for arg in args[1:])


def op_xdelconsumer(obj, args):
    """group, consumer: it goes, and its pending entries with it."""
    group = None if obj is None else obj.groups.get(args[0])
    consumer = None if group is None else group.consumers.pop(args[1], None)
    if consumer is None:
        return obj, 0
    for stream_id in consumer.pending:
        del group.pel[stream_id]
    return obj, len(consumer.pending)


APPLY = {
    "XADD": op_xadd, "XENTRIES": op_xentries, "XNODES": op_xnodes, "XDEL": op_xdel,
    "XTRIM": op_xtrim, "XSETID": op_xsetid, "XGROUPSET": op_xgroupset, "XGROUPDEL": op_xgroupdel,
    "XDELIVER": op_xdeliver, "XACK": op_xack, "XDELCONSUMER": op_xdelconsumer,
}


def snapshot(obj: Stream, chunk: int) -> Iterator[tuple[str, list[bytes]]]:
    """A stream as operations (name, args): its counters first (a fresh stream),
    its entries in records of about ``chunk`` bytes, its node layout, then each
    group with its consumers and their pending entries."""
    yield "XSETID", [pack_id(obj.last_id), b"%d" % obj.entries_added, pack_id(obj.max_deleted)]
    args: list[bytes] = []
    size = 0
    for stream_id, fields in obj.entries.items():
        args += (pack_id(stream_id), b"%d" % (len(fields) // 2), *fields)
        size += 32 + sum(map(len, fields)) + 4 * len(fields)
        if size >= chunk:
            yield "XENTRIES", args
            args, size = [], 0
    if args:
        yield "XENTRIES", args
    layout: list[bytes] = []
    for first, node in obj.nodes.items():
        layout += (_NODE.pack(first >> 64, first & SEQ_MASK, node.last >> 64,
                              node.last & SEQ_MASK, node.live, node.count, node.size),
                   b"%d" % len(node.fields), *node.fields)
    yield "XNODES", layout
    for name, group in obj.groups.items():
        yield "XGROUPSET", [name, pack_id(group.last_id), b"%d" % group.entries_read]
        for consumer in group.consumers.values():
            head = [name, consumer.name, b"%d" % consumer.seen_time, b"", b""]
            deliveries = [pack_delivery(stream_id, group.pel[stream_id].time,
                                        group.pel[stream_id].count)
                          for stream_id in consumer.pending]
            per_record = max(1, chunk // 40)
            for start in range(0, max(len(deliveries), 1), per_record):
                yield "XDELIVER", head + deliveries[start:start + per_record]
