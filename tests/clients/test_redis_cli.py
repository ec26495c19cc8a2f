"""redis-cli and redis-benchmark against caskd: one-shot commands, the interactive
prompt (through a pty), --pipe mass insertion, --scan, --bigkeys, --stat, --latency."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import require_tool


@pytest.fixture
def cli(caskd):
    """Run redis-cli against caskd; returns its stdout."""
    binary = require_tool("redis-cli")

    def run(*args: str, stdin: bytes | None = None, timeout: float = 60) -> str:
        done = subprocess.run([binary, "-p", str(caskd.port), *args], input=stdin,
                              capture_output=True, timeout=timeout, check=True)
        return done.stdout.decode()

    return run


class Terminal:
    """A program on a pseudo-terminal, as a person would run it."""

    def __init__(self, home: Path, *argv: str) -> None:
        self.master, slave = pty.openpty()
        # HOME: where redis-cli keeps its history file.
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     env={**os.environ, "TERM": "dumb", "HOME": str(home)})
        os.close(slave)
        self.output = b""

    def read_until(self, pattern: bytes, timeout: float = 10) -> bytes:
        """Read until ``pattern`` (a regex) appears in what came since the last match."""
        deadline = time.monotonic() + timeout
        while (match := re.search(pattern, self.output)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} in {self.output[-500:]!r}")
            if select.select([self.master], [], [], min(left, 0.1))[0]:
                self.output += os.read(self.master, 65536)
        seen, self.output = self.output[:match.end()], self.output[match.end():]
        return seen

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal(caskd, tmp_path):
    binary = require_tool("redis-cli")
    opened: list[Terminal] = []

    def start(*args: str) -> Terminal:
        opened.append(Terminal(tmp_path, binary, "-p", str(caskd.port), *args))
        return opened[-1]

    yield start
    for term in opened:
        term.close()


def test_one_shot_commands(cli):
    assert cli("SET", "greeting", "hello world") == "OK\n"
    assert cli("GET", "greeting") == "hello world\n"
    assert cli("--no-raw", "GET", "greeting") == '"hello world"\n'
    assert cli("--no-raw", "GET", "missing") == "(nil)\n"
    assert cli("-3", "--no-raw", "HELLO") .startswith('1# "server" => "redis"\n')
    assert cli("-n", "4", "SET", "in-db-4", "x") == "OK\n"
    assert cli("-n", "4", "DBSIZE") == "1\n"
    assert cli("--no-raw", "NOSUCH") == "(error) ERR unknown command 'NOSUCH', with args " \
                                        "beginning with: \n"


def test_interactive_prompt(caskd, terminal):
    prompt = b"127.0.0.1:%d> " % caskd.port
    term = terminal()
    term.read_until(re.escape(prompt))
    term.type("set fruit apple")
    assert term.read_until(re.escape(prompt)).endswith(b"OK\r\n" + prompt)
    term.type("get fruit")
    assert b'"apple"' in term.read_until(re.escape(prompt))
    term.type("multi")
    term.read_until(re.escape(b"127.0.0.1:%d(TX)> " % caskd.port))
    term.type("incr visits")
    assert b"QUEUED" in term.read_until(rb"\(TX\)> ")
    term.type("exec")
    assert b"1) (integer) 1" in term.read_until(re.escape(prompt))
    term.type("help multi")  # help from the server's COMMAND DOCS: Redis 7.0's text
    assert b"Mark the start of a transaction block" in term.read_until(re.escape(prompt))
    term.type("help set")  # the syntax redis-cli builds from the argument specs
    shown = term.read_until(re.escape(prompt))
    assert b"key value [NX|XX] [GET]" in shown and b"KEEPTTL" in shown
    term.type("select 2")
    term.read_until(re.escape(b"127.0.0.1:%d[2]> " % caskd.port))
    term.type("quit")
    assert term.proc.wait(10) == 0


def test_pipe_mass_insertion_of_100000_keys(caskd, cli):
    lines = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$%d\r\nvalue:%d\r\n"
                     % (len(b"key:%d" % i), i, len(b"value:%d" % i), i)
                     for i in range(100_000))
    output = cli("--pipe", stdin=lines, timeout=120)
    assert "errors: 0, replies: 100000" in output
    assert cli("DBSIZE") == "100000\n"
    assert cli("GET", "key:99999") == "value:99999\n"


def test_scan_with_a_pattern(caskd, cli):
    caskd.client().mset({**{f"user:{i}": "u" for i in range(300)},
                         **{f"item:{i}": "i" for i in range(300)}})
    found = cli("--scan", "--pattern", "user:*").split()
    assert sorted(found) == sorted(f"user:{i}" for i in range(300))


def test_bigkeys(caskd, cli):
    caskd.client().mset({"small": "x", "medium": "x" * 100, "largest": "x" * 5000})
    output = cli("--bigkeys")
    assert "Biggest string found '\"largest\"' has 5000 bytes" in output
    assert "3 strings with 5101 bytes" in output


def test_stat_prints_rows_from_info(caskd, terminal):
    caskd.client().mset({f"k{i}": i for i in range(42)})
    term = terminal("--stat", "-i", "0.1")
    term.read_until(rb"keys +mem +clients +blocked +requests +connections *\r\n")
    for _ in range(3):  # keys, memory, clients, blocked, requests (+new), connections
        row = term.read_until(rb"\r\n")
        assert re.fullmatch(rb"42 +[\d.]+[BKMGT] +\d+ +0 +\d+ \(\+\d+\) +\d+ *\r\n", row), row


def test_latency_reports_min_max_avg(terminal):
    term = terminal("--latency")
    for _ in range(5):
        term.read_until(rb"min: \d+, max: \d+, avg: \d+\.\d\d \(\d+ samples\)")


def test_redis_benchmark_completes_without_errors(caskd):
    binary = require_tool("redis-benchmark")
    done = subprocess.run([binary, "-p", str(caskd.port), "-t", "ping,set,get", "-n", "100000",
                           "-c", "50", "-P", "16", "-q"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    output = done.stdout.decode().replace("\r", "\n")
    finals = re.findall(r"^(\w+): ([\d.]+) requests per second", output, re.M)
    assert [name for name, _ in finals] == ["PING_INLINE", "PING_MBULK", "SET", "GET"]
    assert all(float(rate) > 0 for _, rate in finals)
    assert "error" not in (output + done.stderr.decode()).lower()
