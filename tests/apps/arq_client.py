"""The client half of the arq test, run in the arq venv: ``enqueue`` queues the
jobs and prints their ids, ``results ID...`` prints each job's status and result
(as JSON on stdout, for the test to check). ``fill COUNT SIZE`` queues COUNT jobs
carrying SIZE bytes each, for measuring a server's memory (README: Real applications)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job


async def enqueue(pool) -> dict:
    now = await pool.enqueue_job("add", 1, 2)
    deferred = await pool.enqueue_job("add", 3, 4, _defer_by=0.5)
    retried = await pool.enqueue_job("flaky")
    failing = await pool.enqueue_job("broken")
    unique = await pool.enqueue_job("add", 5, 5, _job_id="only-once")
    duplicate = await pool.enqueue_job("add", 6, 6, _job_id="only-once")
    return {"now": now.job_id, "deferred": deferred.job_id, "retried": retried.job_id,
            "failing": failing.job_id, "unique": unique.job_id,
            "duplicate_refused": duplicate is None,
            "queued": await pool.zcard("arq:queue"),
            "status": (await now.status()).value}


async def results(pool, job_ids: list[str]) -> dict:
    report = {}
    for job_id in job_ids:
        job = Job(job_id, pool)
        info = await job.result_info()
        report[job_id] = {"status": (await job.status()).value,
                          "success": info.success, "tries": info.job_try,
                          "result": info.result if info.success else repr(info.result)}
    report["all_results"] = len(await pool.all_job_results())
    return report


async def fill(pool, count: int, size: int) -> dict:
    payload = "x" * size
    for start in range(0, count, 500):
        await asyncio.gather(*(pool.enqueue_job("add", payload, n)
                               for n in range(start, min(count, start + 500))))
    return {"queued": await pool.zcard("arq:queue")}


async def main() -> None:
    pool = await create_pool(RedisSettings.from_dsn(os.environ["ARQ_REDIS"]))
    command, *args = sys.argv[1:]
    if command == "enqueue":
        report = await enqueue(pool)
    elif command == "fill":
        report = await fill(pool, int(args[0]), int(args[1]))
    else:
        report = await results(pool, args)
    print(json.dumps(report))
    await pool.aclose()


asyncio.run(main())
