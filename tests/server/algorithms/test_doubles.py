"""server.algorithms.doubles: C's strtod as Redis's SORT reads weights, ERANGE included."""

from __future__ import annotations

from server.algorithms.doubles import strtod_erange


def test_overflow_and_inexact_underflow_set_erange():
    assert strtod_erange(b"1e400")[2] and strtod_erange(b"-1e400")[2]
    assert strtod_erange(b"1e-400")[2] and strtod_erange(b"4e-320")[2]


def test_exact_values_do_not():
    assert not strtod_erange(b"0x1p-1070")[2]  # an exact subnormal
    assert not strtod_erange(b"0.000")[2] and not strtod_erange(b"inf")[2]
    assert not strtod_erange(b"2.2250738585072014e-308")[2]  # the smallest normal double


def test_the_number_read_and_its_length():
    assert strtod_erange(b" 12abc") == (12.0, 3, False)
    assert strtod_erange(b"0x10") == (16.0, 4, False)
    assert strtod_erange(b"abc") == (0.0, 0, False)
