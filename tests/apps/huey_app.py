"""A huey application on Redis (HUEY_REDIS is the server's URL), run by huey's
own consumer (``huey_consumer huey_app.huey``)."""

from __future__ import annotations

import os

from huey import RedisHuey

# A retried task's result is its final one, not a failed try's error.
huey = RedisHuey("apps", url=os.environ["HUEY_REDIS"], store_intermediate_errors=False)


@huey.task()
def add(a: int, b: int) -> int:
    return a + b


@huey.task(retries=2)
def flaky(counter: str) -> int:
    """Fails until its third try (retried at once: no delay, so no schedule)."""
    tries = huey.storage.conn.incr(counter)
    if tries < 3:
        raise RuntimeError(f"try {tries} fails")
    return tries


@huey.task()
@huey.lock_task("report-lock")
def report() -> str:
    return "done"


@huey.task()
def double(n: int) -> int:
    return n * 2
