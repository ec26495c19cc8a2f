"""The bit-parallel LCS table against the plain dynamic-programming one Redis fills."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.lcs import lcs, table_rows

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


@given(SMALL_ALPHABET, SMALL_ALPHABET)
def test_the_walk_spells_a_common_subsequence_of_that_length(a, b):
    found = lcs(a, b)
    assert len(found.text) == found.length == _table(a, b)[len(a)][len(b)]
    for match in found.matches:
        assert a[match.a_start:match.a_end + 1] == b[match.b_start:match.b_end + 1]
    assert sum(match.length for match in found.matches) == found.length


def test_redis_documented_example():
    found = lcs(b"ohmytext", b"mynewtext")
    assert found.text == b"mytext"
    assert [(m.a_start, m.a_end, m.b_start, m.b_end) for m in found.matches] == \
        [(4, 7, 5, 8), (2, 3, 0, 1)]
    assert [m.length for m in lcs(b"ohmytext", b"mynewtext", min_match=4).matches] == [4]
