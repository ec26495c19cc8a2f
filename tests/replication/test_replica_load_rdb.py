"""``caskd --load-rdb dump.rdb``: a Redis RDB file imported into a data directory (the
offline way from Redis to caskd), with every type, TTL and function library."""

from __future__ import annotations

import subprocess
import sys

import redis

from tests.compat.harness import RedisServer
from tests.replication.replica_support import assert_same_data, populate
from tests.support import ROOT, CaskdProcess, require_tool


def load_rdb(rdb_file, data_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", "--load-rdb", str(rdb_file),
                           "--dir", str(data_dir), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_a_saved_rdb_file_loads_into_a_data_directory(tmp_path):
    server = RedisServer(require_tool("redis-server"), tmp_path / "redis", "--appendonly", "no")
    caskd = None
    try:
        source = redis.Redis(port=server.port)
        populate(source)
        source.save()
        data_dir = tmp_path / "data"
        CaskdProcess(data_dir).start().stop()  # a directory with data of its own...
        result = load_rdb(tmp_path / "redis" / "dump.rdb", data_dir)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"Loaded {source.dbsize()} keys from" in result.stdout
        caskd = CaskdProcess(data_dir).start()  # ...replaced by the file's
        assert_same_data(source, caskd.client())
    finally:
        if caskd is not None:
            caskd.stop()
        server.stop()


def test_a_file_that_is_not_rdb_is_refused(tmp_path):
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(b"REDIS0010\xfe\x00\x00\x03key")  # cut off in its first key
    result = load_rdb(bad, tmp_path / "data")
    assert result.returncode == 1
    assert "Could not load" in result.stdout
