"""Try caskd scaled out: N local caskd nodes behind twemproxy (nutcracker).

    python -m scripts.cluster_demo [--nodes N] [--base-port P] [--dir DIR]
    make cluster-demo ARGS="--nodes 5"

The proxy listens on P, the nodes on P+1 … P+N, nutcracker's JSON stats on
P+N+1. Data, logs and the generated nutcracker.yml go to DIR (kept, so a second
run finds the data again) or to a temp dir removed on exit. Runs until Ctrl-C
or SIGTERM, then stops the proxy and the nodes (gracefully: SIGTERM, which
makes caskd flush and fsync its log).
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from scripts.twemproxy import (
    HOST,
    Nutcracker,
    Pool,
    find_nutcracker,
    node_name,
    stop_process,
    wait_for_port,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


class Node:
    """One caskd process on ``port`` with its data in ``workdir/<name>``."""

    def __init__(self, name: str, port: int, workdir: Path, extra: list[str]) -> None:
        self.name = name
        self.port = port
        self.data_dir = workdir / name
        self.log_path = workdir / f"{name}.log"
        self.argv = [sys.executable, "-m", "server", "--port", str(port),
                     "--dir", str(self.data_dir), *extra]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            # Own session, like nutcracker: Ctrl-C reaches the launcher alone.
            self.proc = subprocess.Popen(self.argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_for_port(self.port, self.proc, f"caskd {self.name}", self.log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.cluster_demo",
        description="Start N caskd nodes behind twemproxy (nutcracker) until Ctrl-C.")
    parser.add_argument("--nodes", type=int, default=3, help="number of caskd nodes (3)")
    parser.add_argument("--base-port", type=int, default=22121,
                        help="proxy port; nodes on the next N ports, stats after them (22121)")
    parser.add_argument("--dir", type=Path, help="keep data, logs and config here "
                        "(default: a temp dir removed on exit)")
    parser.add_argument("--requirepass", help="password for the nodes; the proxy sends it "
                        "to them (redis_auth) and requires it from clients")
    opts = parser.parse_args(argv)
    if not 1 <= opts.nodes <= 100:
        parser.error("--nodes must be between 1 and 100")
    if not 1024 <= opts.base_port <= 65535 - opts.nodes - 1:
        parser.error("--base-port leaves no room for the nodes and the stats port")
    return opts


def check_free(ports: list[int]) -> None:
    """Refuse ports already taken: a server found there would pass for ours."""
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError as exc:
                raise RuntimeError(f"port {port} is not free ({exc.strerror}); "
                                   f"pick another --base-port") from None


def banner(proxy: Nutcracker, nodes: list[Node], password: str | None) -> str:
    auth = f" -a {shlex.quote(password)} --no-auth-warning" if password else ""
    py_auth = f", password={password!r}" if password else ""
    plural = "s" if len(nodes) != 1 else ""
    lines = [f"caskd cluster: {len(nodes)} node{plural} behind twemproxy", "",
             f"  redis-cli:  redis-cli -p {proxy.port}{auth}",
             f"  redis-py:   redis.Redis(port={proxy.port}, protocol=2, driver_info=None"
             f"{py_auth})",
             "              (older redis-py: lib_name=None, lib_version=None instead of "
             "driver_info;",
             "              pipeline(transaction=False); no MULTI/EXEC, SCAN, INFO, SELECT "
             "via the proxy)"]
    lines += [f"  {node.name}:      {HOST}:{node.port}  data {node.data_dir}" for node in nodes]
    lines += [f"  stats:      JSON on {HOST}:{proxy.stats_port}",
              f"  config:     {proxy.config_path} (logs beside it)", "",
              "Try `kill -9` on a node: its keys fail, then re-hash to the others until "
              "it is back.", "Ctrl-C stops everything."]
    return "\n".join(lines)


def start_cluster(opts: argparse.Namespace, workdir: Path, stack: contextlib.ExitStack,
                  stop: threading.Event) -> bool:
    """Start the nodes, then the proxy, unless ``stop`` is set first; True when all
    are up. ``stack`` stops whatever started, in reverse order."""
    binary = find_nutcracker()
    if binary is None:
        raise RuntimeError("nutcracker is not installed (apt-get install nutcracker)")
    node_ports = [opts.base_port + 1 + i for i in range(opts.nodes)]
    stats_port = opts.base_port + opts.nodes + 1
    check_free([opts.base_port, *node_ports, stats_port])
    extra = ["--requirepass", opts.requirepass] if opts.requirepass else []
    nodes = [Node(node_name(i), port, workdir, extra) for i, port in enumerate(node_ports)]
    for node in nodes:
        if stop.is_set():
            return False
        stack.callback(node.stop)
        node.start()
    pool = Pool(opts.base_port, node_ports, password=opts.requirepass)
    proxy = Nutcracker(workdir, pool, stats_port, binary)
    if stop.is_set():
        return False
    stack.callback(proxy.stop)
    proxy.start()
    print(banner(proxy, nodes, opts.requirepass), flush=True)
    return True


def serve_until_stopped(prog: str, directory: Path | None, temp_prefix: str,
                        start: Callable[[Path, contextlib.ExitStack, threading.Event], bool],
                        what: str) -> int:
    """Run a demo: ``start(workdir, stack, stop)`` starts its processes, then it serves
    until Ctrl-C or SIGTERM, and ``stack`` stops them in reverse order. Data go to
    ``directory`` (kept) or a temp dir removed on exit."""
    # Ctrl-C and SIGTERM only note the request. Raised as KeyboardInterrupt, one
    # arriving inside subprocess.Popen would lose the child being started. SIGINT
    # needs its handler set too: a shell starts background jobs with it ignored.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stop.set())
    with contextlib.ExitStack() as stack:
        if directory is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix=temp_prefix)))
        else:
            workdir = directory.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        try:
            if start(workdir, stack, stop):
                stop.wait()
        except RuntimeError as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 1
        print(f"\nstopping {what}…", flush=True)
    print("stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    return serve_until_stopped(
        "cluster_demo", opts.dir, "caskd-cluster-",
        lambda workdir, stack, stop: start_cluster(opts, workdir, stack, stop),
        "the proxy and the nodes")


if __name__ == "__main__":
    sys.exit(main())
