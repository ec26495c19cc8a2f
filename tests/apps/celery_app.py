"""A Celery application with Redis as broker (CELERY_BROKER, a server's URL) and
result backend (CELERY_BACKEND), run by ``celery -A celery_app worker``."""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

BACKEND = os.environ["CELERY_BACKEND"]
app = Celery("celery_app", broker=os.environ["CELERY_BROKER"], backend=BACKEND)
# Short visibility timeout, checked every second: a message a killed worker took
# but never acknowledged comes back within seconds instead of an hour. The restore's
# mutex expires soon too, in case the worker was killed holding it.
app.conf.broker_transport_options = {"visibility_timeout": 3, "unacked_restore_interval": 1,
                                     "unacked_restore_throttle": 1, "unacked_mutex_expire": 2}
app.conf.result_backend_transport_options = {"visibility_timeout": 3}
app.conf.task_acks_late = True
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True


def _redis() -> redis.Redis:
    return redis.Redis.from_url(BACKEND)


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task
def total(values: list[int]) -> int:
    return sum(values)


@app.task(bind=True, max_retries=5, default_retry_delay=0.1)
def flaky(self, counter: str) -> int:
    """Fails until its third try, then reports how many tries it took."""
    tries = _redis().incr(counter)
    if tries < 3:
        raise self.retry()
    return tries


@app.task
def record(done_set: str, item: int, seconds: float, gate: str | None = None) -> int:
    """Works for ``seconds``, then notes ``item`` as done (a set: a task run twice
    after a crash counts once). Given a ``gate``, it first notes ``item`` in the set
    ``<gate>:waiting`` and waits until the key ``gate`` exists."""
    client = _redis()
    if gate is not None:
        client.sadd(f"{gate}:waiting", item)
        deadline = time.monotonic() + 60
        while not client.exists(gate):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{gate} never opened")
            time.sleep(0.02)
    time.sleep(seconds)
    client.sadd(done_set, item)
    return item
