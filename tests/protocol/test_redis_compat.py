"""The parser and encoder against a real redis-server 7.0: same bytes in, same outcome.

Each request is sent raw to Redis; the replies it gets back (and whether Redis closes
the connection) must match what RequestParser makes of the same bytes: as many commands,
then the same protocol error, or none and Redis still waiting for input.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import hiredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import ProtocolError, RequestParser, encode, split_args
from tests.protocol.test_parser import (
    CASES,
    ERROR_CASES,
    FRAGMENTS,
    NUL_CASES,
    SPLIT_CASES,
    UNBALANCED_LINES,
    command,
)

QUIET = 0.05  # seconds without data after which Redis is taken to be waiting for input


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(*args: str) -> Iterator[int]:
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    process = subprocess.Popen(
        [path, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def redis():
    yield from _start_redis()


@pytest.fixture(scope="module")
def redis_auth():
    yield from _start_redis("--requirepass", "pw")


class Transcript:
    """What Redis answered: the replies, then whether it closed the connection."""

    def __init__(self, port: int, data: bytes, expect: int) -> None:
        self.replies: list = []
        self.raw = b""
        self.closed = False
        reader = hiredis.Reader()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(data)
            sock.settimeout(5)
            while not self.closed and len(self.replies) < expect:
                self._read(sock, reader)
            sock.settimeout(QUIET)
            while not self.closed:
                try:
                    self._read(sock, reader)
                except TimeoutError:
                    break

    def _read(self, sock: socket.socket, reader: hiredis.Reader) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            self.closed = True
        self.raw += chunk
        reader.feed(chunk)
        while (reply := reader.gets()) is not False:
            self.replies.append(reply)


def check(port: int, data: bytes, *, authenticated: bool = True) -> None:
    """Redis answers ``data`` with one reply per command our parser finds, then the error."""
    parser = RequestParser(authenticated=authenticated)
    parser.feed(data)
    commands, error = [], None
    try:
        while batch := parser.get_commands():
            commands += batch
            parser.authenticated = authenticated
    except ProtocolError as exc:
        error = str(exc)
    seen = Transcript(port, data, len(commands) + (error is not None))
    expected_error = None if error is None else error.encode("utf-8", "surrogateescape")
    got_error = None
    replies = seen.replies
    if seen.closed and replies and isinstance(replies[-1], hiredis.ReplyError):
        replies.pop()
        got_error = seen.raw[:-2].rsplit(b"\r\n", 1)[-1][1:]  # the last line, as sent
    assert (len(replies), got_error, seen.closed) == (len(commands), expected_error,
                                                     error is not None), data


@pytest.mark.parametrize("name", CASES)
def test_cases(redis, name):
    check(redis, CASES[name][0])


@pytest.mark.parametrize("data", [case[0] for case in ERROR_CASES])
def test_errors(redis, data):
    check(redis, data)


@pytest.mark.parametrize("data", NUL_CASES)
def test_nul_stalls(redis, data):
    check(redis, data)


@pytest.mark.parametrize("data", [b"A" * 65536, b"A" * 65537, b"*" + b"1" * 65536,
                                  b"*1\r\n$" + b"1" * 65536, b"A" * 70000 + b"\r\n"])
def test_line_limits(redis, data):
    check(redis, data)


@pytest.mark.parametrize("data", [
    b"*11\r\n", b"*10\r\n", b"*-5\r\nPING\r\n", b"*2\r\n$4\r\nECHO\r\n$16385\r\n",
    b"*2\r\n$4\r\nECHO\r\n$16384\r\n", command(b"ECHO", b"x") + b"*11\r\n",
])
def test_unauthenticated_limits(redis_auth, data):
    check(redis_auth, data, authenticated=False)


def eval_argv(port: int, line: bytes) -> bytes:
    """Redis's reply to an inline EVAL that returns the arguments after the line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b'EVAL "return ARGV" 0 ' + line + b"\r\n")
        reply = b""
        reader = hiredis.Reader()
        while chunk := sock.recv(65536):
            reply += chunk
            reader.feed(chunk)
            if reader.gets() is not False:
                break
    return reply


def expected_eval(line: bytes) -> bytes:
    args = split_args(line)
    if args is None:
        return b"-ERR Protocol error: unbalanced quotes in request\r\n"
    return encode(args)


# (A NUL in an inline line makes Redis wait: see test_nul_stalls.)
@pytest.mark.parametrize("line", [line for line, _ in SPLIT_CASES if b"\0" not in line]
                         + UNBALANCED_LINES)
def test_inline_splitting(redis, line):
    assert eval_argv(redis, line) == expected_eval(line)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b" ", b"\t", b"\x0b", b"\x0c", b"\r", b'"', b"'", b"\\",
                                 b"\\x", b"4", b"f", b"g", b"a", b"n", b"\xff"]),
                max_size=16).map(b"".join))
def test_inline_splitting_fuzz(redis, line):
    assert eval_argv(redis, line) == expected_eval(line)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*FRAGMENTS, b"ECHO", b"GET", b"DEL"]), max_size=30)
       .map(b"".join))
def test_request_fuzz(redis, data):
    check(redis, data)


@pytest.mark.parametrize("value", [1.5, 0.1, 1e300, 3.0, 1e-05, float("inf"), float("-inf")])
def test_double_encoding(redis, value):
    score = b"%.17g" % value
    with socket.create_connection(("127.0.0.1", redis), timeout=5) as sock:
        for resp3 in (False, True):
            sock.sendall(command(b"HELLO", b"3" if resp3 else b"2"))
            sock.sendall(command(b"ZADD", b"z", score, b"m") + command(b"ZSCORE", b"z", b"m"))
            data, replies = b"", []
            while len(replies) < 3:
                data += sock.recv(65536)
                reader = hiredis.Reader()
                reader.feed(data)
                replies = []
                while (reply := reader.gets()) is not False:
                    replies.append(reply)
            assert data.endswith(encode(value, resp3)), (value, resp3)
