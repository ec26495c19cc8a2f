"""Job functions the rq worker of tests/clients/test_rq.py runs (it imports them)."""

from __future__ import annotations


def add(a: int, b: int) -> int:
    return a + b


def fail() -> None:
    raise ValueError("this job fails")
