"""Fixtures of the differential suite: one caskd and one redis-server for the whole
session, and per test a fresh pair of connections over emptied servers, in RESP2
and in RESP3."""

from __future__ import annotations

import pytest

from tests.compat.harness import Pair, redis_and_caskd


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """(redis port, caskd port)."""
    with redis_and_caskd(tmp_path_factory.mktemp("compat")) as ports:
        yield ports


def _pair(servers, protocol: int):
    pair = Pair(*servers, protocol=protocol)
    pair.both("FLUSHALL")
    pair.both("CONFIG", "RESETSTAT")
    yield pair
    pair.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def pair(request, servers):
    """Connections to both servers, emptied, in each protocol version."""
    yield from _pair(servers, request.param)


@pytest.fixture
def pair2(servers):
    """RESP2 only: for checks whose replies have no RESP3 variant worth a second run."""
    yield from _pair(servers, 2)


@pytest.fixture
def writer(servers, pair):
    """A second pair of connections (the other client), in the same protocol."""
    other = Pair(*servers, protocol=pair.protocol)
    yield other
    other.close()
