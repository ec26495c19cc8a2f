"""scripts/bench_http.py: a very short run (a check of the script, not a measurement)."""

from __future__ import annotations

from scripts.bench_http import main


def test_a_short_run_prints_a_row_per_method(capsys):
    assert main(["--seconds", "0.2", "--connections", "2", "--keyspace", "10"]) == 0
    table = capsys.readouterr().out
    assert "| HTTP PUT (keep-alive, 2 connections, 100 B) | everysec |" in table
    assert "| HTTP GET (keep-alive, 2 connections, 100 B) | everysec |" in table
