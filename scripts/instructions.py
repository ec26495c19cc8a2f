"""Instructions per command through the server's request path, counted by callgrind.

``python -m scripts.instructions [--commands PING,GET,SET] [--pipelines 1,16]``

``--commands`` takes PING, GET, SET, MSET, the write and collection commands
in redis-benchmark's own form (``--commands writes``: INCR, LPUSH, RPOP, HSET, SADD,
ZADD; see ``_request``) and these scripts sent with EVALSHA:
EVALSHA_ARGV (``return ARGV[1]``: no redis.call), EVALSHA_SET (``return
redis.call('SET', KEYS[1], ARGV[1])``), EVALSHA_GET (``return redis.call('GET',
KEYS[1])``), EVALSHA_GETSET (make bench's GET + SET) and
redis-py's Lock scripts: LOCK_RELEASE (one request is the SET NX PX that takes the lock
and the release), LOCK_EXTEND, LOCK_REACQUIRE. ``--commands scripts`` runs those seven.

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
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable

KEYS = 1000  # the keys a case cycles through, all present in the index for GET
# redis-benchmark's write and collection tests (src/redis-benchmark.c), one key or
# member per command as its __rand_int__ draws them (here cycling through KEYS).
WRITES = ("INCR", "LPUSH", "RPOP", "HSET", "SADD", "ZADD")
# RPOP's list, filled before the warm-up: more than a run pops (the longer run of
# --requests 1600 pops 100 x 16 + 3,200 at -P 16), and the same in both runs, so that
# it cancels out.
RPOP_FILL = 10_000
VALUE = b"x" * 100  # redis-benchmark's -d 100
TOKEN = b"t" * 32  # a lock's token, as redis-py's Lock makes one (uuid1().hex)

# The scripts of the EVALSHA cases: one redis.call each way, make bench's GET + SET,
# and redis-py's Lock (release, extend, reacquire: sent with EVALSHA, as it sends them).
SCRIPTS = {
    "EVALSHA_ARGV": b"return ARGV[1]",  # what running a script costs, with no redis.call
    "EVALSHA_SET": b"return redis.call('SET', KEYS[1], ARGV[1])",
    "EVALSHA_GET": b"return redis.call('GET', KEYS[1])",
    "EVALSHA_GETSET": b"local old = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], "
                      b"ARGV[1]) return old",
}


def _lock_scripts() -> dict[str, bytes]:
    from redis.lock import Lock
    return {"LOCK_RELEASE": Lock.LUA_RELEASE_SCRIPT.encode(),
            "LOCK_EXTEND": Lock.LUA_EXTEND_SCRIPT.encode(),
            "LOCK_REACQUIRE": Lock.LUA_REACQUIRE_SCRIPT.encode()}


def _script(command: str) -> bytes | None:
    if command.startswith("LOCK_"):
        return _lock_scripts().get(command)
    return SCRIPTS.get(command)


def _encode(*argv: bytes) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def _request(command: str, n: int) -> bytes:
    key = b"key:%06d" % (n % KEYS)
    if command == "PING":
        return _encode(b"PING")
    if command == "GET":
        return _encode(b"GET", key)
    if command == "SET":
        return _encode(b"SET", key, VALUE)
    if command == "MSET":  # redis-benchmark's MSET: 10 keys, one batch record in the log
        keys = [b"key:%06d" % ((10 * n + i) % KEYS) for i in range(10)]
        return _encode(b"MSET", *(part for k in keys for part in (k, VALUE)))
    element = b"element:%06d" % (n % KEYS)
    if command == "INCR":
        return _encode(b"INCR", b"counter:%06d" % (n % KEYS))
    if command == "LPUSH":
        return _encode(b"LPUSH", b"mylist", VALUE)
    if command == "RPOP":
        return _encode(b"RPOP", b"mylist")
    if command == "HSET":
        return _encode(b"HSET", b"myhash", element, VALUE)
    if command == "SADD":
        return _encode(b"SADD", b"myset", element)
    if command == "ZADD":
        # Each member comes round twice per cycle of reads, with another score each time,
        # so that every measured ZADD moves its member (a same-score ZADD does nothing).
        member = b"element:%06d" % (n % (KEYS // 2))
        return _encode(b"ZADD", b"myzset", b"%012d" % n, member)
    script = _script(command)
    if script is None:
        raise SystemExit(f"unknown command {command!r}")
    sha = hashlib.sha1(script).hexdigest().encode()
    if command == "LOCK_RELEASE":  # the lock is taken again first, so that each release frees it
        return (_encode(b"SET", key, TOKEN, b"NX", b"PX", b"100000")
                + _encode(b"EVALSHA", sha, b"1", key, TOKEN))
    if command == "LOCK_EXTEND":  # Lock.extend(10, replace_ttl=True)
        return _encode(b"EVALSHA", sha, b"1", key, TOKEN, b"10000", b"1")
    if command == "LOCK_REACQUIRE":  # Lock.reacquire() with a 100 s timeout
        return _encode(b"EVALSHA", sha, b"1", key, TOKEN, b"100000")
    return _encode(b"EVALSHA", sha, b"1", key, VALUE)


def _setup(command: str) -> list[bytes]:
    """What a case sends before the warm-up: its script loaded, the locks it holds."""
    script = _script(command)
    if script is None:
        return []
    setup = [_encode(b"SCRIPT", b"LOAD", script)]
    if command.startswith("LOCK_"):
        setup += [_encode(b"SET", b"key:%06d" % n, TOKEN, b"PX", b"100000000")
                  for n in range(KEYS)]
    return setup


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
        if command == "RPOP":
            from storage.datatypes import Op
            for _ in range(RPOP_FILL // KEYS):
                server.engine.apply(0, b"mylist", Op.RPUSH, [VALUE] * KEYS)
            assert (100 + rounds) * pipeline < RPOP_FILL, "RPOP would empty its list"
        server.engine.flush()
        for data in _setup(command):
            connection.data_received(data)
            server.loop.run_ready()
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
    commands = args.commands.replace("scripts", ",".join([*SCRIPTS, *_lock_scripts()]))
    commands = commands.replace("writes", ",".join(WRITES))
    for command in commands.split(","):
        counts = [per_command(command, p, max(1, args.requests // p)) for p in pipelines]
        print(f"| {command} | " + " | ".join(f"{c:,.0f}" for c in counts) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
