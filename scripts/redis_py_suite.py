"""redis-py's own test suite against caskd, with redis-server as the control.

`make test-peers` runs this: it downloads the pinned redis-py sdist from PyPI into
.cache/ (once; the sdist carries redis-py's tests/), starts caskd and a real
redis-server on free ports, runs the files in scripts/redis_py_deselected.py
against each with `--redis-url`, in RESP3 (redis-py 8's default) and RESP2, and
prints pass/fail/skip/deselected counts for each. It exits non-zero if any selected
test fails on either server, so a failure the control shares is redis-py's own and
belongs in the deselection lists, and one only caskd has is caskd's to fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.redis_py_deselected import DESELECTED_MARKERS, TEST_FILES, deselected

REDIS_PY_VERSION = "8.1.0"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


def suite_dir(version: str = REDIS_PY_VERSION) -> Path:
    """The unpacked sdist of redis-py `version`, downloaded with pip on first use."""
    unpacked = CACHE / f"redis-{version}"
    if (unpacked / "tests" / "conftest.py").exists():
        return unpacked
    CACHE.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
                    "--no-deps", f"redis=={version}", "--dest", str(CACHE)], check=True)
    with tarfile.open(CACHE / f"redis-{version}.tar.gz") as sdist:
        sdist.extractall(CACHE, filter="data")
    return unpacked


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def running(name: str, argv: list[str], port: int, log: Path) -> Iterator[int]:
    """Run a server until the block ends; yield its port once it answers PING."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not answers_ping(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start; see {log}")
                time.sleep(0.05)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def server_argv(server: str, port: int, data_dir: Path) -> list[str]:
    # DEBUG is on for both: redis-py's suite uses DEBUG OBJECT/SLEEP as a user would.
    if server == "caskd":
        return [sys.executable, "-m", "server", "--port", str(port), "--dir", str(data_dir),
                "--enable-debug-command", "yes"]
    return ["redis-server", "--port", str(port), "--dir", str(data_dir), "--save", "",
            "--appendonly", "no", "--enable-debug-command", "yes"]


@dataclasses.dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    deselected: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)


def read_junit(path: Path, deselected_count: int) -> Counts:
    counts = Counts(deselected=deselected_count)
    for case in ET.parse(path).getroot().iter("testcase"):
        node = f"{case.get('classname', '').replace('.', '/')}::{case.get('name')}"
        if case.find("skipped") is not None:
            counts.skipped += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            counts.failed += 1
            counts.failures.append(node)
        else:
            counts.passed += 1
    return counts


def run_suite(suite: Path, port: int, protocol: int, junit: Path, extra: list[str]) -> Counts:
    markers = " and ".join(f"not {marker}" for marker in DESELECTED_MARKERS)
    nodes = deselected()
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=",
            "-q", "--tb=short", "-W", "ignore", "--timeout", "60",
            f"--redis-url=redis://127.0.0.1:{port}/0", f"--protocol={protocol}",
            # Never the suite's default localhost:6479 (a modules server): nothing listens here.
            f"--redis-mod-url=redis://127.0.0.1:{free_port()}",
            "-m", markers, f"--junitxml={junit}", *extra, *TEST_FILES]
    for node in nodes:
        argv += ["--deselect", node]
    result = subprocess.run(argv, cwd=suite, capture_output=True, text=True)
    sys.stdout.write(result.stdout[-20000:])
    if not junit.exists():
        sys.stderr.write(result.stderr)
        raise RuntimeError(f"pytest did not run (exit {result.returncode})")
    return read_junit(junit, deselected_count(result.stdout))


def deselected_count(pytest_output: str) -> int:
    """pytest's own count of deselected tests (markers and node ids together)."""
    for line in reversed(pytest_output.splitlines()):
        words = line.replace(",", " ").split()
        if "deselected" in words:
            return int(words[words.index("deselected") - 1])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["caskd", "redis", "both"], default="both")
    parser.add_argument("--protocol", type=int, choices=[2, 3], action="append",
                        help="RESP version (default: 3, then 2)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (e.g. -k name)")
    args = parser.parse_args(argv)
    suite = suite_dir()
    servers = ["redis", "caskd"] if args.server == "both" else [args.server]
    if "redis" in servers and shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    protocols = args.protocol or [3, 2]
    results: dict[str, Counts] = {}
    with tempfile.TemporaryDirectory(prefix="caskd-peers-") as tmp:
        for server in servers:
            port = free_port()
            data = Path(tmp) / server
            data.mkdir()
            with running(server, server_argv(server, port, data), port,
                         Path(tmp) / f"{server}.log"):
                for protocol in protocols:
                    run = f"{server} RESP{protocol}"
                    print(f"== redis-py {REDIS_PY_VERSION} suite against {run} on port {port}",
                          flush=True)
                    results[run] = run_suite(suite, port, protocol,
                                             Path(tmp) / f"{server}-{protocol}.xml",
                                             args.pytest_args)
    print(f"\nredis-py {REDIS_PY_VERSION}: {', '.join(TEST_FILES)}")
    for run, counts in results.items():
        print(f"{run:>12}: {counts.passed} passed, {counts.failed} failed, "
              f"{counts.skipped} skipped, {counts.deselected} deselected")
        for node in counts.failures:
            print(f"        FAILED {node}")
    return 1 if any(counts.failed for counts in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
