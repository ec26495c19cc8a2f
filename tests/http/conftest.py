"""Fixtures for the HTTP tests: a caskd with an HTTP port and a client for it."""

from __future__ import annotations

import pytest

from tests.http.client import HttpClient, start_with_http
from tests.reliability.test_full_disk import small_disk  # noqa: F401 - a 4 MB tmpfs
from tests.security.test_tls import certs  # noqa: F401 - the TLS tests' certificates


@pytest.fixture
def served(caskd_factory):
    """caskd (appendfsync everysec) with an HTTP port."""
    return start_with_http(caskd_factory)


@pytest.fixture
def http(served):
    client = HttpClient(served.http_port)
    yield client
    client.close()
