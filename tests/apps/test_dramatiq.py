"""dramatiq: messages sent by dramatiq's client and run by its own worker CLI
(``dramatiq``: worker processes and threads), results in Redis."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.support import wait_until

DRAMATIQ = str(Path(sys.executable).with_name("dramatiq"))


@pytest.fixture
def dramatiq_app(target, spawn, monkeypatch):
    monkeypatch.setenv("DRAMATIQ_REDIS", target.url())
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    sys.modules.pop("dramatiq_app", None)
    import dramatiq_app
    worker = spawn([DRAMATIQ, "dramatiq_app", "--processes", "1", "--threads", "2"],
                   DRAMATIQ_REDIS=target.url())
    wait_until(lambda: "is ready for action" in worker.log() or worker.proc.poll() is not None,
               timeout=40, what="dramatiq's worker")
    assert worker.proc.poll() is None, worker.log()
    yield dramatiq_app
    sys.modules.pop("dramatiq_app", None)


def test_messages_results_retries_and_delays(dramatiq_app):
    assert dramatiq_app.add.send(2, 3).get_result(block=True, timeout=20_000) == 5
    assert dramatiq_app.flaky.send("flaky:tries").get_result(block=True, timeout=20_000) == 3
    sent = time.monotonic()
    delayed = dramatiq_app.add.send_with_options(args=(20, 22), delay=1000)
    assert delayed.get_result(block=True, timeout=20_000) == 42
    assert time.monotonic() - sent >= 1
    messages = [dramatiq_app.add.send(i, i) for i in range(10)]
    assert [m.get_result(block=True, timeout=20_000) for m in messages] == [
        2 * i for i in range(10)]
