"""The deselection lists of `make test-peers` (scripts/redis_py_deselected.py): each
entry names a test of the four files and says why, and no test is in two lists, so
removing a list brings back exactly its tests."""

from __future__ import annotations

from scripts.redis_py_deselected import (
    DESELECTED_MARKERS,
    REDIS_PY_ON_REDIS_7_0,
    TEST_FILES,
    deselected,
)

LISTS = (REDIS_PY_ON_REDIS_7_0,)


def test_every_deselection_names_a_test_of_the_suite_and_a_reason():
    for group in LISTS:
        for node, reason in group.items():
            assert node.split("::")[0] in TEST_FILES, node
            assert len(reason) > 10, node
    assert all(len(reason) > 10 for reason in DESELECTED_MARKERS.values())


def test_no_test_is_deselected_twice():
    total = sum(len(group) for group in LISTS)
    assert len(deselected()) == total
