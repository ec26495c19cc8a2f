"""scripts/bench_pubsub.py runs end to end (tiny numbers): every subscriber gets every
message and the figures are printed."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def test_the_fan_out_benchmark_delivers_every_message():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench_pubsub", "--subscribers", "50", "--messages", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert "caskd: 50 subscribers, 3 messages of 100 B" in result.stdout
    assert "every message received: True" in result.stdout
