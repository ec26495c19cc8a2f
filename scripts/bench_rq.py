"""Memory of a python-rq queue: caskd against redis-server.

    python -m scripts.bench_rq [--jobs N] [--payload BYTES] [--out DIR]

Enqueues N jobs, each carrying a random (incompressible) payload of BYTES, with
rq's own client (``Queue.enqueue_many`` in pipelined batches), into a fresh caskd
and then into a fresh redis-server (one at a time, so the two never need their
memory at once), and reports each server's memory once loaded: VmRSS and
RssAnon from /proc, INFO's used_memory, and the data directory's size. The
defaults (RQ_BENCH_JOBS, RQ_BENCH_PAYLOAD) are small enough for CI; memory,
not throughput, is what it measures.

An rq job is a hash (its payload is the hash's ``data`` field) on a list, so
caskd holds every job in memory, as Redis does: only strings keep their values
on disk (see "Where each type lives" in README.md).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import redis
from rq import Queue

from scripts.bench import (
    REDIS_CMD,
    BenchError,
    Server,
    common_context,
    progress,
    ratio,
    write_outputs,
)
from scripts.benchlib import SIDES, Report, fmt

BATCH = 1000
QUEUE = "bench"


def process(payload: bytes) -> int:
    """The job the queue holds (a worker given ``-P scripts`` could run it)."""
    return len(payload)


def enqueue_jobs(client: redis.Redis, jobs: int, payload_size: int) -> None:
    queue = Queue(QUEUE, connection=client)
    for first in range(0, jobs, BATCH):
        batch = [Queue.prepare_data(process, args=(os.urandom(payload_size),))
                 for _ in range(min(BATCH, jobs - first))]
        with client.pipeline() as pipe:
            queue.enqueue_many(batch, pipeline=pipe)
            pipe.execute()
    if queue.count != jobs:
        raise BenchError(f"the queue holds {queue.count} jobs, expected {jobs}")


def directory_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def measure(server: Server, jobs: int, payload_size: int) -> dict[str, float]:
    """The server's memory (MiB) empty and once ``jobs`` jobs are queued."""
    server.start()
    try:
        empty = server.memory_kb()
        progress(f"enqueueing {jobs} jobs into {server.name}")
        with server.client() as client:
            enqueue_jobs(client, jobs, payload_size)
            used = client.info("memory")["used_memory"]
        loaded = server.memory_kb()
    finally:
        server.stop()
    return {"VmRSS empty": empty["VmRSS"] / 1024, "VmRSS loaded": loaded["VmRSS"] / 1024,
            "RssAnon loaded": loaded["RssAnon"] / 1024, "INFO used_memory": used / 2**20,
            "data directory": directory_bytes(server.data_dir) / 2**20}


def run(opts: argparse.Namespace, root: Path) -> Report:
    bases = {"caskd": opts.caskd_cmd, "redis": REDIS_CMD}
    figures: dict[str, dict[str, float]] = {}
    for side in SIDES:
        server = Server(side, bases[side], Path(tempfile.mkdtemp(prefix=f"{side}-", dir=root)),
                        "everysec")
        for metric, value in measure(server, opts.jobs, opts.payload).items():
            figures.setdefault(metric, {})[side] = value
    per_job = {side: (figures["VmRSS loaded"][side] - figures["VmRSS empty"][side]) * 2**20
               / opts.jobs for side in SIDES}
    rows = [[f"{metric} (MiB)", fmt(v["caskd"], ",.1f"), fmt(v["redis"], ",.1f"), fmt(ratio(v))]
            for metric, v in figures.items()]
    rows.append(["VmRSS per job (bytes)", fmt(per_job["caskd"], ",.0f"),
                 fmt(per_job["redis"], ",.0f"), fmt(ratio(per_job))])
    return Report(
        title="caskd vs redis-server: memory of an rq queue",
        context=[*common_context(opts),
                 f"load: {opts.jobs} rq jobs with {opts.payload}-byte random payloads, "
                 f"Queue.enqueue_many in batches of {BATCH}, one server at a time"],
        columns=["metric", "caskd", "redis", "ratio"], rows=rows,
        notes=["per job = (loaded - empty) / jobs. ratio = caskd / redis (below 1: caskd "
               "smaller). redis-server's data directory is its AOF (appendonly yes)."],
        chart={"VmRSS per job": ratio(per_job)},
        chart_label="caskd / redis, memory per queued job (lower is better)",
        data={"jobs": opts.jobs, "payload": opts.payload, "figures": figures,
              "per_job": per_job},
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_rq", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("RQ_BENCH_JOBS", 2000)),
                        help="jobs enqueued (default: RQ_BENCH_JOBS or 2000)")
    parser.add_argument("--payload", type=int,
                        default=int(os.environ.get("RQ_BENCH_PAYLOAD", 4096)),
                        help="bytes of payload per job (default: RQ_BENCH_PAYLOAD or 4096)")
    parser.add_argument("--caskd-cmd", type=shlex.split, default=[sys.executable, "-m", "server"],
                        help="command starting caskd (default: python -m server)")
    parser.add_argument("--out", type=Path, help="write rq.md/.json/.png into this dir")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="caskd-bench-rq-") as tmp:
            report = run(opts, Path(tmp))
    except (BenchError, redis.RedisError, OSError, subprocess.CalledProcessError) as exc:
        print(f"bench_rq: FAILED: {exc}", file=sys.stderr)
        return 1
    print(report.markdown())
    if opts.out:
        write_outputs(report, opts.out, "rq")
    return 0


if __name__ == "__main__":
    sys.exit(main())
