"""Micro-benchmark of the storage engine alone, in-process (no server, no sockets).

Measures, for N keys with fixed-size values:

- puts/s, flushing every ``--flush-every`` puts, as the server flushes once per
  event-loop iteration;
- gets/s, in random key order;
- open time with the hint files written for the sealed segments (the last one
  is replayed), without any (every segment replayed) and after a compaction,
  each in a fresh child process;
- process memory per key: the growth of that child's anonymous RSS across the
  open (mapped log pages are page cache, not counted), divided by N, minus the
  key's own length (so what remains is the index's overhead per key).

Targets (issue 2): >= 235k puts/s, >= 480k gets/s, open < 2 s with hints,
< 120 bytes per key beyond the key. Run one benchmark at a time on a shared
machine; ``--profile`` prints a cProfile of the put and get loops.

    python -m scripts.bench_engine [--keys N] [--value-size B] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storage.engine import Engine

DEFAULT_KEY_SIZE = 16  # b"key:%012d", as redis-benchmark's key:__rand_int__


def key_format(size: int) -> bytes:
    return b"key:%0" + str(size - 4).encode() + b"d"


def make_keys(count: int, size: int = DEFAULT_KEY_SIZE) -> list[bytes]:
    fmt = key_format(size)
    return [fmt % i for i in range(count)]


def rss_anon_bytes() -> int:
    """Anonymous resident memory of this process (Linux): the RSS without the
    mapped log files' pages, which are page cache the kernel can reclaim."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


def bench_puts(engine: Engine, keys: list[bytes], value: bytes, flush_every: int) -> float:
    """Seconds to put every key, flushing every ``flush_every`` puts."""
    put, flush = engine.put, engine.flush
    started = time.perf_counter()
    countdown = flush_every
    for key in keys:
        put(0, key, value)
        countdown -= 1
        if not countdown:
            flush()
            countdown = flush_every
    flush()
    return time.perf_counter() - started


def bench_gets(engine: Engine, keys: list[bytes]) -> float:
    get = engine.get
    started = time.perf_counter()
    for key in keys:
        get(0, key)
    return time.perf_counter() - started


def open_child(directory: Path, count: int, key_size: int) -> dict:
    """Open ``directory`` in a fresh process: load time and memory per key."""
    out = subprocess.run(
        [sys.executable, "-m", "scripts.bench_engine", "--open-only", str(directory),
         "--keys", str(count), "--key-size", str(key_size)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout)


def open_only(directory: Path, count: int, key_len: int) -> None:
    """Child side of :func:`open_child`: print JSON figures."""
    gc.collect()
    before = rss_anon_bytes()
    started = time.perf_counter()
    engine = Engine(directory, fsync="no")
    seconds = time.perf_counter() - started
    gc.collect()
    after = rss_anon_bytes()
    keys = engine.dbsize(0)
    engine.close()
    print(json.dumps({"seconds": seconds, "keys": keys,
                      "bytes_per_key": (after - before) / count - key_len}))


def compact(engine: Engine) -> None:
    engine.start_compaction()
    while engine.compacting:
        engine.compaction_step()
        time.sleep(0.01)


def profile(label: str, func, *args) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    func(*args)
    profiler.disable()
    print(f"--- profile: {label}")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--key-size", type=int, default=DEFAULT_KEY_SIZE,
                        help="key length in bytes (memory per key moves in 16-byte steps: "
                             "CPython rounds each key object up to a multiple of 16)")
    parser.add_argument("--flush-every", type=int, default=100)
    parser.add_argument("--fsync", default="everysec", choices=("always", "everysec", "no"))
    parser.add_argument("--dir", help="data directory (default: a fresh temp dir)")
    parser.add_argument("--profile", action="store_true", help="cProfile the put/get loops")
    parser.add_argument("--skip-open", action="store_true", help="only puts and gets")
    parser.add_argument("--open-only", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.open_only:
        open_only(Path(args.open_only), args.keys, args.key_size)
        return 0

    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="caskd-bench-"))
    directory = base / "data"
    shutil.rmtree(directory, ignore_errors=True)
    keys = make_keys(args.keys, args.key_size)
    value = os.urandom(args.value_size)
    order = keys[:]
    random.Random(1).shuffle(order)
    results: dict[str, float] = {}
    try:
        engine = Engine(directory, fsync=args.fsync)
        gc.collect()
        if args.profile:
            profile("puts", bench_puts, engine, keys, value, args.flush_every)
            profile("gets", bench_gets, engine, order)
        else:
            results["puts_per_s"] = args.keys / bench_puts(engine, keys, value,
                                                           args.flush_every)
            results["gets_per_s"] = args.keys / bench_gets(engine, order)
        engine.close()  # which writes the sealed segments' hint files
        del engine
        if not args.skip_open:
            hinted = open_child(directory, args.keys, args.key_size)
            results["open_s_hints_as_written"] = hinted["seconds"]
            for hint in directory.glob("*.hint"):
                hint.unlink()
            plain = open_child(directory, args.keys, args.key_size)
            results["open_s_no_hints"] = plain["seconds"]
            results["bytes_per_key_no_hints"] = plain["bytes_per_key"]
            engine = Engine(directory, fsync="no")
            compact(engine)
            engine.close()
            hinted = open_child(directory, args.keys, args.key_size)
            results["open_s_hints"] = hinted["seconds"]
            results["bytes_per_key"] = hinted["bytes_per_key"]
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    print(f"keys={args.keys} key_size={args.key_size} value_size={args.value_size} "
          f"fsync={args.fsync}")
    for name, figure in results.items():
        print(f"{name:24} {figure:>14,.2f}" if figure < 1000 else f"{name:24} {figure:>14,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
