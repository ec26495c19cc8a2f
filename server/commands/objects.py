"""What the hash, list, set and sorted-set commands share: looking a key up as
Redis does, the names Redis gives types and encodings, argument parsing, and
the SCAN of a collection (HSCAN, SSCAN, ZSCAN).

Redis counts a lookup as a keyspace hit or miss only when a command reads the
key (lookupKeyRead); commands that write look it up without counting
(lookupKeyWrite). A key of another type answers WRONGTYPE either way, after
the count.
"""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict, deque
from collections.abc import Callable

from protocol.numbers import LLONG_MAX, ULLONG_RANGE
from protocol.reply import NullArray, OrderedSet
from server.algorithms.glob import compile_pattern
from server.blocking import Blocked, parse_timeout
from server.commands.strings import stored_int
from server.errors import SYNTAX, CommandError, parse_int
from storage.datatypes import ENCODING, ZSet
from storage.streams import Stream

TYPE_NAMES = {int: "string", dict: "hash", deque: "list", set: "set", ZSet: "zset",
              Stream: "stream"}
OUT_OF_RANGE = "ERR value is out of range"
MUST_BE_POSITIVE = "ERR value is out of range, must be positive"
NUMKEYS = "ERR numkeys should be greater than 0"
MPOP_COUNT = "ERR count should be greater than 0"


def read_key(client, key: bytes, kind: type):
    """The ``kind`` object at ``key`` or None, looked up as Redis's lookupKeyRead
    (a counted hit or miss) followed by checkType."""
    value = client.engine.get_object(client.db, key)
    client.server.count_lookup(value is not None)
    if value is None or type(value) is kind:
        return value
    raise client.engine.wrong_type(value)  # WRONGTYPE, or a damaged key's checksum error


def write_key(client, key: bytes, kind: type):
    """As :func:`read_key`, for a command about to change the key: not counted."""
    value = client.engine.get_object(client.db, key)
    if value is None or type(value) is kind:
        return value
    raise client.engine.wrong_type(value)


def type_name(value: object) -> str:
    return TYPE_NAMES[type(value)]


def encoding(value: object) -> str:
    """OBJECT ENCODING of a collection, by the thresholds of the config. Redis
    never converts back to a compact encoding until the data set is reloaded;
    a hash or set here shows what a reload would give (a sorted set keeps Redis's
    one-way conversion: see ZSet.listpack)."""
    kind = type(value)
    if kind is deque:
        return "quicklist"
    if kind is Stream:
        return "stream"
    if kind is ZSet:
        return "listpack" if value.listpack else "skiplist"
    if kind is dict:
        return "listpack" if is_small_hash(value) else "hashtable"
    return "intset" if is_intset(value) else "hashtable"


def follow_config(config) -> None:
    """Take the encoding thresholds from the config (at start and after CONFIG SET)."""
    ENCODING.hash_entries = config["hash-max-listpack-entries"]
    ENCODING.hash_value = config["hash-max-listpack-value"]
    ENCODING.zset_entries = config["zset-max-listpack-entries"]
    ENCODING.zset_value = config["zset-max-listpack-value"]
    ENCODING.intset_entries = config["set-max-intset-entries"]
    ENCODING.stream_node_bytes = config["stream-node-max-bytes"]
    ENCODING.stream_node_entries = config["stream-node-max-entries"]
    ENCODING.list_fill = config["list-max-listpack-size"]
    ENCODING.hll_sparse_max_bytes = config["hll-sparse-max-bytes"]


def is_small_hash(value: dict) -> bool:
    return len(value) <= ENCODING.hash_entries and all(
        len(field) <= ENCODING.hash_value and len(item) <= ENCODING.hash_value
        for field, item in value.items())


def is_intset(value: set) -> bool:
    return len(value) <= ENCODING.intset_entries and all(stored_int(m) is not None for m in value)


def set_reply(value: set) -> set | OrderedSet:
    """A set's members as Redis sends them: an intset in ascending order (a
    hash table's order is its own). A copy: replies inside MULTI are encoded
    after later commands of the transaction ran."""
    if is_intset(value):
        return OrderedSet(sorted(value, key=int))
    return set(value)


def index_range(start: int, end: int, length: int) -> tuple[int, int]:
    """Redis's inclusive index range (negative indexes count from the end) as
    [start, stop) positions; empty when start == stop."""
    if start < 0:
        start = max(start + length, 0)
    if end < 0:
        end += length
    return start, max(start, min(end, length - 1) + 1)


def parse_positive(arg: bytes) -> int:
    """getPositiveLongFromObjectOrReply: one message for any bad value."""
    value = parse_int(arg, MUST_BE_POSITIVE)
    if value < 0:
        raise CommandError(MUST_BE_POSITIVE)
    return value


def parse_mpop(argv: list[bytes], numkeys_index: int, ends: tuple[bytes, bytes]
               ) -> tuple[list[bytes], bytes, int]:
    """LMPOP / ZMPOP and their blocking forms: ``numkeys key ... end [COUNT count]``
    from ``argv[numkeys_index]``, as Redis's lmpopGenericCommand (and zmpop's) reads
    it: (keys, the end named, count)."""
    numkeys = parse_int(argv[numkeys_index], NUMKEYS)
    if numkeys < 1:
        raise CommandError(NUMKEYS)
    where_index = numkeys_index + numkeys + 1
    if where_index >= len(argv):
        raise CommandError(SYNTAX)
    where = argv[where_index].upper()
    if where not in ends:
        raise CommandError(SYNTAX)
    count = None
    j = where_index + 1
    while j < len(argv):
        if count is None and argv[j].upper() == b"COUNT" and j + 1 < len(argv):
            count = parse_int(argv[j + 1], MPOP_COUNT)
            if count < 1:
                raise CommandError(MPOP_COUNT)
            j += 2
        else:
            raise CommandError(SYNTAX)
    return argv[numkeys_index + 1:where_index], where, count or 1


def blocking_mpop(client, argv: list[bytes], ends: tuple[bytes, bytes], kind: type,
                  pop: Callable[[object, list[bytes], bytes, int], list | None]):
    """BLMPOP / BZMPOP timeout numkeys key [key ...] end [COUNT count]: what ``pop``
    takes from the first key holding something, else wait for a ``kind``. The timeout
    is read after the rest, as Redis's blockingPopGenericCommand does."""
    keys, where, count = parse_mpop(argv, 2, ends)
    timeout = parse_timeout(argv[1])
    popped = pop(client, keys, where, count)
    if popped is not None:
        return popped
    if client.in_exec:  # a transaction never waits
        return NullArray
    raise Blocked(keys, kind, timeout)


def parse_random_count(arg: bytes) -> int:
    """The count of HRANDFIELD, SRANDMEMBER, ZRANDMEMBER: -LLONG_MAX..LLONG_MAX."""
    value = parse_int(arg)
    if value < -LLONG_MAX:
        raise CommandError(f"{OUT_OF_RANGE}, value must between {-LLONG_MAX} and {LLONG_MAX}")
    return value


# ------------------------------------------------------------------ SCAN

SCAN_SNAPSHOTS = 32
SCAN_ID_BITS = 24
_CURSOR = re.compile(rb"([+-]?)0*(\d+)")
_snapshots: OrderedDict[int, tuple[object, list]] = OrderedDict()  # id -> (collection, items)
_snapshot_ids = itertools.count(1)


def parse_cursor(arg: bytes) -> int:
    """A SCAN cursor as Redis's strtoul reads it: "" is 0 and "-1" wraps to 2**64 - 1."""
    if not arg:
        return 0
    match = _CURSOR.fullmatch(arg)
    if match is None or len(match[2]) > 20 or int(match[2]) >= ULLONG_RANGE:
        raise CommandError("ERR invalid cursor")
    value = int(match[2])
    return (ULLONG_RANGE - value) % ULLONG_RANGE if match[1] == b"-" else value


def parse_scan_options(argv: list[bytes], start: int, allow_type: bool = False
                       ) -> tuple[int, bytes, bytes | None]:
    """COUNT, MATCH and (SCAN's alone) TYPE: (count, pattern, type or None)."""
    count, pattern, type_name = 10, b"*", None
    for i in range(start, len(argv), 2):
        option = argv[i].upper()
        if i + 1 >= len(argv):
            raise CommandError(SYNTAX)
        if option == b"COUNT":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif option == b"MATCH":
            pattern = argv[i + 1]
        elif option == b"TYPE" and allow_type:
            type_name = argv[i + 1]
        else:
            raise CommandError(SYNTAX)
    return count, pattern, type_name


def scan_items(value, cursor: int, count: int, compact: bool) -> tuple[int, list]:
    """One step over a collection's items (members, or (field, value) and
    (member, score) pairs): (next cursor, items).

    A compactly encoded collection is returned whole, cursor 0, as Redis does.
    A bigger one is walked in a snapshot of its items taken when the scan
    started (kept for a few scans at a time), so every item present for the
    whole scan is returned; items removed meanwhile are skipped. A cursor whose
    snapshot is gone resumes on a fresh one at the same place."""
    if compact or (len(value) <= count and not cursor):
        return 0, _items(value)
    position, snapshot_id = cursor >> SCAN_ID_BITS, cursor & ((1 << SCAN_ID_BITS) - 1)
    owner, items = _snapshots.get(snapshot_id, (None, None)) if cursor else (None, None)
    if owner is value:
        del _snapshots[snapshot_id]  # put back (most recent) below, unless the scan ends
    else:  # none, or another collection's (a cursor of another key): left alone
        snapshot_id = next(_snapshot_ids) & ((1 << SCAN_ID_BITS) - 1) or 1
        items = _items(value)
    end = min(position + count, len(items))
    found = [item for item in items[position:end] if _still_there(value, item)]
    if end >= len(items):
        return 0, [_current(value, item) for item in found]
    _snapshots[snapshot_id] = (value, items)
    while len(_snapshots) > SCAN_SNAPSHOTS:
        _snapshots.popitem(last=False)
    return (end << SCAN_ID_BITS) | snapshot_id, [_current(value, item) for item in found]


def _items(value) -> list:
    if type(value) is dict:
        return list(value.items())
    if type(value) is ZSet:
        return list(value.scores.items())
    return list(value)


def _still_there(value, item) -> bool:
    member = item[0] if type(item) is tuple else item
    return member in (value.scores if type(value) is ZSet else value)


def _current(value, item):
    """An item as it is now (a field's value or a member's score may have changed)."""
    if type(value) is dict:
        return item[0], value[item[0]]
    if type(value) is ZSet:
        return item[0], value.scores[item[0]]
    return item


def scan_reply(cursor: int, items: list, pattern: bytes, pairs: bool) -> list:
    """[cursor, flat items], MATCH applied to members (or fields)."""
    if pattern != b"*":
        matches = compile_pattern(pattern)
        items = [item for item in items if matches(item[0] if pairs else item)]
    flat = [part for item in items for part in item] if pairs else items
    return [b"%d" % cursor, flat]
