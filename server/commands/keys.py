"""Keyspace commands that work on any key: strings (on disk) and collections (in
memory, see server/commands/objects.py) alike.

Lookups Redis counts in keyspace_hits / keyspace_misses (EXISTS, TOUCH, TYPE,
OBJECT, COPY's source, SCAN's TYPE filter) are counted here too.
"""

from __future__ import annotations

import itertools

from protocol.reply import OK, SimpleString
from server.algorithms.doubles import d2string
from server.algorithms.glob import compile_pattern
from server.commands.objects import (
    encoding,
    parse_cursor,
    parse_scan_options,
    type_name,
)
from server.commands.strings import stored_int
from server.errors import (
    DB_INDEX,
    NO_SUCH_KEY,
    SAME_OBJECT,
    SYNTAX,
    CommandError,
    parse_int,
    parse_int32,
)
from storage.datatypes import ZSet
from storage.streams import Stream, radix_tree_nodes

SHARED_INTEGERS = 10000  # Redis shares one object for each integer value below this
SHARED_REFCOUNT = 2**31 - 1
EMBSTR_LIMIT = 44  # longer strings are "raw" in Redis
LFU_ONLY = ("ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
            "Please note that when switching between policies at runtime LRU and LFU data "
            "will take some time to adjust.")
LRU_ONLY = ("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note "
            "that when switching between policies at runtime LRU and LFU data will take "
            "some time to adjust.")
OBJECT_HELP = (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)


def _exists(client, key: bytes) -> bool:
    """An existence check Redis makes with lookupKeyRead: a counted hit or miss."""
    found = client.engine.exists(client.db, key)
    client.server.count_lookup(found)
    return found


def _db_index(client, arg: bytes) -> int:
    db = parse_int32(arg)
    if not 0 <= db < client.engine.databases:
        raise CommandError(DB_INDEX)
    return db


def _collection(client, key: bytes):
    """The collection at ``key``, counted as a lookup when there is one; None for
    a string (counted by the string path) or no key (not counted yet)."""
    value = client.engine.get_object(client.db, key)
    if value is None or type(value) is int:
        return None
    client.server.count_lookup(True)
    return value


# ------------------------------------------------------------ delete, exists


def delete(client, argv: list[bytes]):
    """DEL and UNLINK (freeing is cheap here: nothing to do in the background)."""
    engine, db = client.engine, client.db
    if len(argv) == 2:
        return int(engine.delete(db, argv[1]))
    with engine.batch():  # one atomic unit in the log
        return sum(engine.delete(db, key) for key in argv[1:])


def exists(client, argv: list[bytes]):
    return sum(_exists(client, key) for key in argv[1:])


def touch(client, argv: list[bytes]):
    """Looks each key up as a read does, so that it counts as used (LRU, LFU)."""
    return sum(_used(client, key) for key in argv[1:])


def _used(client, key: bytes) -> bool:
    found = client.engine.get_object(client.db, key) is not None
    client.server.count_lookup(found)
    return found


def type_(client, argv: list[bytes]):
    with client.engine.access.notouch(client.db, argv[1]):
        value = client.engine.get_object(client.db, argv[1])
    client.server.count_lookup(value is not None)
    return SimpleString("none" if value is None else type_name(value))


def dbsize(client, argv: list[bytes]):
    return client.engine.dbsize(client.db)


def _flush_mode(argv: list[bytes]) -> None:
    """FLUSHDB/FLUSHALL [ASYNC|SYNC]: both run at once here (freeing is cheap)."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC")):
        raise CommandError(SYNTAX)


def flushdb(client, argv: list[bytes]):
    _flush_mode(argv)
    client.engine.flushdb(client.db)
    return OK


def flushall(client, argv: list[bytes]):
    _flush_mode(argv)
    client.engine.flushall()
    return OK


# --------------------------------------------------------- finding keys


def keys(client, argv: list[bytes]):
    matches = compile_pattern(argv[1])
    return [key for key in client.engine.keys(client.db) if matches(key)]


def scan(client, argv: list[bytes]):
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The engine's cursor
    returns every key that exists for the whole scan; its numbers are its own."""
    cursor = parse_cursor(argv[1])
    count, pattern, wanted_type = parse_scan_options(argv, 2, allow_type=True)
    engine, db = client.engine, client.db
    cursor, found = engine.scan(db, cursor, count)
    if pattern != b"*":
        matches = compile_pattern(pattern)
        found = [key for key in found if matches(key)]
    if wanted_type is not None:
        wanted, kept = wanted_type.lower(), []
        for key in found:  # Redis looks each key up to learn its type
            value = engine.get_object(db, key)
            client.server.count_lookup(value is not None)
            if value is not None and type_name(value).encode() == wanted:
                kept.append(key)
        found = kept
    return [b"%d" % cursor, found]


def randomkey(client, argv: list[bytes]):
    return client.engine.random_key(client.db)


# ----------------------------------------------------- rename, copy, move


def _rename(client, argv: list[bytes], nx: bool):
    engine, db, source, target = client.engine, client.db, argv[1], argv[2]
    if not engine.exists(db, source):
        raise CommandError(NO_SUCH_KEY)
    if source == target or (nx and engine.exists(db, target)):
        return 0 if nx else OK
    engine.rename(db, source, db, target)  # the TTL goes along; one atomic unit
    return 1 if nx else OK


def rename(client, argv: list[bytes]):
    return _rename(client, argv, nx=False)


def renamenx(client, argv: list[bytes]):
    return _rename(client, argv, nx=True)


def copy(client, argv: list[bytes]):
    """COPY source destination [DB db] [REPLACE]: the copy keeps the TTL."""
    engine, db, source, target = client.engine, client.db, argv[1], argv[2]
    target_db, replace = db, False
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if option == b"REPLACE":
            replace = True
        elif option == b"DB" and i + 1 < len(argv):
            i += 1
            target_db = _db_index(client, argv[i])
        else:
            raise CommandError(SYNTAX)
        i += 1
    if target_db == db and source == target:
        raise CommandError(SAME_OBJECT)
    found = engine.exists(db, source)
    client.server.count_lookup(found)
    if not found or (not replace and engine.exists(target_db, target)):
        return 0
    engine.copy(db, source, target_db, target)  # with the TTL; replaces what was there
    return 1


def move(client, argv: list[bytes]):
    engine, db, key = client.engine, client.db, argv[1]
    target_db = _db_index(client, argv[2])
    if target_db == db:
        raise CommandError(SAME_OBJECT)
    if not engine.exists(db, key) or engine.exists(target_db, key):
        return 0
    engine.rename(db, key, target_db, key, events=("move_from", "move_to"))
    return 1


def swapdb(client, argv: list[bytes]):
    first = parse_int32(argv[1], "ERR invalid first DB index")
    second = parse_int32(argv[2], "ERR invalid second DB index")
    databases = client.engine.databases
    if not (0 <= first < databases and 0 <= second < databases):
        raise CommandError(DB_INDEX)
    if first != second:
        client.engine.swapdb(first, second)
    return OK


# ------------------------------------------------------------ introspection


def _peek(engine, db: int, key: bytes) -> tuple[int, bytes | None] | None:
    """(length, value) of a key; the value is read only when it is short enough
    (44 bytes) for its encoding to depend on its bytes, so a big one stays on disk."""
    length = engine.value_length(db, key)
    if length is None or length > EMBSTR_LIMIT:
        return None if length is None else (length, None)
    value = engine.get(db, key)
    return None if value is None else (length, value)


def string_encoding(value: bytes | None) -> str:
    """The encoding Redis gives a string it stores as given (SET, MSET …): "int" for
    a 64-bit integer, "embstr" up to 44 bytes, "raw" beyond (None: a long value)."""
    if value is None:
        return "raw"
    return "int" if stored_int(value) is not None else "embstr"


def _counted_peek(client, key: bytes) -> tuple[int, bytes | None] | None:
    found = _peek(client.engine, client.db, key)
    client.server.count_lookup(found is not None)
    return found


def object_encoding(client, argv: list[bytes]):
    with client.engine.access.notouch(client.db, argv[2]):  # OBJECT looks, never uses
        value = _collection(client, argv[2])
        if value is not None:
            return encoding(value).encode()
        found = _counted_peek(client, argv[2])
    return None if found is None else string_encoding(found[1]).encode()


def object_refcount(client, argv: list[bytes]):
    """Redis shares the objects of small integers (refcount INT_MAX); others have 1."""
    with client.engine.access.notouch(client.db, argv[2]):
        if _collection(client, argv[2]) is not None:
            return 1
        found = _counted_peek(client, argv[2])
    if found is None:
        return None
    number = None if found[1] is None else stored_int(found[1])
    return SHARED_REFCOUNT if number is not None and 0 <= number < SHARED_INTEGERS else 1


def object_idletime(client, argv: list[bytes]):
    """Seconds since the key was last used, by the LRU clock (estimateObjectIdleTime);
    an error under an LFU policy, which keeps counters instead."""
    if not _exists(client, argv[2]):
        return None
    if client.engine.access.lfu:
        raise CommandError(LRU_ONLY)
    return client.engine.access.idle_ms(client.db, argv[2]) // 1000


def object_freq(client, argv: list[bytes]):
    """The key's logarithmic access counter (LFUDecrAndReturn); an error unless the
    policy is an LFU one."""
    if not _exists(client, argv[2]):
        return None
    if not client.engine.access.lfu:
        raise CommandError(LFU_ONLY)
    return client.engine.access.counter(client.db, argv[2])


def object_help(client, argv: list[bytes]):
    return [SimpleString(line) for line in OBJECT_HELP]


def _malloc_size(size: int) -> int:
    """The allocation jemalloc makes for ``size`` bytes (its size classes)."""
    if size <= 8:
        return 8
    if size <= 128:
        return (size + 15) & ~15
    spacing = 1 << ((size - 1).bit_length() - 3)  # four classes per doubling
    return (size + spacing - 1) & -spacing


def _sds_size(length: int, is_key: bool) -> int:
    """An sds string's allocation: header (by length) + bytes + NUL."""
    if length < 32 and is_key:
        header = 1
    elif length < 1 << 8:
        header = 3
    elif length < 1 << 16:
        header = 5
    elif length < 1 << 32:
        header = 9
    else:
        header = 17
    return _malloc_size(header + length + 1)


def redis_memory_usage(key: bytes, length: int, value: bytes | None) -> int:
    """What MEMORY USAGE reports for this string key in Redis 7.0: key sds + dict
    entry (24) + value object (16) and its bytes. caskd keeps values on disk, but
    tools rank keys by this figure, so it is Redis's rather than caskd's RAM."""
    encoding = string_encoding(value)
    if encoding == "int":
        value_size = 16
    elif encoding == "embstr":
        value_size = _malloc_size(16 + 3 + length + 1)
    else:
        value_size = 16 + _sds_size(length, is_key=False)
    return _sds_size(len(key), is_key=True) + 24 + value_size


def _listpack_entry(item: bytes) -> int:
    """Bytes of one listpack entry: an integer is stored compactly, text with a
    length prefix; both end with a back-length byte (two past 127 bytes)."""
    number = stored_int(item)
    if number is not None:
        body = next(size for limit, size in ((1 << 7, 1), (1 << 12, 2), (1 << 15, 3),
                                             (1 << 23, 4), (1 << 31, 5), (1 << 63, 9))
                    if (0 <= number < limit if size == 1 else -limit <= number < limit))
    else:
        body = len(item) + (1 if len(item) < 64 else 2 if len(item) < 4096 else 5)
    return body + (1 if body < 128 else 2)


def _listpack_size(items) -> int:
    return _malloc_size(7 + sum(_listpack_entry(item) for item in items))


def _dict_size(entries: int, sampled: list[int]) -> float:
    """A hash table (robj, dict, bucket array) plus ``entries`` entries, each
    costing what the sampled ones cost on average (as Redis samples them)."""
    slots = 4
    while slots < entries:
        slots *= 2
    return 16 + 56 + 8 * slots + (sum(sampled) / len(sampled) * entries if sampled else 0)


def _rax_size(elements: int, nodes: int) -> int:
    """streamRadixTreeMemoryUsage: 16-byte keys, 4-byte nodes plus 30 words each."""
    return elements * 16 + nodes * (4 + 8 * 30)


def stream_memory_usage(key: bytes, stream: Stream, samples: int = 5) -> int:
    """MEMORY USAGE of a stream as objectComputeSize estimates it: its listpacks
    (the first ``samples`` measured, the tail one preallocated to 4 KB), its radix
    tree, and its groups' pending entries and consumers."""
    nodes = list(stream.nodes.values())
    allocated = [_malloc_size(node.size) for node in nodes]
    if allocated:
        allocated[-1] = max(allocated[-1], 4096)
    size = 16 + 80 + _rax_size(len(nodes), stream.radix_tree_nodes())  # robj, stream
    if len(nodes) <= samples:
        size += sum(allocated)
    else:
        size += sum(allocated[:samples]) // samples * (len(nodes) - 1) + allocated[-1]
    for group in stream.groups.values():
        pel = group.pel
        size += 40 + _rax_size(len(pel), radix_tree_nodes(pel.keys())) + 24 * len(pel)
        for consumer in group.consumers.values():
            pending = consumer.pending
            size += 24 + len(consumer.name) + _rax_size(len(pending), radix_tree_nodes(pending))
    return size + _sds_size(len(key), is_key=True) + 24


def collection_memory_usage(key: bytes, value, samples: int = 5) -> int:
    """MEMORY USAGE of a collection as Redis 7.0's objectComputeSize estimates it
    for the encoding it would have (caskd's own objects are Python's). The
    figure is Redis's, so that tools ranking keys by it behave alike."""
    if type(value) is Stream:
        return stream_memory_usage(key, value, samples)
    kind, name = type(value), encoding(value)
    first = list(itertools.islice(value.scores.items() if kind is ZSet else
                                  value.items() if kind is dict else value, samples))
    if name == "listpack":
        items = (value.items() if kind is dict else
                 ((member, d2string(score)) for score, member in value.order))
        size = 16 + _listpack_size(part for pair in items for part in pair)
    elif name == "intset":
        width = max((2 if -(1 << 15) <= int(m) < 1 << 15 else
                     4 if -(1 << 31) <= int(m) < 1 << 31 else 8) for m in value)
        size = 16 + _malloc_size(8 + width * len(value))
    elif name == "quicklist":  # one node per 8 KB listpack, as list-max-listpack-size -2
        node_bytes = _listpack_size(first) / len(first) * min(len(value), 8192)
        nodes = max(1, -(-len(value) * node_bytes // 8192) if node_bytes else 1)
        size = 16 + 40 + int(nodes * (32 + min(node_bytes, 8192)))
    elif kind is dict:
        size = _dict_size(len(value), [_sds_size(len(f), False) + _sds_size(len(v), False) + 24
                                       for f, v in first])
    elif kind is set:
        size = _dict_size(len(value), [24 + _sds_size(len(m), False) for m in first])
    else:  # skiplist
        size = _dict_size(len(value), [_sds_size(len(m), False) + 24 + _malloc_size(56)
                                       for m, _ in first]) + 32 + 16 + _malloc_size(568)
    return int(size) + _sds_size(len(key), is_key=True) + 24


def memory_usage(client, argv: list[bytes]):
    """MEMORY USAGE key [SAMPLES count] (samples matter only for collections)."""
    i = 3
    while i < len(argv):
        if argv[i].upper() == b"SAMPLES" and i + 1 < len(argv):
            if parse_int(argv[i + 1]) < 0:
                raise CommandError(SYNTAX)
            i += 2
        else:
            raise CommandError(SYNTAX)
    value = client.engine.get_object(client.db, argv[2])
    if value is not None and type(value) is not int:
        return collection_memory_usage(argv[2], value)
    found = _peek(client.engine, client.db, argv[2])
    return None if found is None else redis_memory_usage(argv[2], *found)
