"""1,000 clients at once doing mixed traffic: every reply right, no error, and the
memory they used given back once they leave.

CI runs the traffic for ~10 s; ``MANY_CLIENTS_SECONDS=60`` runs a minute.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import time
from pathlib import Path

import hiredis
import pytest

from tests.compat.harness import encode_command
from tests.support import CaskdProcess, wait_until

CLIENTS = 1000
SECONDS = float(os.environ.get("MANY_CLIENTS_SECONDS", "10"))
KEYS_PER_CLIENT = 4
CHURN_ROUNDS = 5
LEAK_SLACK_MB = 8  # growth allowed over the level the first rounds reached
RETURN_SLACK_MB = 40  # memory kept after they all left, over the idle server's


def rss_mb(server: CaskdProcess) -> float:
    """The server's anonymous resident memory (RssAnon): its heap, without the log's
    pages that reads through mmap bring in (VmRSS counts those too)."""
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("RssAnon:"))
    return int(line.split()[1]) / 1024


@pytest.fixture
def enough_files():
    """Room for the client and the server (which inherits it) to hold 1,000 sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * CLIENTS
    if hard != resource.RLIM_INFINITY and hard < wanted:
        message = f"RLIMIT_NOFILE hard limit {hard} < {wanted}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Client:
    """One connection doing random commands on its own keys, each reply checked
    against a model of them."""

    def __init__(self, name: str) -> None:
        self.rng = random.Random(name)
        self.keys = [f"{name}:{i}".encode() for i in range(KEYS_PER_CLIENT)]
        self.counter = f"{name}:counter".encode()
        self.values: dict[bytes, bytes] = {}
        self.count = 0
        self.ops = 0

    def request(self) -> tuple[bytes, object]:
        """A command and the reply it must get (applied to the model at once: the
        replies come in order)."""
        rng, key = self.rng, self.rng.choice(self.keys)
        kind = rng.randrange(8)
        if kind == 0:
            value = rng.randbytes(rng.choice((1, 100, 3000)))
            self.values[key] = value
            return encode_command(("SET", key, value)), b"OK"
        if kind == 1:
            return encode_command(("GET", key)), self.values.get(key)
        if kind == 2:
            self.count += 1
            return encode_command(("INCR", self.counter)), self.count
        if kind == 3:
            return encode_command(("DEL", key)), int(self.values.pop(key, None) is not None)
        if kind == 4:
            return encode_command(("EXPIRE", key, 10_000)), int(key in self.values)
        if kind == 5:
            return encode_command(("MGET", *self.keys)), [self.values.get(k) for k in self.keys]
        if kind == 6:
            return b"PING\r\n", b"PONG"  # inline
        return encode_command(("ECHO", key)), key

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.replies = hiredis.Reader()

    async def call(self, request: bytes) -> object:
        self.writer.write(request)
        return await self.reply()

    async def reply(self) -> object:
        reply = self.replies.gets()
        while reply is False:
            data = await self.reader.read(1 << 16)
            assert data, "the server closed the connection"
            self.replies.feed(data)
            reply = self.replies.gets()
        return reply

    async def run(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                batch = [self.request() for _ in range(self.rng.choice((1, 1, 1, 5, 20)))]
                self.writer.write(b"".join(request for request, _ in batch))
                for request, expected in batch:
                    reply = await self.reply()
                    assert reply == expected, f"{request!r}: got {reply!r}, not {expected!r}"
                self.ops += len(batch)
        finally:
            self.writer.close()
            await self.writer.wait_closed()


async def server_clients(client: Client) -> int:
    info = await client.call(b"INFO clients\r\n")
    return int(info.split(b"connected_clients:")[1].split(b"\r\n")[0])


async def traffic(port: int, seconds: float, round_: int) -> tuple[int, int]:
    """CLIENTS clients connect, then all of them work for ``seconds``; returns how
    many clients the server had at once and the commands done."""
    clients = [Client(f"round{round_}:{n}") for n in range(CLIENTS)]
    await asyncio.gather(*(client.connect(port) for client in clients))
    deadline = time.monotonic() + 30  # connected, but maybe still in the accept queue
    while (connected := await server_clients(clients[0])) < CLIENTS + 1:
        assert time.monotonic() < deadline, f"only {connected} clients were accepted"
        await asyncio.sleep(0.05)
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(client.run(deadline) for client in clients))
    return connected, sum(client.ops for client in clients)


def test_a_thousand_clients_at_once(caskd_factory, enough_files, capsys):
    server = caskd_factory("--maxclients", str(2 * CLIENTS))
    info = server.client()
    errors_before = info.info("stats")["total_error_replies"]  # redis-py's handshake's
    idle = rss_mb(server)

    def round_(number: int, seconds: float) -> tuple[int, float]:
        """All the clients at once for ``seconds``; commands done, memory once they left."""
        connected, ops = asyncio.run(traffic(server.port, seconds, number))
        assert connected == CLIENTS + 1  # and the INFO client
        wait_until(lambda: info.info("clients")["connected_clients"] == 1, timeout=30,
                   what="the clients' connections to close")
        return ops, rss_mb(server)

    ops, after_main = round_(0, SECONDS)
    # Then short rounds: a leak per connection would grow with each, while what the
    # allocator keeps levels off within the first ones.
    churn = [round_(n, 0.5)[1] for n in range(1, 1 + CHURN_ROUNDS)]
    stats = info.info("stats")
    with capsys.disabled():
        print(f"\n{CLIENTS} clients: {ops} commands in {SECONDS:.0f} s; RssAnon idle "
              f"{idle:.0f} MB, after {after_main:.0f} MB, after {CHURN_ROUNDS} more rounds "
              f"{', '.join(f'{mb:.0f}' for mb in churn)} MB")
    assert stats["total_error_replies"] == errors_before
    assert stats["rejected_connections"] == 0
    assert ops > CLIENTS
    assert churn[-1] - max(after_main, *churn[:2]) < LEAK_SLACK_MB
    assert max(after_main, *churn) - idle < RETURN_SLACK_MB
    assert "Traceback" not in server.log()
