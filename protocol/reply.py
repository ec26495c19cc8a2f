"""Reply encoding, RESP2 and RESP3: plain Python values in, wire bytes out. No I/O.

Handlers return plain values and the connection encodes them for its protocol:

=====================  ===========================  ==============================
value                  RESP3                        RESP2
=====================  ===========================  ==============================
bytes                  bulk string ``$``            same
int                    integer ``:``                same
None                   null ``_``                   null bulk ``$-1``
float                  double ``,`` (``%.17g``)     bulk string, same digits
list, tuple            array ``*``                  same
dict                   map ``%``                    flat array: key, value, ...
set, frozenset         set ``~``                    array
OrderedSet             set ``~``, in order          array
SimpleString           ``+``                        same
Error                  ``-``                        same
Verbatim               verbatim ``=``               bulk string of the text
Push                   push ``>``                   array
NullArray              null ``_``                   null array ``*-1``
Raw                    its bytes, as they are       same
=====================  ===========================  ==============================

Floats follow Redis 7.0's addReplyDouble: ``%.17g``, ``inf`` and ``-inf``. ``bool`` and
``str`` are refused (TypeError): a stray True or text is a handler bug, not an integer
or a bulk string. Text is encoded as UTF-8 with ``surrogateescape`` throughout, so raw
bytes decoded that way come back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Encoded once: indexing a list beats %-formatting on the hot paths.
_CACHED = 1024
_BULK_HEADERS = [b"$%d\r\n" % n for n in range(_CACHED)]
_INTEGERS = [b":%d\r\n" % n for n in range(-1, _CACHED)]  # index n + 1


class Raw(bytes):
    """Bytes already in RESP form, written as they are: the fastest reply."""

    __slots__ = ()


class SimpleString(str):
    """A status reply, ``+text``. CR and LF, which would end it early, become spaces."""

    __slots__ = ()

    def __new__(cls, text: str) -> SimpleString:
        return super().__new__(cls, _one_line(text))


class Error:
    """An error reply. ``text`` is the whole message, code first (``ERR …``, ``WRONGTYPE …``).

    CR and LF would end the reply early: as Redis's addReplyErrorFormat does, they are
    trimmed from the ends and turned into spaces inside.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = _one_line(text)

    def __repr__(self) -> str:
        return f"Error({self.text!r})"


class Verbatim:
    """A verbatim string (RESP3 ``=``): text plus a three-letter format; RESP2 gets the text."""

    __slots__ = ("data", "fmt")

    def __init__(self, text: str | bytes, fmt: str = "txt") -> None:
        self.data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        self.fmt = fmt.encode()
        if len(self.fmt) != 3:
            raise ValueError(f"verbatim format must be 3 bytes, not {fmt!r}")

    def __repr__(self) -> str:
        return f"Verbatim({self.data!r}, {self.fmt.decode()!r})"


class Push(list):
    """Out-of-band data (pub/sub messages, invalidations): RESP3 ``>``, RESP2 an array."""

    __slots__ = ()


class OrderedSet(tuple):
    """A set whose members Redis sends in a fixed order (ACL GETUSER flags): RESP3 ``~``,
    RESP2 an array."""

    __slots__ = ()


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NullArray"


NullArray = _NullArray()
"""The null array RESP2 clients expect from e.g. a BLPOP timeout or an aborted EXEC."""

OK = Raw(b"+OK\r\n")
PONG = Raw(b"+PONG\r\n")
QUEUED = Raw(b"+QUEUED\r\n")
EMPTY_ARRAY = Raw(b"*0\r\n")


def _one_line(text: str) -> str:
    return text.strip("\r\n").replace("\r", " ").replace("\n", " ")


# ------------------------------------------------------------------------ encoders
# Each takes (value, out, table) and appends to out; containers encode their items
# with the same table, which is what makes a reply RESP2 or RESP3 all the way down.

_Table = dict[type, Callable[[Any, list[bytes], "_Table"], None]]


def _bulk(value: bytes, out: list[bytes], table: _Table) -> None:
    # The value itself is appended, not copied: the caller's join copies it once.
    size = len(value)
    out += (_BULK_HEADERS[size] if size < _CACHED else b"$%d\r\n" % size, value, b"\r\n")


def _integer(value: int, out: list[bytes], table: _Table) -> None:
    out.append(_INTEGERS[value + 1] if -1 <= value < _CACHED else b":%d\r\n" % value)


def _raw(value: Raw, out: list[bytes], table: _Table) -> None:
    out.append(value)


def _simple(value: SimpleString, out: list[bytes], table: _Table) -> None:
    out.append(b"+%b\r\n" % value.encode("utf-8", "surrogateescape"))


def _error(value: Error, out: list[bytes], table: _Table) -> None:
    out.append(b"-%b\r\n" % value.text.encode("utf-8", "surrogateescape"))


def _items(header: bytes, items: Any, out: list[bytes], table: _Table) -> None:
    out.append(b"%b%d\r\n" % (header, len(items)))
    for item in items:
        if type(item) is bytes and len(item) < _CACHED:
            out += (_BULK_HEADERS[len(item)], item, b"\r\n")
        else:
            table[type(item)](item, out, table)


def _pairs(header: bytes, count: int, value: dict, out: list[bytes], table: _Table) -> None:
    out.append(b"%b%d\r\n" % (header, count))
    for key, item in value.items():
        table[type(key)](key, out, table)
        table[type(item)](item, out, table)


def _array(value: list | tuple, out: list[bytes], table: _Table) -> None:
    _items(b"*", value, out, table)


def _null2(value: None, out: list[bytes], table: _Table) -> None:
    out.append(b"$-1\r\n")


def _null3(value: _NullArray | None, out: list[bytes], table: _Table) -> None:
    out.append(b"_\r\n")


def _null_array2(value: _NullArray, out: list[bytes], table: _Table) -> None:
    out.append(b"*-1\r\n")


def _double2(value: float, out: list[bytes], table: _Table) -> None:
    text = b"%.17g" % value
    out.append(b"$%d\r\n%b\r\n" % (len(text), text))


def _double3(value: float, out: list[bytes], table: _Table) -> None:
    out.append(b",%.17g\r\n" % value)


def _map2(value: dict, out: list[bytes], table: _Table) -> None:
    _pairs(b"*", 2 * len(value), value, out, table)


def _map3(value: dict, out: list[bytes], table: _Table) -> None:
    _pairs(b"%", len(value), value, out, table)


def _set3(value: set | frozenset, out: list[bytes], table: _Table) -> None:
    _items(b"~", value, out, table)


def _push3(value: Push, out: list[bytes], table: _Table) -> None:
    _items(b">", value, out, table)


def _verbatim2(value: Verbatim, out: list[bytes], table: _Table) -> None:
    _bulk(value.data, out, table)


def _verbatim3(value: Verbatim, out: list[bytes], table: _Table) -> None:
    out += (b"=%d\r\n%b:" % (len(value.data) + 4, value.fmt), value.data, b"\r\n")


_COMMON: _Table = {
    bytes: _bulk, int: _integer, Raw: _raw, SimpleString: _simple, Error: _error,
    list: _array, tuple: _array,
}
_RESP2: _Table = {
    **_COMMON, type(None): _null2, _NullArray: _null_array2, float: _double2, dict: _map2,
    set: _array, frozenset: _array, OrderedSet: _array, Push: _array, Verbatim: _verbatim2,
}
_RESP3: _Table = {
    **_COMMON, type(None): _null3, _NullArray: _null3, float: _double3, dict: _map3,
    set: _set3, frozenset: _set3, OrderedSet: _set3, Push: _push3, Verbatim: _verbatim3,
}


def encode_into(out: list[bytes], reply: Any, resp3: bool = False) -> None:
    """Append the encoding of ``reply`` to ``out`` (joined once per write by the caller).

    Raises TypeError for a value of no reply type, leaving ``out`` as it was.
    """
    kind = type(reply)
    if kind is Raw:
        out.append(reply)
    elif kind is bytes and len(reply) < _CACHED:
        out += (_BULK_HEADERS[len(reply)], reply, b"\r\n")
    elif kind is int and -1 <= reply < _CACHED:
        out.append(_INTEGERS[reply + 1])
    else:
        table = _RESP3 if resp3 else _RESP2
        size = len(out)
        try:
            table[kind](reply, out, table)
        except KeyError as exc:
            del out[size:]
            raise TypeError(f"cannot encode {exc.args[0].__name__} as a reply") from None


def encode(reply: Any, resp3: bool = False) -> bytes:
    """The wire bytes of one reply."""
    out: list[bytes] = []
    encode_into(out, reply, resp3)
    return b"".join(out)
