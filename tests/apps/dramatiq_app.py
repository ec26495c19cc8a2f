"""A dramatiq application on its Redis broker (all Lua) and Redis results backend
(DRAMATIQ_REDIS is the server's URL), run by dramatiq's CLI (``dramatiq dramatiq_app``)."""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend

URL = os.environ["DRAMATIQ_REDIS"]
broker = RedisBroker(url=URL)
broker.add_middleware(Results(backend=RedisBackend(url=URL)))
dramatiq.set_broker(broker)


@dramatiq.actor(store_results=True)
def add(a: int, b: int) -> int:
    return a + b


@dramatiq.actor(store_results=True, max_retries=3, min_backoff=10, max_backoff=50)
def flaky(counter: str) -> int:
    """Fails until its third try; dramatiq retries it with a short backoff."""
    tries = broker.client.incr(counter)
    if tries < 3:
        raise RuntimeError(f"try {tries} fails")
    return tries
