"""Doubles as Redis reads and prints them: C's ``strtod``, Redis's ``string2d``
(sorted-set scores, weights) and ``d2string`` (scores shown as text).

Python's ``float()`` takes other text than ``strtod`` ("1_0", " 1", no hex), so the
syntax is checked here first; the conversion itself is Python's, which rounds
correctly, as glibc does.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

DBL_MIN = 2.2250738585072014e-308  # the smallest normal double

# What strtod reads: leading white space, a sign, then a decimal or hexadecimal
# number, "inf"/"infinity" or "nan" (optionally "nan(chars)"), any case.
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:"
    rb"0[xX]([0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)([pP][+-]?\d+)?"
    rb"|(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?"
    rb"|(inf(?:inity)?)"
    rb"|nan(?:\([0-9A-Za-z_]*\))?"
    rb")", re.IGNORECASE)


def _strtod(text: bytes) -> tuple[float, int, bytes]:
    """strtod's value and the length it read, and the digits of the number read
    (empty for inf and nan): a zero value with a non-zero digit underflowed."""
    match = _STRTOD.match(text)
    if match is None:
        return 0.0, 0, b""
    sign, hex_digits, hex_exponent, digits, exponent, infinity = match.groups()
    if hex_digits is not None:
        try:
            value = float.fromhex((b"0x" + hex_digits + (hex_exponent or b"")).decode())
        except OverflowError:
            value = math.inf
    elif digits is not None:
        value = float(digits + (exponent or b""))
    else:
        value, digits = (math.inf if infinity is not None else math.nan), b""
    return (-value if sign == b"-" else value), match.end(), hex_digits or digits


def strtod(text: bytes) -> tuple[float, int]:
    """C's strtod: the value of the longest prefix of ``text`` that is a number,
    and that prefix's length (0, with value 0.0, if there is none)."""
    value, end, _ = _strtod(text)
    return value, end


def strtod_erange(text: bytes) -> tuple[float, int, bool]:
    """strtod, and whether glibc's sets ERANGE: the number overflows to infinity, or
    underflows (its value is below the smallest normal double and not exact)."""
    value, end, digits = _strtod(text)
    if math.isinf(value) and digits:
        return value, end, True
    if abs(value) >= DBL_MIN or not digits.strip(b"0."):
        return value, end, False
    number = text[:end].strip()
    if value == 0 or b"x" in number.lower():  # a hexadecimal subnormal: taken as exact
        return value, end, value == 0
    return value, end, Fraction(number.decode()) != Fraction(value)


def string2d(text: bytes) -> float | None:
    """Redis's string2d: the whole argument must be a number, with no leading
    space, not NaN, and neither overflowing nor underflowing to zero (ERANGE)."""
    value, end, digits = _strtod(text)
    if not text or end != len(text) or text[:1].isspace() or math.isnan(value):
        return None
    if (math.isinf(value) and digits) or (value == 0 and digits.strip(b"0.")):
        return None
    return value


def d2string(value: float) -> bytes:
    """Redis's d2string: ``%.17g``, integers without a fraction, and 0 for -0."""
    return b"0" if value == 0 else b"%.17g" % value
