"""scripts/bench.py: the pure parsing/summary helpers, then one real run against redis-server.

The integration tests point --caskd-cmd at a second redis-server, so they run
before (and regardless of) caskd itself.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from scripts.bench import benchmark_args, parse_args, write_outputs
from scripts.benchlib import (
    EVALSHA_SCRIPT,
    BenchError,
    Comparison,
    Report,
    Sample,
    markdown_table,
    median,
    paired_ratio,
    parse_csv,
    parse_run,
    plan_workloads,
    throughput_row,
    workload_name,
)
from tests.support import ROOT, require_tool

CSV_7_0 = """\
"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","80000.00","0.385","0.072","0.343","0.687","0.879","1.367"
"MSET (10 keys)","86956.52","0.511","0.264","0.487","0.775","1.087","1.335"
"""
REDIS_ONLY = "redis-server --appendonly yes --save ''"


def test_parse_csv_reads_rps_and_latency_percentiles_by_column_name():
    assert parse_csv(CSV_7_0) == [Sample("SET", 80000.0, 0.343, 0.879),
                                  Sample("MSET (10 keys)", 86956.52, 0.487, 1.087)]


def test_parse_csv_accepts_old_headerless_rows_without_latencies():
    assert parse_csv('"SET","80000.00"\n') == [Sample("SET", 80000.0, None, None)]


@pytest.mark.parametrize("text", [CSV_7_0.splitlines()[0] + "\n", "", '"SET","fast"\n',
                                  '"SET","1.0","2.0"\n'])
def test_parse_csv_rejects_output_without_usable_rows(text):
    with pytest.raises(BenchError):
        parse_csv(text)


def test_parse_run_fails_on_server_error_even_when_rows_were_printed():
    stderr = "Error from server: ERR unknown command 'SET'\n"
    with pytest.raises(BenchError, match=r"(?s)exit status 1.*ERR unknown command"):
        parse_run(1, CSV_7_0, stderr)
    with pytest.raises(BenchError, match="Connection reset"):
        parse_run(0, CSV_7_0, "Error: Connection reset by peer\n")


def test_parse_run_returns_samples_for_a_clean_run():
    assert [s.test for s in parse_run(0, CSV_7_0, "")] == ["SET", "MSET (10 keys)"]


def test_paired_ratio_is_the_median_of_per_round_ratios():
    # Round 2 was slow for both servers: pairing cancels it (medians alone give 1.5).
    assert paired_ratio([100.0, 50.0, 300.0], [100.0, 50.0, 100.0]) == 1.0
    assert paired_ratio([1.0, None], [1.0, 2.0]) is None
    with pytest.raises(BenchError, match="unpaired"):
        paired_ratio([1.0], [1.0, 2.0])


def test_median_is_none_when_a_value_is_missing():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, None]) is None


def test_throughput_row_formats_medians_and_ratios():
    comparison = Comparison("SET -P 16", "always")
    comparison.samples["caskd"] += [Sample("SET", 50_000.0, 0.2, 2.0), Sample("SET", 70_000.0)]
    comparison.samples["redis"] += [Sample("SET", 100_000.0, 0.1, 1.0),
                                    Sample("SET", 100_000.0, 0.1, 1.0)]
    assert throughput_row(comparison) == ["SET -P 16", "always", "60,000", "100,000", "0.60",
                                          "n/a", "1.000", "n/a"]


def test_markdown_table_pads_columns_and_right_aligns_numbers():
    table = markdown_table(["workload", "fsync", "rps"], [["GET -P 1", "everysec", "9"]], left=2)
    assert table.splitlines() == ["| workload | fsync    | rps |",
                                  "| -------- | -------- | --: |",
                                  "| GET -P 1 | everysec |   9 |"]


def test_report_markdown_has_context_table_and_notes():
    report = Report("T", ["machine: m"], ["metric", "ratio"], [["x", "1.00"]], ["note"], {}, {})
    assert report.markdown().splitlines() == ["## T", "", "- machine: m", "",
                                              "| metric | ratio |", "| ------ | ----: |",
                                              "| x      |  1.00 |", "", "note"]


def small_report() -> Report:
    return Report("caskd vs redis-server: memory", ["machine: m"], ["metric", "ratio"],
                  [["VmRSS per key", "0.50"]], ["note"],
                  {"VmRSS per key": 0.5, "RssAnon per key": None}, {"keys": 1})


def test_outputs_are_named_after_the_mode_and_the_chart_is_a_png(tmp_path):
    write_outputs(small_report(), tmp_path, "memory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.json", "memory.md",
                                                          "memory.png"]
    assert (tmp_path / "memory.png").read_bytes().startswith(b"\x89PNG")


def test_outputs_without_matplotlib_are_the_table_and_json(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    write_outputs(small_report(), tmp_path, "memory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.json", "memory.md"]
    assert json.loads((tmp_path / "memory.json").read_text())["data"] == {"keys": 1}


def test_read_only_tests_run_under_the_first_fsync_policy_only():
    assert plan_workloads(["set", "get"], [1, 16], ["everysec", "always"]) == {
        "everysec": [("set", 1), ("set", 16), ("get", 1), ("get", 16)],
        "always": [("set", 1), ("set", 16)]}
    assert plan_workloads(["get"], [1], ["always", "everysec"]) == {"always": [("get", 1)]}


def test_evalsha_runs_the_loaded_script_as_a_custom_command():
    opts = parse_args(["--tests", "evalsha", "--quick"])
    args = benchmark_args(opts, "evalsha", "16")
    assert "-t" not in args and args[:2] == ["-P", "16"]
    assert args[-5:] == ["EVALSHA", hashlib.sha1(EVALSHA_SCRIPT.encode()).hexdigest(), "1",
                         "key:__rand_int__", "value"]
    assert workload_name("EVALSHA 9f3e 1 key:__rand_int__ value") == "EVALSHA"
    assert workload_name("SET") == "SET"


def test_quick_shrinks_defaults_but_not_explicit_options():
    opts = parse_args(["--quick", "--rounds", "2"])
    assert (opts.requests, opts.rounds, opts.keys) == (2_000, 2, 2_000)
    assert parse_args([]).requests == 200_000


@pytest.fixture
def redis_tools() -> None:
    require_tool("redis-server")
    require_tool("redis-benchmark")


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scripts.bench", "--quick", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_quick_run_against_redis_prints_the_table_and_writes_results(redis_tools, tmp_path):
    run = run_bench("--caskd-cmd", REDIS_ONLY, "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "redis-benchmark -h 127.0.0.1 -p PORT -t TEST -P PIPELINE -n 2000" in run.stdout
    results = json.loads((tmp_path / "throughput.json").read_text())["data"]["results"]
    assert [(r["workload"], r["fsync"]) for r in results] == [
        ("SET -P 1", "everysec"), ("SET -P 16", "everysec"), ("GET -P 1", "everysec"),
        ("GET -P 16", "everysec"), ("SET -P 1", "always"), ("SET -P 16", "always")]
    assert all(r["caskd_rps"] > 0 and r["redis_rps"] > 0 and r["p99_ratio"] for r in results)
    assert (tmp_path / "throughput.md").read_text() in run.stdout + "\n"


def test_error_replies_fail_the_run_instead_of_reporting_numbers(redis_tools):
    run = run_bench("--caskd-cmd", f"{REDIS_ONLY} --rename-command SET ''",
                    "--fsync", "everysec", "--pipeline", "1")
    assert run.returncode == 1
    assert "FAILED" in run.stderr and "ERR unknown command" in run.stderr
    assert "|" not in run.stdout
