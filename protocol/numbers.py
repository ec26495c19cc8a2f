"""Redis's integer text and limits, shared by the wire format and the commands.

Redis reads every integer, a multibulk length as much as an INCRBY amount, with
``string2ll`` (util.c): a signed 64-bit decimal with no '+', spaces or leading
zeros. The server's argument parsing builds on this one definition.
"""

from __future__ import annotations

INT_MAX, UINT_MAX = 2**31 - 1, 2**32 - 1  # C's int and unsigned int
LLONG_MIN, LLONG_MAX = -(2**63), 2**63 - 1  # C's long long (and, on x86-64, long)
ULLONG_RANGE = 1 << 64  # unsigned long long wraps modulo this
ULLONG_MAX = ULLONG_RANGE - 1


def string2ll(text: bytes) -> int | None:
    """Redis's string2ll(): the value, or None if ``text`` is not such a decimal."""
    unsigned = text[1:] if text[:1] == b"-" else text
    if not unsigned.isdigit() or len(text) > 20 or (unsigned[0] == 0x30 and text != b"0"):
        return None
    value = int(text)
    return value if LLONG_MIN <= value <= LLONG_MAX else None
