"""Instructions per command through the server's request path, counted by callgrind.

``python -m scripts.instructions [--commands PING,GET,SET] [--pipelines 1,16]``

Instruction counts are deterministic, so unlike throughput they can be compared on a
shared, noisy machine. Each case runs a worker under ``valgrind --tool=callgrind``
twice, with ``--requests`` and with twice as many requests; the difference divided by
the extra commands is the cost of one command, with interpreter start-up, imports
and warm-up cancelled out. A round is what one socket read does: a pipeline of
requests fed to a Connection (a real Server and Engine on a scratch directory, with
a transport that only counts bytes), then the end-of-iteration commit the event loop
would run. System calls (the log's write) are the kernel's work, not counted here.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable

KEYS = 1000  # the keys a case cycles through, all present in the index for GET
VALUE = b"x" * 100  # redis-benchmark's -d 100


def _request(command: str, n: int) -> bytes:
    key = b"key:%06d" % (n % KEYS)
    if command == "PING":
        return b"*1\r\n$4\r\nPING\r\n"
    if command == "GET":
        return b"*2\r\n$3\r\nGET\r\n$10\r\n%b\r\n" % key
    if command == "SET":
        return b"*3\r\n$3\r\nSET\r\n$10\r\n%b\r\n$100\r\n%b\r\n" % (key, VALUE)
    if command == "MSET":  # redis-benchmark's MSET: 10 keys, one batch record in the log
        keys = (b"key:%06d" % ((10 * n + i) % KEYS) for i in range(10))
        pairs = b"".join(b"$10\r\n%b\r\n$100\r\n%b\r\n" % (k, VALUE) for k in keys)
        return b"*21\r\n$4\r\nMSET\r\n" + pairs
    raise SystemExit(f"unknown command {command!r}")


class _Transport:
    """Takes the replies and counts them; reading is never paused here."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def get_extra_info(self, name: str) -> object:
        return ("127.0.0.1", 50000) if name == "peername" else None

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class _Loop:
    """Runs what the server schedules with call_soon when the driver says so."""

    def __init__(self) -> None:
        self.ready: list[Callable[[], object]] = []

    def call_soon(self, callback: Callable[[], object], *args: object) -> None:
        self.ready.append(lambda: callback(*args))

    def run_ready(self) -> None:
        ready, self.ready = self.ready, []
        for callback in ready:
            callback()


def work(command: str, pipeline: int, rounds: int) -> None:
    """The worker: warm up, then ``rounds`` reads of ``pipeline`` requests each."""
    from server.app import Server
    from server.config import parse_command_line
    from server.transport import Connection

    with tempfile.TemporaryDirectory() as scratch:
        # No fsync thread, and no slowlog: under valgrind a command descheduled for 10 ms
        # would be logged, and wall-clock work is what this must not count.
        config = parse_command_line(["--dir", scratch, "--port", "0", "--appendfsync", "no",
                                     "--slowlog-log-slower-than", "-1"])
        server = Server(config)
        server.loop = _Loop()
        server.open_storage()
        connection = Connection(server)
        transport = _Transport()
        connection.connection_made(transport)
        for n in range(KEYS):
            server.engine.put(0, b"key:%06d" % n, VALUE)
        server.engine.flush()
        reads = [b"".join(_request(command, r * pipeline + i) for i in range(pipeline))
                 for r in range(KEYS)]
        for data in reads[:100]:  # warm-up: the same in both runs, so it cancels out
            connection.data_received(data)
            server.loop.run_ready()
        for r in range(rounds):
            connection.data_received(reads[r % KEYS])
            server.loop.run_ready()
        assert transport.written, "no reply was written"
        server.engine.close()


def _instructions(command: str, pipeline: int, rounds: int) -> int:
    """Instructions callgrind counts for a worker run of ``rounds`` rounds."""
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "scripts.instructions", "--worker", command, str(pipeline),
         str(rounds)], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"})  # the same dict layouts in every run
    match = re.search(r"Collected : (\d+)", result.stderr)
    if match is None:
        raise SystemExit(f"no instruction count from callgrind:\n{result.stderr}")
    return int(match.group(1))


def per_command(command: str, pipeline: int, rounds: int) -> float:
    base = _instructions(command, pipeline, rounds)
    double = _instructions(command, pipeline, 2 * rounds)
    return (double - base) / (rounds * pipeline)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", default="PING,GET,SET")
    parser.add_argument("--pipelines", default="1,16")
    parser.add_argument("--requests", type=int, default=1600,
                        help="requests in the shorter run of each case (default 1600)")
    parser.add_argument("--worker", nargs=3, metavar=("COMMAND", "PIPELINE", "ROUNDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        command, pipeline, rounds = args.worker
        work(command, int(pipeline), int(rounds))
        return 0
    from server.compiled import status
    pipelines = [int(p) for p in args.pipelines.split(",")]
    print(f"instructions per command ({status()[1]})\n")
    print("| command | " + " | ".join(f"-P {p}" for p in pipelines) + " |")
    print("|---|" + "--:|" * len(pipelines))
    for command in args.commands.split(","):
        counts = [per_command(command, p, max(1, args.requests // p)) for p in pipelines]
        print(f"| {command} | " + " | ".join(f"{c:,.0f}" for c in counts) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
