"""Keyspace commands that work on any key.

Every value is a string for now: TYPE, SCAN TYPE and OBJECT answer for strings.
Lookups Redis counts in keyspace_hits / keyspace_misses (EXISTS, TOUCH, TYPE,
OBJECT, COPY's source, SCAN's TYPE filter) are counted here too.
"""

from __future__ import annotations

import re

from protocol.reply import OK, SimpleString
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
from server.glob import compile_pattern

_CURSOR = re.compile(rb"([+-]?)0*(\d+)")
_ULONG = 1 << 64
SHARED_INTEGERS = 10000  # Redis shares one object for each integer value below this
SHARED_REFCOUNT = 2**31 - 1
EMBSTR_LIMIT = 44  # longer strings are "raw" in Redis
LFU_ONLY = ("ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
            "Please note that when switching between policies at runtime LRU and LFU data "
            "will take some time to adjust.")
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


def _value_and_ttl(engine, db: int, key: bytes) -> tuple[bytes, int] | None:
    """A key's value and absolute expiry (0: none), to carry over to a new name."""
    expire_at = engine.get_expire(db, key)
    value = None if expire_at is None else engine.get(db, key)
    return None if value is None else (value, expire_at)


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
    return sum(_exists(client, key) for key in argv[1:])


def type_(client, argv: list[bytes]):
    return SimpleString("string" if _exists(client, argv[1]) else "none")


def dbsize(client, argv: list[bytes]):
    return client.engine.dbsize(client.db)


def _flush_mode(argv: list[bytes]) -> None:
    """FLUSHDB/FLUSHALL [ASYNC|SYNC]: both run at once here (freeing is cheap)."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC")):
        raise CommandError(SYNTAX)


def flushdb(client, argv: list[bytes]):
    _flush_mode(argv)
    client.engine.flushdb(client.db)
    client.server.keys_flushed([client.db])
    return OK


def flushall(client, argv: list[bytes]):
    _flush_mode(argv)
    client.engine.flushall()
    client.server.keys_flushed()
    return OK


# --------------------------------------------------------- finding keys


def keys(client, argv: list[bytes]):
    matches = compile_pattern(argv[1])
    return [key for key in client.engine.keys(client.db) if matches(key)]


def _parse_cursor(arg: bytes) -> int:
    """The cursor as Redis's strtoul reads it: "" is 0 and "-1" wraps to 2**64 - 1."""
    if not arg:
        return 0
    match = _CURSOR.fullmatch(arg)
    if match is None or len(match[2]) > 20 or int(match[2]) >= _ULONG:
        raise CommandError("ERR invalid cursor")
    value = int(match[2])
    return (_ULONG - value) % _ULONG if match[1] == b"-" else value


def scan(client, argv: list[bytes]):
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The engine's cursor
    returns every key that exists for the whole scan; its numbers are its own."""
    cursor = _parse_cursor(argv[1])
    count, pattern, type_name = 10, b"*", None
    for i in range(2, len(argv), 2):
        option = argv[i].upper()
        if i + 1 >= len(argv):
            raise CommandError(SYNTAX)
        if option == b"COUNT":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif option == b"MATCH":
            pattern = argv[i + 1]
        elif option == b"TYPE":
            type_name = argv[i + 1]
        else:
            raise CommandError(SYNTAX)
    cursor, found = client.engine.scan(client.db, cursor, count)
    if pattern != b"*":
        matches = compile_pattern(pattern)
        found = [key for key in found if matches(key)]
    if type_name is not None:
        for _ in found:  # Redis looks each key up to learn its type
            client.server.count_lookup(True)
        if type_name.lower() != b"string":
            found = []
    return [b"%d" % cursor, found]


def randomkey(client, argv: list[bytes]):
    return client.engine.random_key(client.db)


# ----------------------------------------------------- rename, copy, move


def _rename(client, argv: list[bytes], nx: bool):
    engine, db, source, target = client.engine, client.db, argv[1], argv[2]
    entry = _value_and_ttl(engine, db, source)
    if entry is None:
        raise CommandError(NO_SUCH_KEY)
    if source == target or (nx and engine.exists(db, target)):
        return 0 if nx else OK
    value, expire_at = entry
    with engine.batch():
        engine.put(db, target, value, expire_at)
        engine.delete(db, source)
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
    entry = _value_and_ttl(engine, db, source)
    client.server.count_lookup(entry is not None)
    if entry is None or (not replace and engine.exists(target_db, target)):
        return 0
    engine.put(target_db, target, *entry)  # one record replaces what was there
    client.server.touch_keys(target_db, [target])
    return 1


def move(client, argv: list[bytes]):
    engine, db, key = client.engine, client.db, argv[1]
    target_db = _db_index(client, argv[2])
    if target_db == db:
        raise CommandError(SAME_OBJECT)
    entry = _value_and_ttl(engine, db, key)
    if entry is None or engine.exists(target_db, key):
        return 0
    with engine.batch():
        engine.put(target_db, key, *entry)
        engine.delete(db, key)
    client.server.touch_keys(target_db, [key])
    return 1


def swapdb(client, argv: list[bytes]):
    first = parse_int32(argv[1], "ERR invalid first DB index")
    second = parse_int32(argv[2], "ERR invalid second DB index")
    databases = client.engine.databases
    if not (0 <= first < databases and 0 <= second < databases):
        raise CommandError(DB_INDEX)
    if first != second:
        client.engine.swapdb(first, second)
        client.server.keys_flushed([first, second])
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
    found = _counted_peek(client, argv[2])
    return None if found is None else string_encoding(found[1]).encode()


def object_refcount(client, argv: list[bytes]):
    """Redis shares the objects of small integers (refcount INT_MAX); others have 1."""
    found = _counted_peek(client, argv[2])
    if found is None:
        return None
    number = None if found[1] is None else stored_int(found[1])
    return SHARED_REFCOUNT if number is not None and 0 <= number < SHARED_INTEGERS else 1


def object_idletime(client, argv: list[bytes]):
    """caskd keeps no access time per key (memory holds only the index): always 0."""
    return 0 if _exists(client, argv[2]) else None


def object_freq(client, argv: list[bytes]):
    """caskd never evicts, so there is no LFU policy: Redis's answer without one."""
    if not _exists(client, argv[2]):
        return None
    raise CommandError(LFU_ONLY)


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
    found = _peek(client.engine, client.db, argv[2])
    return None if found is None else redis_memory_usage(argv[2], *found)
