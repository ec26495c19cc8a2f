"""The latency monitor, caskd against redis-server: events recorded past
latency-monitor-threshold (a slow script), LATENCY LATEST, HISTORY, GRAPH, DOCTOR
and RESET with Redis's replies and texts (the figures compared loosely: see
LATENCY_TIMING), and HELP byte for byte."""

from __future__ import annotations

import pytest

from tests.compat.differences import LATENCY_TIMING
from tests.compat.test_strings import run

# A script that runs for ``ARGV[1]`` seconds: a slow command on both servers.
BUSY = ("local t = redis.call('TIME') local start = t[1] + t[2] / 1e6 "
        "repeat t = redis.call('TIME') until t[1] + t[2] / 1e6 - start >= tonumber(ARGV[1])")


@pytest.fixture
def monitored(pair):
    pair.both("LATENCY", "RESET")
    pair.both("CONFIG", "SET", "latency-monitor-threshold", "40")
    yield pair
    pair.both("CONFIG", "SET", "latency-monitor-threshold", "0")
    pair.both("LATENCY", "RESET")


def test_a_slow_command_is_a_latency_event(monitored):
    pair = monitored
    pair.both("EVAL", BUSY, "0", "0.1")
    for command in (("LATENCY", "LATEST"), ("LATENCY", "HISTORY", "command"),
                    ("LATENCY", "GRAPH", "command"), ("LATENCY", "DOCTOR")):
        pair.check(*command, allow=LATENCY_TIMING)
    latest = pair.check("LATENCY", "LATEST", allow=LATENCY_TIMING)
    assert latest[0][0] == b"command" and latest[0][2] >= 100
    run(pair, ("LATENCY", "HISTORY", "fast-command"), ("LATENCY", "GRAPH", "nosuch"),
        ("LATENCY", "RESET", "nosuch"), ("LATENCY", "RESET", "COMMAND"), ("LATENCY", "LATEST"),
        ("LATENCY", "RESET"))


def test_below_the_threshold_nothing_is_recorded(monitored):
    pair = monitored
    pair.both("EVAL", BUSY, "0", "0")
    run(pair, ("LATENCY", "LATEST"), ("LATENCY", "DOCTOR"), ("LATENCY", "RESET"))


def test_help_and_errors(pair):
    run(pair, ("LATENCY", "HELP"), ("LATENCY", "HELP", "x"), ("LATENCY", "HISTORY"),
        ("LATENCY", "GRAPH"), ("LATENCY", "LATEST", "x"), ("LATENCY", "DOCTOR", "x"),
        ("LATENCY", "HISTOGRAM", "nosuch"), ("COMMAND", "HELP"), ("COMMAND", "HELP", "x"))
