"""dramatiq's Redis broker against caskd (and redis-server, the control): every
broker operation (enqueue, fetch, ack, nack, requeue, delayed messages, the
heartbeat) is one call of its dispatch Lua script; a real ``dramatiq`` worker
process runs the actors, and the results come back through its Redis result
backend (BRPOPLPUSH while the caller waits)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from dramatiq.results import ResultFailure

from tests.support import ROOT, wait_until

RESULT_TIMEOUT_MS = 30_000


@pytest.fixture
def actors(server_port, monkeypatch):
    """The actors module bound to this test's server, and a worker running them."""
    url = f"redis://127.0.0.1:{server_port}"
    monkeypatch.setenv("DRAMATIQ_TEST_URL", url)
    module = importlib.reload(importlib.import_module("tests.clients.dramatiq_actors"))
    worker = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "tests.clients.dramatiq_actors", "--processes", "1",
         "--threads", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield module
    worker.terminate()
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    module.broker.close()


def test_a_worker_runs_actors_and_returns_their_results(actors):
    messages = [actors.add.send(i, i) for i in range(20)]
    assert [m.get_result(block=True, timeout=RESULT_TIMEOUT_MS) for m in messages] == [
        2 * i for i in range(20)]
    client = actors.broker.client
    wait_until(lambda: client.hlen("dramatiq:default.msgs") == 0, timeout=30,
               what="the worker to acknowledge every message")
    assert client.info("commandstats")["cmdstat_evalsha"]["calls"] >= 40  # dispatch.lua


def test_a_delayed_message_runs_after_its_delay(actors):
    message = actors.add.send_with_options(args=(40, 2), delay=200)
    assert message.get_result(block=True, timeout=RESULT_TIMEOUT_MS) == 42


def test_a_failing_actor_reports_its_failure(actors):
    message = actors.fail.send()
    with pytest.raises(ResultFailure, match="this actor fails"):
        message.get_result(block=True, timeout=RESULT_TIMEOUT_MS)
    assert actors.add.send(1, 2).get_result(block=True, timeout=RESULT_TIMEOUT_MS) == 3
