"""scripts/crashtest.py: kill -9 under acknowledged writes loses nothing (short CI run),
and its checker does catch a lost write or a torn transaction."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from scripts.crashtest import ABSENT, KeyState, Writer
from tests.support import ROOT


@pytest.mark.parametrize("fsync", ["always", "everysec"])
def test_kill_9_under_load_loses_nothing_acknowledged(fsync):
    result = subprocess.run(
        [sys.executable, "-m", "scripts.crashtest", "--short", "--fsync", fsync],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"^lost (\d+) of (\d+) acknowledged over (\d+) crashes$",
                        result.stdout, re.MULTILINE)
    assert summary, result.stdout
    lost, acknowledged, crashes = map(int, summary.groups())
    assert (lost, crashes) == (0, 3)
    assert acknowledged > 100
    assert "killed after" in result.stdout


def _writer() -> Writer:
    writer = Writer(0, ["set", "mset", "multi", "incr", "del", "expire"], seed=1)
    for _ in range(200):  # acknowledge some writes without a server
        write = writer.next_write()
        writer.state.update(write.changes)
    return writer


def test_checker_reports_a_lost_acknowledged_write():
    writer = _writer()
    found = dict(writer.state)
    key = next(key for key, state in found.items() if state != ABSENT)
    found[key] = ABSENT
    problems = writer.check(found)
    assert len(problems) == 1 and problems[0].startswith(f"{key}: acknowledged")


def test_checker_allows_the_write_in_flight_either_way_but_not_in_part():
    writer = _writer()
    while (write := writer.next_write()).kind != "MULTI/EXEC":
        pass
    before = dict(writer.state)
    for outcome in (before, {**before, **write.changes}):
        writer.state, writer.in_flight = dict(before), write.changes
        assert writer.check(dict(outcome)) == []
        assert writer.state == outcome  # the outcome found is the new acknowledged state
    torn = dict(before)
    key = next(key for key in write.changes if write.changes[key] != before[key])
    torn[key] = write.changes[key]
    writer.state, writer.in_flight = dict(before), write.changes
    assert any("applied in part" in problem for problem in writer.check(torn))


def test_checker_notices_a_lost_ttl():
    writer = _writer()
    writer.state[writer.set_keys[0]] = KeyState("v", ttl=True)
    found = {**writer.state, writer.set_keys[0]: KeyState("v")}
    assert writer.check(found) == [f"{writer.set_keys[0]}: acknowledged 'v' with a TTL, "
                                   f"found 'v'"]
