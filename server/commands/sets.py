"""Set commands. A set is a Python set in memory (see storage.datatypes); every
change goes through the engine, which logs it: SPOP is logged as the SREM of
what it popped, a STORE command as its result."""

from __future__ import annotations

import itertools
import random

from server.commands.objects import (
    is_intset,
    parse_cursor,
    parse_positive,
    parse_random_count,
    parse_scan_options,
    read_key,
    scan_items,
    scan_reply,
    set_reply,
    write_key,
)
from server.errors import SYNTAX, WRONGTYPE, CommandError, parse_int
from storage.datatypes import Op


def sadd(client, argv: list[bytes]):
    value = write_key(client, argv[1], set)
    if value is not None and all(member in value for member in argv[2:]):
        return 0
    return client.engine.apply(client.db, argv[1], Op.SADD, argv[2:])


def srem(client, argv: list[bytes]):
    value = write_key(client, argv[1], set)
    if value is None or not any(member in value for member in argv[2:]):
        return 0
    return client.engine.apply(client.db, argv[1], Op.SREM, argv[2:])


def sismember(client, argv: list[bytes]):
    value = read_key(client, argv[1], set)
    return int(value is not None and argv[2] in value)


def smismember(client, argv: list[bytes]):
    value = read_key(client, argv[1], set) or ()
    return [int(member in value) for member in argv[2:]]


def scard(client, argv: list[bytes]):
    return len(read_key(client, argv[1], set) or ())


def smembers(client, argv: list[bytes]):
    value = read_key(client, argv[1], set)
    return set() if value is None else set_reply(value)


def smove(client, argv: list[bytes]):
    source, target, member = argv[1], argv[2], argv[3]
    engine, db = client.engine, client.db
    source_set = engine.get_object(db, source)
    target_set = engine.get_object(db, target)
    if source_set is None:
        return 0
    if type(source_set) is not set or (target_set is not None and type(target_set) is not set):
        raise CommandError(WRONGTYPE)
    if source == target or member not in source_set:
        return int(member in source_set)
    with engine.batch():
        engine.apply(db, source, Op.SREM, [member])
        if target_set is None or member not in target_set:
            engine.apply(db, target, Op.SADD, [member])
    return 1


def spop(client, argv: list[bytes]):
    """SPOP key [count]: popped members are logged as removed; with a count, the
    reply is a set (RESP3)."""
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    count = parse_positive(argv[2]) if len(argv) == 3 else None
    value = write_key(client, argv[1], set)
    if value is None or count == 0:
        return None if count is None else set()
    if count is not None and count >= len(value):
        popped = set_reply(value)
        client.engine.apply(client.db, argv[1], Op.SREM, list(value), event="spop")
        return popped
    members = _arbitrary_members(value, count or 1)
    client.engine.apply(client.db, argv[1], Op.SREM, members, event="spop")
    return members[0] if count is None else set(members)


def srandmember(client, argv: list[bytes]):
    """SRANDMEMBER key [count]: distinct members for a positive count, members
    drawn with repetition for a negative one."""
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        value = read_key(client, argv[1], set)
        return random_members(value, 1)[0] if value else None
    count = parse_random_count(argv[2])
    value = read_key(client, argv[1], set)
    if not value or count == 0:
        return []
    if count < 0:
        return random.choices(list(value), k=-count)
    if count >= len(value):
        return list(set_reply(value))  # an array: only SPOP answers with a set
    return random_members(value, count)


def random_members(value: set, count: int) -> list[bytes]:
    """``count`` distinct members chosen at random. O(n): a Python set has no
    positions to draw from."""
    if count == 1:
        return [next(itertools.islice(value, random.randrange(len(value)), None))]
    return random.sample(list(value), count)


def _arbitrary_members(value: set, count: int) -> list[bytes]:
    """``count`` members in O(count), for SPOP: set.pop() walks the hash table from
    where its last call stopped, and Python seeds the hashes of bytes at random
    per process, so the members come in a random order. They are put back at
    once: the engine removes them, and logs it."""
    members = [value.pop() for _ in range(count)]
    value.update(members)
    return members


# ---------------------------------------------------------- algebra


def _sets(client, keys: list[bytes]) -> list[set | None]:
    """Every key's set (None: no key), type-checked in order before any is used;
    counted as reads, the STORE forms' too (as Redis 7.0 does)."""
    return [read_key(client, key, set) for key in keys]


def _intersection(sets: list[set | None]) -> set:
    if any(found is None for found in sets):
        return set()
    smallest = min(sets, key=len)
    return smallest.intersection(*(found for found in sets if found is not smallest))


def _union(sets: list[set | None]) -> set:
    return set().union(*(found for found in sets if found is not None))


def _difference(sets: list[set | None]) -> set:
    if sets[0] is None:
        return set()
    return sets[0].difference(*(found for found in sets[1:] if found is not None))


def sinter(client, argv: list[bytes]):
    return set_reply(_intersection(_sets(client, argv[1:])))


def sunion(client, argv: list[bytes]):
    return set_reply(_union(_sets(client, argv[1:])))


def sdiff(client, argv: list[bytes]):
    return set_reply(_difference(_sets(client, argv[1:])))


def _store(client, argv: list[bytes], combine) -> int:
    """The STORE forms: the result replaces the destination (none: deleted)."""
    result = combine(_sets(client, argv[2:]))
    client.engine.put_object(client.db, argv[1], result, event=argv[0].lower().decode())
    return len(result)


def sinterstore(client, argv: list[bytes]):
    return _store(client, argv, _intersection)


def sunionstore(client, argv: list[bytes]):
    return _store(client, argv, _union)


def sdiffstore(client, argv: list[bytes]):
    return _store(client, argv, _difference)


def sintercard(client, argv: list[bytes]):
    """SINTERCARD numkeys key [key ...] [LIMIT limit]."""
    try:
        numkeys = parse_int(argv[1])
    except CommandError:
        numkeys = 0
    if numkeys < 1:
        raise CommandError("ERR numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    limit = 0
    for i in range(2 + numkeys, len(argv), 2):
        if argv[i].upper() != b"LIMIT" or i + 1 >= len(argv):
            raise CommandError(SYNTAX)
        limit = parse_int(argv[i + 1])
        if limit < 0:
            raise CommandError("ERR LIMIT can't be negative")
    size = len(_intersection(_sets(client, argv[2:2 + numkeys])))
    return min(size, limit) if limit else size


def sscan(client, argv: list[bytes]):
    cursor = parse_cursor(argv[2])
    value = read_key(client, argv[1], set)
    if value is None:
        return [b"0", []]
    count, pattern, _ = parse_scan_options(argv, 3)
    compact = is_intset(value)
    cursor, items = scan_items(value, cursor, count, compact)
    if compact:
        items.sort(key=int)
    return scan_reply(cursor, items, pattern, pairs=False)
