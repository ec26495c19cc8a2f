"""MEMORY DOCTOR's choice of Redis's reports, from the process's figures."""

from __future__ import annotations

import pytest

from server.commands import memory

MB = 1024 * 1024


@pytest.mark.parametrize(("used", "peak", "report"), [
    (4 * MB, 40 * MB, memory.EMPTY),  # under 5 MB: Redis's "almost empty" answer, first
    (30 * MB, 40 * MB, memory.HEALTHY),
    (30 * MB, 46 * MB, memory.BIG_PEAK),  # peak above 150% of what is used now
])
def test_doctor_picks_redis_report(monkeypatch, used, peak, report):
    monkeypatch.setattr(memory, "memory_figures", lambda: (used, peak))
    assert memory.memory_doctor(None, [b"MEMORY", b"DOCTOR"]).data == report.encode()
