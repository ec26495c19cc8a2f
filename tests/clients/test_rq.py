"""python-rq against caskd: a real ``rq worker`` runs jobs and stores their results
in a stream per job (XADD with MAXLEN ~, read back with XREVRANGE), with the result
TTL set by EXPIRE; a waiting caller gets the result through XREAD BLOCK."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rq import Queue
from rq.job import Job
from rq.results import Result

from tests.clients.rq_jobs import add, fail
from tests.support import ROOT


def run_worker(port: int) -> None:
    """One burst worker: it runs every queued job, then exits."""
    subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url",
                    f"redis://127.0.0.1:{port}", "default"], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)


@pytest.fixture
def queue(caskd):
    client = caskd.client()
    yield Queue("default", connection=client)
    client.close()


def test_a_worker_stores_results_in_a_stream(caskd, queue):
    done = queue.enqueue(add, 2, 3, result_ttl=500)
    failed = queue.enqueue(fail)
    again = queue.enqueue(add, 10, 20)
    run_worker(caskd.port)
    client = queue.connection
    job = Job.fetch(done.id, connection=client)
    assert job.get_status() == "finished" and job.return_value() == 5
    result = job.latest_result()
    assert result.type == Result.Type.SUCCESSFUL and result.return_value == 5
    key = Result.get_key(done.id)
    assert client.type(key) == b"stream" and client.xlen(key) == 1
    assert 400 < client.ttl(key) <= 500  # the job's result TTL
    assert [r.return_value for r in job.results()] == [5]
    failure = Job.fetch(failed.id, connection=client).latest_result()
    assert failure.type == Result.Type.FAILED and "this job fails" in failure.exc_string
    assert Job.fetch(again.id, connection=client).latest_result().return_value == 30


def test_a_caller_waits_for_the_result(caskd, queue):
    job = queue.enqueue(add, 1, 1)
    worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url",
                               f"redis://127.0.0.1:{caskd.port}", "default"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = job.latest_result(timeout=60)  # XREAD BLOCK on the result stream
        assert result is not None and result.return_value == 2
    finally:
        worker.wait(60)
