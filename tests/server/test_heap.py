from __future__ import annotations

import pytest

from server.heap import HeapTrimmer, resident_anonymous

MiB = 1024 * 1024


@pytest.fixture
def trimmer() -> HeapTrimmer:
    trimmer = HeapTrimmer()
    if not trimmer.available:
        pytest.skip("needs glibc's malloc_trim and /proc")
    return trimmer


def test_gives_back_pages_freed_below_live_objects(trimmer):
    # 64 MB of 4 KB buffers (from malloc, not Python's small-object allocator), a
    # small one that stays after every 64: glibc alone cannot give the pages back.
    size = 4096  # a variable: b"x" * 4096 would be one constant
    buffers, kept = [], []
    for i in range(16 * 1024):
        buffers.append(b"x" * size)
        if i % 64 == 0:
            kept.append(b"k" * (size // 4))
    before = resident_anonymous()
    del buffers
    assert resident_anonymous() > before - 16 * MiB

    assert trimmer.check()
    assert resident_anonymous() < before - 32 * MiB
    assert not trimmer.check()  # nothing freed since
