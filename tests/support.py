"""Shared test support: start caskd as a real process, talk raw RESP to it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_tool(name: str, package: str = "redis-server redis-tools") -> str:
    """The path of a system tool; skip without it, but fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = ""):
    """Poll ``predicate`` until it returns a true value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class CaskdProcess:
    """caskd running as a subprocess on a free port with its own data directory."""

    def __init__(self, data_dir: Path, *args: str, port: int | None = None,
                 config_file: Path | None = None) -> None:
        self.dir = Path(data_dir)
        self.port = port or free_port()
        self.args = args
        self.config_file = config_file  # passed first, as redis-server takes it
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir.parent / f"caskd-{self.port}.log"

    def start(self, wait: bool = True) -> CaskdProcess:
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", *([str(self.config_file)] if self.config_file
                                                else []),
             "--port", str(self.port), "--dir", str(self.dir), *self.args],
            cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT)
        if wait:
            wait_until(lambda: self._ready(), timeout=30, what="caskd to answer PING")
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"caskd exited with {self.proc.returncode}:\n{self.log()}")
        return _answers_ping(self.port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log_file.close()
        self.proc = None
        return code

    def kill(self) -> None:
        """kill -9: no chance to flush anything."""
        self.stop(signal.SIGKILL)

    def restart(self) -> CaskdProcess:
        self.stop()
        return self.start()

    def client(self, **kwargs):
        return redis.Redis(port=self.port, **kwargs)

    def raw(self) -> RawClient:
        return RawClient(self.port)


def watch_aborts(client: redis.Redis, key: str, meanwhile) -> bool:
    """Whether a MULTI/EXEC WATCHing ``key`` fails when ``meanwhile()`` (another
    client's command) runs between WATCH and MULTI."""
    with client.pipeline() as pipe:
        pipe.watch(key)
        meanwhile()
        pipe.multi()
        pipe.set("watch_aborts:flag", "1")
        try:
            pipe.execute()
        except redis.WatchError:
            return True
    return False


def hello_reply(client_id: int, protocol: int) -> bytes:
    """HELLO's exact reply, as Redis 7.0.15 sends it: a map in RESP3, pairs in RESP2."""
    fields = (b"$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
              b"$5\r\nproto\r\n:%d\r\n$2\r\nid\r\n:%d\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
              b"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n" % (protocol, client_id))
    return (b"%7\r\n" if protocol == 3 else b"*14\r\n") + fields


class RawClient:
    """A socket speaking raw RESP, for checking exact reply bytes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self, *args: bytes | str) -> None:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            raw = arg.encode() if isinstance(arg, str) else arg
            parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        self.send(b"".join(parts))

    def read_exact(self, expected_len: int) -> bytes:
        while len(self.buffer) < expected_len:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        data, self.buffer = self.buffer[:expected_len], self.buffer[expected_len:]
        return data

    def client_id(self) -> int:
        self.send(b"CLIENT ID\r\n")
        return int(self.read_line()[1:-2])

    def read_line(self) -> bytes:
        """One line, CRLF included: a status, error or integer reply, or a header."""
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a whole line arrived")
            self.buffer += chunk
        end = self.buffer.index(b"\r\n") + 2
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def read_bulk(self) -> bytes:
        """A bulk (``$``) or verbatim (``=``) reply's payload, whatever its length."""
        header = self.read_line()
        assert header[:1] in (b"$", b"="), header
        return self.read_exact(int(header[1:-2]) + 2)[:-2]

    def expect(self, expected: bytes) -> None:
        """Read exactly len(expected) bytes and compare."""
        assert self.read_exact(len(expected)) == expected

    def roundtrip(self, *args: bytes | str, reply: bytes) -> None:
        self.command(*args)
        self.expect(reply)

    def read_until_closed(self, timeout: float = 5) -> bytes:
        self.sock.settimeout(timeout)
        data = self.buffer
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk

    def close(self) -> None:
        self.sock.close()


def kill_under_load(server: CaskdProcess, write, *, workers: int = 4,
                    acknowledged_at_least: int = 2000) -> list[tuple[int, int]]:
    """Run ``write(client, worker, i)`` for i = 0, 1, … in ``workers`` threads, kill -9
    the server once enough writes are acknowledged, and start it again.

    Returns the acknowledged (worker, i) pairs: each of those must have survived.
    """
    acknowledged: list[tuple[int, int]] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        client = server.client(socket_timeout=5)
        i = 0
        while not stop.is_set():
            try:
                write(client, worker, i)
            except redis.ConnectionError:
                return
            acknowledged.append((worker, i))
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) > acknowledged_at_least, timeout=30,
               what="writes to be acknowledged")
    server.kill()
    stop.set()
    for thread in threads:
        thread.join()
    server.start()
    return acknowledged
