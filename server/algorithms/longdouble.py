"""INCRBYFLOAT's arithmetic: an x87 80-bit ``long double``, emulated exactly.

Redis parses with ``strtold``, adds in ``long double`` and prints with ``%.17Lf``
trimmed of trailing zeros (``ld2string``'s LD_STR_HUMAN). A Python float is a 64-bit
double and would print other digits (0.1 shows as 0.10000000000000001 where Redis
shows 0.1), so values are exact :class:`~fractions.Fraction` objects rounded, as the
hardware rounds, to a 64-bit significand and the long double's exponent range.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_SIGNIFICAND_BITS = 64
_MIN_EXPONENT = -16382  # of a normal number's leading bit; below it numbers are subnormal
_LIMIT = 1 << 16384  # the first power of two past the largest finite long double
MAX_CHARS = 5 * 1024  # Redis's MAX_LONG_DOUBLE_CHARS: longer text is never a float
# strtold's syntax, which Redis requires to cover the whole argument.
_DECIMAL = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INFINITY = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
# log2 of a value certain to overflow, or to underflow to zero, whatever its digits:
# checked before the exact arithmetic so that "1e999999999" costs nothing.
_CERTAIN_OVERFLOW = 16388
_CERTAIN_UNDERFLOW = -16447
_LOG2_10 = math.log2(10)
_CHUNK_DIGITS = 4000
_CHUNK = 10**_CHUNK_DIGITS


def parse(text: bytes) -> Fraction | float | None:
    """The long double ``strtold`` reads from ``text``, or None where Redis's
    string2ld refuses it: not wholly a float, NaN, overflow or underflow to zero
    (ERANGE). "inf" and "infinity" parse, as float infinities."""
    if not text or len(text) >= MAX_CHARS:
        return None
    if match := _DECIMAL.fullmatch(text):
        base, digit_bits = 10, _LOG2_10
    elif match := _HEX.fullmatch(text):
        base, digit_bits = 16, 4
    elif match := _INFINITY.fullmatch(text):
        return -math.inf if match[1] == b"-" else math.inf
    else:
        return None
    sign, whole, fraction, exponent = match.groups(default=b"")
    digits = (whole + fraction).lstrip(b"0")
    if not whole + fraction:
        return None  # ".", "e5", "0x": no digits at all
    if not digits:
        return Fraction(0)  # an exact zero is no underflow
    # value = digits * base**-len(fraction) * (10 or 2)**exponent
    if base == 10:
        ten, two = int(exponent or 0) - len(fraction), 0
    else:
        ten, two = 0, int(exponent or 0) - 4 * len(fraction)
    log2 = len(digits) * digit_bits + ten * _LOG2_10 + two
    if not _CERTAIN_UNDERFLOW < log2 < _CERTAIN_OVERFLOW:
        return None
    significand = _int_from_digits(digits) if base == 10 else int(digits, 16)
    value = Fraction(significand) * Fraction(10) ** ten * Fraction(2) ** two
    rounded = round_to_long_double(-value if sign == b"-" else value)
    return rounded or None  # None: overflow, or a non-zero value rounded to zero


def round_to_long_double(value: Fraction) -> Fraction | None:
    """The nearest long double (ties to even); None if it overflows."""
    if not value:
        return Fraction(0)
    magnitude = abs(value)
    num, den = magnitude.numerator, magnitude.denominator
    exponent = num.bit_length() - den.bit_length()  # magnitude < 2**(exponent + 1)
    if (num << max(-exponent, 0)) < (den << max(exponent, 0)):
        exponent -= 1  # now 2**exponent <= magnitude too
    ulp = max(exponent, _MIN_EXPONENT) - (_SIGNIFICAND_BITS - 1)  # log2 of one unit
    if ulp >= 0:
        den <<= ulp
    else:
        num <<= -ulp
    units, remainder = divmod(num, den)
    if 2 * remainder > den or (2 * remainder == den and units & 1):
        units += 1
    result = Fraction(units) * Fraction(2) ** ulp
    if result >= _LIMIT:
        return None
    return result if value > 0 else -result


def add(a: Fraction | float, b: Fraction | float) -> Fraction | None:
    """a + b in long double; None when the sum is infinite or NaN."""
    if isinstance(a, float) or isinstance(b, float):  # an infinity
        return None
    return round_to_long_double(a + b)


def format_human(value: Fraction) -> bytes:
    """``%.17Lf`` (ties to even, as glibc rounds), trailing zeros and '.' removed,
    "-0" shown as "0": Redis's ld2string(LD_STR_HUMAN)."""
    units = round(value * 10**17)  # round() of a Fraction ties to even
    if units == 0:
        return b"0"
    digits = _decimal_digits(abs(units)).rjust(18, "0")
    whole, decimals = digits[:-17], digits[-17:].rstrip("0")
    text = ("-" if units < 0 else "") + whole + ("." + decimals if decimals else "")
    return text.encode()


# Python refuses int <-> decimal text beyond 4300 digits; long doubles reach 4933
# before the point and inputs 5119 characters, so the conversions go in chunks.


def _int_from_digits(digits: bytes) -> int:
    number = 0
    for start in range(0, len(digits), _CHUNK_DIGITS):
        chunk = digits[start:start + _CHUNK_DIGITS]
        number = number * 10 ** len(chunk) + int(chunk)
    return number


def _decimal_digits(number: int) -> str:
    if number < _CHUNK:
        return str(number)
    high, low = divmod(number, _CHUNK)
    return _decimal_digits(high) + str(low).rjust(_CHUNK_DIGITS, "0")
