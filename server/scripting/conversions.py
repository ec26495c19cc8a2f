"""Replies between Redis and Lua, both ways, as Redis's script_lua.c converts them.

A command's reply reaches Lua as Redis's redisProtocolToLuaType builds it: the
reply is encoded in the script's protocol (RESP2 unless it called
``redis.setresp(3)``) and read back into Lua values (integer -> number, bulk ->
string, null bulk/array -> false, status -> {ok=...}, error -> {err=...}, RESP3
map/set/double/big number/verbatim/bool/null -> their tables or values).

A script's return value goes back as luaReplyToRedisReply writes it, for the
caller's protocol: numbers truncated to integers, false -> null (RESP2 scripts),
tables as arrays up to their first nil, {err=}, {ok=}, {double=}, {map=}, {set=},
{big_number=}, {verbatim_string=} as those replies.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import lupa.lua51 as lupa

from protocol.reply import OK, Error, Raw, encode, encode_into

if TYPE_CHECKING:
    from server.scripting.sandbox import LuaSandbox

LLONG_MIN = -(2**63)


def error_table(sandbox: LuaSandbox, message: bytes, from_command: bool = False) -> Any:
    """luaPushErrorBuff: ``-CODE text`` or ``text`` (code ERR) as {err="CODE text"}; an
    error a command replied is marked so that it is not counted twice."""
    if message.startswith(b"-"):
        code, space, text = message[1:].partition(b" ")
        if not space:
            code, text = b"ERR", message[1:]
    else:
        code, text = b"ERR", message
    fields: dict[bytes, Any] = {b"err": code + b" " + text.strip(b"\r\n")}
    if from_command:
        fields[b"ignore_error_stats_update"] = True
    return sandbox.table(fields)


# ------------------------------------------------------------------ Redis -> Lua

def reply_to_lua(sandbox: LuaSandbox, reply: Any, resp3: bool) -> tuple[Any, bool]:
    """The Lua value of a command's reply, and whether it is an error."""
    kind = type(reply)  # the common replies first, as their encoding would read back
    if kind is bytes or kind is int:
        return reply, False
    if reply is None:  # a null bulk string (RESP2) is false, RESP3's null is nil
        return (None if resp3 else False), False
    if reply is OK:
        return sandbox.runtime.table_from({b"ok": b"OK"}), False
    data = encode(reply, resp3)
    value, _ = _parse(sandbox, data, 0)
    return value, data[:1] == b"-"


def _parse(sandbox: LuaSandbox, data: bytes, pos: int) -> tuple[Any, int]:
    kind = data[pos:pos + 1]
    end = data.index(b"\r\n", pos)
    header = data[pos + 1:end]
    pos = end + 2
    if kind == b"$":
        size = int(header)
        if size < 0:
            return False, pos
        return data[pos:pos + size], pos + size + 2
    if kind == b":":
        return int(header), pos
    if kind == b"+":
        return sandbox.table({b"ok": header}), pos
    if kind == b"-":
        return error_table(sandbox, b"-" + header, from_command=True), pos
    if kind in (b"*", b">"):
        count = int(header)
        if count < 0:
            return False, pos
        items = []
        for _ in range(count):
            item, pos = _parse(sandbox, data, pos)
            items.append(item)
        return sandbox.array(items), pos
    if kind in (b"%", b"~"):
        pairs: dict[Any, Any] = {}
        for _ in range(int(header)):
            key, pos = _parse(sandbox, data, pos)
            if kind == b"%":
                value, pos = _parse(sandbox, data, pos)
            else:
                value = True
            pairs[key] = value
        name = b"map" if kind == b"%" else b"set"
        return sandbox.table({name: sandbox.table(pairs)}), pos
    if kind == b"_":
        return None, pos
    if kind == b"#":
        return header == b"t", pos
    if kind == b",":
        return sandbox.table({b"double": float(header)}), pos
    if kind == b"(":
        return sandbox.table({b"big_number": header}), pos
    if kind == b"=":
        size = int(header)
        body = data[pos:pos + size]
        verbatim = sandbox.table({b"string": body[4:], b"format": body[:3]})
        return sandbox.table({b"verbatim_string": verbatim}), pos + size + 2
    raise ValueError(f"unexpected reply type {kind!r}")


# ------------------------------------------------------------------ Lua -> Redis

def lua_to_reply(sandbox: LuaSandbox, value: Any, script_resp3: bool, caller_resp3: bool,
                 kind: list | tuple = ()):
    """The reply for a script's return value: an Error for an error (the dispatcher
    counts it), or its RESP bytes for the caller's protocol. ``kind`` is what
    reply_kind makes of a table ``value``, where the caller has it already."""
    if type(value) is bytes:  # the common replies, as any command returns them
        return value
    if type(value) is int:
        return _long_long(value)
    out: list[bytes] = []
    if _is_table(value):
        kind = kind or sandbox.reply_kind(value)
        if kind[0] == b"err":
            return Error(kind[1].decode("utf-8", "surrogateescape"))
        _write_table(sandbox, kind, script_resp3, caller_resp3, out)
    else:
        _write(sandbox, value, script_resp3, caller_resp3, out)
    return Raw(b"".join(out))


def _write(sandbox: LuaSandbox, value: Any, script_resp3: bool, resp3: bool,
           out: list[bytes]) -> None:
    kind = type(value)
    if kind is bytes:
        encode_into(out, value)
    elif kind is bool:
        if not script_resp3:
            encode_into(out, 1 if value else None, resp3)
        elif resp3:
            out.append(b"#t\r\n" if value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value else b":0\r\n")
    elif kind is int or kind is float:
        out.append(b":%d\r\n" % _long_long(value))
    elif _is_table(value):
        _write_table(sandbox, sandbox.reply_kind(value), script_resp3, resp3, out)
    else:  # nil, a function, a userdata...
        encode_into(out, None, resp3)


def _write_table(sandbox: LuaSandbox, table_kind: list | tuple, script_resp3: bool,
                 resp3: bool, out: list[bytes]) -> None:
    """A table, given as reply_kind makes it out."""
    kind, *fields = table_kind
    if kind == b"err":
        out.append(b"-" + _one_line(fields[0]) + b"\r\n")
    elif kind == b"ok":
        out.append(b"+" + _one_line(fields[0].split(b"\0", 1)[0]) + b"\r\n")
    elif kind == b"double":
        encode_into(out, float(fields[0]), resp3)
    elif kind == b"big_number":
        number = _one_line(fields[0])
        out.append(b"(" + number + b"\r\n" if resp3 else encode(number))
    elif kind == b"verbatim":
        text, fmt = fields
        out.append(b"=%d\r\n%b:%b\r\n" % (len(text) + 4, fmt[:3].ljust(3), text) if resp3
                   else encode(text))
    elif kind == b"map":
        items = list(fields[0].items())
        out.append(b"%%%d\r\n" % len(items) if resp3 else b"*%d\r\n" % (2 * len(items)))
        for key, value in items:
            _write(sandbox, key, script_resp3, resp3, out)
            _write(sandbox, value, script_resp3, resp3, out)
    elif kind == b"set":
        members = list(fields[0].keys())
        out.append(b"~%d\r\n" % len(members) if resp3 else b"*%d\r\n" % len(members))
        for member in members:
            _write(sandbox, member, script_resp3, resp3, out)
    else:
        items, count = fields
        out.append(b"*%d\r\n" % count)
        for index in range(1, count + 1):
            _write(sandbox, items[index], script_resp3, resp3, out)


def _long_long(number: float) -> int:
    """C's (long long) cast of a Lua number, as x86 does it out of range."""
    if isinstance(number, int):
        return number if LLONG_MIN <= number < 2**63 else LLONG_MIN
    if not math.isfinite(number) or not LLONG_MIN <= number < 2**63:
        return LLONG_MIN
    return int(number)


def _one_line(text: bytes) -> bytes:
    return text.replace(b"\r", b" ").replace(b"\n", b" ")


def _is_table(value: Any) -> bool:
    return type(value) not in (bytes, int, float, bool) and value is not None and \
        lupa.lua_type(value) == "table"
