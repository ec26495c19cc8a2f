"""Job functions for python-rq's ``rq worker`` (tests/apps/test_rq.py): the worker
imports them from here by name. RQ_REDIS is the server's URL, where jobs note
what they did."""

from __future__ import annotations

import os
import time

import redis


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["RQ_REDIS"])


def add(a: int, b: int) -> int:
    return a + b


def fail() -> None:
    raise ValueError("this job fails")


def note(log: str, item: str) -> str:
    """Appends ``item`` to the list ``log``: the order jobs ran in."""
    _redis().rpush(log, item)
    return item


def fails_first(counter: str) -> int:
    """Fails on its first run, succeeds when run again (requeued)."""
    tries = _redis().incr(counter)
    if tries < 2:
        raise RuntimeError(f"try {tries} fails")
    return tries


def run_until_stopped(started: str) -> None:
    """Notes that it started, then works for a minute unless stopped."""
    _redis().set(started, "yes")
    time.sleep(60)
