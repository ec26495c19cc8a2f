"""Redis's RDB serialization of values (RDB version 10, as Redis 7.0 writes it),
and the DUMP payload built on it. Sans-I/O: bytes in, bytes out.

Writing follows Redis 7.0's rdbSaveObject (rdb.c) for the encoding the caller
names (what OBJECT ENCODING says): strings as integers where they fit 32 bits,
else LZF-compressed when that saves at least four bytes, else raw; lists as
QUICKLIST_2 of listpacks cut at 8 KB as list-max-listpack-size -2 cuts them;
hashes and sorted sets as a listpack or as HASH / ZSET_2; sets as an intset or
as SET. Reading takes every value encoding Redis 7.0 can load (rdbLoadObject),
the older ziplist, zipmap and plain ones included, streams too; not modules.

caskd's values: ``bytes`` (a string), ``dict`` (hash), ``deque`` (list), ``set``,
:class:`~storage.datatypes.ZSet`, :class:`~storage.streams.Stream`.
"""

from __future__ import annotations

import re
import struct
from collections import deque

import anycrc
import lzf

from storage import streams
from storage.datatypes import ZSet

RDB_VERSION = 10

# Value types (rdb.h).
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19

_ENCVAL = 3  # a length whose first two bits are set: a special string encoding
_ENC_INT8, _ENC_INT16, _ENC_INT32, _ENC_LZF = 0, 1, 2, 3
_QUICKLIST_PLAIN, _QUICKLIST_PACKED = 1, 2
_QUICKLIST_NODE_LIMIT = 8192  # list-max-listpack-size -2
_QUICKLIST_SIZE_OVERHEAD = 8  # quicklist.c's SIZE_ESTIMATE_OVERHEAD
_PACKED_THRESHOLD = 1 << 30
# LZF's longest back reference, 3 bytes, copies 264: a claimed size beyond 88 times the
# compressed one is a lie, refused before the output buffer is allocated.
_LZF_MAX_EXPANSION = 88  # larger list elements get a node of their own
_LLONG_MAX = 2**63 - 1
_HALF_LLONG_MAX = float(_LLONG_MAX // 2)
_CANONICAL_INT = re.compile(rb"-?[1-9][0-9]{0,19}|0")

_U16, _U32, _U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
_I64 = struct.Struct("<q")
_U64_MAX = (1 << 64) - 1
_BE32, _BE64 = struct.Struct(">I"), struct.Struct(">Q")
_DOUBLE = struct.Struct("<d")


class RdbError(ValueError):
    """The bytes are not a value Redis could have written."""


# ------------------------------------------------------------------ CRC64

_CRC64 = anycrc.Model("CRC64-REDIS")  # Redis's crc64.c: Jones polynomial, reflected, init 0


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's CRC64 of ``data``, continuing from ``crc`` (the CRC of what came before)."""
    return _CRC64.calc(data, crc)


# ------------------------------------------------------------------ DUMP payloads


def dump_payload(value: object, encoding: str) -> bytes:
    """DUMP's reply: the RDB value, the RDB version (2 bytes) and the CRC64 of both
    (8 bytes), little-endian, as Redis's createDumpPayload (cluster.c)."""
    body = encode_value(value, encoding) + _U16.pack(RDB_VERSION)
    return body + _U64.pack(crc64(body))


def payload_is_valid(payload: bytes) -> bool:
    """Redis's verifyDumpPayload: a version this server can read and a right CRC."""
    if len(payload) < 10:
        return False
    version, crc = _U16.unpack_from(payload, len(payload) - 10)[0], payload[-8:]
    return version <= RDB_VERSION and _U64.pack(crc64(payload[:-8])) == crc


def load_payload(payload: bytes) -> object:
    """The value in a payload :func:`payload_is_valid` accepted; RdbError if there is
    none. As Redis's restoreCommand, the value is read from the whole payload, its
    footer included, and whatever follows the value is ignored."""
    reader = Reader(payload)
    return reader.value(reader.byte())


# ------------------------------------------------------------------ writing


def encode_length(length: int) -> bytes:
    """rdbSaveLen: 6, 14, 32 or 64 bits, big-endian beyond 6."""
    if length < 1 << 6:
        return bytes((length,))
    if length < 1 << 14:
        return bytes((0x40 | length >> 8, length & 0xFF))
    if length <= 0xFFFFFFFF:
        return b"\x80" + _BE32.pack(length)
    return b"\x81" + _BE64.pack(length)


def encode_string(data: bytes) -> bytes:
    """rdbSaveRawString with rdbcompression on: an integer that fits 32 bits as one,
    a string over 20 bytes LZF-compressed when that saves four bytes or more."""
    size = len(data)
    if size <= 11:
        number = canonical_int(data)
        if number is not None and -(2**31) <= number < 2**31:
            return _encode_int(number)
    if size > 20:
        compressed = lzf.compress(data, size - 4)
        if compressed:
            return (bytes((_ENCVAL << 6 | _ENC_LZF,)) + encode_length(len(compressed))
                    + encode_length(size) + compressed)
    return encode_length(size) + data


def _encode_int(number: int) -> bytes:
    if -128 <= number < 128:
        return bytes((_ENCVAL << 6 | _ENC_INT8,)) + struct.pack("<b", number)
    if -32768 <= number < 32768:
        return bytes((_ENCVAL << 6 | _ENC_INT16,)) + struct.pack("<h", number)
    return bytes((_ENCVAL << 6 | _ENC_INT32,)) + struct.pack("<i", number)


def canonical_int(data: bytes) -> int | None:
    """The 64-bit integer ``data`` spells exactly as Redis writes it (string2ll with
    the round trip Redis checks), else None."""
    if _CANONICAL_INT.fullmatch(data) is None:
        return None
    number = int(data)
    return number if -_LLONG_MAX - 1 <= number <= _LLONG_MAX else None


def score_text(score: float) -> bytes:
    """Redis's d2string: how a listpack sorted set keeps a score."""
    if score != score:
        return b"nan"
    if score in (float("inf"), float("-inf")):
        return b"inf" if score > 0 else b"-inf"
    if score == 0:
        return b"-0" if str(score)[0] == "-" else b"0"
    if -_HALF_LLONG_MAX <= score <= _HALF_LLONG_MAX and score == int(score):  # double2ll
        return b"%d" % int(score)
    return b"%.17g" % score


def encode_value(value: object, encoding: str) -> bytes:
    """The value's type byte and its serialization (rdbSaveObjectType, rdbSaveObject)
    in ``encoding``: OBJECT ENCODING's name for it."""
    if type(value) is bytes:
        return bytes((TYPE_STRING,)) + encode_string(value)
    if type(value) is deque:
        return bytes((TYPE_LIST_QUICKLIST_2,)) + _encode_quicklist(value)
    if type(value) is dict:
        if encoding == "listpack":
            entries = [part for pair in value.items() for part in pair]
            return bytes((TYPE_HASH_LISTPACK,)) + encode_string(listpack(entries))
        parts = [encode_length(len(value))]
        for field, item in value.items():
            parts += (encode_string(field), encode_string(item))
        return bytes((TYPE_HASH,)) + b"".join(parts)
    if type(value) is set:
        if encoding == "intset":
            return bytes((TYPE_SET_INTSET,)) + encode_string(intset(map(int, value)))
        parts = [encode_length(len(value)), *map(encode_string, value)]
        return bytes((TYPE_SET,)) + b"".join(parts)
    if type(value) is ZSet:
        if encoding == "listpack":
            entries = [part for score, member in value.order
                       for part in (member, score_text(score))]
            return bytes((TYPE_ZSET_LISTPACK,)) + encode_string(listpack(entries))
        parts = [encode_length(len(value))]
        for score, member in reversed(value.order):  # greatest first, as Redis saves
            parts += (encode_string(member), _DOUBLE.pack(score))
        return bytes((TYPE_ZSET_2,)) + b"".join(parts)
    raise TypeError(f"not a caskd value: {type(value).__name__}")


def _encode_quicklist(items: deque) -> bytes:
    """The list as the quicklist RPUSH would have built: each node's listpack takes
    elements while it stays within 8 KB (quicklist.c's _quicklistNodeAllowInsert)."""
    nodes: list[bytes] = []
    current: list[bytes] = []  # encoded entries of the node being filled
    size = 7  # an empty listpack: header and end byte
    for item in items:
        if len(item) >= _PACKED_THRESHOLD:
            if current:
                nodes.append(encode_length(_QUICKLIST_PACKED) + encode_string(
                    _listpack_of(current)))
                current, size = [], 7
            nodes.append(encode_length(_QUICKLIST_PLAIN) + encode_string(item))
            continue
        entry = _listpack_entry(item)
        if current and size + len(item) + _QUICKLIST_SIZE_OVERHEAD > _QUICKLIST_NODE_LIMIT:
            nodes.append(encode_length(_QUICKLIST_PACKED) + encode_string(_listpack_of(current)))
            current, size = [], 7
        current.append(entry)
        size += len(entry)
    if current:
        nodes.append(encode_length(_QUICKLIST_PACKED) + encode_string(_listpack_of(current)))
    return encode_length(len(nodes)) + b"".join(nodes)


def listpack(items: list[bytes]) -> bytes:
    """A listpack (listpack.c) of ``items``, integers encoded as lpAppend does."""
    return _listpack_of([_listpack_entry(item) for item in items])


def _listpack_of(entries: list[bytes]) -> bytes:
    body = b"".join(entries)
    count = min(len(entries), 0xFFFF)  # 65535: "unknown", count them
    return _U32.pack(6 + len(body) + 1) + _U16.pack(count) + body + b"\xff"


def _listpack_entry(item: bytes) -> bytes:
    """An element's encoding and data, then its length backwards (lpEncodeBacklen)."""
    number = canonical_int(item) if len(item) <= 20 else None
    if number is None:
        size = len(item)
        if size < 64:
            head = bytes((0x80 | size,))
        elif size < 4096:
            head = bytes((0xE0 | size >> 8, size & 0xFF))
        else:
            head = b"\xf0" + _U32.pack(size)
        encoded = head + item
    elif 0 <= number <= 127:
        encoded = bytes((number,))
    elif -4096 <= number <= 4095:
        bits = number & 0x1FFF
        encoded = bytes((0xC0 | bits >> 8, bits & 0xFF))
    elif -32768 <= number <= 32767:
        encoded = b"\xf1" + struct.pack("<h", number)
    elif -(2**23) <= number < 2**23:
        encoded = b"\xf2" + struct.pack("<i", number)[:3]
    elif -(2**31) <= number < 2**31:
        encoded = b"\xf3" + struct.pack("<i", number)
    else:
        encoded = b"\xf4" + struct.pack("<q", number)
    return encoded + _backlen(len(encoded))


def _backlen(length: int) -> bytes:
    """lpEncodeBacklen: 7 bits a byte, the most significant first; all but the first
    byte flagged, so the length reads backwards from the entry's end."""
    count = next(count for count, limit in enumerate(_BACKLEN_LIMITS, 1) if length < limit)
    groups = [length >> 7 * shift & 127 for shift in range(count - 1, -1, -1)]
    return bytes((length >> 7 * (count - 1), *(group | 128 for group in groups[1:])))


# The lengths lpEncodeBacklen writes in 1, 2, 3, 4 and 5 bytes are below these.
_BACKLEN_LIMITS = (128, 16383, 2097151, 268435455, 1 << 64)


def intset(members) -> bytes:
    """An intset (intset.c): the narrowest width that holds every member, sorted."""
    numbers = sorted(members)
    low, high = (numbers[0], numbers[-1]) if numbers else (0, 0)
    if -(2**15) <= low and high < 2**15:  # noqa: SIM300 - the range reads left to right
        width, code = 2, "h"
    elif -(2**31) <= low and high < 2**31:  # noqa: SIM300
        width, code = 4, "i"
    else:
        width, code = 8, "q"
    return _U32.pack(width) + _U32.pack(len(numbers)) + struct.pack(
        f"<{len(numbers)}{code}", *numbers)


# ------------------------------------------------------------------ reading


class Reader:
    """Reads RDB items from ``data`` starting at ``pos``. Every method raises
    RdbError on bytes Redis would not have written."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if count < 0 or end > len(self.data):
            raise RdbError("unexpected end of data")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def length_or_encoding(self) -> tuple[int, bool]:
        """rdbLoadLenByRef: (length, False), or (special string encoding, True)."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return (first & 0x3F) << 8 | self.byte(), False
        if kind == _ENCVAL:
            return first & 0x3F, True
        if first == 0x80:
            return _BE32.unpack(self.take(4))[0], False
        if first == 0x81:
            return _BE64.unpack(self.take(8))[0], False
        raise RdbError(f"unknown length encoding {first:#x}")

    def length(self) -> int:
        length, special = self.length_or_encoding()
        if special:
            raise RdbError("a string encoding where a length belongs")
        return length

    def string(self) -> bytes:
        """rdbGenericLoadStringObject: raw, integer or LZF-compressed."""
        length, special = self.length_or_encoding()
        if not special:
            return self.take(length)
        if length == _ENC_INT8:
            return b"%d" % struct.unpack("<b", self.take(1))[0]
        if length == _ENC_INT16:
            return b"%d" % struct.unpack("<h", self.take(2))[0]
        if length == _ENC_INT32:
            return b"%d" % struct.unpack("<i", self.take(4))[0]
        if length == _ENC_LZF:
            compressed_size, size = self.length(), self.length()
            compressed = self.take(compressed_size)
            if size == 0 or size > _LZF_MAX_EXPANSION * compressed_size:
                raise RdbError(f"{compressed_size} bytes of LZF cannot give {size}")
            try:
                data = lzf.decompress(compressed, size)
            except ValueError:
                data = None
            if data is None or len(data) != size:
                raise RdbError("invalid LZF data")
            return data
        raise RdbError(f"unknown string encoding {length}")

    def text_double(self) -> float:
        """rdbLoadDoubleValue: the old ZSET's scores, as text with a length byte."""
        size = self.byte()
        special = {253: float("nan"), 254: float("inf"), 255: float("-inf")}
        if size in special:
            return special[size]
        return _parse_score(self.take(size))

    def binary_double(self) -> float:
        return _DOUBLE.unpack(self.take(8))[0]

    def value(self, kind: int) -> object:
        """A value of RDB type ``kind`` (rdbLoadObject)."""
        load = _LOADERS.get(kind)
        if load is None:
            raise RdbError(f"unsupported value type {kind}")
        value = load(self)
        if type(value) is not bytes and not value:
            raise RdbError("an empty collection")  # Redis refuses them too
        return value


def _parse_score(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        raise RdbError(f"bad score {text!r}") from None


def _unique(pairs: list[tuple[bytes, object]], what: str) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise RdbError(f"duplicate {what}")
    return found


def _zset(pairs) -> ZSet:
    zset = ZSet()
    for member, score in pairs:
        if score != score:
            raise RdbError("a NaN score")
        if not zset.add(member, score):
            raise RdbError("duplicate sorted set members")
    return zset


def _members(items: list[bytes]) -> set:
    members = set(items)
    if len(members) != len(items):
        raise RdbError("duplicate set members")
    return members


def _pairs(items: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(items) % 2:
        raise RdbError("an odd number of entries where pairs belong")
    return list(zip(items[::2], items[1::2], strict=True))


def _load_string(reader: Reader) -> bytes:
    return reader.string()


def _load_list(reader: Reader) -> deque:
    return deque(reader.string() for _ in range(reader.length()))


def _load_set(reader: Reader) -> set:
    return _members([reader.string() for _ in range(reader.length())])


def _load_zset(reader: Reader) -> ZSet:
    return _zset([(reader.string(), reader.text_double()) for _ in range(reader.length())])


def _load_zset_2(reader: Reader) -> ZSet:
    return _zset([(reader.string(), reader.binary_double()) for _ in range(reader.length())])


def _load_hash(reader: Reader) -> dict:
    return _unique([(reader.string(), reader.string()) for _ in range(reader.length())],
                   "hash fields")


def _load_intset(reader: Reader) -> set:
    blob = reader.string()
    if len(blob) < 8:
        raise RdbError("a truncated intset")
    width, count = _U32.unpack_from(blob, 0)[0], _U32.unpack_from(blob, 4)[0]
    code = {2: "h", 4: "i", 8: "q"}.get(width)
    if code is None or len(blob) != 8 + width * count:
        raise RdbError("a malformed intset")
    return _members([b"%d" % number for number in struct.unpack_from(f"<{count}{code}", blob, 8)])


def _load_list_ziplist(reader: Reader) -> deque:
    return deque(ziplist_items(reader.string()))


def _load_zset_ziplist(reader: Reader) -> ZSet:
    return _zset((member, _parse_score(score))
                 for member, score in _pairs(ziplist_items(reader.string())))


def _load_hash_ziplist(reader: Reader) -> dict:
    return _unique(_pairs(ziplist_items(reader.string())), "hash fields")


def _load_hash_zipmap(reader: Reader) -> dict:
    return _unique(_pairs(zipmap_items(reader.string())), "hash fields")


def _load_quicklist(reader: Reader) -> deque:
    items: deque = deque()
    for _ in range(reader.length()):
        items.extend(ziplist_items(reader.string()))
    return items


def _load_quicklist_2(reader: Reader) -> deque:
    items: deque = deque()
    for _ in range(reader.length()):
        container = reader.length()
        if container == _QUICKLIST_PLAIN:
            items.append(reader.string())
        elif container == _QUICKLIST_PACKED:
            node = listpack_items(reader.string())
            if not node:
                raise RdbError("an empty quicklist node")
            items.extend(node)
        else:
            raise RdbError(f"unknown quicklist container {container}")
    return items


def _load_hash_listpack(reader: Reader) -> dict:
    return _unique(_pairs(listpack_items(reader.string())), "hash fields")


def _load_zset_listpack(reader: Reader) -> ZSet:
    return _zset((member, _parse_score(score))
                 for member, score in _pairs(listpack_items(reader.string())))


def _load_stream(reader: Reader, version: int) -> streams.Stream:
    """RDB_TYPE_STREAM_LISTPACKS(_2), as rdbLoadObject reads it: the listpack nodes
    (each keyed by its master id), the length and ids, then the consumer groups with
    their PEL and consumers. Deleted entries (tombstones) are left out."""
    stream = streams.Stream()
    for _ in range(reader.length()):
        master = reader.string()
        if len(master) != 16:
            raise RdbError("a stream node key that is not an id")
        _stream_node(stream, streams.unpack_id(master), listpack_items(reader.string()))
    length, stream.last_id = reader.length(), _length_id(reader)
    if version == 2:
        _length_id(reader)  # the first id: caskd's is its first entry's
        stream.max_deleted = _length_id(reader)
        stream.entries_added = reader.length()
    else:
        stream.entries_added = length
    if length != len(stream):
        raise RdbError("a stream whose length is not its entries'")
    for _ in range(reader.length()):
        _stream_group(reader, stream, version)
    return stream


def _length_id(reader: Reader) -> int:
    return reader.length() << 64 | reader.length()


# t_stream.c's entry flags.
_STREAM_DELETED, _STREAM_SAMEFIELDS = 1, 2


def _stream_node(stream: streams.Stream, master: int, items: list[bytes]) -> None:
    """One listpack: the master entry (count, deleted, the master fields, 0), then
    each entry: flags, the id's deltas from the master id, the fields and values
    (only the values when they are the master's fields), its element count."""
    try:
        field_count = int(items[2])
        master_fields = items[3:3 + field_count]
        pos = 4 + field_count
        while pos < len(items):
            flags = int(items[pos])
            ms = (master >> 64) + int(items[pos + 1])
            seq = (master & streams.SEQ_MASK) + int(items[pos + 2])
            pos += 3
            if flags & _STREAM_SAMEFIELDS:
                values = items[pos:pos + field_count]
                fields = tuple(part for pair in zip(master_fields, values, strict=True)
                               for part in pair)
                pos += field_count
            else:
                count = int(items[pos])
                fields = tuple(items[pos + 1:pos + 1 + 2 * count])
                pos += 1 + 2 * count
            pos += 1  # the entry's element count, for walking backwards
            if not flags & _STREAM_DELETED:
                stream.append(ms << 64 | seq, fields)
    except (IndexError, ValueError):
        raise RdbError("a malformed stream listpack") from None


def _stream_group(reader: Reader, stream: streams.Stream, version: int) -> None:
    name = reader.string()
    last_id = _length_id(reader)
    if version == 2:  # SCG_INVALID_ENTRIES_READ (-1) is saved as an unsigned length
        entries_read = reader.length()
        entries_read = streams.NO_ENTRIES_READ if entries_read == _U64_MAX else entries_read
    else:
        entries_read = stream.estimate_read(last_id)
    group = stream.groups[name] = streams.Group(last_id, entries_read)
    unowned: dict[int, tuple[int, int]] = {}  # the group's PEL: id -> (time, count)
    for _ in range(reader.length()):
        stream_id = streams.unpack_id(reader.take(16))
        unowned[stream_id] = (_I64.unpack(reader.take(8))[0], reader.length())
    for _ in range(reader.length()):
        consumer = streams.Consumer(reader.string(), _I64.unpack(reader.take(8))[0])
        group.consumers[consumer.name] = consumer
        for _ in range(reader.length()):
            stream_id = streams.unpack_id(reader.take(16))
            if stream_id not in unowned:
                raise RdbError("a consumer's pending entry not in its group's PEL")
            group.deliver(consumer, stream_id, *unowned.pop(stream_id))
    if unowned:
        raise RdbError("a pending entry without a consumer")


_LOADERS = {
    TYPE_STRING: _load_string, TYPE_LIST: _load_list, TYPE_SET: _load_set,
    TYPE_ZSET: _load_zset, TYPE_HASH: _load_hash, TYPE_ZSET_2: _load_zset_2,
    TYPE_HASH_ZIPMAP: _load_hash_zipmap, TYPE_LIST_ZIPLIST: _load_list_ziplist,
    TYPE_SET_INTSET: _load_intset, TYPE_ZSET_ZIPLIST: _load_zset_ziplist,
    TYPE_HASH_ZIPLIST: _load_hash_ziplist, TYPE_LIST_QUICKLIST: _load_quicklist,
    TYPE_HASH_LISTPACK: _load_hash_listpack, TYPE_ZSET_LISTPACK: _load_zset_listpack,
    TYPE_LIST_QUICKLIST_2: _load_quicklist_2,
    TYPE_STREAM_LISTPACKS: lambda reader: _load_stream(reader, 1),
    TYPE_STREAM_LISTPACKS_2: lambda reader: _load_stream(reader, 2),
}


# ------------------------------------------------------------------ compact blobs


def listpack_items(blob: bytes) -> list[bytes]:
    """A listpack's elements, integers as their decimal text."""
    if len(blob) < 7 or _U32.unpack_from(blob, 0)[0] != len(blob) or blob[-1] != 0xFF:
        raise RdbError("a malformed listpack")
    items: list[bytes] = []
    pos, end = 6, len(blob) - 1
    try:
        while pos < end:
            first = blob[pos]
            if first < 0x80:
                item, size = b"%d" % first, 1
            elif first < 0xC0:
                length = first & 0x3F
                item, size = blob[pos + 1:pos + 1 + length], 1 + length
            elif first < 0xE0:
                bits = (first & 0x1F) << 8 | blob[pos + 1]
                item, size = b"%d" % (bits - (1 << 13) if bits >= 1 << 12 else bits), 2
            elif first < 0xF0:
                length = (first & 0x0F) << 8 | blob[pos + 1]
                item, size = blob[pos + 2:pos + 2 + length], 2 + length
            elif first == 0xF0:
                length = _U32.unpack_from(blob, pos + 1)[0]
                item, size = blob[pos + 5:pos + 5 + length], 5 + length
            elif 0xF1 <= first <= 0xF4:
                width = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}[first]
                number = int.from_bytes(blob[pos + 1:pos + 1 + width], "little", signed=True)
                item, size = b"%d" % number, 1 + width
            else:
                raise RdbError(f"unknown listpack encoding {first:#x}")
            if pos + size > end:
                raise RdbError("a listpack entry past its end")
            items.append(item)
            pos += size + len(_backlen(size))
    except (IndexError, struct.error):
        raise RdbError("a truncated listpack") from None
    if pos != end:
        raise RdbError("a listpack entry past its end")
    return items


def ziplist_items(blob: bytes) -> list[bytes]:
    """A ziplist's elements (ziplist.c, the encoding before listpacks)."""
    if len(blob) < 11 or _U32.unpack_from(blob, 0)[0] != len(blob) or blob[-1] != 0xFF:
        raise RdbError("a malformed ziplist")
    items: list[bytes] = []
    pos, end = 10, len(blob) - 1
    try:
        while pos < end:
            pos += 5 if blob[pos] == 0xFE else 1  # the previous entry's length
            first = blob[pos]
            kind = first >> 6
            if kind == 0:
                length, pos = first & 0x3F, pos + 1
            elif kind == 1:
                length, pos = (first & 0x3F) << 8 | blob[pos + 1], pos + 2
            elif first == 0x80:
                length, pos = _BE32.unpack_from(blob, pos + 1)[0], pos + 5
            elif first in _ZIPLIST_INT_WIDTHS:
                width = _ZIPLIST_INT_WIDTHS[first]
                number = int.from_bytes(blob[pos + 1:pos + 1 + width], "little", signed=True)
                items.append(b"%d" % number)
                pos += 1 + width
                continue
            elif 0xF1 <= first <= 0xFD:
                items.append(b"%d" % ((first & 0x0F) - 1))
                pos += 1
                continue
            else:
                raise RdbError(f"unknown ziplist encoding {first:#x}")
            if pos + length > end:
                raise RdbError("a ziplist entry past its end")
            items.append(blob[pos:pos + length])
            pos += length
    except (IndexError, struct.error):
        raise RdbError("a truncated ziplist") from None
    if pos != end:
        raise RdbError("a ziplist entry past its end")
    return items


_ZIPLIST_INT_WIDTHS = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def zipmap_items(blob: bytes) -> list[bytes]:
    """A zipmap's keys and values, alternating (zipmap.c, hashes before Redis 2.6)."""
    items: list[bytes] = []
    pos = 1  # the count byte: not to be trusted past 253
    try:
        while blob[pos] != 0xFF:
            for is_value in (False, True):
                length = blob[pos]
                if length == 0xFE:
                    length, pos = _U32.unpack_from(blob, pos + 1)[0], pos + 5
                elif length == 0xFF:
                    raise RdbError("a zipmap key without a value")
                else:
                    pos += 1
                free = 0
                if is_value:
                    free, pos = blob[pos], pos + 1
                if pos + length > len(blob):
                    raise RdbError("a zipmap entry past its end")
                items.append(blob[pos:pos + length])
                pos += length + free
    except (IndexError, struct.error):
        raise RdbError("a truncated zipmap") from None
    if pos != len(blob) - 1:
        raise RdbError("bytes after a zipmap's end")
    return items


# ------------------------------------------------------------------ whole files

_OPCODE_FUNCTION2 = 245
_OPCODE_FUNCTION = 246
_OPCODE_MODULE_AUX = 247
_OPCODE_IDLE = 248
_OPCODE_FREQ = 249
_OPCODE_AUX = 250
_OPCODE_RESIZEDB = 251
_OPCODE_EXPIRETIME_MS = 252
_OPCODE_EXPIRETIME = 253
_OPCODE_SELECTDB = 254
_OPCODE_EOF = 255
_MAGIC = b"REDIS"


class FileWriter:
    """An RDB file as Redis's rdbSaveRio lays it out, piece by piece: each method
    returns the bytes to write next, and :meth:`end` the EOF opcode and the CRC64
    of the whole file (zero with ``checksum=False``, as with ``rdbchecksum no``,
    which Redis's loader then does not check)."""

    def __init__(self, checksum: bool = True) -> None:
        self._checksum = checksum
        self._crc = 0

    def _out(self, data: bytes) -> bytes:
        if self._checksum:
            self._crc = crc64(data, self._crc)
        return data

    def header(self, aux: dict[bytes, bytes] | None = None) -> bytes:
        """``REDIS0010`` and the aux fields (Redis writes redis-ver, redis-bits, ctime,
        used-mem, aof-base; a replication snapshot adds repl-stream-db, repl-id and
        repl-offset)."""
        parts = [b"%s%04d" % (_MAGIC, RDB_VERSION)]
        for name, value in (aux or {}).items():
            parts.append(bytes((_OPCODE_AUX,)) + encode_string(name) + encode_string(value))
        return self._out(b"".join(parts))

    def select_db(self, db: int, keys: int, expires: int) -> bytes:
        """SELECTDB and the RESIZEDB hint that opens each non-empty database."""
        return self._out(bytes((_OPCODE_SELECTDB,)) + encode_length(db)
                         + bytes((_OPCODE_RESIZEDB,)) + encode_length(keys)
                         + encode_length(expires))

    def entry(self, key: bytes, value: object, encoding: str, expire_at: int = 0) -> bytes:
        """One key (rdbSaveKeyValuePair): its absolute expiry in ms (0: none), type,
        name and value."""
        encoded = encode_value(value, encoding)
        expiry = bytes((_OPCODE_EXPIRETIME_MS,)) + _U64.pack(expire_at) if expire_at else b""
        return self._out(expiry + encoded[:1] + encode_string(key) + encoded[1:])

    def function(self, code: bytes) -> bytes:
        """One function library (rdbSaveFunctions: FUNCTION2 and the library's code)."""
        return self._out(bytes((_OPCODE_FUNCTION2,)) + encode_string(code))

    def end(self) -> bytes:
        self._out(bytes((_OPCODE_EOF,)))
        return bytes((_OPCODE_EOF,)) + _U64.pack(self._crc if self._checksum else 0)


class Entry:
    """A key read from an RDB file."""

    __slots__ = ("db", "expire_at", "key", "value")

    def __init__(self, db: int, key: bytes, value: object, expire_at: int) -> None:
        self.db, self.key, self.value, self.expire_at = db, key, value, expire_at

    def __repr__(self) -> str:
        return f"Entry({self.db}, {self.key!r}, {self.value!r}, {self.expire_at})"


class FileReader:
    """Reads a whole RDB file of version 1 to 10 (rdbLoadRio): :meth:`entries` yields
    its keys in order; ``aux`` (the AUX fields) and ``functions`` (the FUNCTION2
    libraries' code) fill as they are met. The CRC64 at the end is checked unless it
    is zero. RdbError for anything Redis would refuse, and for what caskd cannot hold
    (module values and aux data)."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 9 or data[:5] != _MAGIC or not data[5:9].isdigit():
            raise RdbError("not an RDB file")
        self.version = int(data[5:9])
        if not 1 <= self.version <= RDB_VERSION:
            raise RdbError(f"can't handle RDB format version {self.version}")
        self.data = data
        self.aux: dict[bytes, bytes] = {}
        self.functions: list[bytes] = []

    def entries(self):
        reader = Reader(self.data, 9)
        db, expire_at = 0, 0
        while True:
            kind = reader.byte()
            if kind == _OPCODE_EXPIRETIME_MS:
                expire_at = _U64.unpack(reader.take(8))[0]
            elif kind == _OPCODE_EXPIRETIME:
                expire_at = _U32.unpack(reader.take(4))[0] * 1000
            elif kind == _OPCODE_SELECTDB:
                db = reader.length()
            elif kind == _OPCODE_RESIZEDB:
                reader.length(), reader.length()
            elif kind == _OPCODE_AUX:
                name = reader.string()
                self.aux[name] = reader.string()
            elif kind == _OPCODE_FUNCTION2:
                self.functions.append(reader.string())
            elif kind == _OPCODE_IDLE:
                reader.length()  # caskd keeps no LRU clock
            elif kind == _OPCODE_FREQ:
                reader.byte()  # nor LFU counters
            elif kind in (_OPCODE_MODULE_AUX, _OPCODE_FUNCTION):
                raise RdbError(f"unsupported RDB opcode {kind}")
            elif kind == _OPCODE_EOF:
                self._check_crc(reader)
                return
            else:
                key = reader.string()
                yield Entry(db, key, reader.value(kind), expire_at)
                expire_at = 0

    def _check_crc(self, reader: Reader) -> None:
        if self.version < 5:  # no checksum before RDB 5
            return
        end = reader.pos
        (expected,) = _U64.unpack(reader.take(8))
        if expected and crc64(self.data[:end]) != expected:
            raise RdbError("wrong RDB checksum")
