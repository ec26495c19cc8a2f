"""arq: jobs enqueued by arq's client and run by arq's own worker CLI, a burst
worker and a long-running one, in arq's venv (see arq-requirements.txt)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.apps.support import APPS
from tests.support import ROOT, CaskdProcess, wait_until

ARQ_BIN = ROOT / ".venv" / "arq" / "bin"


@pytest.fixture
def arq_installed() -> None:
    if not (ARQ_BIN / "arq").exists():
        message = "arq's venv is missing: run `make install`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def arq_env(arq_installed, target):
    return {"ARQ_REDIS": target.url()}


def client(arq_env, *args: str) -> dict:
    """Run arq_client.py in arq's venv; its JSON report."""
    done = subprocess.run([str(ARQ_BIN / "python"), "arq_client.py", *args], cwd=APPS,
                          env={**os.environ, **arq_env}, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def check_results(arq_env, jobs: dict) -> dict:
    report = client(arq_env, "results", jobs["now"], jobs["deferred"], jobs["retried"],
                    jobs["failing"], jobs["unique"])
    assert report[jobs["now"]] == {"status": "complete", "success": True, "tries": 1,
                                   "result": 3}
    assert report[jobs["deferred"]]["result"] == 7
    assert report[jobs["retried"]] == {"status": "complete", "success": True, "tries": 3,
                                       "result": 3}
    failing = report[jobs["failing"]]
    assert failing["success"] is False and "always fails" in failing["result"]
    assert report[jobs["unique"]]["result"] == 10
    assert report["all_results"] == 5
    return report


def test_burst_worker_runs_queued_deferred_and_retried_jobs(arq_env, spawn):
    jobs = client(arq_env, "enqueue")
    assert jobs["duplicate_refused"] is True  # a second job with the same _job_id
    assert jobs["queued"] == 5
    assert jobs["status"] == "queued"
    worker = spawn([str(ARQ_BIN / "arq"), "arq_app.WorkerSettings", "--burst"], **arq_env)
    assert worker.wait(timeout=40) == 0, worker.log()
    check_results(arq_env, jobs)


def test_running_worker_picks_up_new_jobs_and_stops_on_sigterm(arq_env, spawn, target):
    worker = spawn([str(ARQ_BIN / "arq"), "arq_app.WorkerSettings"], **arq_env)
    wait_until(lambda: "Starting worker" in worker.log(), timeout=30,
               what="arq's worker to start")
    jobs = client(arq_env, "enqueue")
    with target.client() as redis_client:
        wait_until(lambda: redis_client.zcard("arq:queue") == 0, timeout=30,
                   what="arq's worker to take every job")
    wait_until(lambda: client(arq_env, "results", jobs["deferred"])[jobs["deferred"]]
               ["status"] == "complete", timeout=30, what="the deferred job's result")
    check_results(arq_env, jobs)
    worker.stop()
    assert worker.proc.returncode == 0, worker.log()


def test_queued_jobs_survive_caskd_killed(arq_installed, tmp_path, spawn):
    """What caskd adds: kill -9 the server with jobs queued (as a crash would), start
    it again on the same directory, and a worker still runs every job."""
    server = CaskdProcess(tmp_path / "data").start()
    try:
        env = {"ARQ_REDIS": f"redis://127.0.0.1:{server.port}/0"}
        jobs = client(env, "enqueue")
        server.kill()
        server.start()
        worker = spawn([str(ARQ_BIN / "arq"), "arq_app.WorkerSettings", "--burst"], **env)
        assert worker.wait(timeout=40) == 0, worker.log()
        check_results(env, jobs)
    finally:
        server.stop()
