"""The ``limits`` library's Redis storage against caskd (and redis-server, the
control): its moving-window limiter is a Lua script (EVALSHA, loaded with SCRIPT
LOAD) over a list of timestamps, its fixed-window limiter INCR + EXPIRE in a
script; both are used as applications use them, through ``limits.strategies``."""

from __future__ import annotations

import time

import pytest
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter


@pytest.fixture
def storage(server_port):
    storage = RedisStorage(f"redis://127.0.0.1:{server_port}")
    assert storage.check()
    yield storage
    storage.reset()


def test_moving_window_allows_the_limit_then_refuses(storage):
    limiter = MovingWindowRateLimiter(storage)
    limit = parse("5/minute")
    assert all(limiter.hit(limit, "user", "1") for _ in range(5))
    assert not limiter.hit(limit, "user", "1")
    assert not limiter.test(limit, "user", "1")
    assert limiter.hit(limit, "user", "2")  # another identity has its own window
    stats = limiter.get_window_stats(limit, "user", "1")
    assert stats.remaining == 0
    assert time.time() < stats.reset_time <= time.time() + 61
    larger = parse("10/minute")  # another limit keeps its own window
    assert limiter.hit(larger, "user", "1", cost=3)
    assert limiter.get_window_stats(larger, "user", "1").remaining == 7
    assert not limiter.hit(larger, "user", "1", cost=8)  # a cost past what is left
    assert limiter.hit(larger, "user", "1", cost=7)
    stats = storage.get_connection().info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] >= 10  # each hit ran limits' script


def test_moving_window_frees_hits_as_they_age(storage):
    limiter = MovingWindowRateLimiter(storage)
    limit = parse("2/second")
    assert limiter.hit(limit, "burst") and limiter.hit(limit, "burst")
    assert not limiter.hit(limit, "burst")
    deadline = time.monotonic() + 5
    while not limiter.test(limit, "burst"):  # the window moves on
        assert time.monotonic() < deadline, "the window never freed a hit"
        time.sleep(0.05)
    assert limiter.hit(limit, "burst")


def test_fixed_window_counts_and_expires(storage):
    limiter = FixedWindowRateLimiter(storage)
    limit = parse("3/minute")
    assert [limiter.hit(limit, "api") for _ in range(4)] == [True, True, True, False]
    stats = limiter.get_window_stats(limit, "api")
    assert stats.remaining == 0
    assert time.time() < stats.reset_time <= time.time() + 61
    assert not limiter.hit(limit, "api", cost=1)
    assert limiter.hit(parse("2/minute"), "other", cost=2)
    assert not limiter.hit(parse("2/minute"), "other")
    limiter.clear(limit, "api")
    assert limiter.hit(limit, "api")


def test_fixed_window_resets_after_its_window(storage):
    limiter = FixedWindowRateLimiter(storage)
    limit = parse("1/second")
    assert limiter.hit(limit, "tick")
    assert not limiter.hit(limit, "tick")
    deadline = time.monotonic() + 5
    while not limiter.hit(limit, "tick"):  # the key's TTL ends the window
        assert time.monotonic() < deadline, "the window never reset"
        time.sleep(0.05)
