"""dramatiq: messages sent by dramatiq's client and run by its own worker CLI
(``dramatiq``: worker processes and threads), results in Redis."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

DRAMATIQ = str(Path(sys.executable).with_name("dramatiq"))


@pytest.fixture
def dramatiq_app(target, spawn, load_app):
    """dramatiq_app.py on the server under test, and its worker running."""
    app = load_app("dramatiq_app", DRAMATIQ_REDIS=target.url())
    spawn.until_ready([DRAMATIQ, "dramatiq_app", "--processes", "1", "--threads", "2"],
                      "is ready for action", DRAMATIQ_REDIS=target.url())
    return app


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
