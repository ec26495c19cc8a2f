"""HTTP throughput: PUT and GET requests per second over keep-alive connections.

``python -m scripts.bench_http [--seconds 10] [--connections 50] [--datasize 100]
[--keyspace 100000] [--fsync everysec]`` starts caskd with an HTTP port in a temporary
directory, runs each workload from an asyncio client (aiohttp, one keep-alive
connection per worker) for ``--seconds``, and prints a Markdown table, to set beside
the Flask store caskd began as (750-770 requests/s). The client shares the machine
with the server, as redis-benchmark does in scripts/bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from scripts.bench import HOST, START_TIMEOUT_S, Server, free_port, wait_until
from scripts.benchlib import markdown_table

FLASK_STORE_RPS = "750-770"


async def _worker(session: aiohttp.ClientSession, base: str, method: str, body: bytes,
                  keyspace: int, deadline: float, counts: list[int]) -> None:
    while time.monotonic() < deadline:
        url = f"{base}/kv/key:{random.randrange(keyspace)}"
        async with session.request(method, url, data=body if method == "PUT" else None) \
                as response:
            await response.read()
            if response.status >= 300 and response.status != 404:
                raise RuntimeError(f"{method} {url}: {response.status} {await response.text()}")
        counts[0] += 1


async def measure(base: str, method: str, opts: argparse.Namespace) -> float:
    """Requests per second of ``method`` over ``opts.connections`` keep-alive workers."""
    body = b"x" * opts.datasize
    counts = [0]
    connector = aiohttp.TCPConnector(limit=opts.connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        deadline = started + opts.seconds
        await asyncio.gather(*(_worker(session, base, method, body, opts.keyspace, deadline,
                                       counts) for _ in range(opts.connections)))
        return counts[0] / (time.monotonic() - started)


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--datasize", type=int, default=100)
    parser.add_argument("--keyspace", type=int, default=100_000)
    parser.add_argument("--fsync", default="everysec", choices=("always", "everysec", "no"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    http_port = free_port()
    with tempfile.TemporaryDirectory(prefix="caskd-bench-http-") as root:
        server = Server("caskd", [sys.executable, "-m", "server", "--http-port",
                                  str(http_port)], Path(root) / "data", opts.fsync)
        server.start()
        try:
            wait_until(lambda: _listening(http_port), START_TIMEOUT_S, "caskd's HTTP port")
            base = f"http://{HOST}:{http_port}"
            rows = [[f"HTTP {method} (keep-alive, {opts.connections} connections, "
                     f"{opts.datasize} B)", opts.fsync,
                     f"{asyncio.run(measure(base, method, opts)):,.0f}", FLASK_STORE_RPS]
                    for method in ("PUT", "GET")]  # PUT first: GET then finds the keys
        finally:
            server.stop()
    print(markdown_table(["workload", "fsync", "caskd rps", "Flask store rps"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
