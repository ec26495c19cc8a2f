"""Fixtures for libraries run against a server: each test runs against caskd and,
as the control, a real redis-server (what the library was written for)."""

from __future__ import annotations

import pytest

from tests.compat.harness import RedisServer
from tests.support import CaskdProcess, require_tool


@pytest.fixture(params=["caskd", "redis"])
def server_port(request, tmp_path) -> int:
    """The port of a fresh caskd, or of a fresh redis-server (the control)."""
    if request.param == "caskd":
        caskd = CaskdProcess(tmp_path / "caskd").start()
        yield caskd.port
        caskd.stop()
    else:
        redis = RedisServer(require_tool("redis-server"), tmp_path / "redis")
        yield redis.port
        redis.stop()
