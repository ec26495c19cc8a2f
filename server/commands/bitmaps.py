"""Bitmap and bitfield commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS,
BITOP, BITFIELD, BITFIELD_RO, as Redis's bitops.c.

Bit 0 is the most significant bit of the first byte. A read beyond the end of a
value reads zeros; a write beyond it grows the value with zero bytes. Offsets are
checked against ``proto-max-bulk-len`` (in bytes) as Redis checks them. A write
reads and writes only the bytes it changes (the engine's ``write_at``: a large
value gets a patch, see storage/extents.py), and GETBIT, BITCOUNT with a range and
BITFIELD read only the bytes they need. Reads Redis makes with lookupKeyRead are
counted as keyspace hits or misses; a write's lookup is not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce

from server.commands.strings import read, read_length, read_range
from server.errors import NOT_INTEGER, SYNTAX, CommandError, parse_int

BAD_OFFSET = "ERR bit offset is not an integer or out of range"
BAD_BIT = "ERR bit is not an integer or out of range"
BAD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
            "supported but i64 is.")


def _bit_offset(client, arg: bytes, field_bits: int = 0) -> int:
    """getBitOffsetFromArgument: a bit offset below proto-max-bulk-len bytes; with
    ``field_bits`` (BITFIELD), ``#n`` means the n-th field of that width."""
    by_field = field_bits > 0 and arg[:1] == b"#"
    offset = parse_int(arg[1:] if by_field else arg, BAD_OFFSET)
    if by_field:
        offset *= field_bits
    if offset < 0 or offset >> 3 >= client.server.config["proto-max-bulk-len"]:
        raise CommandError(BAD_OFFSET)
    return offset


def _bytes_for_write(client, key: bytes, start: int, end: int) -> tuple[int, bytearray]:
    """The value's length (0: no key) and its bytes ``start`` to ``end``, zero-padded
    past its end: what a write changes (lookupKeyWrite: not counted; WrongType for
    a collection)."""
    engine = client.engine
    length = engine.value_length(client.db, key) or 0
    found = engine.get_range(client.db, key, start, end) if start < length else b""
    return length, bytearray(found.ljust(end - start, b"\0"))


def _store(client, key: bytes, offset: int, data: bytes) -> None:
    """Changed bytes back in place at ``offset``, keeping the TTL (Redis changes the
    value in place); SETBIT and BITFIELD both report "setbit", as Redis does."""
    client.engine.write_at(client.db, key, offset, data, event="setbit")


# ------------------------------------------------------------- SETBIT, GETBIT


def setbit(client, argv: list[bytes]):
    offset = _bit_offset(client, argv[2])
    bit = parse_int(argv[3], BAD_BIT)
    if bit not in (0, 1):
        raise CommandError(BAD_BIT)
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    length, found = _bytes_for_write(client, argv[1], byte, byte + 1)
    old = 1 if found[0] & mask else 0
    if byte >= length or old != bit:  # unchanged: nothing written, nothing WATCH would see
        _store(client, argv[1], byte, bytes((found[0] | mask if bit else found[0] & ~mask,)))
    return old


def getbit(client, argv: list[bytes]):
    offset = _bit_offset(client, argv[2])
    byte = offset >> 3
    found = read_range(client, argv[1], byte, byte + 1)
    if not found:  # no key, or past its end
        return 0
    return 1 if found[0] & (0x80 >> (offset & 7)) else 0


# ------------------------------------------------------------ BITCOUNT, BITPOS


def _unit_is_bit(arg: bytes) -> bool:
    unit = arg.lower()
    if unit not in (b"bit", b"byte"):
        raise CommandError(SYNTAX)
    return unit == b"bit"


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """Negative indexes count from the end; both are then kept inside 0..total-1
    (start may pass end: an empty range)."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    return max(start, 0), min(max(end, 0), total - 1)


def _bits(value: bytes, start: int, end: int) -> int:
    """Bits ``start``..``end`` (inclusive) of ``value`` as an integer."""
    chunk = int.from_bytes(value[start >> 3:(end >> 3) + 1], "big")
    return (chunk >> (7 - (end & 7))) & ((1 << (end - start + 1)) - 1)


def bitcount(client, argv: list[bytes]):
    """BITCOUNT key [start end [BYTE|BIT]]: reads only the bytes of the range."""
    engine, db, key = client.engine, client.db, argv[1]
    if len(argv) == 2:
        value = read(client, key)
        return 0 if value is None else int.from_bytes(value, "big").bit_count()
    length = read_length(client, key)
    if length is None:
        return 0
    if len(argv) not in (4, 5):
        raise CommandError(SYNTAX)
    start, end = parse_int(argv[2]), parse_int(argv[3])
    if start < 0 and end < 0 and start > end:  # before the unit is looked at, as Redis
        return 0
    in_bits = len(argv) == 5 and _unit_is_bit(argv[4])
    start, end = _clamp(start, end, length * (8 if in_bits else 1))
    if start > end:
        return 0
    if not in_bits:
        return int.from_bytes(engine.get_range(db, key, start, end + 1), "big").bit_count()
    first = start >> 3  # the bits' bytes, then the bits within them
    found = engine.get_range(db, key, first, (end >> 3) + 1)
    return _bits(found, start - first * 8, end - first * 8).bit_count()


def _first(bit: int, value: bytes, start: int, end: int) -> int:
    """The first bit equal to ``bit`` in bits ``start``..``end`` of ``value``, or -1."""
    field = _bits(value, start, end)
    width = end - start + 1
    if not bit:
        field ^= (1 << width) - 1
    return -1 if field == 0 else start + width - field.bit_length()


def bitpos(client, argv: list[bytes]):
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise CommandError("ERR The bit argument must be 1 or 0.")
    value = read(client, argv[1])
    if value is None:  # an endless run of zeros
        return -1 if bit else 0
    if len(argv) > 6:
        raise CommandError(SYNTAX)
    start = parse_int(argv[3]) if len(argv) > 3 else 0
    in_bits = len(argv) == 6 and _unit_is_bit(argv[5])
    end_given = len(argv) > 4
    end = parse_int(argv[4]) if end_given else -1
    start, end = _clamp(start, end, len(value) * (8 if in_bits else 1))
    if start > end:
        return -1
    if in_bits:
        return _first(bit, value, start, end)
    found = _first(bit, value, start * 8, end * 8 + 7)
    if found < 0 and not bit and not end_given:
        return (end + 1) * 8  # looking for a 0 with no end given: the value is zero-padded
    return found


# ---------------------------------------------------------------------- BITOP


def bitop(client, argv: list[bytes]):
    operation = argv[1].lower()
    if operation not in (b"and", b"or", b"xor", b"not"):
        raise CommandError(SYNTAX)
    if operation == b"not" and len(argv) != 4:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    sources = [read(client, key) or b"" for key in argv[3:]]
    length = max(map(len, sources))
    if not length:  # every source empty or missing: the destination is deleted
        client.engine.delete(client.db, argv[2])
        return 0
    numbers = [int.from_bytes(source.ljust(length, b"\0"), "big") for source in sources]
    if operation == b"not":
        result = ~numbers[0] & ((1 << (length * 8)) - 1)
    else:
        combine = {b"and": int.__and__, b"or": int.__or__, b"xor": int.__xor__}[operation]
        result = reduce(combine, numbers)
    client.engine.put(client.db, argv[2], result.to_bytes(length, "big"))
    return length


# ------------------------------------------------------------------- BITFIELD


@dataclass(frozen=True)
class FieldOp:
    """One GET, SET or INCRBY of a BITFIELD, with the OVERFLOW rule then in force."""

    name: bytes  # b"get", b"set" or b"incrby"
    signed: bool
    bits: int
    offset: int
    number: int  # SET's value, INCRBY's increment
    overflow: bytes  # b"wrap", b"sat" or b"fail"


def _field_type(arg: bytes) -> tuple[bool, int]:
    """``i1``..``i64`` or ``u1``..``u63`` (getBitfieldTypeFromArgument)."""
    signed = arg[:1] == b"i"
    if not signed and arg[:1] != b"u":
        raise CommandError(BAD_TYPE)
    bits = parse_int(arg[1:], BAD_TYPE) if arg[1:] else 0
    if not 1 <= bits <= (64 if signed else 63):
        raise CommandError(BAD_TYPE)
    return signed, bits


def parse_field_ops(client, argv: list[bytes]) -> list[FieldOp]:
    ops, overflow, i = [], b"wrap", 2
    while i < len(argv):
        name, remaining = argv[i].lower(), len(argv) - i - 1
        if name == b"overflow" and remaining >= 1:
            overflow = argv[i + 1].lower()
            if overflow not in (b"wrap", b"sat", b"fail"):
                raise CommandError("ERR Invalid OVERFLOW type specified")
            i += 2
            continue
        if not ((name == b"get" and remaining >= 2)
                or (name in (b"set", b"incrby") and remaining >= 3)):
            raise CommandError(SYNTAX)
        signed, bits = _field_type(argv[i + 1])
        offset = _bit_offset(client, argv[i + 2], bits)
        number = 0 if name == b"get" else parse_int(argv[i + 3], NOT_INTEGER)
        ops.append(FieldOp(name, signed, bits, offset, number, overflow))
        i += 3 if name == b"get" else 4
    return ops


def _get_field(value: bytes | bytearray, op: FieldOp) -> int:
    """The field's value; bits past the end of ``value`` read as zeros."""
    first, last = op.offset >> 3, (op.offset + op.bits - 1) >> 3
    chunk = int.from_bytes(bytes(value[first:last + 1]).ljust(last + 1 - first, b"\0"), "big")
    field = (chunk >> ((last + 1) * 8 - op.offset - op.bits)) & ((1 << op.bits) - 1)
    if op.signed and field >> (op.bits - 1):
        field -= 1 << op.bits
    return field


def _set_field(value: bytearray, op: FieldOp, number: int) -> None:
    first, last = op.offset >> 3, (op.offset + op.bits - 1) >> 3
    shift = (last + 1) * 8 - op.offset - op.bits
    mask = ((1 << op.bits) - 1) << shift
    chunk = int.from_bytes(value[first:last + 1], "big")
    chunk = (chunk & ~mask) | ((number << shift) & mask)
    value[first:last + 1] = chunk.to_bytes(last + 1 - first, "big")


def _int64(number: int) -> int:
    """``number`` as C's int64_t holds it (two's complement, wrapping)."""
    return (number + 2**63) % 2**64 - 2**63


def _overflow(op: FieldOp, value: int, increment: int) -> int:
    """1 (above the field's range), -1 (below) or 0, as Redis's
    checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow decide it, C's
    wrapping arithmetic included (so SET i8 0 -9223372036854775808 counts as
    above the range)."""
    if op.signed:
        high = (1 << (op.bits - 1)) - 1
        low = -high - 1
        up_room, down_room = _int64(high - value), _int64(low - value)
        if value > high or (op.bits != 64 and increment > up_room) or (
                value >= 0 and increment > 0 and increment > up_room):
            return 1
        if value < low or (op.bits != 64 and increment < down_room) or (
                value < 0 and increment < 0 and increment < down_room):
            return -1
        return 0
    high = (1 << op.bits) - 1
    if value > high or (increment > 0 and increment > _int64(high - value)):
        return 1
    return -1 if increment < 0 and increment < _int64(-value) else 0


def _fit(op: FieldOp, value: int, increment: int) -> int | None:
    """``value + increment`` made to fit the field by the OVERFLOW rule in force;
    None: it does not fit and the rule is FAIL."""
    overflow = _overflow(op, value, increment)
    if not overflow:
        return value + increment
    if op.overflow == b"fail":
        return None
    if op.overflow == b"sat":
        if op.signed:
            return (1 << (op.bits - 1)) - 1 if overflow > 0 else -(1 << (op.bits - 1))
        return (1 << op.bits) - 1 if overflow > 0 else 0
    wrapped = (value + increment) % (1 << op.bits)  # the low bits, sign-extended if signed
    return wrapped - (1 << op.bits) if op.signed and wrapped >> (op.bits - 1) else wrapped


def _run(op: FieldOp, value: bytearray) -> int | None:
    """Apply one SET or INCRBY to ``value``; its reply (None: FAIL, nothing written)."""
    old = _get_field(value, op)
    if op.name == b"incrby":
        new = _fit(op, old, op.number)
    else:  # an unsigned field takes SET's value as C's uint64_t cast does
        new = _fit(op, op.number if op.signed else op.number % (1 << 64), 0)
    if new is None:
        return None
    _set_field(value, op, new)
    return new if op.name == b"incrby" else old


def _byte_span(ops: list[FieldOp]) -> tuple[int, int]:
    """The bytes (start, end exclusive) the fields of ``ops`` lie in."""
    return (min(op.offset for op in ops) >> 3,
            (max(op.offset + op.bits - 1 for op in ops) >> 3) + 1)


def _bitfield(client, argv: list[bytes], read_only_command: bool):
    """The fields are read and changed in a window of the bytes they lie in (zeros
    past the value's end, as Redis reads them); only the bytes the writes span go
    back, and only if they changed or the value grew."""
    ops = parse_field_ops(client, argv)
    writes = [op for op in ops if op.name != b"get"]
    if not writes:
        if not ops:
            read(client, argv[1])  # a lookup all the same
            return []
        start, end = _byte_span(ops)
        window = (read_range(client, argv[1], start, end) or b"").ljust(end - start, b"\0")
        return [_get_field(window, replace(op, offset=op.offset - start * 8)) for op in ops]
    if read_only_command:
        raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
    start, end = _byte_span(ops)
    length, window = _bytes_for_write(client, argv[1], start, end)
    write_start, write_end = _byte_span(writes)
    before = window[write_start - start:write_end - start]
    replies = [_get_field(window, shifted) if op.name == b"get" else _run(shifted, window)
               for op in ops for shifted in (replace(op, offset=op.offset - start * 8),)]
    changed = window[write_start - start:write_end - start]
    if changed != before or write_end > length:  # a field changed, or the value grows
        _store(client, argv[1], write_start, bytes(changed))
    return replies


def bitfield(client, argv: list[bytes]):
    return _bitfield(client, argv, read_only_command=False)


def bitfield_ro(client, argv: list[bytes]):
    return _bitfield(client, argv, read_only_command=True)
