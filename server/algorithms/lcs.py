"""LCS: the longest common subsequence of two strings, as Redis 7.0's lcsCommand
computes and reports it.

Redis fills the whole dynamic-programming table ``LCS(i, j)`` (the LCS length of
``a[:i]`` and ``b[:j]``) and walks back from the corner. A table of Python ints
would be slow, so each row is kept as one bit vector (Hyyrö's bit-parallel
algorithm): bit ``k`` of row ``i`` is clear exactly where ``LCS(i, k + 1)`` is one
more than ``LCS(i, k)``, so ``LCS(i, j)`` is ``j`` minus the set bits below ``j``.
The walk back takes the same steps as Redis's (skipping runs of plain steps), so
the matches reported and their order are Redis's.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Match:
    """One run of the LCS: ranges in ``a`` and ``b`` (inclusive)."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int

    @property
    def length(self) -> int:
        return self.a_end - self.a_start + 1


@dataclass
class Lcs:
    length: int
    text: bytes = b""
    matches: list[Match] = field(default_factory=list)


def table_cells(a: bytes, b: bytes) -> int:
    """How many cells Redis's table has (it refuses a table over proto-max-bulk-len)."""
    return (len(a) + 1) * (len(b) + 1)


def table_rows(a: bytes, b: bytes) -> list[int]:
    """Row ``i`` of the table, as a bit vector over ``b``, for i = 0 .. len(a)."""
    if not b:
        return [0] * (len(a) + 1)
    mask = (1 << len(b)) - 1
    backwards = b[::-1]  # so that b[k] becomes bit k of a base-2 literal
    where = {}  # byte -> bits of the positions in b holding it, built in C
    for byte in set(a):
        digits = bytearray(b"0" * 256)
        digits[byte] = ord("1")
        where[byte] = int(backwards.translate(digits), 2)
    row = mask
    rows = [row]
    for byte in a:
        matching = row & where[byte]
        row = ((row + matching) | (row - matching)) & mask
        rows.append(row)
    return rows


def _next_stop(line: int, text: bytes, byte: int, position: int) -> int:
    """Walking along one line of the table (a row, or a column) from ``position``:
    the next position where the walk may do anything but step on along the line,
    a match with ``byte`` or a drop of the LCS, or 0. The positions between are
    skipped: a tiny string against a huge one would be a Python step per byte."""
    match = text.rfind(bytes((byte,)), 0, position - 1)
    drop = (~line & ((1 << (position - 1)) - 1)).bit_length() - 1
    return max(match, drop) + 1


class _Table:
    """The table, kept as bit vectors along the longer string (so that building it
    takes a Python step per byte of the shorter one): rows over ``b``, or columns
    over ``a`` (the table of (b, a), transposed)."""

    def __init__(self, a: bytes, b: bytes) -> None:
        self.by_rows = len(a) <= len(b)
        self.lines = table_rows(a, b) if self.by_rows else table_rows(b, a)

    def cell(self, i: int, j: int) -> int:
        line, width = (i, j) if self.by_rows else (j, i)
        return width - (self.lines[line] & ((1 << width) - 1)).bit_count()


def lcs(a: bytes, b: bytes, walk: bool = True, min_match: int = 0) -> Lcs:
    """The LCS of ``a`` and ``b``. With ``walk`` (Redis skips it for LEN) also the
    string itself and the runs of at least ``min_match`` bytes, last run first."""
    table = _Table(a, b)
    i, j = len(a), len(b)
    result = Lcs(table.cell(i, j))
    if not walk:
        return result
    text = bytearray(result.length)
    left = result.length
    run: Match | None = None
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            left -= 1
            text[left] = a[i - 1]
            if run is None:
                run = Match(i - 1, i - 1, j - 1, j - 1)
            else:  # a match right after a match always extends the run
                run.a_start -= 1
                run.b_start -= 1
            emit = run.a_start == 0 or run.b_start == 0
            i -= 1
            j -= 1
        else:
            if table.cell(i - 1, j) > table.cell(i, j - 1):  # Redis's choice of step
                i = i - 1 if table.by_rows else _next_stop(table.lines[j], a, b[j - 1], i)
            else:
                j = _next_stop(table.lines[i], b, a[i - 1], j) if table.by_rows else j - 1
            emit = run is not None
        if emit and run is not None:
            if run.length >= min_match:
                result.matches.append(run)
            run = None
    result.text = bytes(text)
    return result
