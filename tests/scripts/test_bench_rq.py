"""scripts/bench_rq.py runs end to end (a small queue): both servers hold every job
and the memory figures are printed."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT, require_tool


def test_the_rq_memory_comparison_runs(tmp_path):
    require_tool("redis-server")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench_rq", "--jobs", "300", "--payload", "100",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert "300 rq jobs with 100-byte random payloads" in result.stdout
    assert "| VmRSS per job (bytes)" in result.stdout
    assert "enqueueing 300 jobs into caskd" in result.stderr
    assert (tmp_path / "rq.json").exists()
