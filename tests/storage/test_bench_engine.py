"""A smoke test of scripts/bench_engine.py on a tiny key count (figures not checked)."""

from __future__ import annotations

from scripts import bench_engine


def test_benchmark_runs_and_reports_every_figure(capsys, tmp_path):
    assert bench_engine.main(["--keys", "3000", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for figure in ("puts_per_s", "gets_per_s", "open_s_hints_as_written", "open_s_no_hints",
                   "open_s_hints", "bytes_per_key"):
        assert figure in out


def test_key_size_option():
    assert [len(k) for k in bench_engine.make_keys(3, 12)] == [12, 12, 12]
    assert bench_engine.make_keys(2) == [b"key:000000000000", b"key:000000000001"]
