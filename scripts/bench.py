"""Side-by-side benchmark: caskd against a real redis-server on the same machine.

    python -m scripts.bench [options]          (make bench ARGS="...")

Starts caskd and redis-server (appendonly yes, same appendfsync policy, no RDB)
on free ports with temp data dirs and drives both with the same redis-benchmark
workloads, alternating between them within each round so that noise on a shared
machine hits both alike. What counts is caskd's figure as a ratio of Redis's;
absolute numbers are not comparable across runs. `--memory` compares RSS per
key instead, `--restart` the time until a restarted server answers PING.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from scripts.benchlib import (
    CUSTOM_COMMANDS,
    EVALSHA_SCRIPT,
    SIDES,
    THROUGHPUT_COLUMNS,
    BenchError,
    Comparison,
    Report,
    Sample,
    fmt,
    median,
    paired_ratio,
    parse_run,
    plan_workloads,
    throughput_row,
    workload_name,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REDIS_CMD = ["redis-server", "--appendonly", "yes", "--save", "", "--daemonize", "no"]
FSYNC_POLICIES = ("always", "everysec", "no")
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
LOAD_BATCH = 1000
DEFAULTS = {"requests": 200_000, "rounds": 3, "keys": 100_000}
QUICK = {"requests": 2_000, "rounds": 1, "keys": 2_000}


def free_port() -> int:
    """An unused port chosen by the kernel (never a developer's 6379)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def ping(port: int) -> bool:
    """True once the server answers PING with PONG (not -LOADING, not a refused connect).

    Raw socket rather than redis-py: no client retries or handshake inflate the
    restart times measured with it.
    """
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.05) -> None:
    """Poll `check` until true: servers are awaited by state, never by blind sleeps."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def server_argv(base: Sequence[str], port: str, data_dir: str, fsync: str) -> list[str]:
    """The full server command; caskd and redis-server take the same flags."""
    return [*base, "--port", port, "--dir", data_dir, "--appendfsync", fsync,
            "--loglevel", "warning"]


class Server:
    """One server process (caskd or redis-server) on a free port with its own data dir."""

    def __init__(self, name: str, base: Sequence[str], data_dir: Path, fsync: str) -> None:
        self.name = name
        self.base = list(base)
        self.data_dir = data_dir
        self.fsync = fsync
        self.log_path = data_dir.with_suffix(".log")
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Launch on a fresh port; return the seconds from launch until PING answers PONG."""
        self.port = free_port()
        argv = server_argv(self.base, str(self.port), str(self.data_dir), self.fsync)
        with self.log_path.open("ab") as log:
            started = time.perf_counter()
            # Own session: a Ctrl-C at the terminal reaches only this script,
            # which then shuts the servers down itself.
            self.proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_until(self._ready, START_TIMEOUT_S, f"{self.name} to answer PING", interval=0.005)
        return time.perf_counter() - started

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with status {self.proc.returncode} before "
                             f"answering PING; its log:\n{self.log_tail()}")
        return ping(self.port)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SHUTDOWN NOSAVE (the log is kept, no RDB), then SIGTERM, then SIGKILL."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        # The server may be hung: don't wait for a reply, only (below) for the exit.
        with contextlib.suppress(redis.RedisError), self.client(timeout=5) as client:
            client.shutdown(nosave=True)
        for escalate in (proc.terminate, proc.kill):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT_S)
                return
            escalate()
        proc.wait()

    def client(self, timeout: float = 60) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, socket_timeout=timeout,
                           retry=Retry(NoBackoff(), 0))

    def memory_kb(self) -> dict[str, int]:
        """VmRSS and RssAnon (kB) from /proc: mapped log pages show up only in the former."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {name: int(fields[name].split()[0]) for name in ("VmRSS", "RssAnon")}

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@contextlib.contextmanager
def running_pair(opts: argparse.Namespace, fsync: str,
                 root: Path) -> Iterator[tuple[Server, Server]]:
    """caskd and redis-server, empty and started with `fsync`; both stopped on any exit."""
    bases = {"caskd": opts.caskd_cmd, "redis": REDIS_CMD}
    pair = tuple(Server(side, bases[side], Path(tempfile.mkdtemp(prefix=f"{side}-{fsync}-",
                                                                 dir=root)), fsync)
                 for side in SIDES)
    with contextlib.ExitStack() as stack:
        for server in pair:
            stack.callback(server.stop)
            server.start()
            if "evalsha" in opts.tests:
                with redis.Redis(host=HOST, port=server.port) as client:
                    client.script_load(EVALSHA_SCRIPT)
        yield pair


def in_turn(pair: tuple[Server, Server], round_index: int) -> tuple[Server, Server]:
    """Who goes first alternates by round, so neither always runs in the other's wake."""
    return pair if round_index % 2 == 0 else (pair[1], pair[0])


def benchmark_args(opts: argparse.Namespace, test: str, pipeline: str) -> list[str]:
    common = ["-P", pipeline, "-n", str(opts.requests), "-c", str(opts.clients),
              "-d", str(opts.datasize), "-r", str(opts.keyspace), "--csv"]
    if test in CUSTOM_COMMANDS:
        return [*common, *CUSTOM_COMMANDS[test]]
    return ["-t", test, *common]


def run_benchmark(server: Server, args: list[str], timeout: float) -> list[Sample]:
    """Run redis-benchmark against `server` and parse it; any error voids the run."""
    argv = ["redis-benchmark", "-h", HOST, "-p", str(server.port), *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            supervise(proc, server, err, timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        err.seek(0)
        try:
            return parse_run(proc.returncode, out.read().decode(errors="replace"),
                             err.read().decode(errors="replace"))
        except BenchError as exc:
            died = "" if server.alive() else f"\n{server.name} died; its log:\n{server.log_tail()}"
            raise BenchError(f"{server.name} ({server.fsync}): `{shlex.join(argv)}`: "
                             f"{exc}{died}") from None


def supervise(proc: subprocess.Popen[bytes], server: Server, err: IO[bytes],
              timeout: float) -> None:
    """Wait for redis-benchmark, returning early once the run cannot succeed.

    redis-benchmark 7.0 spins forever after a failed connect; it has said so on
    stderr by then, and stderr output voids a run anyway, as does a dead server.
    """
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.1)
            return
        if os.fstat(err.fileno()).st_size or not server.alive():
            return
        if time.monotonic() > deadline:
            raise BenchError(f"redis-benchmark against {server.name} ran over {timeout:.0f}s")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_throughput(opts: argparse.Namespace, root: Path) -> Report:
    """Every workload, every round, caskd and redis back to back; medians reported."""
    context = common_context(opts)
    comparisons: dict[tuple[str, str], Comparison] = {}
    for fsync, workloads in plan_workloads(opts.tests, opts.pipeline, opts.fsync).items():
        with running_pair(opts, fsync, root) as pair:
            for round_index in range(opts.rounds):
                progress(f"appendfsync {fsync}, round {round_index + 1}/{opts.rounds}")
                for (test, pipeline), server in itertools.product(
                        workloads, in_turn(pair, round_index)):
                    args = benchmark_args(opts, test, str(pipeline))
                    record(comparisons, server.name, fsync, pipeline,
                           run_benchmark(server, args, opts.timeout))
    return throughput_report(opts, context, list(comparisons.values()))


def record(comparisons: dict[tuple[str, str], Comparison], side: str, fsync: str,
           pipeline: int, samples: list[Sample]) -> None:
    """File each CSV row under its workload (one -t name may print several rows)."""
    for sample in samples:
        workload = f"{workload_name(sample.test)} -P {pipeline}"
        comparison = comparisons.setdefault((workload, fsync), Comparison(workload, fsync))
        comparison.samples[side].append(sample)
        progress(f"  {side:5} {workload}: {sample.rps:,.0f} rps")


def throughput_report(opts: argparse.Namespace, context: list[str],
                      results: list[Comparison]) -> Report:
    template = " ".join(["redis-benchmark -h", HOST, "-p PORT",
                         *benchmark_args(opts, "TEST", "PIPELINE")])
    return Report(
        title="caskd vs redis-server: throughput",
        context=[*context,
                 f"command: `{template}` for TEST in {','.join(opts.tests)}, "
                 f"PIPELINE in {','.join(map(str, opts.pipeline))}",
                 *([f"evalsha: the command is `EVALSHA <sha1> 1 key:__rand_int__ value` "
                    f"(no -t) for the script `{EVALSHA_SCRIPT}`"]
                   if "evalsha" in opts.tests else [])],
        columns=THROUGHPUT_COLUMNS,
        rows=[throughput_row(c) for c in results],
        notes=[f"ratio = caskd rps / redis rps (above 1: caskd faster); p99 ratio = caskd p99 "
               f"/ redis p99 (above 1: caskd slower). Each is the median over {opts.rounds} "
               f"round(s) of the ratio measured back to back; rps and p99 are medians."],
        chart={f"{c.workload} ({c.fsync})": c.summary()["rps_ratio"] for c in results},
        chart_label="caskd rps / redis rps (higher is better)",
        text_columns=2,
        data={"results": [{"workload": c.workload, "fsync": c.fsync, **c.summary(),
                           "samples": {side: [dataclasses.asdict(s) for s in samples]
                                       for side, samples in c.samples.items()}}
                          for c in results]},
    )


def load_keys(server: Server, keys: int, size: int) -> None:
    """SET key:000000000000.. (redis-benchmark's key names) in pipelined batches; check DBSIZE."""
    value = b"x" * size
    with server.client() as client:
        for first in range(0, keys, LOAD_BATCH):
            pipe = client.pipeline(transaction=False)
            for i in range(first, min(first + LOAD_BATCH, keys)):
                pipe.set(f"key:{i:012d}", value)
            pipe.execute()
    expect_dbsize(server, keys)


def expect_dbsize(server: Server, keys: int) -> None:
    with server.client() as client:
        found = client.dbsize()
    if found != keys:
        raise BenchError(f"{server.name} holds {found} keys, expected {keys}")


def load_context(opts: argparse.Namespace) -> str:
    return (f"load: {opts.keys} keys `key:%012d` with {opts.datasize}-byte values, pipelined "
            f"SET in batches of {LOAD_BATCH}, appendfsync {opts.fsync[0]}")


def measure_memory(opts: argparse.Namespace, root: Path) -> Report:
    """RSS growth per key loaded, over each server's own empty-server baseline."""
    context = [*common_context(opts), load_context(opts)]
    with running_pair(opts, opts.fsync[0], root) as pair:
        empty = {server.name: server.memory_kb() for server in pair}
        for server in pair:
            progress(f"loading {opts.keys} keys into {server.name}")
            load_keys(server, opts.keys, opts.datasize)
        loaded = {server.name: server.memory_kb() for server in pair}
    figures = {
        "VmRSS empty (MiB)": {s: empty[s]["VmRSS"] / 1024 for s in SIDES},
        "VmRSS loaded (MiB)": {s: loaded[s]["VmRSS"] / 1024 for s in SIDES},
        **{f"{field} per key (bytes)": {
            s: (loaded[s][field] - empty[s][field]) * 1024 / opts.keys for s in SIDES}
           for field in ("VmRSS", "RssAnon")},
    }
    return Report(
        title="caskd vs redis-server: memory",
        context=context,
        columns=["metric", "caskd", "redis", "ratio"],
        rows=[[metric, fmt(v["caskd"], ",.1f"), fmt(v["redis"], ",.1f"), fmt(ratio(v))]
              for metric, v in figures.items()],
        notes=["per key = (loaded - empty) / keys. ratio = caskd / redis (below 1: caskd "
               "smaller). RssAnon leaves out file pages caskd maps to read its log."],
        chart={field: ratio(figures[f"{field} per key (bytes)"])
               for field in ("VmRSS", "RssAnon")},
        chart_label="caskd / redis, memory per key (lower is better)",
        data={"keys": opts.keys, "datasize": opts.datasize, "empty_kb": empty,
              "loaded_kb": loaded, "figures": figures},
    )


def ratio(values: dict[str, float]) -> float | None:
    return values["caskd"] / values["redis"] if values["redis"] else None


def time_restarts(pair: tuple[Server, Server], rounds: int, keys: int) -> dict[str, list[float]]:
    """Stop and restart each server on its data dir, in turn; seconds until PONG."""
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    for round_index in range(rounds):
        for server in in_turn(pair, round_index):
            server.stop()
            times[server.name].append(server.start())
            expect_dbsize(server, keys)
            progress(f"[restart round {round_index + 1}/{rounds}] {server.name:5} "
                     f"{times[server.name][-1]:.3f} s")
    return times


def rewrite_idle(state: dict[str, Any]) -> bool:
    return not state.get("aof_rewrite_in_progress") and not state.get("aof_rewrite_scheduled")


def rewrite_log(server: Server, timeout: float) -> None:
    """BGREWRITEAOF, then poll INFO persistence until that rewrite has finished."""
    with server.client() as client:
        def state() -> dict[str, Any]:
            return client.info("persistence")

        wait_until(lambda: rewrite_idle(state()), timeout,
                   f"{server.name}'s automatic rewrite to finish")
        # Finished rewrites are counted where the server reports aof_rewrites, so a
        # rewrite that has not yet flagged itself in progress is not taken for done.
        before = state().get("aof_rewrites", -1)
        client.bgrewriteaof()

        def done() -> bool:
            now = state()
            return rewrite_idle(now) and now.get("aof_rewrites", 0) > before

        wait_until(done, timeout, f"{server.name}'s BGREWRITEAOF to finish")
        status = state().get("aof_last_bgrewrite_status", "ok")
    if status != "ok":
        raise BenchError(f"{server.name}: BGREWRITEAOF failed (status {status})")


def measure_restart(opts: argparse.Namespace, root: Path) -> Report:
    """Seconds from process start to PONG on a loaded data dir, then after a rewrite."""
    context = [*common_context(opts), load_context(opts)]
    phases: dict[str, dict[str, list[float]]] = {}
    with running_pair(opts, opts.fsync[0], root) as pair:
        for server in pair:
            progress(f"loading {opts.keys} keys into {server.name}")
            load_keys(server, opts.keys, opts.datasize)
        phases["log as written"] = time_restarts(pair, opts.rounds, opts.keys)
        if opts.rewrite:
            for server in pair:
                rewrite_log(server, opts.timeout)
            phases["after BGREWRITEAOF"] = time_restarts(pair, opts.rounds, opts.keys)
    summary = {phase: {"caskd_s": median(t["caskd"]), "redis_s": median(t["redis"]),
                       "ratio": paired_ratio(t["caskd"], t["redis"])}
               for phase, t in phases.items()}
    return Report(
        title="caskd vs redis-server: restart",
        context=context,
        columns=["data dir", "caskd s", "redis s", "ratio"],
        rows=[[phase, fmt(s["caskd_s"], ".3f"), fmt(s["redis_s"], ".3f"), fmt(s["ratio"])]
              for phase, s in summary.items()],
        notes=[f"time from process start until PING answers PONG, DBSIZE checked after; "
               f"medians over {opts.rounds} restart(s); ratio = median of per-round "
               f"caskd / redis (below 1: caskd faster). Page cache is warm."],
        chart={phase: s["ratio"] for phase, s in summary.items()},
        chart_label="caskd / redis, seconds to PONG (lower is better)",
        data={"keys": opts.keys, "datasize": opts.datasize, "times_s": phases,
              "summary": summary},
    )


# caskd's own compaction triggers, off: only the BGREWRITEAOF below may compact.
NO_AUTO_COMPACTION = ["--auto-aof-rewrite-percentage", "0", "--caskd-dead-ratio-percent", "100"]
OVERWRITES = 5  # every key written five times: 80% of the log is dead


def measure_compaction(opts: argparse.Namespace, root: Path) -> Report:
    """caskd alone: SET -P 1 while BGREWRITEAOF merges a log that is 80% dead, as a ratio
    of the same run without compaction (DESIGN.md: writes go on at close to full speed)."""
    context = [*common_context(opts), f"load: {opts.keys} keys written {OVERWRITES} times "
               f"({opts.datasize}-byte values), appendfsync {opts.fsync[0]}"]
    server = Server("caskd", [*opts.caskd_cmd, *NO_AUTO_COMPACTION],
                    Path(tempfile.mkdtemp(prefix="caskd-compaction-", dir=root)), opts.fsync[0])
    args = benchmark_args(opts, "set", "1")
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        server.start()
        for round_index in range(OVERWRITES):
            progress(f"loading {opts.keys} keys into caskd ({round_index + 1}/{OVERWRITES})")
            load_keys(server, opts.keys, opts.datasize)
        quiet = run_benchmark(server, args, opts.timeout)[0]
        with server.client() as client:
            client.bgrewriteaof()
            busy = run_benchmark(server, args, opts.timeout)[0]
            overlapped = client.info("persistence")["aof_rewrite_in_progress"] == 1
            wait_until(lambda: rewrite_idle(client.info("persistence")), opts.timeout,
                       "caskd's BGREWRITEAOF to finish")
            status = client.info("persistence")["aof_last_bgrewrite_status"]
    if status != "ok":
        raise BenchError(f"caskd: BGREWRITEAOF failed (status {status})")
    rows = [["SET -P 1 rps", fmt(quiet.rps, ",.0f"), fmt(busy.rps, ",.0f"),
             fmt(busy.rps / quiet.rps)],
            ["SET -P 1 p99 ms", fmt(quiet.p99_ms, ".3f"), fmt(busy.p99_ms, ".3f"),
             fmt(busy.p99_ms / quiet.p99_ms if quiet.p99_ms and busy.p99_ms else None)]]
    return Report(
        title="caskd: throughput during compaction",
        context=context,
        columns=["metric", "idle", "during BGREWRITEAOF", "ratio"],
        rows=rows,
        notes=["ratio = during / idle. The compaction was "
               + ("still running when the run ended." if overlapped else
                  "over before the run ended: use more --requests for a full overlap.")],
        chart={"SET -P 1 rps": busy.rps / quiet.rps},
        chart_label="during BGREWRITEAOF / idle (higher is better)",
        chart_reference="idle",
        data={"idle": dataclasses.asdict(quiet), "busy": dataclasses.asdict(busy),
              "overlapped": overlapped},
    )


def common_context(opts: argparse.Namespace) -> list[str]:
    """Machine, date and both server command lines: what a reader needs to weigh the numbers."""
    return [
        f"machine: {machine()}",
        f"date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"redis: {redis_version()}: "
        f"`{shlex.join(server_argv(REDIS_CMD, 'PORT', 'DIR', 'FSYNC'))}`",
        f"caskd: `{shlex.join(server_argv(opts.caskd_cmd, 'PORT', 'DIR', 'FSYNC'))}`",
    ]


def machine() -> str:
    return (f"{len(os.sched_getaffinity(0))} CPUs, {cpu_model()}, "
            f"{platform.system()} {platform.release()}")


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def redis_version() -> str:
    """`redis-server 7.0.15`, from the `v=` field of `redis-server --version`."""
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                         check=True).stdout
    version = next((word[2:] for word in out.split() if word.startswith("v=")), out.strip())
    return f"redis-server {version}"


def write_outputs(report: Report, out_dir: Path, name: str) -> None:
    """``name``.md, .json, and .png when matplotlib is importable (one name per mode,
    so the results of every mode can sit in one directory)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.md").write_text(report.markdown())
    (out_dir / f"{name}.json").write_text(json.dumps(dataclasses.asdict(report), indent=2)
                                          + "\n")
    stamp = f"{machine()}; {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    write_chart(report, out_dir / f"{name}.png", stamp)


def write_chart(report: Report, path: Path, stamp: str) -> None:
    """One bar per entry of ``report.chart``: caskd's figure as a ratio of the other's,
    against a dashed line at 1 (the reference). ``stamp``: machine and date."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return  # the chart is optional; the Markdown and JSON carry the same numbers
    bars = {label: value for label, value in report.chart.items() if value is not None}
    if not bars:
        return
    labels, ratios = list(bars), list(bars.values())
    fig, ax = plt.subplots(figsize=(max(6.4, 2.5 + 1.1 * len(labels)), 5.0))
    drawn = ax.bar(labels, ratios, width=0.6, color="tab:blue")
    ax.bar_label(drawn, labels=[f"{value:.2f}" for value in ratios], padding=3)
    ax.axhline(1.0, color="tab:red", linestyle="--", linewidth=1.2,
               label=f"{report.chart_reference} = 1.0")
    ax.set_ylim(0, max(1.0, *ratios) * 1.18)
    ax.set_ylabel(report.chart_label)
    ax.set_xlabel(", ".join(report.columns[:report.text_columns]))
    ax.legend(loc="upper right", frameon=False)
    fig.suptitle(report.title, fontweight="bold")
    ax.set_title(stamp, fontsize=9, color="dimgray")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


MODES: dict[str, Callable[[argparse.Namespace, Path], Report]] = {
    "throughput": measure_throughput, "memory": measure_memory, "restart": measure_restart,
    "compaction": measure_compaction}


def csv_list(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        items = [kind(item.strip()) for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError("expected a comma-separated list")
        return items
    return parse


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def fsync_policy(text: str) -> str:
    if text not in FSYNC_POLICIES:
        raise argparse.ArgumentTypeError(f"appendfsync must be one of {FSYNC_POLICIES}")
    return text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--memory", dest="mode", action="store_const", const="memory",
                      help="compare RSS per key after loading --keys keys")
    mode.add_argument("--restart", dest="mode", action="store_const", const="restart",
                      help="compare time to PONG when restarting on --keys loaded keys")
    mode.add_argument("--compaction", dest="mode", action="store_const", const="compaction",
                      help="caskd alone: SET throughput during BGREWRITEAOF vs without")
    parser.set_defaults(mode="throughput")
    parser.add_argument("--caskd-cmd", type=shlex.split,
                        default=[sys.executable, "-m", "server"],
                        help="command starting caskd; --port/--dir/--appendfsync/--loglevel "
                             "are appended (default: python -m server)")
    parser.add_argument("--tests", type=csv_list(str), default=["set", "get"],
                        help="redis-benchmark -t names (default: set,get)")
    parser.add_argument("--pipeline", type=csv_list(positive), default=[1, 16],
                        help="pipeline depths, -P (default: 1,16)")
    parser.add_argument("--requests", "-n", type=positive,
                        help=f"requests per run (default {DEFAULTS['requests']}, "
                             f"--quick {QUICK['requests']})")
    parser.add_argument("--clients", "-c", type=positive, default=50,
                        help="parallel connections (default: 50)")
    parser.add_argument("--datasize", "-d", type=positive, default=100,
                        help="value size in bytes (default: 100)")
    parser.add_argument("--keyspace", "-r", type=positive, default=100_000,
                        help="random key space, -r (default: 100000)")
    parser.add_argument("--fsync", type=csv_list(fsync_policy), default=["everysec", "always"],
                        help="appendfsync policies, servers restarted for each; read-only "
                             "tests run under the first only; --memory/--restart use the "
                             "first (default: everysec,always)")
    parser.add_argument("--rounds", type=positive,
                        help=f"rounds, medians reported (default {DEFAULTS['rounds']}, "
                             f"--quick {QUICK['rounds']})")
    parser.add_argument("--keys", type=positive,
                        help=f"keys loaded by --memory/--restart (default {DEFAULTS['keys']}, "
                             f"--quick {QUICK['keys']})")
    parser.add_argument("--rewrite", action="store_true",
                        help="--restart: also time a restart after BGREWRITEAOF on both")
    parser.add_argument("--quick", action="store_true",
                        help="small defaults for a CI smoke test")
    parser.add_argument("--timeout", type=positive, default=600,
                        help="seconds allowed per redis-benchmark run or rewrite (default: 600)")
    parser.add_argument("--out", type=Path,
                        help="write MODE.md/.json/.png (MODE: throughput, memory...) into "
                             "this dir; the chart needs matplotlib (in the test extra)")
    opts = parser.parse_args(argv)
    for name, default in (QUICK if opts.quick else DEFAULTS).items():
        if getattr(opts, name) is None:
            setattr(opts, name, default)
    return opts


def _exit_on_signal(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)  # unwinds through the finally blocks that stop the servers


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        with tempfile.TemporaryDirectory(prefix="caskd-bench-") as tmp:
            report = MODES[opts.mode](opts, Path(tmp))
    except (BenchError, redis.RedisError, OSError, subprocess.CalledProcessError) as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    print(report.markdown())
    if opts.out:
        write_outputs(report, opts.out, opts.mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
