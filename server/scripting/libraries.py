"""The Lua libraries Redis bundles (deps/lua/src: lua_cjson.c, lua_cmsgpack.c,
lua_bit.c, lua_struct.c) that lupa's Lua 5.1 lacks, written in Python to the same
rules, and Redis's PRNG (rand.c) behind math.random.

lupa ships no C modules and no package on PyPI provides these as loadable Lua 5.1
modules, so they are reimplemented here; each function returns ``(True,
results...)`` or ``(False, message)`` and the sandbox raises the message at the
script's line, as the C libraries' luaL_error does.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import lupa.lua51 as lupa

if TYPE_CHECKING:
    from server.scripting.sandbox import LuaSandbox

LuaFunction = Callable[..., tuple]


class Lrand48:
    """Redis's redisLrand48/redisSrand48: a 48-bit linear congruential generator."""

    MAX = 2**31 - 1  # REDIS_LRAND48_MAX

    def __init__(self) -> None:
        self.state = 0x1234ABCD330E

    def seed(self, seed: int) -> None:
        seed &= 0xFFFFFFFF
        self.state = 0x330E | (seed & 0xFFFF) << 16 | (seed >> 16) << 32

    def random(self) -> float:
        """The value math.random() starts from: [0, 1)."""
        self.state = (0x5DEECE66D * self.state + 0xB) & (2**48 - 1)
        return (self.state >> 17) % self.MAX / self.MAX


def lua_type(value: Any) -> str:
    """Lua's type() of a value that came from Lua."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, bytes):
        return "string"
    return lupa.lua_type(value) or "userdata"


def lua_number(value: Any) -> float | None:
    """lua_tonumber: a number, or a string that reads as one; else None."""
    if type(value) in (int, float):
        return value
    if type(value) is bytes:
        text = value.strip()
        try:
            return float(int(text, 16)) if text.lower().startswith((b"0x", b"-0x")) \
                else float(text)
        except ValueError:
            return None
    return None


def lua_number_text(number: float, precision: int = 14) -> bytes:
    """A number as Lua's tostring writes it (%.14g), integers without a fraction."""
    if isinstance(number, int):
        return b"%d" % number if abs(number) < 10**precision else b"%.*g" % (precision, number)
    return b"%.*g" % (precision, number)


# ------------------------------------------------------------------------ cjson

_JSON_ESCAPES = {i: b"\\u%04x" % i for i in range(32)}
_JSON_ESCAPES.update({ord("\b"): b"\\b", ord("\f"): b"\\f", ord("\n"): b"\\n",
                      ord("\r"): b"\\r", ord("\t"): b"\\t", ord('"'): b'\\"',
                      ord("\\"): b"\\\\", ord("/"): b"\\/", 127: b"\\u007f"})
_JSON_TABLE = [_JSON_ESCAPES.get(i, bytes([i])) for i in range(256)]


class _EncodeError(Exception):
    pass


class _DecodeError(Exception):
    pass


class Cjson:
    """lua-cjson 2.1 as Redis bundles it, with its default settings."""

    MAX_DEPTH = 1000

    def __init__(self, sandbox: LuaSandbox, null: Any, is_null: Callable[[Any], bool]) -> None:
        self.sandbox = sandbox
        self.null = null
        self.is_null = is_null

    def functions(self) -> dict[str, Any]:
        return {"encode": self.encode, "decode": self.decode, "null": self.null}

    def encode(self, *args) -> tuple:
        if len(args) != 1:
            return False, "bad argument #1 to 'encode' (expected 1 argument)"
        out: list[bytes] = []
        try:
            self._encode(args[0], out, 1)
        except _EncodeError as exc:
            return False, str(exc)
        return True, b"".join(out)

    def _encode(self, value: Any, out: list[bytes], depth: int) -> None:
        kind = lua_type(value)
        if kind == "string":
            out.append(b'"' + b"".join(_JSON_TABLE[c] for c in value) + b'"')
        elif kind == "number":
            if isinstance(value, float) and not math.isfinite(value):
                raise _EncodeError("Cannot serialise number: must not be NaN or Inf")
            out.append(lua_number_text(value))
        elif kind == "boolean":
            out.append(b"true" if value else b"false")
        elif kind == "nil" or (kind == "userdata" and self.is_null(value)):
            out.append(b"null")
        elif kind == "table":
            if depth > self.MAX_DEPTH:
                raise _EncodeError(f"Cannot serialise, excessive nesting ({depth})")
            self._encode_table(value, out, depth)
        else:
            raise _EncodeError(f"Cannot serialise {kind}: type not supported")

    def _encode_table(self, table: Any, out: list[bytes], depth: int) -> None:
        items = list(table.items())
        length = _array_length(items)
        if length is not None and length > len(items) * 2 and length > 10:
            raise _EncodeError("Cannot serialise table: excessively sparse array")
        if length:  # an empty table is an object, as lua-cjson writes it
            out.append(b"[")
            for index in range(1, length + 1):
                if index > 1:
                    out.append(b",")
                self._encode(table[index], out, depth + 1)
            out.append(b"]")
            return
        out.append(b"{")
        for n, (key, value) in enumerate(items):
            if n:
                out.append(b",")
            if lua_type(key) == "number":
                out.append(b'"' + lua_number_text(key) + b'":')
            elif lua_type(key) == "string":
                self._encode(key, out, depth)
                out.append(b":")
            else:
                raise _EncodeError("Cannot serialise table: table key must be a number or "
                                   "string")
            self._encode(value, out, depth + 1)
        out.append(b"}")

    def decode(self, *args) -> tuple:
        if len(args) != 1 or lua_type(args[0]) not in ("string", "number"):
            return False, "bad argument #1 to 'decode' (string expected, got " \
                          f"{lua_type(args[0]) if args else 'no value'})"
        text = args[0] if isinstance(args[0], bytes) else lua_number_text(args[0])
        try:
            return True, _JsonDecoder(self, text).decode()
        except _DecodeError as exc:
            return False, str(exc)


# lua-cjson's token names, as its parse errors show them.
_T_END, _T_ERROR = "T_END", "T_ERROR"
_PUNCTUATION = {ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN",
                ord("]"): "T_ARR_END", ord(":"): "T_COLON", ord(","): "T_COMMA"}
_NUMBER = re.compile(rb"-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|"
                     rb"[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])")
_SIMPLE_ESCAPES = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b",
                   ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}


class _JsonDecoder:
    """lua-cjson's decoder (json_next_token, json_process_value): its grammar, its
    leniency (hex numbers, inf and nan) and its error texts."""

    MAX_DEPTH = 1000

    def __init__(self, cjson: Cjson, text: bytes) -> None:
        self.cjson, self.text, self.pos, self.depth = cjson, text, 0, 0

    def decode(self) -> Any:
        value = self._value(self._token())
        kind, detail, start = self._token()
        if kind != _T_END:
            self._fail("the end", kind, start, detail)
        return value

    @staticmethod
    def _fail(expected: str, kind: str, start: int, detail: Any) -> None:
        found = detail if kind == _T_ERROR else kind
        raise _DecodeError(f"Expected {expected} but found {found} at character {start + 1}")

    def _token(self) -> tuple[str, Any, int]:
        """(type, value, start); a T_ERROR's value is its message."""
        text = self.text
        while self.pos < len(text) and text[self.pos] in b" \t\n\r":
            self.pos += 1
        start = self.pos
        if start >= len(text):
            return _T_END, None, start
        char = text[start]
        if char in _PUNCTUATION:
            self.pos += 1
            return _PUNCTUATION[char], None, start
        if char == ord('"'):
            return self._string(start)
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", self.cjson.null)):
            if text.startswith(word, start):
                self.pos += len(word)
                return kind, value, start
        numeric_start = char == ord("-") or ord("0") <= char <= ord("9")
        number = _NUMBER.match(text, start)
        if number and (numeric_start or char in b"iInN"):
            self.pos = number.end()
            raw = number.group()
            is_hex = raw.lstrip(b"-")[:2].lower() == b"0x"
            return "T_NUMBER", float(int(raw, 16)) if is_hex else float(raw), start
        return _T_ERROR, "invalid number" if numeric_start else "invalid token", start

    def _string(self, start: int) -> tuple[str, Any, int]:
        text, pos, out = self.text, start + 1, bytearray()
        while True:
            if pos >= len(text):
                return _T_ERROR, "unexpected end of string", start
            char = text[pos]
            if char == ord('"'):
                self.pos = pos + 1
                return "T_STRING", bytes(out), start
            if char != ord("\\"):
                out.append(char)
                pos += 1
                continue
            escape = text[pos + 1] if pos + 1 < len(text) else None
            if escape in _SIMPLE_ESCAPES:
                out += _SIMPLE_ESCAPES[escape]
                pos += 2
            elif escape == ord("u"):
                decoded = _unicode_escape(text, pos)
                if decoded is None:
                    return _T_ERROR, "invalid unicode escape code", start
                out += decoded[0]
                pos = decoded[1]
            else:
                return _T_ERROR, "invalid escape code", start

    def _value(self, token: tuple[str, Any, int]) -> Any:
        kind, value, start = token
        if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL"):
            return value
        if kind in ("T_OBJ_BEGIN", "T_ARR_BEGIN"):
            self.depth += 1
            if self.depth > self.MAX_DEPTH:
                raise _DecodeError(f"Found too many nested data structures ({self.depth}) at "
                                   f"character {start + 1}")
            result = self._object() if kind == "T_OBJ_BEGIN" else self._array()
            self.depth -= 1
            return result
        self._fail("value", kind, start, value)
        return None

    def _object(self) -> Any:
        pairs: dict[bytes, Any] = {}
        kind, value, start = self._token()
        if kind == "T_OBJ_END":
            return self.cjson.sandbox.table(pairs)
        while True:
            if kind != "T_STRING":
                self._fail("object key string", kind, start, value)
            key = value
            kind, value, start = self._token()
            if kind != "T_COLON":
                self._fail("colon", kind, start, value)
            pairs[key] = self._value(self._token())
            kind, value, start = self._token()
            if kind == "T_OBJ_END":
                return self.cjson.sandbox.table(pairs)
            if kind != "T_COMMA":
                self._fail("comma or object end", kind, start, value)
            kind, value, start = self._token()

    def _array(self) -> Any:
        items: list[Any] = []
        token = self._token()
        if token[0] == "T_ARR_END":
            return self.cjson.sandbox.array(items)
        while True:
            items.append(self._value(token))
            kind, value, start = self._token()
            if kind == "T_ARR_END":
                return self.cjson.sandbox.array(items)
            if kind != "T_COMMA":
                self._fail("comma or array end", kind, start, value)
            token = self._token()


def _unicode_escape(text: bytes, pos: int) -> tuple[bytes, int] | None:
    """The \\uXXXX escape at ``pos`` (a surrogate pair: two) as UTF-8, and where the
    text goes on; None if it is not a valid one."""
    def hex4(at: int) -> int | None:
        digits = text[at:at + 4]
        if len(digits) != 4 or not all(c in b"0123456789abcdefABCDEF" for c in digits):
            return None
        return int(digits, 16)

    code = hex4(pos + 2)
    if code is None:
        return None
    end = pos + 6
    if 0xD800 <= code <= 0xDBFF:
        low = hex4(end + 2) if text[end:end + 2] == b"\\u" else None
        if low is None or not 0xDC00 <= low <= 0xDFFF:
            return None
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        end += 6
    elif 0xDC00 <= code <= 0xDFFF:
        return None
    return chr(code).encode("utf-8"), end


def _array_length(items: list[tuple[Any, Any]]) -> int | None:
    """The array length lua-cjson sees: the largest key if every key is a positive
    integer, else None (an object)."""
    largest = 0
    for key, _ in items:
        if not isinstance(key, int | float) or isinstance(key, bool) or key < 1 or \
                key != int(key):
            return None
        largest = max(largest, int(key))
    return largest


# ------------------------------------------------------------------------ cmsgpack

class Cmsgpack:
    """lua_cmsgpack 0.4 as Redis bundles it."""

    MAX_NESTING = 16

    def __init__(self, sandbox: LuaSandbox) -> None:
        self.sandbox = sandbox

    def functions(self) -> dict[str, Any]:
        return {"pack": self.pack, "unpack": self.unpack, "unpack_one": self.unpack_one,
                "unpack_limit": self.unpack_limit}

    def pack(self, *values) -> tuple:
        if not values:
            return False, "MessagePack pack needs input."
        out: list[bytes] = []
        for value in values:
            self._pack(value, out, 0)
        return True, b"".join(out)

    def _pack(self, value: Any, out: list[bytes], level: int) -> None:
        kind = lua_type(value)
        if kind == "string":
            out.append(_msgpack_header(len(value), 0xA0, 31, b"\xd9", b"\xda", b"\xdb") + value)
        elif kind == "boolean":
            out.append(b"\xc3" if value else b"\xc2")
        elif kind == "number":
            out.append(_msgpack_number(value))
        elif kind == "table" and level < self.MAX_NESTING:
            self._pack_table(value, out, level)
        else:
            out.append(b"\xc0")

    def _pack_table(self, table: Any, out: list[bytes], level: int) -> None:
        items = list(table.items())
        length = _array_length(items)
        if length is not None and length == len(items):
            out.append(_msgpack_header(length, 0x90, 15, None, b"\xdc", b"\xdd"))
            for index in range(1, length + 1):
                self._pack(table[index], out, level + 1)
            return
        out.append(_msgpack_header(len(items), 0x80, 15, None, b"\xde", b"\xdf"))
        for key, value in items:
            self._pack(key, out, level + 1)
            self._pack(value, out, level + 1)

    def unpack(self, *args) -> tuple:
        return self._unpack(args, 0, 0)

    def unpack_one(self, *args) -> tuple:
        return self._unpack(args, 1, args[1] if len(args) > 1 else 0)

    def unpack_limit(self, *args) -> tuple:
        return self._unpack(args, args[1] if len(args) > 1 else 0,
                            args[2] if len(args) > 2 else 0)

    def _unpack(self, args: tuple, limit: Any, offset: Any) -> tuple:
        data = args[0] if args else None
        if not isinstance(data, bytes):
            return False, "bad argument #1 to 'unpack' (string expected, got " \
                          f"{lua_type(data) if args else 'no value'})"
        if not isinstance(limit, int | float) or not isinstance(offset, int | float):
            return False, "bad argument #2 to 'unpack' (number expected)"
        limit, offset = int(limit), int(offset)
        if offset < 0 or offset > len(data):
            return False, f"Start offset {offset} greater than input length {len(data)}."
        values = []
        position = offset
        try:
            while position < len(data) and (limit <= 0 or len(values) < limit):
                value, position = self._decode(data, position)
                values.append(value)
        except _DecodeError as exc:
            return False, str(exc)
        if limit > 0:  # unpack_one / unpack_limit: the next offset first (-1: the end)
            return True, position if position < len(data) else -1, *values
        return True, *values

    def _decode(self, data: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(data):
            raise _DecodeError("Missing bytes in input.")
        byte = data[pos]
        pos += 1
        if byte <= 0x7F:
            return byte, pos
        if byte >= 0xE0:
            return byte - 0x100, pos
        if 0xA0 <= byte <= 0xBF:
            return _take(data, pos, byte & 0x1F)
        if 0x90 <= byte <= 0x9F:
            return self._decode_array(data, pos, byte & 0x0F)
        if 0x80 <= byte <= 0x8F:
            return self._decode_map(data, pos, byte & 0x0F)
        if byte == 0xC0:
            return None, pos
        if byte in (0xC2, 0xC3):
            return byte == 0xC3, pos
        if byte in _MSGPACK_FIXED:
            fmt = _MSGPACK_FIXED[byte]
            raw, end = _take(data, pos, struct.calcsize(fmt))
            return struct.unpack(fmt, raw)[0], end
        if byte in _MSGPACK_SIZED:
            fmt, kind = _MSGPACK_SIZED[byte]
            raw, pos = _take(data, pos, struct.calcsize(fmt))
            size = struct.unpack(fmt, raw)[0]
            if kind == "bytes":
                return _take(data, pos, size)
            if kind == "array":
                return self._decode_array(data, pos, size)
            return self._decode_map(data, pos, size)
        raise _DecodeError("Bad data format in input.")

    def _decode_array(self, data: bytes, pos: int, count: int) -> tuple[Any, int]:
        items = []
        for _ in range(count):
            item, pos = self._decode(data, pos)
            items.append(item)
        return self.sandbox.array(items), pos

    def _decode_map(self, data: bytes, pos: int, count: int) -> tuple[Any, int]:
        pairs = {}
        for _ in range(count):
            key, pos = self._decode(data, pos)
            value, pos = self._decode(data, pos)
            if key is not None:
                pairs[key] = value
        return self.sandbox.table(pairs), pos


_MSGPACK_FIXED = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                  0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
_MSGPACK_SIZED = {0xC4: (">B", "bytes"), 0xC5: (">H", "bytes"), 0xC6: (">I", "bytes"),
                  0xD9: (">B", "bytes"), 0xDA: (">H", "bytes"), 0xDB: (">I", "bytes"),
                  0xDC: (">H", "array"), 0xDD: (">I", "array"), 0xDE: (">H", "map"),
                  0xDF: (">I", "map")}


def _take(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    if pos + size > len(data):
        raise _DecodeError("Missing bytes in input.")
    return data[pos:pos + size], pos + size


def _msgpack_header(size: int, fix: int, fix_max: int, one: bytes | None, two: bytes,
                    four: bytes) -> bytes:
    if size <= fix_max:
        return bytes([fix | size])
    if one is not None and size <= 0xFF:
        return one + bytes([size])
    if size <= 0xFFFF:
        return two + struct.pack(">H", size)
    return four + struct.pack(">I", size)


def _msgpack_number(number: float) -> bytes:
    """lua_cmsgpack's mp_encode_lua_number: an integral value as the smallest integer,
    else a float32 when that loses nothing, else a float64."""
    if math.isfinite(number) and number == int(number) and -2**63 <= number < 2**64:
        n = int(number)
        if n >= 0:
            for limit, header, fmt in ((0x7F, b"", ">B"), (0xFF, b"\xcc", ">B"),
                                       (0xFFFF, b"\xcd", ">H"), (0xFFFFFFFF, b"\xce", ">I")):
                if n <= limit:
                    return header + struct.pack(fmt, n)
            return b"\xcf" + struct.pack(">Q", n)
        if n >= -32:
            return struct.pack(">b", n)
        for limit, header, fmt in ((-128, b"\xd0", ">b"), (-32768, b"\xd1", ">h"),
                                   (-2**31, b"\xd2", ">i")):
            if n >= limit:
                return header + struct.pack(fmt, n)
        return b"\xd3" + struct.pack(">q", n)
    as_float = struct.unpack(">f", struct.pack(">f", number))[0] \
        if math.isfinite(number) and abs(number) < 3.4e38 else number
    if as_float == number or not math.isfinite(number):
        return b"\xca" + struct.pack(">f", number)
    return b"\xcb" + struct.pack(">d", number)


# ------------------------------------------------------------------------ bit

def _tobit(value: Any) -> int:
    """LuaBitOp's normalisation: the number rounded (to even) and wrapped to int32."""
    n = round(float(value)) if isinstance(value, float) else int(value)
    return (n + 2**31) % 2**32 - 2**31


def _bit_args(name: str, args: tuple, minimum: int = 1) -> list[int] | str:
    if len(args) < minimum:
        return f"bad argument #{len(args) + 1} to '{name}' (number expected, got no value)"
    numbers = []
    for i, arg in enumerate(args, 1):
        number = lua_number(arg)
        if number is None:
            return f"bad argument #{i} to '{name}' (number expected, got {lua_type(arg)})"
        numbers.append(_tobit(number))
    return numbers


def _bit_function(name: str, apply: Callable[[list[int]], int], arity: int) -> LuaFunction:
    def function(*args) -> tuple:
        numbers = _bit_args(name, args[:arity] if arity else args, arity or 1)
        if isinstance(numbers, str):
            return False, numbers
        return True, _tobit(apply(numbers))
    return function


def _fold(op: Callable[[int, int], int]) -> Callable[[list[int]], int]:
    def apply(numbers: list[int]) -> int:
        result = numbers[0]
        for n in numbers[1:]:
            result = op(result, n)
        return result
    return apply


def _rotate(left: bool) -> Callable[[list[int]], int]:
    def apply(numbers: list[int]) -> int:
        value, count = numbers[0] & 0xFFFFFFFF, numbers[1] & 31
        if not left:
            count = (32 - count) & 31
        return ((value << count) | (value >> (32 - count))) & 0xFFFFFFFF
    return apply


def _tohex(*args) -> tuple:
    numbers = _bit_args("tohex", args[:2])
    if isinstance(numbers, str):
        return False, numbers
    value = numbers[0] & 0xFFFFFFFF
    digits = numbers[1] if len(numbers) > 1 else 8
    upper = digits < 0
    digits = min(abs(digits), 8)
    text = b"%0*x" % (digits, value & ((1 << (4 * digits)) - 1)) if digits else b""
    return True, text.upper() if upper else text


def bit_functions() -> dict[str, LuaFunction]:
    return {
        "tobit": _bit_function("tobit", lambda n: n[0], 1),
        "bnot": _bit_function("bnot", lambda n: ~n[0], 1),
        "band": _bit_function("band", _fold(lambda a, b: a & b), 0),
        "bor": _bit_function("bor", _fold(lambda a, b: a | b), 0),
        "bxor": _bit_function("bxor", _fold(lambda a, b: a ^ b), 0),
        "lshift": _bit_function("lshift", lambda n: n[0] << (n[1] & 31), 2),
        "rshift": _bit_function("rshift", lambda n: (n[0] & 0xFFFFFFFF) >> (n[1] & 31), 2),
        "arshift": _bit_function("arshift", lambda n: n[0] >> (n[1] & 31), 2),
        "rol": _bit_function("rol", _rotate(True), 2),
        "ror": _bit_function("ror", _rotate(False), 2),
        "bswap": _bit_function("bswap", lambda n: int.from_bytes(
            (n[0] & 0xFFFFFFFF).to_bytes(4, "little"), "big"), 1),
        "tohex": _tohex,
    }


# ------------------------------------------------------------------------ struct

_STRUCT_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8,
                 "x": 1}
_MAX_INT_SIZE, _MAX_ALIGN = 32, 8


class _StructError(Exception):
    pass


class _Format:
    """A struct format being read (lua_struct.c): options, endianness, alignment."""

    def __init__(self, name: str, fmt: bytes) -> None:
        self.name, self.fmt, self.pos = name, fmt.decode("latin-1"), 0
        self.little, self.align = True, 1  # defaultoptions: native (x86) order, no padding

    def __iter__(self):
        while self.pos < len(self.fmt):
            option = self.fmt[self.pos]
            self.pos += 1
            yield option, self._size(option)

    def _number(self, default: int) -> int:
        start = self.pos
        while self.pos < len(self.fmt) and self.fmt[self.pos].isdigit():
            self.pos += 1
        return int(self.fmt[start:self.pos]) if self.pos > start else default

    def _size(self, option: str) -> int:
        if option in _STRUCT_SIZES:
            return _STRUCT_SIZES[option]
        if option == "c":
            return self._number(1)
        if option in "iI":
            size = self._number(4)
            if size > _MAX_INT_SIZE:
                raise _StructError(f"integral size {size} is larger than limit of "
                                   f"{_MAX_INT_SIZE}")
            return size
        return 0

    def padding(self, length: int, option: str, size: int) -> int:
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, option: str) -> None:
        if option == " ":
            return
        if option in "<>":
            self.little = option == "<"
        elif option == "!":
            align = self._number(_MAX_ALIGN)
            if align & (align - 1):
                raise _StructError(f"alignment {align} is not a power of 2")
            self.align = align
        else:
            raise _StructError(f"bad argument #1 to '{self.name}' (invalid format option "
                               f"'{option}')")


def _struct_number(args: tuple, index: int, name: str) -> float:
    """luaL_checknumber."""
    number = lua_number(args[index]) if index < len(args) else None
    if number is None:
        got = "no value" if index >= len(args) else lua_type(args[index])
        raise _StructError(f"bad argument #{index + 1} to '{name}' (number expected, got "
                           f"{got})")
    return number


def _struct_string(args: tuple, index: int, name: str) -> bytes:
    value = args[index] if index < len(args) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return lua_number_text(value)
    if not isinstance(value, bytes):
        got = "no value" if index >= len(args) else lua_type(value)
        raise _StructError(f"bad argument #{index + 1} to '{name}' (string expected, got "
                           f"{got})")
    return value


def struct_pack(*args) -> tuple:
    try:
        fmt = _Format("pack", _struct_string(args, 0, "pack"))
        out = bytearray()
        arg = 1
        for option, size in fmt:
            out += bytes(fmt.padding(len(out), option, size))
            if option in "bBhHlLTiI":
                number = _struct_number(args, arg, "pack")
                arg += 1
                value = int(number) & ((1 << 64) - 1)  # (Uinttype)(Inttype)n
                out += value.to_bytes(64, "little")[:size][::1 if fmt.little else -1] \
                    if size <= 64 else bytes(size)
            elif option == "x":
                out.append(0)
            elif option in "fd":
                number = _struct_number(args, arg, "pack")
                arg += 1
                out += struct.pack(("<" if fmt.little else ">") + option, number)
            elif option in "cs":
                text = _struct_string(args, arg, "pack")
                arg += 1
                size = size or len(text)
                if len(text) < size:
                    raise _StructError(f"bad argument #{arg + 1} to 'pack' (string too short)")
                out += text[:size] + (b"\0" if option == "s" else b"")
            else:
                fmt.control(option)
        return True, bytes(out)
    except _StructError as exc:
        return False, str(exc)


def struct_unpack(*args) -> tuple:
    try:
        fmt = _Format("unpack", _struct_string(args, 0, "unpack"))
        data = _struct_string(args, 1, "unpack")
        start = int(_struct_number(args, 2, "unpack")) if len(args) > 2 and \
            args[2] is not None else 1
        if start <= 0:
            raise _StructError("bad argument #3 to 'unpack' (offset must be 1 or greater)")
        pos, results = start - 1, []
        for option, size in fmt:
            pos += fmt.padding(pos, option, size)
            if size > len(data) or pos > len(data) - size:
                raise _StructError("bad argument #2 to 'unpack' (data string too short)")
            if option in "bBhHlLTiI":
                raw = data[pos:pos + size]
                value = int.from_bytes(raw, "little" if fmt.little else "big")
                if option.islower() and value >> (size * 8 - 1):
                    value -= 1 << (size * 8)
                results.append(float(value))
            elif option in "fd":
                results.append(struct.unpack(("<" if fmt.little else ">") + option,
                                             data[pos:pos + size])[0])
            elif option == "c":
                if size == 0:
                    if not results or not isinstance(results[-1], float):
                        raise _StructError("format 'c0' needs a previous size")
                    size = int(results.pop())
                    if size > len(data) or pos > len(data) - size:
                        raise _StructError("bad argument #2 to 'unpack' (data string too "
                                           "short)")
                results.append(data[pos:pos + size])
            elif option == "s":
                end = data.find(b"\0", pos)
                if end < 0:
                    raise _StructError("unfinished string in data")
                results.append(data[pos:end])
                size = end - pos + 1
            elif option != "x":
                fmt.control(option)
            pos += size
        return True, *results, pos + 1
    except _StructError as exc:
        return False, str(exc)


def struct_size(*args) -> tuple:
    try:
        fmt = _Format("size", _struct_string(args, 0, "size"))
        pos = 0
        for option, size in fmt:
            pos += fmt.padding(pos, option, size)
            if option == "s":
                raise _StructError("bad argument #1 to 'size' (option 's' has no fixed size)")
            if option == "c" and size == 0:
                raise _StructError("bad argument #1 to 'size' (option 'c0' has no fixed size)")
            if not option.isalnum():
                fmt.control(option)
            pos += size
        return True, pos
    except _StructError as exc:
        return False, str(exc)


def lua_libraries(sandbox: LuaSandbox, null: Any,
                  is_null: Callable[[Any], bool]) -> dict[str, dict[str, Any]]:
    """name -> {function name -> Python function or constant}, for the bootstrap."""
    return {"cjson": Cjson(sandbox, null, is_null).functions(),
            "cmsgpack": Cmsgpack(sandbox).functions(),
            "bit": bit_functions(),
            "struct": {"pack": struct_pack, "unpack": struct_unpack, "size": struct_size}}
