"""An arq application: its tasks and WorkerSettings, run by arq's own CLI
(``arq arq_app.WorkerSettings``) in the arq venv. ARQ_REDIS is the server's URL."""

from __future__ import annotations

import os

from arq import Retry
from arq.connections import RedisSettings


async def add(ctx, a: int, b: int) -> int:
    return a + b


async def flaky(ctx) -> int:
    """Fails twice, asking arq to retry soon; succeeds on the third try."""
    if ctx["job_try"] < 3:
        raise Retry(defer=0.05)
    return ctx["job_try"]


async def broken(ctx) -> None:
    raise RuntimeError("always fails")


class WorkerSettings:
    functions = [add, flaky, broken]
    redis_settings = RedisSettings.from_dsn(os.environ["ARQ_REDIS"])
    poll_delay = 0.05
    max_tries = 3
