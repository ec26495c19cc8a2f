"""python-rq: jobs enqueued by rq's client and run by its own ``rq worker``
processes (burst, or long-running with the scheduler), against each server.
rq keeps a job in a hash, its queue in a list, its registries in sorted sets,
its results in a stream per job (XADD MAXLEN ~, XREVRANGE, XREAD BLOCK) and
talks to a running worker through pub/sub."""

from __future__ import annotations

import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Queue, Retry
from rq.command import send_stop_job_command
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimit
from rq.registry import DeferredJobRegistry, FailedJobRegistry, ScheduledJobRegistry
from rq.results import Result

from tests.support import wait_until

RQ = str(Path(sys.executable).with_name("rq"))


class RqApp:
    """rq_app.py's jobs, a queue on the server under test, and its workers."""

    def __init__(self, url: str, client, spawn, load_app) -> None:
        self.url = url
        self.jobs = load_app("rq_app", RQ_REDIS=url)
        self.client = client
        self.queue = Queue("default", connection=client)
        self.spawn = spawn

    def fetch(self, job: Job) -> Job:
        return Job.fetch(job.id, connection=self.client)

    def run_burst_worker(self) -> None:
        """One ``rq worker --burst``: it runs every queued job, then exits."""
        worker = self.spawn([RQ, "worker", "--burst", "--url", self.url, "default"],
                            RQ_REDIS=self.url)
        assert worker.wait(60) == 0, worker.log()

    def start_worker(self, *options: str):
        """A long-running ``rq worker``, once it listens on its queue."""
        return self.spawn.until_ready([RQ, "worker", *options, "--url", self.url, "default"],
                                      "Listening on", RQ_REDIS=self.url)

    def wait_for_status(self, job: Job, status: JobStatus, timeout: float = 30) -> None:
        wait_until(lambda: self.fetch(job).get_status() == status, timeout=timeout,
                   what=f"job {job.func_name} to be {status.value}")


@pytest.fixture
def rq(target, spawn, load_app):
    with target.client() as client:
        yield RqApp(target.url(), client, spawn, load_app)


def test_a_worker_stores_results_in_a_stream(rq):
    jobs = rq.jobs
    done = rq.queue.enqueue(jobs.add, 2, 3, result_ttl=500)
    failed = rq.queue.enqueue(jobs.fail)
    again = rq.queue.enqueue(jobs.add, 10, 20)
    rq.run_burst_worker()
    job = rq.fetch(done)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 5
    result = job.latest_result()
    assert result.type == Result.Type.SUCCESSFUL and result.return_value == 5
    key = Result.get_key(done.id)
    assert rq.client.type(key) == b"stream" and rq.client.xlen(key) == 1
    assert [r.return_value for r in job.results()] == [5]
    failure = rq.fetch(failed).latest_result()
    assert failure.type == Result.Type.FAILED and "this job fails" in failure.exc_string
    assert rq.fetch(again).latest_result().return_value == 30


def test_a_caller_waits_for_the_result(rq):
    job = rq.queue.enqueue(rq.jobs.add, 1, 1)
    worker = rq.spawn([RQ, "worker", "--burst", "--url", rq.url, "default"], RQ_REDIS=rq.url)
    result = job.latest_result(timeout=60)  # XREAD BLOCK on the result stream
    assert result is not None and result.return_value == 2
    assert worker.wait(60) == 0, worker.log()


def test_result_ttls(rq):
    """A job and its results expire after its result_ttl; -1 keeps them; 0 keeps
    nothing; a failed job is kept for its failure_ttl."""
    jobs = rq.jobs
    short = rq.queue.enqueue(jobs.add, 1, 2, result_ttl=100)
    kept = rq.queue.enqueue(jobs.add, 3, 4, result_ttl=-1)
    dropped = rq.queue.enqueue(jobs.add, 5, 6, result_ttl=0)
    failed = rq.queue.enqueue(jobs.fail, failure_ttl=300)
    rq.run_burst_worker()
    ttl = rq.client.ttl
    assert 90 < ttl(short.key) <= 100 and 90 < ttl(Result.get_key(short.id)) <= 100
    assert ttl(kept.key) == -1 and ttl(Result.get_key(kept.id)) == -1
    assert rq.fetch(kept).latest_result().return_value == 7
    assert not rq.client.exists(dropped.key)  # result_ttl=0: not kept at all
    assert 290 < ttl(failed.key) <= 300
    assert rq.fetch(failed).get_status() == JobStatus.FAILED


def test_failed_jobs_are_registered_and_requeued(rq):
    job = rq.queue.enqueue(rq.jobs.fails_first, "tries")
    rq.run_burst_worker()
    registry = FailedJobRegistry(queue=rq.queue)
    assert registry.get_job_ids() == [job.id]
    failed = rq.fetch(job)
    assert failed.get_status() == JobStatus.FAILED
    assert "RuntimeError: try 1 fails" in failed.latest_result().exc_string  # the traceback
    registry.requeue(job.id)
    assert registry.get_job_ids() == [] and rq.queue.job_ids == [job.id]
    rq.run_burst_worker()
    finished = rq.fetch(job)
    assert finished.get_status() == JobStatus.FINISHED and finished.return_value() == 2
    assert [r.type for r in finished.results()] == [Result.Type.SUCCESSFUL, Result.Type.FAILED]


def test_scheduled_jobs_run_when_due(rq):
    """enqueue_in/enqueue_at put jobs in the ScheduledJobRegistry; a worker started
    with --with-scheduler moves each to its queue when due."""
    jobs = rq.jobs
    scheduled = time.time()
    later = rq.queue.enqueue_in(timedelta(seconds=2), jobs.note, "ran", "in")
    at = rq.queue.enqueue_at(datetime.now(UTC) + timedelta(seconds=1),
                             jobs.note, "ran", "at")
    registry = ScheduledJobRegistry(queue=rq.queue)
    assert sorted(registry.get_job_ids()) == sorted([later.id, at.id])
    assert rq.fetch(later).get_status() == JobStatus.SCHEDULED
    rq.start_worker("--with-scheduler")
    rq.wait_for_status(later, JobStatus.FINISHED)
    # rq schedules to the whole second (the registry's scores are integer timestamps)
    due = datetime.fromtimestamp(int(scheduled + 2), UTC)
    assert rq.fetch(later).started_at >= due
    assert rq.client.lrange("ran", 0, -1) == [b"at", b"in"]
    assert registry.get_job_ids() == []


def test_stop_job_command_stops_a_running_job(rq):
    """send_stop_job_command publishes to the worker's channel; the worker kills
    the job's work horse, marks it stopped and goes on with the next job."""
    jobs = rq.jobs
    worker = rq.start_worker()
    running = rq.queue.enqueue(jobs.run_until_stopped, "started")
    wait_until(lambda: rq.client.get("started"), timeout=30, what="the job to start")
    send_stop_job_command(rq.client, running.id)
    rq.wait_for_status(running, JobStatus.STOPPED)
    assert running.id in FailedJobRegistry(queue=rq.queue)
    after = rq.queue.enqueue(jobs.add, 4, 5)
    rq.wait_for_status(after, JobStatus.FINISHED)
    assert worker.proc.poll() is None  # the worker itself goes on
    worker.stop(signal.SIGTERM)
    assert worker.proc.returncode == 0, worker.log()


def test_dependencies(rq):
    """A dependent job is deferred until its dependency finishes; if that fails,
    it stays deferred."""
    jobs = rq.jobs
    first = rq.queue.enqueue(jobs.note, "order", "first")
    second = rq.queue.enqueue(jobs.note, "order", "second", depends_on=first)
    broken = rq.queue.enqueue(jobs.fail)
    blocked = rq.queue.enqueue(jobs.note, "order", "never", depends_on=broken)
    assert rq.fetch(second).get_status() == JobStatus.DEFERRED
    assert set(DeferredJobRegistry(queue=rq.queue).get_job_ids()) == {second.id, blocked.id}
    rq.run_burst_worker()
    assert rq.client.lrange("order", 0, -1) == [b"first", b"second"]
    assert rq.fetch(second).get_status() == JobStatus.FINISHED
    assert rq.fetch(broken).get_status() == JobStatus.FAILED
    assert rq.fetch(blocked).get_status() == JobStatus.DEFERRED
    assert DeferredJobRegistry(queue=rq.queue).get_job_ids() == [blocked.id]


def test_retries_unique_jobs_and_rate_limits(rq):
    """A Retry with an interval goes back through the scheduler; a unique job id is
    refused twice (a Lua script); a rate limit of one lets its jobs through one at
    a time (Lua: ZPOPMIN, HMGET) and every one runs."""
    jobs = rq.jobs
    retried = rq.queue.enqueue(jobs.fails_first, "tries", retry=Retry(max=1, interval=1))
    rq.queue.enqueue(jobs.add, 1, 1, job_id="only-once", unique=True)
    with pytest.raises(DuplicateJobError):
        rq.queue.enqueue(jobs.add, 1, 1, job_id="only-once", unique=True)
    limited = [rq.queue.enqueue(jobs.note, "limited", str(n), rate_limit=RateLimit("one", 1))
               for n in range(3)]
    assert [rq.fetch(job).get_status() for job in limited] == [
        JobStatus.QUEUED, JobStatus.RATE_LIMITED, JobStatus.RATE_LIMITED]
    worker = rq.start_worker("--with-scheduler")
    rq.wait_for_status(retried, JobStatus.FINISHED)
    for job in limited:
        rq.wait_for_status(job, JobStatus.FINISHED)
    assert rq.fetch(retried).return_value() == 2
    # (in any order: waiting jobs of the same second are taken by job id)
    assert sorted(rq.client.lrange("limited", 0, -1)) == [b"0", b"1", b"2"]
    worker.stop(signal.SIGTERM)


def test_the_rq_command_line(rq):
    """``rq info``, ``rq requeue`` and ``rq empty``, as an operator runs them."""
    def rq_cli(*args: str) -> str:
        command = rq.spawn([RQ, *args, "--url", rq.url], RQ_REDIS=rq.url)
        assert command.wait(60) == 0, command.log()
        return command.log()

    failed = rq.queue.enqueue(rq.jobs.fail)
    rq.run_burst_worker()
    rq.queue.enqueue(rq.jobs.add, 1, 2)
    info = " ".join(rq_cli("info", "--only-queues", "default").split())
    assert "default |█ 1, 0 executing, 0 finished, 1 failed" in info
    assert "Requeueing 1 jobs from failed queue" in rq_cli("requeue", "--queue", "default",
                                                           "--all")
    assert set(rq.queue.job_ids) == {failed.id, rq.queue.job_ids[0]} and rq.queue.count == 2
    assert "2 jobs removed from default queue" in rq_cli("empty", "default")
    assert rq.queue.count == 0


def test_periodic_jobs_by_rq_cron_run_on_a_worker_pool(rq):
    """``rq cron`` enqueues a job registered to run every second; ``rq worker-pool``
    (two workers) runs each; both stop on SIGTERM."""
    scheduler = rq.spawn([RQ, "cron", "rq_cron.py", "--url", rq.url], RQ_REDIS=rq.url)
    pool = rq.spawn([RQ, "worker-pool", "--num-workers", "2", "--url", rq.url, "default"],
                    RQ_REDIS=rq.url)
    wait_until(lambda: rq.client.llen("ticks") >= 3, timeout=40, what="three ticks")
    for process in (scheduler, pool):
        process.stop(signal.SIGTERM)
        assert process.proc.returncode == 0, process.log()
