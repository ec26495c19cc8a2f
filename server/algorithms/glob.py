"""Redis's glob-style pattern matching (util.c ``stringmatchlen``), byte for byte.

KEYS, SCAN MATCH, CONFIG GET and friends must match exactly what Redis matches,
including its quirks (``[a-]``, ``[z-a]``, a trailing backslash), so this is a
direct port rather than :mod:`fnmatch`. Patterns are compiled once into a
closure so a SCAN over many keys does not re-parse the pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache


def stringmatch(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    if nocase:
        pattern, string = pattern.lower(), string.lower()
    return _match(pattern, 0, string, 0, 0)


@lru_cache(maxsize=256)
def compile_pattern(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A matcher for ``pattern``; ``*`` alone (the common case) matches without work."""
    if pattern == b"*":
        return lambda string: True
    if not any(c in pattern for c in b"*?[\\"):
        return (lambda s: s.lower() == pattern.lower()) if nocase else pattern.__eq__
    return lambda string: stringmatch(pattern, string, nocase)


def _match(p: bytes, pi: int, s: bytes, si: int, depth: int,
           give_up: list[bool] | None = None) -> bool:
    """Mirror of stringmatchlen_impl, including its ``skipLongerMatches`` cut-off,
    which keeps patterns like ``a*a*a*b`` from taking exponential time."""
    if give_up is None:
        give_up = [False]
    if depth > 1000:  # Redis bounds recursion against pathological patterns
        return False
    plen, slen = len(p), len(s)
    while pi < plen and si < slen:
        c = p[pi]
        if c == 0x2A:  # '*'
            while pi + 1 < plen and p[pi + 1] == 0x2A:
                pi += 1
            if pi + 1 == plen:
                return True
            while si < slen:
                if _match(p, pi + 1, s, si, depth + 1, give_up):
                    return True
                if give_up[0]:
                    return False
                si += 1
            give_up[0] = True
            return False
        if c == 0x3F:  # '?'
            si += 1
        elif c == 0x5B:  # '['
            pi, matched = _match_class(p, pi + 1, s[si])
            if not matched:
                return False
            si += 1
        else:
            if c == 0x5C and pi + 1 < plen:  # '\\' escapes the next byte
                pi += 1
                c = p[pi]
            if c != s[si]:
                return False
            si += 1
        pi += 1
        if si == slen:
            while pi < plen and p[pi] == 0x2A:
                pi += 1
            break
    return pi == plen and si == slen


def _match_class(p: bytes, pi: int, ch: int) -> tuple[int, bool]:
    """Match ``ch`` against a ``[...]`` class starting after '['; returns the index of
    the closing ']' (or the last byte) and whether it matched."""
    plen = len(p)
    negate = pi < plen and p[pi] == 0x5E  # '^'
    if negate:
        pi += 1
    matched = False
    while True:
        if pi < plen and p[pi] == 0x5C and pi + 1 < plen:  # escaped byte
            pi += 1
            matched = matched or p[pi] == ch
        elif pi < plen and p[pi] == 0x5D:  # ']'
            break
        elif pi >= plen:
            pi -= 1  # unterminated class: it ends with the pattern
            break
        elif pi + 2 < plen and p[pi + 1] == 0x2D:  # range a-z
            start, end = sorted((p[pi], p[pi + 2]))
            pi += 2
            matched = matched or start <= ch <= end
        else:
            matched = matched or p[pi] == ch
        pi += 1
    return pi, matched != negate
