"""walrus (models, containers, cache, counters, autocomplete, graph, full-text
search, rate limits, locks, streams): its own test suite, run unchanged by pytest
in a subprocess against the server under test.
"""

from __future__ import annotations

import os
import subprocess
import sys

import walrus


def test_walrus_own_suite(target, tmp_path):
    # walrus names its test modules after what they test, and its __init__.py
    # re-imports them all: collect each module once.
    (tmp_path / "pytest.ini").write_text("[pytest]\npython_files = [!_]*.py\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
         str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
         os.path.join(os.path.dirname(walrus.__file__), "tests")],
        cwd=tmp_path, env={**os.environ, "WALRUS_REDIS_PORT": str(target.port)},
        capture_output=True, text=True, timeout=120)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-6000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary
