"""Fan-out cost: ``python -m scripts.bench_pubsub [--subscribers N] [--messages M]``.

Starts caskd (and, with ``--redis``, a real redis-server) on a free port, connects N
subscribers to one channel, then publishes M messages one at a time while a probe
client PINGs in a loop. Prints how long each PUBLISH took to answer and the
longest the probe waited for a PONG: the stall a fan-out imposes on everyone else.
Every subscriber must receive every message, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PONG = b"+PONG\r\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(kind: str, port: int, directory: str) -> subprocess.Popen:
    if kind == "caskd":
        argv = [sys.executable, "-m", "server", "--port", str(port), "--dir", directory,
                "--maxclients", "20000"]
    else:
        argv = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--dir",
                directory, "--save", "", "--appendonly", "yes", "--maxclients", "20000"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16) == PONG:
                    return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"{kind} did not start")


async def _subscriber(port: int, ready: asyncio.Event, expected: bytes) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"SUBSCRIBE fanout\r\n")
    await reader.readuntil(b":1\r\n")
    ready.set()
    received = await reader.readexactly(len(expected))
    writer.close()
    return received == expected


async def _subscribers(port: int, count: int, messages: int, size: int) -> None:
    """The subscribers' process: connect them all, say so, then read every message."""
    one = b"*3\r\n$7\r\nmessage\r\n$6\r\nfanout\r\n$%d\r\n%b\r\n" % (size, b"x" * size)
    events = [asyncio.Event() for _ in range(count)]
    tasks = [asyncio.create_task(_subscriber(port, event, one * messages)) for event in events]
    for event in events:
        await event.wait()
    print("ready", flush=True)
    results = await asyncio.wait_for(asyncio.gather(*tasks), 300)
    print("ok" if all(results) else "lost", flush=True)


def _run(port: int, count: int, messages: int, size: int) -> dict:
    """Subscribers in a child process (so their reading is not ours), then PUBLISH one
    message at a time while a thread PINGs: the probe measures the server's stall."""
    child = subprocess.Popen([sys.executable, "-m", "scripts.bench_pubsub", "--child",
                              str(port), str(count), str(messages), str(size)],
                             stdout=subprocess.PIPE, text=True)
    if child.stdout.readline().strip() != "ready":
        raise SystemExit("the subscribers did not connect")
    stalls: list[float] = []
    stop = threading.Event()

    def ping_loop() -> None:
        with socket.create_connection(("127.0.0.1", port)) as probe:
            while not stop.is_set():
                started = time.perf_counter()
                probe.sendall(b"PING\r\n")
                reply = b""
                while len(reply) < len(PONG):
                    reply += probe.recv(64)
                stalls.append(time.perf_counter() - started)

    pinger = threading.Thread(target=ping_loop)
    pinger.start()
    command = b"*3\r\n$7\r\nPUBLISH\r\n$6\r\nfanout\r\n$%d\r\n%b\r\n" % (size, b"x" * size)
    expected = b":%d\r\n" % count
    publish_times = []
    with socket.create_connection(("127.0.0.1", port)) as publisher:
        for _ in range(messages):
            started = time.perf_counter()
            publisher.sendall(command)
            reply = b""
            while not reply.endswith(b"\r\n"):
                reply += publisher.recv(64)
            assert reply == expected, reply
            publish_times.append(time.perf_counter() - started)
            time.sleep(0.05)  # one message per batch: the stall of each is what counts
    received = child.stdout.readline().strip() == "ok"
    child.wait(60)
    stop.set()
    pinger.join()
    return {"publish_ms_median": statistics.median(publish_times) * 1000,
            "publish_ms_max": max(publish_times) * 1000,
            "probe_ms_max": max(stalls) * 1000,
            "probe_ms_p99": sorted(stalls)[int(len(stalls) * 0.99)] * 1000,
            "all_received": received}


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        port, count, messages, size = map(int, sys.argv[2:6])
        asyncio.run(_subscribers(port, count, messages, size))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--size", type=int, default=100, help="message bytes")
    parser.add_argument("--redis", action="store_true", help="measure redis-server too")
    args = parser.parse_args()
    kinds = ["caskd", "redis"] if args.redis else ["caskd"]
    for kind in kinds:
        port = _free_port()
        with tempfile.TemporaryDirectory() as directory:
            process = _start(kind, port, directory)
            try:
                result = _run(port, args.subscribers, args.messages, args.size)
            finally:
                process.terminate()
                process.wait(30)
        print(f"{kind}: {args.subscribers} subscribers, {args.messages} messages of "
              f"{args.size} B: PUBLISH answered in {result['publish_ms_median']:.1f} ms "
              f"(median), {result['publish_ms_max']:.1f} ms (max); a PING waited at most "
              f"{result['probe_ms_max']:.1f} ms (p99 {result['probe_ms_p99']:.1f} ms); "
              f"every message received: {result['all_received']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
