"""limits (the rate limiting library behind Flask-Limiter and SlowAPI) on its Redis
storage: fixed window, moving window and sliding window counter, through its own API."""

from __future__ import annotations

import time

import pytest
from limits import parse, storage, strategies

from tests.support import wait_until

STRATEGIES = [strategies.FixedWindowRateLimiter, strategies.MovingWindowRateLimiter,
              strategies.SlidingWindowCounterRateLimiter]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.__name__)
def test_a_limit_allows_its_quota_then_refuses(target, strategy):
    limiter = strategy(storage.RedisStorage(target.url()))
    per_minute = parse("5/minute")
    assert all(limiter.hit(per_minute, "user", "42") for _ in range(5))
    assert not limiter.hit(per_minute, "user", "42")
    assert limiter.hit(per_minute, "user", "other")  # each identifier has its own quota
    stats = limiter.get_window_stats(per_minute, "user", "42")
    # (the sliding counter's reset can be this very instant: its window slides)
    assert stats.remaining == 0 and stats.reset_time >= time.time() - 1
    assert not limiter.test(per_minute, "user", "42")
    limiter.clear(per_minute, "user", "42")
    assert limiter.test(per_minute, "user", "42")
    assert limiter.hit(per_minute, "user", "42", cost=5)
    assert not limiter.hit(per_minute, "user", "42")


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.__name__)
def test_a_window_frees_its_quota_once_past(target, strategy):
    limiter = strategy(storage.RedisStorage(target.url()))
    per_second = parse("2/second")
    assert limiter.hit(per_second, "burst") and limiter.hit(per_second, "burst")
    assert not limiter.hit(per_second, "burst")
    # the window passes (and, for the sliding counter, enough of the previous one)
    wait_until(lambda: limiter.test(per_second, "burst"), timeout=5, what="the quota back")
    assert limiter.hit(per_second, "burst")
