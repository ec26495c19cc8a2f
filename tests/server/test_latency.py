"""The latency monitor (server/latency.py): Redis's sampling rules, its reports, and
the events a running caskd records."""

from __future__ import annotations

import pytest

from server import latency
from server.latency import LatencyMonitor
from tests.support import wait_until


@pytest.fixture
def monitor() -> LatencyMonitor:
    monitor = LatencyMonitor()
    monitor.threshold_ms = 10
    return monitor


def test_only_events_at_or_over_the_threshold_count(monitor):
    monitor.record("command", 0.009)
    assert monitor.events == {}
    monitor.record("command", 0.010)
    assert monitor.latest()[0][0::2] == [b"command", 10]
    monitor.threshold_ms = 0  # off
    monitor.record("command", 5)
    assert monitor.events["command"].max == 10


def test_one_sample_a_second_the_worst_and_160_of_them(monitor, monkeypatch):
    clock = [1_000]
    monkeypatch.setattr(latency.time, "time", lambda: clock[0])
    monitor.add("command", 20)
    monitor.add("command", 50)
    monitor.add("command", 30)
    assert monitor.events["command"].samples == [[1_000, 50]]
    for second in range(1, 200):
        clock[0] = 1_000 + second
        monitor.add("command", second)
    samples = monitor.events["command"].samples
    assert len(samples) == latency.HISTORY_LENGTH and samples[0] == [1_040, 40]
    assert monitor.latest() == [[b"command", 1_199, 199, 199]]


def test_reset_names_events_in_any_case(monitor):
    monitor.add("command", 10)
    monitor.add("fast-command", 10)
    assert monitor.reset(["COMMAND", "nosuch"]) == 1
    assert monitor.reset(None) == 1 and monitor.events == {}


def test_the_graph_is_redis_sparkline(monitor, monkeypatch):
    """Four rows of _o#| (higher is further up), then the labels read downwards."""
    monkeypatch.setattr(latency.time, "time", lambda: 100)
    for when, ms in ((40, 10), (70, 20), (99, 40)):
        monkeypatch.setattr(latency.time, "time", lambda when=when: when)
        monitor.add("command", ms)
    monkeypatch.setattr(latency.time, "time", lambda: 100)
    assert monitor.graph("command") == (
        "command - high 40 ms, low 10 ms (all time high 40 ms)\n" + "-" * 80 + "\n"
        "  #\n"
        "  |\n"
        " o|\n"
        "_||\n"
        "   \n"  # the labels: 1m, 30s and 1s ago
        "131\n"
        "m0s\n"
        " s \n")


def test_the_doctor_advises_on_the_events_it_saw(monitor):
    assert "no latency spike was observed" in monitor.doctor(
        slowlog_slower_than=10_000, fsync_always=False, hz=10)
    monitor.add("expire-cycle", 30)
    report = monitor.doctor(slowlog_slower_than=10_000, fsync_always=False, hz=10)
    assert report.startswith("Dave, I have observed latency spikes")
    assert "1. expire-cycle: 1 latency spikes (average 30ms, mean deviation 0ms" in report
    assert "'CONFIG SET hz 100'" in report and "large objects" in report
    monitor.threshold_ms = 0
    monitor.events.clear()
    assert monitor.doctor(slowlog_slower_than=0, fsync_always=False, hz=10).startswith(
        "I'm sorry, Dave")


def test_a_running_caskd_records_slow_commands_and_expiry(caskd):
    client = caskd.client()
    client.config_set("latency-monitor-threshold", 1)
    client.eval("local t = redis.call('TIME') local s = t[1] + t[2] / 1e6 "
                "repeat t = redis.call('TIME') until t[1] + t[2] / 1e6 - s >= 0.02", 0)
    events = {event[0]: event for event in client.execute_command("LATENCY", "LATEST")}
    assert events[b"command"][2] >= 20
    assert client.execute_command("LATENCY", "HISTORY", "command")[0][1] >= 20
    assert client.execute_command("LATENCY", "RESET") >= 1
    with client.pipeline(transaction=False) as pipe:
        for number in range(20_000):
            pipe.set(f"k{number}", "v", px=1)
        pipe.execute()

    def expiry_seen() -> bool:  # a round of active expiry over 1 ms
        events = client.execute_command("LATENCY", "LATEST")
        return any(event[0] == b"expire-cycle" for event in events)
    wait_until(expiry_seen, timeout=20, what="an expire-cycle latency event")
