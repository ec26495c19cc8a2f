"""huey: tasks enqueued by huey's client and run by huey's own consumer
(``huey_consumer``, thread workers), with results in Redis."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

CONSUMER = str(Path(sys.executable).with_name("huey_consumer"))


@pytest.fixture
def huey_app(target, spawn, load_app):
    """huey_app.py on the server under test, and its consumer running."""
    app = load_app("huey_app", HUEY_REDIS=target.url())
    spawn.until_ready([CONSUMER, "huey_app.huey", "--workers", "2", "--worker-type", "thread",
                       "--no-periodic"], "Huey consumer started", HUEY_REDIS=target.url())
    return app


def test_tasks_results_retries_pipelines_and_locks(huey_app):
    assert huey_app.add(2, 3).get(blocking=True, timeout=20) == 5
    assert huey_app.flaky("flaky:tries").get(blocking=True, timeout=20) == 3
    pipeline = huey_app.add.s(1, 2).then(huey_app.double)
    assert huey_app.huey.enqueue(pipeline).get(blocking=True, timeout=20) == [3, 6]
    assert huey_app.report().get(blocking=True, timeout=20) == "done"
    with huey_app.huey.lock_task("report-lock"):  # held here: the task cannot take it
        assert huey_app.huey.is_locked("report-lock")
    assert not huey_app.huey.is_locked("report-lock")
    assert huey_app.huey.pending_count() == 0


def test_scheduled_task_runs_after_its_delay(huey_app):
    sent = time.monotonic()
    assert huey_app.add.schedule((20, 22), delay=1).get(blocking=True, timeout=20) == 42
    assert time.monotonic() - sent >= 1
