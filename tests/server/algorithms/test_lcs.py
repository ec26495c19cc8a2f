"""The bit-parallel LCS table against the plain dynamic-programming one Redis fills."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.algorithms.lcs import lcs, table_rows

SMALL_ALPHABET = st.binary(max_size=24).map(lambda b: bytes(97 + x % 3 for x in b))


def _table(a: bytes, b: bytes) -> list[list[int]]:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = (table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1]
                           else max(table[i - 1][j], table[i][j - 1]))
    return table


@given(SMALL_ALPHABET, SMALL_ALPHABET)
def test_every_cell_matches_the_plain_table(a, b):
    rows, table = table_rows(a, b), _table(a, b)
    for i in range(len(a) + 1):
        for j in range(len(b) + 1):
            assert j - (rows[i] & ((1 << j) - 1)).bit_count() == table[i][j]


def _redis_walk(a: bytes, b: bytes) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """lcsCommand's walk back over the plain table, step by step."""
    table = _table(a, b)
    i, j = len(a), len(b)
    text, runs, run = b"", [], None
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            text = a[i - 1:i] + text
            run = (i - 1, i - 1 if run is None else run[1], j - 1,
                   j - 1 if run is None else run[3])
            i, j = i - 1, j - 1
            if run[0] == 0 or run[2] == 0:
                runs.append(run)
                run = None
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if run is not None:
                runs.append(run)
                run = None
    return text, runs


# Lengths from 0 up, both ways round: the table is kept along the longer string.
@given(SMALL_ALPHABET, SMALL_ALPHABET.map(lambda s: s * 3))
def test_the_walk_takes_redis_steps(a, b):
    for first, second in ((a, b), (b, a)):
        found = lcs(first, second)
        text, runs = _redis_walk(first, second)
        assert found.text == text and found.length == len(text)
        assert [(m.a_start, m.a_end, m.b_start, m.b_end) for m in found.matches] == runs


def test_redis_documented_example():
    found = lcs(b"ohmytext", b"mynewtext")
    assert found.text == b"mytext"
    assert [(m.a_start, m.a_end, m.b_start, m.b_end) for m in found.matches] == \
        [(4, 7, 5, 8), (2, 3, 0, 1)]
    assert [m.length for m in lcs(b"ohmytext", b"mynewtext", min_match=4).matches] == [4]
