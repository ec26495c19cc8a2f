"""Fixtures shared by every test module."""

from __future__ import annotations

import pytest

from server import compiled  # noqa: F401  (first: CASKD_PURE_PYTHON applies from here)
from tests.support import CaskdProcess


@pytest.fixture
def caskd(tmp_path):
    """A running caskd (appendfsync everysec) in a temp dir; stopped afterwards."""
    server = CaskdProcess(tmp_path / "data").start()
    yield server
    server.stop()


@pytest.fixture
def caskd_factory(tmp_path):
    """Start caskd processes with extra arguments; every one is stopped afterwards."""
    started: list[CaskdProcess] = []

    def start(*args: str, data_dir=None, wait: bool = True) -> CaskdProcess:
        server = CaskdProcess(data_dir or tmp_path / f"data{len(started)}", *args)
        started.append(server)
        return server.start(wait=wait)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def raw(caskd):
    """A raw RESP connection to ``caskd``: for checking exact reply bytes."""
    client = caskd.raw()
    yield client
    client.close()


@pytest.fixture
def other(caskd):
    """A second raw connection to ``caskd`` (a concurrent client)."""
    client = caskd.raw()
    yield client
    client.close()
