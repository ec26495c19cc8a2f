"""Fixtures for the HTTP tests: a caskd with an HTTP port and a client for it."""

from __future__ import annotations

import pytest

from tests.http.client import HttpClient, start_with_http
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
