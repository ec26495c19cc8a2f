"""The actors of tests/clients/test_dramatiq.py, on a Redis broker at the URL in
DRAMATIQ_TEST_URL: the ``dramatiq`` worker imports this module, and so does the
test (to send messages), each getting the same broker and result backend."""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend

URL = os.environ["DRAMATIQ_TEST_URL"]
backend = RedisBackend(url=URL)
broker = RedisBroker(url=URL)
broker.add_middleware(Results(backend=backend))
dramatiq.set_broker(broker)


@dramatiq.actor(store_results=True)
def add(a: int, b: int) -> int:
    return a + b


@dramatiq.actor(store_results=True, max_retries=0)
def fail() -> None:
    raise ValueError("this actor fails")
