"""Differential testing: the same raw command to caskd and to a real redis-server,
and the raw replies compared byte for byte.

Replies are cut from the socket by their RESP framing (not decoded), so a
difference in type, length prefix or spacing shows. Where a comparison is
intentionally looser, a :class:`~tests.compat.differences.Difference` says how
and why.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hiredis

from tests.compat.differences import Difference
from tests.support import CaskdProcess, free_port, require_tool, wait_until

_AGGREGATES = b"*~>%|"
_BLOBS = b"$=!"


def frame_end(buf: bytes, pos: int = 0) -> int | None:
    """The index just past the RESP2/RESP3 reply starting at ``pos``, or None if
    ``buf`` does not hold all of it yet."""
    line_end = buf.find(b"\r\n", pos)
    if line_end < 0:
        return None
    kind, header = buf[pos:pos + 1], buf[pos + 1:line_end]
    pos = line_end + 2
    if kind in _BLOBS:
        length = int(header)
        end = pos if length < 0 else pos + length + 2
        return end if len(buf) >= end else None
    if kind in _AGGREGATES:
        count = int(header)
        for _ in range(max(count, 0) * (2 if kind in b"%|" else 1)):
            pos = frame_end(buf, pos)
            if pos is None:
                return None
    return pos


def encode_command(args: tuple[bytes | str | int, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
    return b"".join(parts)


def decode(raw: bytes):
    """A reply as hiredis decodes it; an error reply as ("error", text)."""
    reader = hiredis.Reader()
    reader.feed(raw)
    value = reader.gets()
    return ("error", str(value)) if isinstance(value, hiredis.ReplyError) else value


class Connection:
    """A raw RESP connection that returns each reply's exact bytes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, args: tuple) -> None:
        self.sock.sendall(encode_command(args))

    def reply(self) -> bytes:
        while (end := frame_end(self.buffer)) is None:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        raw, self.buffer = self.buffer[:end], self.buffer[end:]
        return raw

    def close(self) -> None:
        self.sock.close()


class Pair:
    """One connection to Redis and one to caskd, fed the same commands."""

    def __init__(self, redis_port: int, caskd_port: int, protocol: int = 2) -> None:
        self.redis = Connection(redis_port)
        self.caskd = Connection(caskd_port)
        self.protocol = protocol
        if protocol == 3:  # the greetings differ (client ids): not compared
            self.both("HELLO", "3")

    def both(self, *args) -> tuple[bytes, bytes]:
        """Send to both (so they work in parallel), then read both raw replies."""
        self.redis.send(args)
        self.caskd.send(args)
        return self.redis.reply(), self.caskd.reply()

    def check(self, *args, allow: Difference | None = None):
        """Run a command on both; their replies must be the same bytes, or the same
        under ``allow``'s comparison. Returns Redis's reply, decoded."""
        expected, actual = self.both(*args)
        if allow is None:
            assert actual == expected, _explain(args, expected, actual)
        else:
            assert allow.same(decode(expected), decode(actual)), \
                _explain(args, expected, actual, allow)
        return decode(expected)

    def close(self) -> None:
        self.redis.close()
        self.caskd.close()


def _explain(args: tuple, expected: bytes, actual: bytes,
             allow: Difference | None = None) -> str:
    command = " ".join(repr(a) if isinstance(a, bytes) else str(a) for a in args)
    loose = f" (compared as: {allow.what})" if allow else ""
    return f"{command}{loose}\n  redis: {expected!r}\n  caskd: {actual!r}"


class RedisServer:
    """A real redis-server on a free port, with the AOF on as caskd always has it;
    ``args`` are more settings (later ones win: ``"--appendonly", "no"``)."""

    def __init__(self, binary: str, directory: Path, *args: str) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.log_path = directory / "redis.log"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--dir", str(directory), "--appendonly", "yes",
             "--save", "", "--bind", "127.0.0.1", "--logfile", str(self.log_path), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(self._ready, timeout=20, what="redis-server to answer PING")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited: {self.log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def redis_and_caskd(root: Path) -> Iterator[tuple[int, int]]:
    """(redis port, caskd port): a real redis-server and a caskd, each in a directory
    under ``root``, both stopped afterwards."""
    redis = RedisServer(require_tool("redis-server"), root / "redis")
    caskd = CaskdProcess(root / "caskd").start()
    try:
        yield redis.port, caskd.port
    finally:
        caskd.stop()
        redis.stop()
