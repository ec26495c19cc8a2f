"""The Lua libraries written in Python (cjson, cmsgpack, bit, struct) and Redis's
PRNG, in a sandbox with no server: encodings a differential test cannot pin down
by eye, and the sequences Redis produces."""

from __future__ import annotations

import pytest

from server.scripting.libraries import Lrand48
from server.scripting.sandbox import LuaSandbox


@pytest.fixture(scope="module")
def lua():
    """Run a chunk in an EVAL sandbox whose bridge has only what these need."""
    sandbox = LuaSandbox(lambda sandbox: {"version": lambda: (0x07000F, b"7.0.15")},
                         functions_engine=False)

    def run(code: str):
        function = sandbox.entry.compile(code.encode())
        ok, value, *_ = sandbox.call(function, False, [], 0)
        assert ok, dict(value.items())
        return value

    return run


def test_lrand48_is_redis_sequence():
    """A fresh redis-server's first math.random() values (Redis 7.0.15)."""
    generator = Lrand48()
    assert [round(generator.random(), 14) for _ in range(3)][::2] == \
        [0.39646477363839, 0.35333609737146]
    generator.seed(42)
    assert generator.state == 0x002A330E


@pytest.mark.parametrize(("expression", "packed"), [
    ("0", b"\x00"), ("127", b"\x7f"), ("128", b"\xcc\x80"), ("65535", b"\xcd\xff\xff"),
    ("65536", b"\xce\x00\x01\x00\x00"), ("2^32", b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
    ("-1", b"\xff"), ("-32", b"\xe0"), ("-33", b"\xd0\xdf"), ("-129", b"\xd1\xff\x7f"),
    ("0.5", b"\xca\x3f\x00\x00\x00"), ("0.1", b"\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a"),
    ("'abc'", b"\xa3abc"), ("string.rep('x', 32)", b"\xd9\x20" + b"x" * 32),
    ("{}", b"\x90"), ("{1, 2}", b"\x92\x01\x02"), ("{a = true}", b"\x81\xa1a\xc3"),
    ("nil", b"\xc0"), ("false", b"\xc2"),
])
def test_cmsgpack_picks_the_smallest_encoding(lua, expression, packed):
    assert lua(f"return cmsgpack.pack({expression})") == packed


def test_cmsgpack_unpack_one_gives_the_next_offset(lua):
    assert list(lua("return {cmsgpack.unpack_one(cmsgpack.pack(7, 8))}").values()) == [1, 7]
    assert list(lua("return {cmsgpack.unpack_one(cmsgpack.pack(7, 8), 1)}").values()) == \
        [-1, 8]


def test_cjson_keeps_lua_cjson_number_and_escape_rules(lua):
    assert lua("return cjson.encode({1/3, 100, -0.5, 1e100})") == \
        b"[0.33333333333333,100,-0.5,1e+100]"
    assert lua("return cjson.encode('\\1/\\127')") == b'"\\u0001\\/\\u007f"'
    assert lua("return cjson.decode('0x10')") == 16
    assert lua("return cjson.decode('\"\\\\ud83d\\\\ude00\"')") == "😀".encode()


def test_bit_wraps_to_int32(lua):
    assert list(lua("return {bit.tobit(2^31), bit.lshift(1, 32), bit.ror(1, 1), "
                    "bit.band(-1, 2^32 + 3)}").values()) == [-2**31, 1, -2**31, 3]
