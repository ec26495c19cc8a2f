"""String commands: each handler parses its arguments, then applies them to the engine.

Where Redis reads a key with lookupKeyRead (GET, MGET, GETRANGE, STRLEN, LCS, the
GET of SET/GETSET/GETDEL/GETEX) the read counts as a keyspace hit or miss; reads
Redis makes "for writing" (INCR, APPEND, SETNX …) are not counted, as in Redis.
Read-modify-write commands keep the key's TTL, as Redis's in-place updates do.
A key holding a collection answers WRONGTYPE (the engine raises WrongType; a read
Redis counts is counted as a hit first, as lookupKeyRead does).
"""

from __future__ import annotations

from fractions import Fraction

from protocol.numbers import LLONG_MAX, LLONG_MIN, string2ll
from protocol.reply import OK
from server.algorithms import lcs as lcs_module
from server.algorithms import longdouble
from server.errors import (
    NOT_FLOAT,
    NOT_INTEGER,
    SYNTAX,
    WRONGTYPE,
    CommandError,
    parse_int,
    wrong_arity,
)
from storage.datatypes import WrongType
from storage.engine import now_ms

TOO_BIG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
EXPIRE_UNITS = (b"EX", b"PX", b"EXAT", b"PXAT")
_TTL_OPTIONS = frozenset({*EXPIRE_UNITS, b"KEEPTTL", b"PERSIST"})


def _ttl_rule(option: bytes) -> tuple[frozenset[bytes], bool]:
    return _TTL_OPTIONS - {option}, option in EXPIRE_UNITS


# option -> (options it may not be combined with, whether it takes an argument).
# Repeating an option is fine (the last EX wins); two kinds of TTL, or NX and XX, not.
SET_OPTIONS = {b"NX": (frozenset({b"XX"}), False), b"XX": (frozenset({b"NX"}), False),
               b"GET": (frozenset(), False),
               **{option: _ttl_rule(option) for option in (*EXPIRE_UNITS, b"KEEPTTL")}}
GETEX_OPTIONS = {option: _ttl_rule(option) for option in (*EXPIRE_UNITS, b"PERSIST")}


def _looked_up(client, engine_read, key: bytes, *args):
    """``engine_read(db, key, *args)`` as Redis's lookupKeyRead: counted as a hit
    or a miss (None); a collection answers WRONGTYPE, counted as a hit."""
    try:
        found = engine_read(client.db, key, *args)
    except WrongType:
        client.server.count_lookup(True)
        raise CommandError(WRONGTYPE) from None
    client.server.count_lookup(found is not None)
    return found


def read(client, key: bytes) -> bytes | None:
    """A value read as Redis's lookupKeyRead does: counted as a hit or a miss."""
    return _looked_up(client, client.engine.get, key)


def read_range(client, key: bytes, start: int, end: int) -> bytes | None:
    """Bytes ``start`` to ``end`` (exclusive) of a value, read as :func:`read` reads
    it; of a large value with patches, only what the range needs (see
    storage/extents.py)."""
    return _looked_up(client, client.engine.get_range, key, start, end)


def read_length(client, key: bytes) -> int | None:
    """A value's length (None: no key), looked up as :func:`read` does."""
    return _looked_up(client, client.engine.value_length, key)


def stored_int(value: bytes) -> int | None:
    """The value as a 64-bit integer if Redis would take it as one (string2ll)."""
    if len(value) > 20:  # no integer is longer; spares scanning a huge value
        return None
    return string2ll(value)


def _check_size(client, size: int) -> None:
    if size > client.server.config["proto-max-bulk-len"]:
        raise CommandError(TOO_BIG)


# --------------------------------------------------------------- GET and SET


def get(client, argv: list[bytes]):
    # read(), inlined: GET is the hottest command.
    try:
        value = client.engine.get(client.db, argv[1])
    except WrongType:
        client.server.count_lookup(True)
        raise CommandError(WRONGTYPE) from None
    client.server.count_lookup(value is not None)
    return value


def parse_options(argv: list[bytes], start: int,
                  rules: dict[bytes, tuple[frozenset[bytes], bool]]) -> tuple[set[bytes], bytes]:
    """SET's or GETEX's options as Redis's parseExtendedStringArgumentsOrReply takes
    them. Returns the options given and the expiry unit's argument."""
    given: set[bytes] = set()
    expire_arg = b""
    i = start
    while i < len(argv):
        option = argv[i].upper()
        conflicts, takes_arg = rules.get(option, (None, False))
        if conflicts is None or given & conflicts or (takes_arg and i + 1 == len(argv)):
            raise CommandError(SYNTAX)
        given.add(option)
        if takes_arg:
            i += 1
            expire_arg = argv[i]
        i += 1
    return given, expire_arg


def expire_at_from(unit: bytes, arg: bytes, command: str) -> int:
    """An absolute expiry in ms from EX/PX/EXAT/PXAT, with Redis's range errors."""
    amount = parse_int(arg)
    invalid = f"ERR invalid expire time in '{command}' command"
    in_seconds = unit in (b"EX", b"EXAT")
    if amount <= 0 or (in_seconds and amount > LLONG_MAX // 1000):
        raise CommandError(invalid)
    ms = amount * 1000 if in_seconds else amount
    if unit in (b"EX", b"PX"):
        ms += now_ms()
        if ms > LLONG_MAX:
            raise CommandError(invalid)
    return ms


def _expiry_option(given: set[bytes], arg: bytes, command: str) -> int:
    """The absolute expiry (ms) the options ask for; 0 if none."""
    for unit in EXPIRE_UNITS:
        if unit in given:
            return expire_at_from(unit, arg, command)
    return 0


def set_(client, argv: list[bytes]):
    engine, db, key = client.engine, client.db, argv[1]
    if len(argv) == 3:  # the common case: no options
        engine.put(db, key, argv[2])
        return OK
    given, expire_arg = parse_options(argv, 3, SET_OPTIONS)
    expire_at = _expiry_option(given, expire_arg, "set")
    old = read(client, key) if b"GET" in given else None
    condition = "absent" if b"NX" in given else "present" if b"XX" in given else None
    stored = engine.put(db, key, argv[2], expire_at, keep_ttl=b"KEEPTTL" in given,
                        only_if=condition)
    if b"GET" in given:
        return old
    return OK if stored else None


def setnx(client, argv: list[bytes]):
    return int(client.engine.put(client.db, argv[1], argv[2], only_if="absent"))


def _set_with_expiry(client, argv: list[bytes], unit: bytes, command: str):
    """SETEX / PSETEX key amount value."""
    expire_at = expire_at_from(unit, argv[2], command)
    client.engine.put(client.db, argv[1], argv[3], expire_at)
    return OK


def setex(client, argv: list[bytes]):
    return _set_with_expiry(client, argv, b"EX", "setex")


def psetex(client, argv: list[bytes]):
    return _set_with_expiry(client, argv, b"PX", "psetex")


def getset(client, argv: list[bytes]):
    old = read(client, argv[1])
    client.engine.put(client.db, argv[1], argv[2])
    return old


def getdel(client, argv: list[bytes]):
    value = read(client, argv[1])
    if value is not None:
        client.engine.delete(client.db, argv[1])
    return value


def getex(client, argv: list[bytes]):
    """GETEX key [EX|PX|EXAT|PXAT amount | PERSIST]: a time in the past deletes the key
    (after its value is read); a bad amount is reported only if the key exists."""
    engine, db, key = client.engine, client.db, argv[1]
    given, expire_arg = parse_options(argv, 2, GETEX_OPTIONS)
    value = read(client, key)
    if value is None:
        return None
    expire_at = _expiry_option(given, expire_arg, "getex")
    if expire_at and expire_at <= now_ms():
        engine.delete(db, key)
    elif expire_at:
        engine.set_expire(db, key, expire_at)
    elif b"PERSIST" in given and engine.get_expire(db, key):
        engine.set_expire(db, key, 0)
    return value


# ---------------------------------------------------------------- many keys


def mget(client, argv: list[bytes]):
    return [_read_string(client, key) for key in argv[1:]]


def _read_string(client, key: bytes) -> bytes | None:
    """As read(), but a collection reads as no value (MGET, LCS)."""
    try:
        return read(client, key)
    except CommandError:
        return None


def _pairs(argv: list[bytes], command: str) -> list[tuple[bytes, bytes]]:
    if len(argv) % 2 == 0:
        raise CommandError(wrong_arity(command))
    return list(zip(argv[1::2], argv[2::2], strict=True))


def mset(client, argv: list[bytes]):
    engine, db = client.engine, client.db
    pairs = _pairs(argv, "mset")
    with engine.batch():  # one atomic unit in the log
        for key, value in pairs:
            engine.put(db, key, value)
    return OK


def msetnx(client, argv: list[bytes]):
    engine, db = client.engine, client.db
    pairs = _pairs(argv, "msetnx")
    if any(engine.exists(db, key) for key, _ in pairs):
        return 0
    with engine.batch():
        for key, value in pairs:
            engine.put(db, key, value)
    return 1


# ------------------------------------------------------------- byte ranges


def append(client, argv: list[bytes]):
    """As Redis's appendCommand; a large value gets the tail as a patch: O(tail)."""
    engine, db, key, tail = client.engine, client.db, argv[1], argv[2]
    length = engine.value_length(db, key) or 0
    _check_size(client, length + len(tail))
    return engine.write_at(db, key, length, tail, event="append")


def strlen(client, argv: list[bytes]):
    return read_length(client, argv[1]) or 0


def getrange(client, argv: list[bytes]):
    """GETRANGE / SUBSTR key start end, with Redis 7.0's clamping of the range;
    reads only the range (of a value with patches: the patches it overlaps)."""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    length = read_length(client, argv[1])
    if length is None or (start < 0 and end < 0 and start > end):
        return b""
    if start < 0:
        start = max(start + length, 0)
    if end < 0:
        end = max(end + length, 0)
    end = min(end, length - 1)
    if start > end or length == 0:
        return b""
    return client.engine.get_range(client.db, argv[1], start, end + 1)


def setrange(client, argv: list[bytes]):
    """As Redis's setrangeCommand; a large value gets a patch: O(len(value argument))."""
    engine, db, key, patch = client.engine, client.db, argv[1], argv[3]
    offset = parse_int(argv[2])
    if offset < 0:
        raise CommandError("ERR offset is out of range")
    length = engine.value_length(db, key)
    if not patch:  # nothing to write: the current length
        return length or 0
    _check_size(client, offset + len(patch))
    return engine.write_at(db, key, offset, patch, event="setrange")


# ----------------------------------------------------------------- counters


def _increment(client, key: bytes, delta: int) -> int:
    engine, db = client.engine, client.db
    if (engine.value_length(db, key) or 0) > 20:  # no integer is longer: not read
        raise CommandError(NOT_INTEGER)
    old = engine.get(db, key)
    current = 0 if old is None else stored_int(old)
    if current is None:
        raise CommandError(NOT_INTEGER)
    result = current + delta
    if not LLONG_MIN <= result <= LLONG_MAX:
        raise CommandError("ERR increment or decrement would overflow")
    engine.put(db, key, b"%d" % result, keep_ttl=True, event="incrby")
    return result


def incr(client, argv: list[bytes]):
    return _increment(client, argv[1], 1)


def decr(client, argv: list[bytes]):
    return _increment(client, argv[1], -1)


def incrby(client, argv: list[bytes]):
    return _increment(client, argv[1], parse_int(argv[2]))


def decrby(client, argv: list[bytes]):
    delta = parse_int(argv[2])
    if delta == LLONG_MIN:  # its negation does not fit
        raise CommandError("ERR decrement would overflow")
    return _increment(client, argv[1], -delta)


def incrbyfloat(client, argv: list[bytes]):
    """Added in long double and formatted as Redis does; a bulk string in RESP3 too."""
    engine, db, key = client.engine, client.db, argv[1]
    if (engine.value_length(db, key) or 0) >= longdouble.MAX_CHARS:  # never a float: not read
        raise CommandError(NOT_FLOAT)
    old = engine.get(db, key)
    current = Fraction(0) if old is None else longdouble.parse(old)
    increment = longdouble.parse(argv[2])
    if current is None or increment is None:
        raise CommandError(NOT_FLOAT)
    total = longdouble.add(current, increment)
    if total is None:
        raise CommandError("ERR increment would produce NaN or Infinity")
    text = longdouble.format_human(total)
    engine.put(db, key, text, keep_ttl=True, event="incrbyfloat")
    return text


# ---------------------------------------------------------------------- LCS


def lcs(client, argv: list[bytes]):
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]; missing keys are ""."""
    engine, db = client.engine, client.db
    a, b = _read_string(client, argv[1]), _read_string(client, argv[2])
    if (a is None and engine.exists(db, argv[1])) or (b is None and engine.exists(db, argv[2])):
        raise CommandError("ERR The specified keys must contain string values")
    a, b = a or b"", b or b""
    want_len = want_idx = with_match_len = False
    min_match = 0
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if option == b"IDX":
            want_idx = True
        elif option == b"LEN":
            want_len = True
        elif option == b"WITHMATCHLEN":
            with_match_len = True
        elif option == b"MINMATCHLEN" and i + 1 < len(argv):
            i += 1
            min_match = max(parse_int(argv[i]), 0)
        else:
            raise CommandError(SYNTAX)
        i += 1
    if want_idx and want_len:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    if lcs_module.table_cells(a, b) * 4 > client.server.config["proto-max-bulk-len"]:
        raise CommandError("ERR Insufficient memory, transient memory for LCS exceeds "
                           "proto-max-bulk-len")
    found = lcs_module.lcs(a, b, walk=not want_len or want_idx, min_match=min_match)
    if want_idx:
        matches = [[[m.a_start, m.a_end], [m.b_start, m.b_end],
                    *([m.length] if with_match_len else [])] for m in found.matches]
        return {b"matches": matches, b"len": found.length}
    return found.length if want_len else found.text
