"""Bad config files and flags, caskd against redis-server: both refuse to start, with
the same message (the line, as read, and the reason)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT, require_tool

BAD_LINES = [
    "port abc", "port 70000", "port", "port 1 2", "daemonize maybe", "maxmemory 1zz",
    "appendfsync sometimes", "nosuch 1", "save 900", "save 900 x", 'dir "x', "dir 'a'b",
    "hash-max-ziplist-entries -1", "client-output-buffer-limit normal 1 2",
    "client-output-buffer-limit vip 1 2 3", "notify-keyspace-events xyz",
    "oom-score-adj-values 1 2", "shutdown-on-sigint save nosave", "replicaof host port",
    "bind " + " ".join(["127.0.0.1"] * 17), "dbfilename a/b", "appendfilename ''",
    "maxmemory-clients 200%", "unixsocketperm 999", "loglevel nothing",
    "rename-command get", "list-max-ziplist-entries 1 2",
]


def _error(command: list[str]) -> str:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1, result
    return result.stderr.strip()


@pytest.mark.parametrize("line", BAD_LINES)
def test_bad_config_lines_are_refused_as_redis_refuses_them(tmp_path, line):
    binary = require_tool("redis-server")
    conf = tmp_path / "bad.conf"
    conf.write_text(f"# a comment\n\n{line}\n")
    assert _error([sys.executable, "-m", "server", str(conf)]) == _error([binary, str(conf)])


@pytest.mark.parametrize("flags", [["--port", "x"], ["--port", "1", "--hz", "-1"],
                                   ["--nosuch", "1"], ["--save", "1"],
                                   ["--maxmemory", "1", "2"]])
def test_bad_flags_are_refused_as_redis_refuses_them(flags):
    binary = require_tool("redis-server")
    assert _error([sys.executable, "-m", "server", *flags]) == _error([binary, *flags])
