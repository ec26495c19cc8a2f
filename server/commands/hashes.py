"""Hash commands. A hash is a dict in memory (see storage.datatypes); every
change goes through the engine, which logs it."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

from protocol.numbers import LLONG_MAX, LLONG_MIN
from protocol.reply import OK
from server.algorithms import longdouble
from server.commands.objects import (
    is_small_hash,
    parse_cursor,
    parse_random_count,
    parse_scan_options,
    read_key,
    scan_items,
    scan_reply,
    write_key,
)
from server.commands.strings import stored_int
from server.errors import NOT_FLOAT, CommandError, parse_int, wrong_arity
from storage.datatypes import Op


def _hset_pairs(client, argv: list[bytes], command: str) -> int:
    if len(argv) % 2:
        raise CommandError(wrong_arity(command))
    # The engine checks the type (WrongType answers WRONGTYPE): one lookup, not two.
    return client.engine.apply(client.db, argv[1], Op.HSET, argv[2:])


def hset(client, argv: list[bytes]):
    return _hset_pairs(client, argv, "hset")


def hmset(client, argv: list[bytes]):
    _hset_pairs(client, argv, "hmset")
    return OK


def hsetnx(client, argv: list[bytes]):
    value = write_key(client, argv[1], dict)
    if value is not None and argv[2] in value:
        return 0
    client.engine.apply(client.db, argv[1], Op.HSET, argv[2:4])
    return 1


def hget(client, argv: list[bytes]):
    value = read_key(client, argv[1], dict)
    return None if value is None else value.get(argv[2])


def hmget(client, argv: list[bytes]):
    value = read_key(client, argv[1], dict) or {}
    return [value.get(field) for field in argv[2:]]


def hdel(client, argv: list[bytes]):
    value = write_key(client, argv[1], dict)
    if value is None or not any(field in value for field in argv[2:]):
        return 0
    return client.engine.apply(client.db, argv[1], Op.HDEL, argv[2:])


def hexists(client, argv: list[bytes]):
    value = read_key(client, argv[1], dict)
    return int(value is not None and argv[2] in value)


def hlen(client, argv: list[bytes]):
    return len(read_key(client, argv[1], dict) or ())


def hstrlen(client, argv: list[bytes]):
    value = read_key(client, argv[1], dict)
    return len(value.get(argv[2], b"")) if value is not None else 0


def hkeys(client, argv: list[bytes]):
    return list(read_key(client, argv[1], dict) or ())


def hvals(client, argv: list[bytes]):
    return list((read_key(client, argv[1], dict) or {}).values())


def hgetall(client, argv: list[bytes]):
    return dict(read_key(client, argv[1], dict) or {})  # a copy: see objects.set_reply


def hincrby(client, argv: list[bytes]):
    increment = parse_int(argv[3])
    value = write_key(client, argv[1], dict)
    old = value.get(argv[2]) if value is not None else None
    current = 0 if old is None else stored_int(old)
    if current is None:
        raise CommandError("ERR hash value is not an integer")
    result = current + increment
    if not LLONG_MIN <= result <= LLONG_MAX:
        raise CommandError("ERR increment or decrement would overflow")
    client.engine.apply(client.db, argv[1], Op.HSET, [argv[2], b"%d" % result], event="hincrby")
    return result


def hincrbyfloat(client, argv: list[bytes]):
    """In long double and printed as Redis does, like INCRBYFLOAT."""
    increment = longdouble.parse(argv[3])
    if increment is None:
        raise CommandError(NOT_FLOAT)
    if isinstance(increment, float):  # an infinity
        raise CommandError("ERR value is NaN or Infinity")
    value = write_key(client, argv[1], dict)
    old = value.get(argv[2]) if value is not None else None
    current = Fraction(0) if old is None else longdouble.parse(old)
    if current is None:
        raise CommandError("ERR hash value is not a float")
    total = longdouble.add(current, increment)
    if total is None:
        raise CommandError("ERR increment would produce NaN or Infinity")
    text = longdouble.format_human(total)
    client.engine.apply(client.db, argv[1], Op.HSET, [argv[2], text], event="hincrbyfloat")
    return text


def hrandfield(client, argv: list[bytes]):
    """HRANDFIELD key [count [WITHVALUES]]: a positive count gives distinct fields,
    a negative one may repeat them."""
    if len(argv) == 2:
        value = read_key(client, argv[1], dict)
        return None if not value else random_items(value, 1, True)[0][0]
    count = parse_random_count(argv[2])
    with_values = len(argv) == 4
    if len(argv) > 4 or (with_values and argv[3].upper() != b"WITHVALUES"):
        raise CommandError("ERR syntax error")
    if with_values and not -(2**62 - 1) <= count <= 2**62 - 1:
        raise CommandError("ERR value is out of range")
    value = read_key(client, argv[1], dict)
    if not value or count == 0:
        return []
    pairs = random_items(value, abs(count), count > 0)
    if not with_values:
        return [field for field, _ in pairs]
    if client.resp3:
        return [list(pair) for pair in pairs]
    return [part for pair in pairs for part in pair]


def random_items(value: dict, count: int, distinct: bool) -> list[tuple]:
    """``count`` random (key, value) items; distinct ones (all of them, in order,
    when count covers the whole dict) or drawn with repetition."""
    if count == 1:  # one pick: no list of every item
        return [next(itertools.islice(value.items(), random.randrange(len(value)), None))]
    items = list(value.items())
    if not distinct:
        return random.choices(items, k=count)
    if count >= len(items):
        return items
    return random.sample(items, count)


def hscan(client, argv: list[bytes]):
    cursor = parse_cursor(argv[2])
    value = read_key(client, argv[1], dict)
    if value is None:
        return [b"0", []]
    count, pattern, _ = parse_scan_options(argv, 3)
    cursor, items = scan_items(value, cursor, count, is_small_hash(value))
    return scan_reply(cursor, items, pattern, pairs=True)
