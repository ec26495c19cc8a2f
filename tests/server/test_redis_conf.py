"""caskd started on Debian's stock /etc/redis/redis.conf, as a Redis user would, with
only what must differ on a test machine given on the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import CaskdProcess, free_port, wait_until

STOCK_CONF = Path("/etc/redis/redis.conf")


@pytest.fixture
def stock_conf() -> Path:
    if not STOCK_CONF.exists():
        message = f"{STOCK_CONF} is not installed (apt-get install redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return STOCK_CONF


def test_debian_stock_redis_conf_starts_caskd(tmp_path, stock_conf):
    pidfile, logfile = tmp_path / "caskd.pid", tmp_path / "caskd.log"
    server = CaskdProcess(tmp_path / "data", "--daemonize", "no", "--pidfile", str(pidfile),
                          "--logfile", str(logfile), port=free_port(),
                          config_file=stock_conf).start()
    try:
        client = server.client()
        assert client.set("hello", "world") and client.get("hello") == b"world"
        # The file's settings are in force, and CONFIG GET shows them.
        assert client.config_get("databases") == {"databases": "16"}
        assert client.config_get("proc-title-template") == {
            "proc-title-template": "{title} {listen-addr} {server-mode}"}
        assert client.config_get("client-output-buffer-limit") == {
            "client-output-buffer-limit":
                "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("dir") == {"dir": str(tmp_path / "data")}
        assert client.hset("h", "f", "v") and client.object("encoding", "h") == b"listpack"
        assert pidfile.read_text() == f"{server.proc.pid}\n"
        # Settings that would mislead are named in the log, once.
        log = wait_until(lambda: "Ready to accept" in logfile.read_text()
                         and logfile.read_text(), what="the start-up log")
        assert log.count("appendonly no has no effect") == 1
    finally:
        assert server.stop() == 0
    assert not pidfile.exists()
