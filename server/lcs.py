"""LCS: the longest common subsequence of two strings, as Redis 7.0's lcsCommand
computes and reports it.

Redis fills the whole dynamic-programming table ``LCS(i, j)`` (the LCS length of
``a[:i]`` and ``b[:j]``) and walks back from the corner. A table of Python ints
would be slow, so each row is kept as one bit vector (Hyyrö's bit-parallel
algorithm): bit ``j`` of row ``i`` is clear exactly where ``LCS(i, j + 1)`` is one
more than ``LCS(i, j)``, so ``LCS(i, j)`` is the number of clear bits below ``j``.
The walk back then takes the same steps as Redis's, so the matches reported and
their order are Redis's.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Match:
    """One run of the LCS: ranges in ``a`` and ``b`` (inclusive) and its length."""

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
    """Row ``i`` of the table, as a bit vector, for i = 0 .. len(a)."""
    mask = (1 << len(b)) - 1
    where: dict[int, int] = {}  # byte -> bits of the positions in b holding it
    for j, byte in enumerate(b):
        where[byte] = where.get(byte, 0) | (1 << j)
    row = mask
    rows = [row]
    for byte in a:
        matching = row & where.get(byte, 0)
        row = ((row + matching) | (row - matching)) & mask
        rows.append(row)
    return rows


def lcs(a: bytes, b: bytes, walk: bool = True, min_match: int = 0) -> Lcs:
    """The LCS of ``a`` and ``b``. With ``walk`` (Redis skips it for LEN) also the
    string itself and the runs of at least ``min_match`` bytes, last run first."""
    rows = table_rows(a, b)

    def cell(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    i, j = len(a), len(b)
    result = Lcs(cell(i, j))
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
            if cell(i - 1, j) > cell(i, j - 1):
                i -= 1
            else:
                j -= 1
            emit = run is not None
        if emit and run is not None:
            if run.length >= min_match:
                result.matches.append(run)
            run = None
    result.text = bytes(text)
    return result
