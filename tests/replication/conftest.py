"""Fixtures of the replication tests: the in-process server is the dispatcher tests'."""

from tests.server.test_dispatch import server  # noqa: F401 - a fixture, shared
