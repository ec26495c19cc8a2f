"""Try caskd highly available: a master, replicas and real redis-sentinel processes.

    python -m scripts.failover_demo [--replicas N] [--sentinels S] [--base-port P] [--dir DIR]
    make failover-demo ARGS="--replicas 2"

The master listens on P, the replicas on P+1 … P+N, the sentinels on the S ports
after them. Data, logs and the sentinels' configs go to DIR (kept) or to a temp
dir removed on exit. Runs until Ctrl-C or SIGTERM. `kill -9` the master and
watch a sentinel promote a replica (SENTINEL get-master-addr-by-name caskd).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from pathlib import Path

from scripts.cluster_demo import Node, check_free, serve_until_stopped
from scripts.sentinel import MASTER_NAME, Sentinel, Watch, find_sentinel
from scripts.twemproxy import HOST


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.failover_demo",
        description="Start a caskd master, replicas and redis-sentinels until Ctrl-C.")
    parser.add_argument("--replicas", type=int, default=2, help="number of replicas (2)")
    parser.add_argument("--sentinels", type=int, default=3, help="number of sentinels (3)")
    parser.add_argument("--base-port", type=int, default=7400,
                        help="the master's port; replicas, then sentinels, on the next ports")
    parser.add_argument("--dir", type=Path, help="keep data, logs and configs here "
                        "(default: a temp dir removed on exit)")
    opts = parser.parse_args(argv)
    if not 1 <= opts.replicas <= 20 or not 1 <= opts.sentinels <= 9:
        parser.error("--replicas must be 1-20 and --sentinels 1-9")
    if not 1024 <= opts.base_port <= 65535 - opts.replicas - opts.sentinels:
        parser.error("--base-port leaves no room for the replicas and sentinels")
    return opts


def banner(nodes: list[Node], sentinels: list[Sentinel]) -> str:
    addresses = ", ".join(f"('{HOST}', {s.port})" for s in sentinels)
    lines = [f"caskd with {len(nodes) - 1} replica(s) and {len(sentinels)} sentinel(s)", "",
             f"  master:     {HOST}:{nodes[0].port}  data {nodes[0].data_dir}"]
    lines += [f"  replica:    {HOST}:{node.port}  data {node.data_dir}" for node in nodes[1:]]
    lines += [f"  sentinel:   {HOST}:{s.port}  config {s.config_path}" for s in sentinels]
    lines += ["", f"  redis-cli -p {sentinels[0].port} sentinel get-master-addr-by-name "
              f"{MASTER_NAME}",
              f"  redis.sentinel.Sentinel([{addresses}]).master_for('{MASTER_NAME}')", "",
              "Try `kill -9` on the master: a replica is promoted within seconds.",
              "Ctrl-C stops everything."]
    return "\n".join(lines)


def start_all(opts: argparse.Namespace, workdir: Path, stack: contextlib.ExitStack,
              stop: threading.Event) -> bool:
    """Start the master, the replicas, then the sentinels, unless ``stop`` is set
    first; True when all are up. ``stack`` stops whatever started, in reverse order."""
    binary = find_sentinel()
    if binary is None:
        raise RuntimeError("redis-sentinel is not installed (apt-get install redis-sentinel)")
    ports = list(range(opts.base_port, opts.base_port + 1 + opts.replicas + opts.sentinels))
    check_free(ports)
    master_port, node_ports = ports[0], ports[:1 + opts.replicas]
    nodes = [Node("master", master_port, workdir, [])]
    nodes += [Node(f"replica{i}", port, workdir, ["--replicaof", HOST, str(master_port)])
              for i, port in enumerate(node_ports[1:], start=1)]
    watch = Watch(master_port, quorum=opts.sentinels // 2 + 1)
    sentinels = [Sentinel(workdir / "sentinels", port, watch, binary)
                 for port in ports[1 + opts.replicas:]]
    for process in (*nodes, *sentinels):
        if stop.is_set():
            return False
        stack.callback(process.stop)
        process.start()
    print(banner(nodes, sentinels), flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    return serve_until_stopped(
        "failover_demo", opts.dir, "caskd-failover-",
        lambda workdir, stack, stop: start_all(opts, workdir, stack, stop),
        "the sentinels and the nodes")


if __name__ == "__main__":
    sys.exit(main())
