"""List commands. A list is a deque in memory (see storage.datatypes); every
change goes through the engine, which logs it: a pop is logged as "pop n", an
insert at the position found, so replay needs no search."""

from __future__ import annotations

from collections import deque
from itertools import islice

from protocol.numbers import LLONG_MIN
from protocol.reply import OK, NullArray
from server.blocking import Blocked, parse_timeout
from server.commands.objects import (
    blocking_mpop,
    index_range,
    parse_mpop,
    parse_positive,
    read_key,
    write_key,
)
from server.errors import NO_SUCH_KEY, SYNTAX, CommandError, parse_int, wrong_arity
from storage.datatypes import Op

LEFT, RIGHT = b"LEFT", b"RIGHT"
_PUSH = {LEFT: Op.LPUSH, RIGHT: Op.RPUSH}
_POP = {LEFT: Op.LPOP, RIGHT: Op.RPOP}


def _push_existing(client, argv: list[bytes], op: Op):
    if write_key(client, argv[1], deque) is None:
        return 0
    return client.engine.apply(client.db, argv[1], op, argv[2:])


def lpush(client, argv: list[bytes]):
    # The engine checks the type (WrongType answers WRONGTYPE): one lookup, not two.
    return client.engine.apply(client.db, argv[1], Op.LPUSH, argv[2:])


def rpush(client, argv: list[bytes]):
    return client.engine.apply(client.db, argv[1], Op.RPUSH, argv[2:])


def lpushx(client, argv: list[bytes]):
    return _push_existing(client, argv, Op.LPUSH)


def rpushx(client, argv: list[bytes]):
    return _push_existing(client, argv, Op.RPUSH)


def _pop(client, argv: list[bytes], op: Op, name: str):
    """LPOP / RPOP key [count]: one element, or an array of up to count."""
    if len(argv) > 3:
        raise CommandError(wrong_arity(name))
    count = parse_positive(argv[2]) if len(argv) == 3 else None
    value = write_key(client, argv[1], deque)
    if value is None:
        return None if count is None else NullArray
    if count == 0:
        return []
    popped = client.engine.apply(client.db, argv[1], op, [b"%d" % count if count else b"1"])
    return popped[0] if count is None else popped


def lpop(client, argv: list[bytes]):
    return _pop(client, argv, Op.LPOP, "lpop")


def rpop(client, argv: list[bytes]):
    return _pop(client, argv, Op.RPOP, "rpop")


def llen(client, argv: list[bytes]):
    return len(read_key(client, argv[1], deque) or ())


def lrange(client, argv: list[bytes]):
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = read_key(client, argv[1], deque)
    if not value:
        return []
    start, stop = index_range(start, end, len(value))
    if start >= stop:
        return []
    if start > len(value) // 2:  # from the nearer end: a deque walks to an index
        return list(islice(reversed(value), len(value) - stop, len(value) - start))[::-1]
    return list(islice(value, start, stop))


def lindex(client, argv: list[bytes]):
    value = read_key(client, argv[1], deque)
    if value is None:
        return None
    index = parse_int(argv[2])
    try:
        return value[index]
    except IndexError:
        return None


def lset(client, argv: list[bytes]):
    value = write_key(client, argv[1], deque)
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    index = parse_int(argv[2])
    if index < 0:
        index += len(value)
    if not 0 <= index < len(value):
        raise CommandError("ERR index out of range")
    client.engine.apply(client.db, argv[1], Op.LSET, [b"%d" % index, argv[3]])
    return OK


def linsert(client, argv: list[bytes]):
    where = argv[2].upper()
    if where not in (b"BEFORE", b"AFTER"):
        raise CommandError(SYNTAX)
    value = write_key(client, argv[1], deque)
    if value is None:
        return 0
    try:
        index = value.index(argv[3])
    except ValueError:
        return -1
    index += where == b"AFTER"
    return client.engine.apply(client.db, argv[1], Op.LINSERT, [b"%d" % index, argv[4]])


def lrem(client, argv: list[bytes]):
    count = parse_int(argv[2])
    value = write_key(client, argv[1], deque)
    if value is None or argv[3] not in value:
        return 0
    return client.engine.apply(client.db, argv[1], Op.LREM, [b"%d" % count, argv[3]])


def ltrim(client, argv: list[bytes]):
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = write_key(client, argv[1], deque)
    if value is None:
        return OK
    start, stop = index_range(start, end, len(value))
    head, tail = (start, len(value) - stop) if start < stop else (len(value), 0)
    if head or tail:
        client.engine.apply(client.db, argv[1], Op.LTRIM, [b"%d" % head, b"%d" % tail])
    return OK


def lpos(client, argv: list[bytes]):
    """LPOS key element [RANK rank] [COUNT num] [MAXLEN len]."""
    rank, count, maxlen = 1, None, 0
    for i in range(3, len(argv), 2):
        option = argv[i].upper()
        if i + 1 >= len(argv):
            raise CommandError(SYNTAX)
        if option == b"RANK":
            rank = parse_int(argv[i + 1])
            if rank == 0:
                raise CommandError("ERR RANK can't be zero: use 1 to start from the first "
                                   "match, 2 from the second ... or use negative to start "
                                   "from the end of the list")
        elif option == b"COUNT":
            count = parse_int(argv[i + 1])
            if count < 0:
                raise CommandError("ERR COUNT can't be negative")
        elif option == b"MAXLEN":
            maxlen = parse_int(argv[i + 1])
            if maxlen < 0:
                raise CommandError("ERR MAXLEN can't be negative")
        else:
            raise CommandError(SYNTAX)
    value = read_key(client, argv[1], deque)
    if value is None:
        return None if count is None else []
    wanted = 1 if count is None else count or len(value)
    if rank == LLONG_MIN:  # its negation overflows in Redis: every match counts, from the end
        rank, wanted = -1, wanted if count is None else len(value)
    matches = _positions(value, argv[2], rank, wanted, maxlen)
    if count is None:
        return matches[0] if matches else None
    return matches


def _positions(value: deque, element: bytes, rank: int, wanted: int,
               maxlen: int) -> list[int]:
    """Indexes of ``element``, skipping the first |rank| - 1 matches from the head
    (rank > 0) or the tail, looking at most at ``maxlen`` elements (0: all)."""
    length = len(value)
    items = reversed(value) if rank < 0 else iter(value)
    if maxlen:
        items = islice(items, maxlen)
    skip = abs(rank) - 1
    found = []
    for offset, item in enumerate(items):
        if item == element:
            if skip:
                skip -= 1
                continue
            found.append(length - 1 - offset if rank < 0 else offset)
            if len(found) >= wanted:
                break
    return found


# ------------------------------------------------------------- moving between lists


def _where(arg: bytes) -> bytes:
    where = arg.upper()
    if where not in (LEFT, RIGHT):
        raise CommandError(SYNTAX)
    return where


def _move(client, source: bytes, target: bytes, wherefrom: bytes, whereto: bytes):
    """Pop from ``source``, push to ``target`` (one atomic unit in the log); None
    if the source is empty."""
    engine, db = client.engine, client.db
    value = write_key(client, source, deque)
    if value is None:
        return None
    write_key(client, target, deque)
    # Pushed, then popped: Redis reports the push first (lmoveGenericCommand), and
    # for a rotation of one list the result is the same either way.
    element = value[0] if wherefrom == LEFT else value[-1]
    with engine.batch():
        engine.apply(db, target, _PUSH[whereto], [element])
        engine.apply(db, source, _POP[wherefrom], [b"1"])
    return element


def lmove(client, argv: list[bytes]):
    wherefrom, whereto = _where(argv[3]), _where(argv[4])
    return _move(client, argv[1], argv[2], wherefrom, whereto)


def rpoplpush(client, argv: list[bytes]):
    return _move(client, argv[1], argv[2], RIGHT, LEFT)


def blmove(client, argv: list[bytes]):
    wherefrom, whereto = _where(argv[3]), _where(argv[4])
    timeout = parse_timeout(argv[5])
    return _blocking_move(client, argv, wherefrom, whereto, timeout)


def brpoplpush(client, argv: list[bytes]):
    return _blocking_move(client, argv, RIGHT, LEFT, parse_timeout(argv[3]))


def _blocking_move(client, argv: list[bytes], wherefrom: bytes, whereto: bytes,
                   timeout: float):
    element = _move(client, argv[1], argv[2], wherefrom, whereto)
    if element is not None:
        return element
    if client.in_exec:  # a transaction never waits (Redis answers a null, not a timeout's)
        return None
    raise Blocked([argv[1]], deque, timeout)


def _blocking_pop(client, argv: list[bytes], op: Op):
    """BLPOP / BRPOP key [key ...] timeout: [key, element] from the first
    non-empty list, else wait."""
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    for key in keys:
        if write_key(client, key, deque):
            return [key, client.engine.apply(client.db, key, op, [b"1"])[0]]
    if client.in_exec:
        return NullArray
    raise Blocked(keys, deque, timeout)


def blpop(client, argv: list[bytes]):
    return _blocking_pop(client, argv, Op.LPOP)


def brpop(client, argv: list[bytes]):
    return _blocking_pop(client, argv, Op.RPOP)


# ------------------------------------------------------------- popping from several lists


def _mpop(client, keys: list[bytes], where: bytes, count: int) -> list | None:
    """Redis's mpopGenericCommand: [key, up to ``count`` elements] from the first
    key holding a list (popped from the right, the last element comes first)."""
    for key in keys:
        if write_key(client, key, deque):
            return [key, client.engine.apply(client.db, key, _POP[where], [b"%d" % count])]
    return None


def lmpop(client, argv: list[bytes]):
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]."""
    keys, where, count = parse_mpop(argv, 1, (LEFT, RIGHT))
    return _mpop(client, keys, where, count) or NullArray


def blmpop(client, argv: list[bytes]):
    """BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]."""
    return blocking_mpop(client, argv, (LEFT, RIGHT), deque, _mpop)
