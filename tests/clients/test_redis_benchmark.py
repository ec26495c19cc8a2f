"""Plain redis-benchmark, the first thing a user runs: its default test list (lists,
sets, hashes, sorted sets besides strings) completes against caskd without an
error, one request at a time and pipelined."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support import require_tool

DEFAULT_TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP",
                 "RPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LPUSH", "LRANGE_100",
                 "LRANGE_300", "LRANGE_500", "LRANGE_600", "MSET"]


@pytest.mark.parametrize("options", [["-n", "2000"], ["-n", "20000", "-P", "16"]],
                         ids=["plain", "pipelined"])
def test_default_test_list_completes_without_errors(caskd, options):
    binary = require_tool("redis-benchmark")
    done = subprocess.run([binary, "-p", str(caskd.port), "-q", *options],
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    output = done.stdout.decode().replace("\r", "\n")
    finals = re.findall(r"^([A-Z_0-9]+)(?: \([^)]*\))?: ([\d.]+) requests per second",
                        output, re.M)
    assert [name for name, _ in finals] == DEFAULT_TESTS
    assert all(float(rate) > 0 for _, rate in finals)
    assert "error" not in (output + done.stderr.decode()).lower()
    client = caskd.client()
    assert client.type("mylist") == b"list" and client.llen("mylist") >= 600
    assert client.type("myhash") == b"hash" and client.type("myset") in (b"set", b"none")
