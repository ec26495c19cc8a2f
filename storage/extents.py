"""Large string values as chains of extents: partial updates cost the change.

A string's value is one PUT record, and the index holds where it is (an int).
A partial update of a large value (SETRANGE, APPEND, SETBIT, BITFIELD) instead
appends a PATCH record, whose value is :data:`PATCH_HEADER` (where its bytes go,
the value's length after it) and the bytes; the index then holds a
:class:`Chain`: the base PUT's location plus each patch's location, offset and
size, in log order. The value is the base's bytes, zero-filled up to
``length``, with every patch written over it in turn. So a 4-byte SETRANGE on
a 200 MB value appends a 45-byte record instead of 200 MB.

A chain is an effect in the log like any other, so replay (:mod:`storage.replay`)
rebuilds it; hint files name PATCH records to be replayed, read from the
segment (small records, each verified). Compaction writes a chain joined, as
one PUT. Reads stay bounded because the next write *joins* a chain (writes it
whole, as one PUT) once it holds :data:`MAX_PATCHES` patches or its patches'
weight passes :data:`JOIN_FRACTION` of the value: so appending to a growing
value costs amortised O(appended bytes), not O(value) per append.

Values under :data:`MIN_LENGTH` are rewritten whole, as before: there a
rewrite is as cheap as a patch, and GET of an unpatched value stays one
contiguous, checked read of one record.

A large value read by ranges before any patch becomes a chain of no patches
(in memory only: the log is the same), so that its later range reads are
O(range) too.

Checked reads: :func:`assemble` (GET) verifies every record it reads.
:func:`read_range` (GETRANGE, GETBIT, SETBIT's read…) verifies each patch it
uses and the base once per chain (the first range read since it was made or
loaded), so a one-byte read of a 200 MB chain does not checksum 200 MB each
time; a GET still verifies all of it.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable, Iterator

from storage.record import HEADER_SIZE, LENGTHS, LENGTHS_OFFSET
from storage.segment import location_of

PATCH_HEADER = struct.Struct("<QQ")  # offset of the bytes, the value's length after them

#: Values shorter than this are rewritten whole by a partial update.
MIN_LENGTH = 16 * 1024
#: A chain with this many patches is joined by its next write.
MAX_PATCHES = 4096
#: What a patch costs a read beyond its bytes (a record header, a loop step), in bytes.
PATCH_OVERHEAD = 256
#: A chain whose patches weigh more than this fraction of its value is joined.
JOIN_FRACTION = 0.5

#: Reads the value of the record at a location, verified against its checksum.
ReadRecord = Callable[[int], bytes]


class Chain:
    """A string value as a base record plus patches (see the module's docstring)."""

    __slots__ = ("base", "length", "offsets", "patches", "sizes", "verified", "weight")

    def __init__(self, base: int, length: int = 0) -> None:
        """``base``: the PUT record's index entry (its access data goes elsewhere:
        see storage.access)."""
        self.base = location_of(base)  # location of the PUT record
        self.patches = array("Q")  # location of each PATCH record, in log order
        self.offsets = array("Q")  # where each patch's bytes go
        self.sizes = array("Q")  # how many bytes each patch writes
        self.length = length  # the value's length
        self.weight = 0  # what the patches cost a read: see needs_rewrite
        self.verified = False  # the base's checksum checked (by read_range)

    @property
    def newest(self) -> int:
        """The location of the chain's latest record: identifies this state of it."""
        return self.patches[-1] if self.patches else self.base

    def locations(self) -> Iterator[int]:
        yield self.base
        yield from self.patches


def is_string(value: object) -> bool:
    """Whether an index entry is a string's (a location or a chain)."""
    return type(value) is int or type(value) is Chain


def encode_patch(offset: int, length: int, data: bytes) -> bytes:
    """A PATCH record's value: ``data`` at ``offset``, the value then ``length`` long."""
    return PATCH_HEADER.pack(offset, length) + data


def extend(current: int | Chain, location: int, offset: int, size: int,
           length: int) -> Chain:
    """The index entry once the patch at ``location`` applies to ``current`` (a
    chain is extended in place)."""
    chain = current if type(current) is Chain else Chain(current)
    chain.patches.append(location)
    chain.offsets.append(offset)
    chain.sizes.append(size)
    chain.length = length
    chain.weight += size + PATCH_OVERHEAD
    return chain


def replay_patch(current: object, location: int, buf, value_offset: int,
                 value_len: int) -> Chain | None:
    """What replaying the PATCH record at ``location`` makes of ``current``; None
    if it holds no string (its base was lost to damage: the key stays as the rest
    of the log leaves it)."""
    if not is_string(current):
        return None
    offset, length = PATCH_HEADER.unpack_from(buf, value_offset)
    return extend(current, location, offset, value_len - PATCH_HEADER.size, length)


def needs_rewrite(current: int | Chain, length: int, size: int) -> bool:
    """Whether a partial update of ``size`` bytes to ``current`` (``length`` long)
    writes the value whole instead of a patch: a small value, or a chain that
    has grown too costly to read (so joining it bounds every read's cost, and,
    the weight being a fraction of the value, a growing value's rewrites add up
    to a constant times its size)."""
    if length < MIN_LENGTH:
        return True
    weight, count = (current.weight, len(current.patches)) if type(current) is Chain else (0, 0)
    return count >= MAX_PATCHES or weight + size + PATCH_OVERHEAD > length * JOIN_FRACTION


def write_into(value: bytearray, offset: int, data: bytes | memoryview) -> None:
    """Write ``data`` at ``offset`` of ``value``, zero-filling any gap (SETRANGE's rule)."""
    if offset > len(value):
        value.extend(bytes(offset - len(value)))
    value[offset:offset + len(data)] = data


def assemble(chain: Chain, read: ReadRecord) -> bytes:
    """The whole value, every record verified."""
    if not chain.patches:  # a large value read by ranges (see Engine.get_range)
        return read(chain.base)
    value = bytearray(read(chain.base))
    for location, offset in zip(chain.patches, chain.offsets, strict=True):
        write_into(value, offset, memoryview(read(location))[PATCH_HEADER.size:])
    if len(value) < chain.length:  # a patch of nothing past the end
        value.extend(bytes(chain.length - len(value)))
    return bytes(value)


def read_range(chain: Chain, start: int, end: int, read: ReadRecord,
               record_buffer: Callable[[int], tuple[object, int]]) -> bytes:
    """Bytes ``start`` to ``end`` (exclusive, at most ``chain.length``) of the
    value, reading only the patches that overlap them."""
    if not chain.verified:
        read(chain.base)  # raises if the base is damaged
        chain.verified = True
    buf, offset = record_buffer(chain.base)
    key_len, base_len = LENGTHS.unpack_from(buf, offset + LENGTHS_OFFSET)
    base_start = offset + HEADER_SIZE + key_len
    out = bytearray(buf[base_start + min(start, base_len):base_start + min(end, base_len)])
    out.extend(bytes(end - start - len(out)))
    for location, patch_offset, size in zip(chain.patches, chain.offsets, chain.sizes,
                                            strict=True):
        low, high = max(patch_offset, start), min(patch_offset + size, end)
        if low < high:
            skip = PATCH_HEADER.size - patch_offset
            out[low - start:high - start] = read(location)[skip + low:skip + high]
    return bytes(out)


def descends(current: object, old: int) -> bool:
    """Whether the index entry ``current`` is the string state at ``old`` (a
    location compaction's merge saw as a key's newest record), perhaps with
    patches written since."""
    if type(current) is int:
        return location_of(current) == old
    return type(current) is Chain and (current.base == old or old in current.patches)


def rebased(current: int | Chain, old: int, new: int) -> int | Chain:
    """``current`` (which :func:`descends` from ``old``) once everything up to
    ``old`` is the one record at ``new`` (compaction's joined copy); patches
    written since stay as they are. (A location returned takes the key's access
    data from the index: Keyspace.set_entry.)"""
    if type(current) is not Chain:
        return new
    if current.base != old:
        kept = current.patches.index(old) + 1
        for column in (current.patches, current.offsets, current.sizes):
            del column[:kept]
        current.weight = sum(current.sizes) + PATCH_OVERHEAD * len(current.patches)
    if not current.patches:
        return new
    current.base = new
    current.verified = False
    return current
