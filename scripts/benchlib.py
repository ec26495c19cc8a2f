"""The pure half of scripts/bench.py: parse redis-benchmark output, summarize, format.

Nothing here starts processes or opens sockets, so all of it is unit-tested
without servers; bench.py does the running.
"""

from __future__ import annotations

import csv
import hashlib
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# redis-benchmark -t names whose cost no fsync policy can change.
READ_ONLY_TESTS = frozenset({"ping", "ping_inline", "ping_mbulk", "get", "lrange", "lrange_100",
                             "lrange_300", "lrange_500", "lrange_600"})
SIDES = ("caskd", "redis")


class BenchError(Exception):
    """A run that must not yield numbers: the script reports it and exits non-zero."""


@dataclass(frozen=True)
class Sample:
    """One row of `redis-benchmark --csv`: a test's throughput and latency."""

    test: str
    rps: float
    p50_ms: float | None = None
    p99_ms: float | None = None


def parse_csv(text: str) -> list[Sample]:
    """Parse `redis-benchmark --csv` output.

    7.x prints a header naming its columns (rps, p50_latency_ms, p99_latency_ms, ...);
    6.x prints bare `"TEST","rps"` rows. Columns are looked up by name, so latencies
    are None where the installed redis-benchmark does not report them.
    """
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    header = ["test", "rps"]
    if rows and rows[0][0] == "test":
        header, rows = rows[0], rows[1:]
    samples = []
    for row in rows:
        try:
            cells = dict(zip(header, row, strict=True))
            samples.append(Sample(cells["test"], float(cells["rps"]),
                                  _optional_float(cells.get("p50_latency_ms")),
                                  _optional_float(cells.get("p99_latency_ms"))))
        except (KeyError, ValueError) as exc:
            raise BenchError(f"unparseable redis-benchmark CSV row: {row!r}") from exc
    if not samples:
        raise BenchError(f"redis-benchmark printed no results (is the -t name valid?): {text!r}")
    return samples


def _optional_float(cell: str | None) -> float | None:
    return None if cell is None else float(cell)


def parse_run(returncode: int, stdout: str, stderr: str) -> list[Sample]:
    """The samples of one finished redis-benchmark run, or BenchError.

    redis-benchmark reports error replies and connection failures on stderr, and
    does not always exit non-zero for them, so any stderr output voids the run.
    """
    if returncode != 0 or stderr.strip():
        detail = stderr.strip() or stdout.strip() or "(no output)"
        raise BenchError(f"redis-benchmark failed (exit status {returncode}):\n{detail}")
    return parse_csv(stdout)


# The EVALSHA workload: a 1-key script doing GET + SET, loaded on both servers before
# the runs, which redis-benchmark sends as a custom command (rows named "EVALSHA").
EVALSHA_SCRIPT = ("local old = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) "
                  "return old")
EVALSHA_SHA = hashlib.sha1(EVALSHA_SCRIPT.encode()).hexdigest()
CUSTOM_COMMANDS = {"evalsha": ["EVALSHA", EVALSHA_SHA, "1", "key:__rand_int__", "value"]}


def workload_name(test: str) -> str:
    """A CSV row's test as the tables name it: a custom command by its first word."""
    return test.split()[0] if " " in test else test


def plan_workloads(tests: Sequence[str], pipelines: Sequence[int],
                   policies: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """The (test, pipeline) pairs to run under each fsync policy.

    The policy changes only what writes cost, so read-only tests run under the
    first policy alone: by default SET and GET under everysec, SET under always.
    """
    plan = {}
    for index, policy in enumerate(policies):
        chosen = [test for test in tests if index == 0 or test not in READ_ONLY_TESTS]
        if chosen:
            plan[policy] = [(test, pipeline) for test in chosen for pipeline in pipelines]
    return plan


def median(values: Sequence[float | None]) -> float | None:
    """Median, or None when any value is missing (a column the tool did not report)."""
    if not values or any(value is None for value in values):
        return None
    return statistics.median(values)


def paired_ratio(numerators: Sequence[float | None],
                 denominators: Sequence[float | None]) -> float | None:
    """Median of per-round ratios.

    Each round measured both servers back to back, so noise that hit both
    cancels within the pair; a ratio of overall medians would not pair them.
    """
    if len(numerators) != len(denominators):
        raise BenchError(f"unpaired rounds: {len(numerators)} vs {len(denominators)}")
    if any(value is None for value in (*numerators, *denominators)):
        return None
    return median([n / d for n, d in zip(numerators, denominators, strict=True)])


@dataclass
class Comparison:
    """Both servers' samples for one workload, one sample per round each."""

    workload: str
    fsync: str
    samples: dict[str, list[Sample]] = field(
        default_factory=lambda: {side: [] for side in SIDES})

    def summary(self) -> dict[str, float | None]:
        caskd, redis = self.samples["caskd"], self.samples["redis"]
        return {
            "caskd_rps": median([s.rps for s in caskd]),
            "redis_rps": median([s.rps for s in redis]),
            "rps_ratio": paired_ratio([s.rps for s in caskd], [s.rps for s in redis]),
            "caskd_p99_ms": median([s.p99_ms for s in caskd]),
            "redis_p99_ms": median([s.p99_ms for s in redis]),
            "p99_ratio": paired_ratio([s.p99_ms for s in caskd], [s.p99_ms for s in redis]),
        }


THROUGHPUT_COLUMNS = ["workload", "fsync", "caskd rps", "redis rps", "ratio",
                      "caskd p99 ms", "redis p99 ms", "p99 ratio"]


def throughput_row(comparison: Comparison) -> list[str]:
    s = comparison.summary()
    return [comparison.workload, comparison.fsync, fmt(s["caskd_rps"], ",.0f"),
            fmt(s["redis_rps"], ",.0f"), fmt(s["rps_ratio"]), fmt(s["caskd_p99_ms"], ".3f"),
            fmt(s["redis_p99_ms"], ".3f"), fmt(s["p99_ratio"])]


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A padded Markdown table: the first `left` columns are text, the rest numbers."""
    widths = [max(len(cell) for cell in column) for column in zip(columns, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.ljust(w) if i < left else cell.rjust(w)
                  for i, (cell, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * w if i < left else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(columns), line(rule), *map(line, rows)])


@dataclass
class Report:
    """A finished measurement: printed as Markdown, saved as JSON, charted."""

    title: str
    context: list[str]
    columns: list[str]
    rows: list[list[str]]
    notes: list[str]
    chart: dict[str, float | None]  # row label -> caskd/redis ratio
    data: dict[str, Any]
    text_columns: int = 1
    chart_label: str = "caskd / redis"  # what the ratios are, and which way is better
    chart_reference: str = "redis"  # what a ratio of 1 is

    def markdown(self) -> str:
        table = markdown_table(self.columns, self.rows, left=self.text_columns)
        return "\n".join([f"## {self.title}", "", *(f"- {c}" for c in self.context), "",
                          table, "", *self.notes, ""])
