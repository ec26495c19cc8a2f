"""Celery with Redis as broker and result backend: tasks sent by Celery's client
and run by Celery's own worker (``celery worker``, prefork pool)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support import wait_until

CELERY = str(Path(sys.executable).with_name("celery"))
LUA = ("kombu's worker restores unacknowledged messages under a redis-py Lock, "
       "released by EVALSHA: the worker stops at start ('unknown command EVALSHA')")

pytestmark = pytest.mark.needs_lua(LUA)


@pytest.fixture
def celery(target, monkeypatch):
    """The app module, imported with the server under test as its broker."""
    monkeypatch.setenv("CELERY_REDIS", target.url())
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    sys.modules.pop("celery_app", None)
    import celery_app
    yield celery_app
    celery_app.app.close()
    sys.modules.pop("celery_app", None)


def start_worker(spawn, target, name: str):
    worker = spawn([CELERY, "-A", "celery_app", "worker", "--pool", "prefork",
                    "--concurrency", "2", "--hostname", f"{name}@%h", "--loglevel", "info",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"],
                   CELERY_REDIS=target.url())
    wait_until(lambda: "ready." in worker.log() or worker.proc.poll() is not None,
               timeout=40, what="celery's worker to be ready")
    assert worker.proc.poll() is None, worker.log()
    return worker


def test_task_retries_group_chord_and_eta(celery, spawn, target):
    start_worker(spawn, target, "w1")
    assert celery.add.delay(2, 3).get(timeout=20) == 5
    assert celery.flaky.delay("flaky:tries").get(timeout=20) == 3
    from celery import chord, group
    assert group(celery.add.s(i, i) for i in range(6))().get(timeout=20) == [0, 2, 4, 6, 8, 10]
    header = [celery.add.s(i, 1) for i in range(5)]
    assert chord(header)(celery.total.s()).get(timeout=20) == 15
    sent = time.monotonic()
    assert celery.add.apply_async((20, 22), countdown=1.5).get(timeout=20) == 42
    assert time.monotonic() - sent >= 1.5


def test_killed_worker_loses_nothing_acknowledged(celery, spawn, target):
    """Tasks are acknowledged once done (acks_late): kill -9 the worker mid-queue,
    start another, and every task sent is done."""
    results = [celery.record.delay("done", item, 0.2) for item in range(20)]
    first = start_worker(spawn, target, "w1")
    with target.client() as client:
        wait_until(lambda: client.scard("done") >= 3, timeout=30, what="a few tasks done")
        first.stop(signal.SIGKILL)
        assert client.scard("done") < 20
        start_worker(spawn, target, "w2")
        wait_until(lambda: client.scard("done") == 20, timeout=40, what="all tasks done")
    assert sorted(result.get(timeout=20) for result in results) == list(range(20))
