"""protocol._canonical.split_commands, the C splitter of canonical multibulk commands,
takes exactly what its reference, protocol.parser._split_commands, takes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import parser
from server import compiled

if compiled.pure_python_forced():
    pytest.skip("the C splitter is not used under CASKD_PURE_PYTHON=1",
                allow_module_level=True)
canonical = pytest.importorskip("protocol._canonical", reason="the compiled core is not built")


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def same(data: bytes, max_bulk: int = 512 * 1024 * 1024) -> tuple[list, int]:
    expected = parser._split_commands(data, max_bulk)
    assert canonical.split_commands(data, max_bulk) == expected
    return expected


CASES = [
    command(b"GET", b"key"),
    command(b"SET", b"k\r\n", b"v") + command(b"PING"),  # CRLF inside: the reference stops
    command(b"SET", b"k\r", b"\nv"),  # a CR or LF alone is part of the argument
    command(b"PING") + b"*1\r\n$4\r\nPI",  # the second is not all there
    command(b"PING") + b"*1\r\n$4\r\nPINGxx",  # not followed by CRLF
    b"*01\r\n$4\r\nPING\r\n", b"*+1\r\n$4\r\nPING\r\n", b"*1\r\n$04\r\nPING\r\n",
    b"*0\r\n", b"*-1\r\n", b"*1\r\n$-1\r\n", b"*1\r\n$4\rxPING\r\n",
    command(*[b"x"] * 1024), command(*[b"x"] * 1025),  # the largest canonical count
    command(b"SET", b"k", b"v" * 5000),
    b"*1\r\n$99999999999999999999\r\n", b"*1\r\n$0\r\n\r\n",
    b"PING\r\n", b"", b"*", b"*1", b"*1\r", b"*1\r\n$",
]


@pytest.mark.parametrize("data", CASES)
def test_cases(data):
    same(data)


def test_a_long_argument_over_max_bulk_stops_the_scan_but_a_short_one_does_not():
    data = command(b"SET", b"k", b"v" * 2000)
    assert same(data, max_bulk=1999) == ([], 0)
    assert same(data, max_bulk=2000)[1] == len(data)
    assert same(command(b"x" * 1000), max_bulk=10)[1] > 0  # below 1024: not checked


FRAGMENTS = [b"*", b"$", b"\r\n", b"\r", b"\n", b"0", b"1", b"2", b"3", b"10", b"-", b"x",
             b"PING", command(b"GET", b"a"), command(b"SET", b"a", b"bc")]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=6)),
                max_size=40).map(b"".join))
def test_fuzz_same_as_the_reference(data):
    same(data)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=30), min_size=1, max_size=5), max_size=10),
       st.integers(min_value=0, max_value=8))
def test_fuzz_canonical_commands_and_a_cut_tail(commands, cut):
    data = b"".join(command(*args) for args in commands)
    same(data)
    same(data[:max(0, len(data) - cut)])
