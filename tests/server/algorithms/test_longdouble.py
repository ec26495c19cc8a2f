"""INCRBYFLOAT's long double emulation, on values whose Redis 7.0 answers were taken
from a real redis-server (tests/compat compares many more, live)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from server.algorithms import longdouble


def incr(start: bytes, increment: bytes) -> bytes | None:
    total = longdouble.add(longdouble.parse(start), longdouble.parse(increment))
    return None if total is None else longdouble.format_human(total)


@pytest.mark.parametrize("start,increment,expected", [
    (b"0", b"0.1", b"0.1"),  # a double would print 0.10000000000000001
    (b"1.1", b"0.000003814697265625", b"1.10000381469726563"),
    (b"0", b"0.000003814697265625", b"0.00000381469726562"),  # a tie: rounded to even
    (b"0", b"-0.000003814697265625", b"-0.00000381469726562"),
    (b"0", b"1.23456789012345678901234", b"1.23456789012345679"),
    (b"0", b"5e-18", b"0"), (b"0", b"-1e-20", b"0"), (b"3.0", b"0", b"3"),
    (b"0", b"0x1.8p1", b"3"), (b"0", b"-.5e1", b"-5"), (b"0", b"1e20",
                                                       b"100000000000000000000"),
    (b"0", b"3.6e-4951", b"0"),  # the smallest subnormal: accepted, prints as 0
])
def test_sums_print_as_redis_prints_them(start, increment, expected):
    assert incr(start, increment) == expected


def test_huge_values_print_every_digit():
    text = incr(b"0", b"1e300")
    assert len(text) == 301
    assert text.startswith(b"1000000000000000000008997324079559193870523944273290747938")
    assert text.endswith(b"7410650567187386105690089424915104006144")
    assert len(incr(b"0", b"1.18973149535723176502e+4932")) == 4933


@pytest.mark.parametrize("text", [
    b"", b" 1", b"1 ", b"1e", b".", b"0x", b"nan", b"abc", b"1,5",
    b"1e5000", b"1.18973149535723176509e+4932",  # overflow
    b"1e-5000", b"1e-4951", b"0x1p-16446",  # underflow to zero
    b"1" * 5120,  # longer than Redis's buffer
])
def test_what_strtold_refuses(text):
    assert longdouble.parse(text) is None


def test_infinity_parses_but_no_sum_with_it_exists():
    assert longdouble.parse(b"-INFINITY") == float("-inf")
    assert longdouble.add(longdouble.parse(b"inf"), Fraction(1)) is None
    assert incr(b"1.18973149535723176502e+4932", b"1.18973149535723176502e+4932") is None


def test_exact_zero_is_not_an_underflow():
    assert longdouble.parse(b"0e999999999") == 0
    assert longdouble.parse(b"-0") == 0
