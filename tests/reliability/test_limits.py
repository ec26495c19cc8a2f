"""Redis's client limits, by Redis's names: maxclients, proto-max-bulk-len,
client-query-buffer-limit, timeout and client-output-buffer-limit; and a client
that pipelines without reading its replies costs bounded memory."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

from tests.compat.harness import Pair, RedisServer, encode_command
from tests.support import CaskdProcess, RawClient, require_tool, wait_until

VALUE = b"v" * 10_000
GET_REPLY = b"$10000\r\n" + VALUE + b"\r\n"


def peak_rss_mb(server: CaskdProcess) -> float:
    """The server's peak resident memory (VmHWM), in MB."""
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def client_fields(server: CaskdProcess, name: str) -> dict[str, str] | None:
    """The CLIENT LIST fields of the client called ``name``; None if it is gone."""
    for line in server.client().client_list():
        if line["name"] == name:
            return line
    return None


class SlowReader:
    """A client that pipelines ``count`` requests (GETs of a 10 KB value unless told)
    and reads nothing; the sending runs in a thread, which blocks once the server
    stops reading."""

    def __init__(self, server: CaskdProcess, name: str, count: int,
                 request: bytes = encode_command(("GET", "big")),
                 reply: bytes = GET_REPLY) -> None:
        server.client().set("big", VALUE)
        self.reply = reply
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        self.sock.sendall(encode_command(("CLIENT", "SETNAME", name)))
        greeting = b""
        while len(greeting) < 5 and (chunk := self._read(5 - len(greeting))):
            greeting += chunk
        assert greeting == b"+OK\r\n"  # named, so CLIENT LIST shows it from now on
        self.sender = threading.Thread(target=self._send, args=(request * count,),
                                       daemon=True)
        self.sender.start()

    def _send(self, requests: bytes) -> None:
        with contextlib.suppress(OSError):  # disconnected by an output buffer limit
            self.sock.sendall(requests)

    def read_replies(self, count: int) -> int:
        """Read (checking every byte) until ``count`` replies came or the server
        closed the connection; returns how many came whole."""
        size = len(self.reply)
        template = self.reply * ((1 << 20) // size + 2)
        received = 0
        while received < count * size:
            chunk = self._read(min(1 << 20, count * size - received))
            if not chunk:
                break
            phase = received % size
            assert chunk == template[phase:phase + len(chunk)]
            received += len(chunk)
        return received // size

    def _read(self, size: int) -> bytes:
        try:
            return self.sock.recv(size)
        except ConnectionResetError:
            return b""


def closed_without_reply(client: RawClient) -> bool:
    try:
        return client.read_until_closed() == b""
    except ConnectionResetError:  # closed with our input unread
        return True


def test_maxclients_refuses_connections_beyond_it(caskd_factory):
    server = caskd_factory("--maxclients", "3")
    clients = [server.raw() for _ in range(3)]
    for client in clients:
        client.roundtrip("PING", reply=b"+PONG\r\n")
    refused = server.raw()
    assert refused.read_until_closed() == b"-ERR max number of clients reached\r\n"
    clients.pop().close()

    def admitted() -> RawClient | None:
        client = server.raw()
        client.command("PING")
        return client if client.read_exact(7) == b"+PONG\r\n" else None

    clients.append(wait_until(admitted, what="the freed slot to be given out"))
    assert server.raw().read_until_closed() == b"-ERR max number of clients reached\r\n"


def test_proto_max_bulk_len(caskd_factory):
    server = caskd_factory("--proto-max-bulk-len", "1mb")
    client = server.raw()
    big = b"x" * (1024 * 1024)
    client.command("ECHO", big)
    client.expect(b"$1048576\r\n" + big + b"\r\n")
    client.send(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n")
    assert client.read_until_closed() == b"-ERR Protocol error: invalid bulk length\r\n"


def test_client_query_buffer_limit_closes_the_client_without_a_reply(caskd_factory):
    server = caskd_factory("--client-query-buffer-limit", "1mb")
    client = server.raw()
    client.command("ECHO", b"x" * 900_000)  # under the limit: fine
    client.expect(b"$900000\r\n" + b"x" * 900_000 + b"\r\n")
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        client.send(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n" + b"x" * 1_500_000)
    assert closed_without_reply(client)
    wait_until(lambda: "reached max query buffer length" in server.log(),
               what="the log line")


def test_timeout_closes_idle_clients_only(caskd_factory):
    server = caskd_factory("--timeout", "1")
    idle, busy = server.raw(), server.raw()
    started = time.monotonic()
    closed = threading.Event()
    threading.Thread(target=lambda: (idle.read_until_closed(10), closed.set()),
                     daemon=True).start()
    while not closed.is_set():
        busy.roundtrip("PING", reply=b"+PONG\r\n")
        assert time.monotonic() - started < 5, "the idle client was not closed"
        closed.wait(0.2)
    assert time.monotonic() - started > 1  # not before it was idle for 1 s
    busy.roundtrip("PING", reply=b"+PONG\r\n")  # still served


def test_client_that_does_not_read_costs_bounded_memory(caskd_factory, capsys):
    """100,000 GETs of a 10 KB value (1 GB of replies) sent without reading: caskd
    stops reading the client instead of buffering the replies."""
    server = caskd_factory()
    count = 100_000
    reader = SlowReader(server, "slow", count)
    wait_until(lambda: (fields := client_fields(server, "slow")) and fields["events"] == "w",
               timeout=30, what="caskd to stop reading the slow client")
    stalled = client_fields(server, "slow")
    peak_stalled = peak_rss_mb(server)
    replies = reader.read_replies(count)
    peak = peak_rss_mb(server)
    with capsys.disabled():
        print(f"\nslow client: {count} GETs of 10 KB unread: omem {stalled['omem']} bytes, "
              f"peak RSS {peak_stalled:.0f} MB while stalled, {peak:.0f} MB after reading "
              f"all {replies} replies")
    assert replies == count
    assert int(stalled["omem"]) <= 1024 * 1024
    assert peak < 200


def test_writes_and_reads_pipelined_unread_under_always(caskd_factory):
    """Replies held for the fsync and replies held back for the reader, together."""
    server = caskd_factory("--appendfsync", "always")
    count = 5000
    reader = SlowReader(server, "slow", count,
                        request=encode_command(("SET", "k", "x")) + encode_command(("GET", "big")),
                        reply=b"+OK\r\n" + GET_REPLY)
    wait_until(lambda: (fields := client_fields(server, "slow")) and fields["events"] == "w",
               timeout=30, what="caskd to stop reading the slow client")
    assert reader.read_replies(count) == count


def test_output_buffer_hard_limit_disconnects_a_client_that_does_not_read(caskd_factory):
    server = caskd_factory("--client-output-buffer-limit", "normal", "1mb", "0", "0")
    reader = SlowReader(server, "slow", 2000)  # 20 MB of replies
    wait_until(lambda: client_fields(server, "slow") is None, timeout=30,
               what="the slow client to be disconnected")
    assert reader.read_replies(2000) < 2000  # cut off: no more came
    assert "overcoming of output buffer limits" in server.log()
    assert server.client().get("big") == VALUE  # the others are served


def test_output_buffer_soft_limit_disconnects_after_its_seconds(caskd_factory):
    server = caskd_factory("--client-output-buffer-limit", "normal", "0", "256kb", "1")
    started = time.monotonic()
    reader = SlowReader(server, "slow", 2000)
    wait_until(lambda: client_fields(server, "slow") is None, timeout=30,
               what="the slow client to be disconnected")
    assert time.monotonic() - started >= 1  # not at once, as a hard limit would
    assert reader.read_replies(2000) < 2000
    assert "overcoming of output buffer limits" in server.log()


def test_output_buffer_limit_config_matches_redis(tmp_path):
    """CONFIG GET/SET client-output-buffer-limit: Redis's format, classes, errors."""
    redis = RedisServer(require_tool("redis-server"), tmp_path / "redis")
    caskd = CaskdProcess(tmp_path / "caskd").start()
    pair = Pair(redis.port, caskd.port)
    try:
        name = "client-output-buffer-limit"
        pair.check("CONFIG", "GET", name)
        for value in ("normal 1mb 512kb 10", "NORMAL 1 2 3 replica 5 6 7", "pubsub 1k 2kb 3",
                      "", "normal", "master 1 2 3", "foo 1 2 3", "normal 10mbs 1 2",
                      "normal 1 2 -3", "normal 1 2 3x", "normal -1 2 3"):
            pair.check("CONFIG", "SET", name, value)
            pair.check("CONFIG", "GET", name)
    finally:
        pair.close()
        caskd.stop()
        redis.stop()


def test_output_buffer_limit_applies_to_connected_clients_at_once(caskd_factory):
    server = caskd_factory()
    reader = SlowReader(server, "slow", 3000)
    wait_until(lambda: (fields := client_fields(server, "slow")) and fields["events"] == "w",
               timeout=30, what="caskd to stop reading the slow client")
    server.client().config_set("client-output-buffer-limit", "normal 64kb 0 0")
    assert reader.read_replies(3000) < 3000  # the next pause finds it over the limit
    assert client_fields(server, "slow") is None
