"""Fixtures of the application suite: each test runs once against caskd and once
against a real redis-server (the control), so a failure on caskd alone is
caskd's, not the test's or the library's.

Both servers live for the whole session and are emptied before each test.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

import pytest
import redis

from tests.apps.support import APPS, Spawner
from tests.compat.harness import redis_and_caskd


@dataclass(frozen=True)
class Target:
    """One server under test: what a library's users would put in its URL."""

    kind: str  # "caskd" or "redis"
    port: int

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db)


@pytest.fixture(scope="session")
def app_servers(tmp_path_factory):
    """{"caskd": port, "redis": port}, started once for the session."""
    with redis_and_caskd(tmp_path_factory.mktemp("apps")) as (redis_port, caskd_port):
        yield {"caskd": caskd_port, "redis": redis_port}


@pytest.fixture(params=["caskd", "redis"])
def target(request, app_servers) -> Target:
    """The server a test runs against, emptied first."""
    server = Target(request.param, app_servers[request.param])
    with server.client() as client:
        client.flushall()
    return server


@pytest.fixture
def spawn(tmp_path):
    """Start an app's processes (``spawn([argv...], ENV=value)``); all stopped afterwards."""
    spawner = Spawner(tmp_path)
    yield spawner
    spawner.stop_all()


@pytest.fixture
def load_app(monkeypatch):
    """Import an app module of tests/apps/ afresh with ``env`` (its configuration) set,
    as the test's client side: ``load_app("huey_app", HUEY_REDIS=url)``."""
    loaded: list[str] = []

    def load(name: str, **env: str):
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        monkeypatch.syspath_prepend(str(APPS))
        sys.modules.pop(name, None)
        loaded.append(name)
        return importlib.import_module(name)

    yield load
    for name in loaded:
        sys.modules.pop(name, None)
