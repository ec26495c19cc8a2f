"""``caskd --load-rdb dump.rdb``: a Redis RDB file imported into a data directory (the
offline way from Redis to caskd), with every type, TTL and function library."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis

from server.replication import load
from storage import rdb
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


def rdb_file(path, *entries: tuple[bytes, bytes]) -> None:
    writer = rdb.FileWriter()
    path.write_bytes(b"".join((writer.header(), writer.select_db(0, len(entries), 0),
                               *(writer.entry(key, value, "embstr") for key, value in entries),
                               writer.end())))


@pytest.mark.parametrize("limit", [load.ATOMIC_LOAD_LIMIT, 0], ids=["one-batch", "key-by-key"])
def test_an_import_replaces_the_data(server, tmp_path, monkeypatch, limit):
    monkeypatch.setattr(load, "ATOMIC_LOAD_LIMIT", limit)
    server.engine.put(0, b"old", b"gone after the import")
    rdb_file(tmp_path / "dump.rdb", *((b"k%d" % i, b"v%d" % i) for i in range(2500)))
    assert load.import_file(server, tmp_path / "dump.rdb") == 2500
    assert server.engine.dbsize(0) == 2500 and server.engine.get(0, b"old") is None
    server.engine.close()
    server.open_storage()
    assert server.engine.get(0, b"k2499") == b"v2499"


def test_a_file_bad_in_the_middle_changes_nothing(server, tmp_path):
    server.engine.put(0, b"old", b"kept")
    rdb_file(tmp_path / "dump.rdb", (b"a", b"1"), (b"b", b"2"))
    data = bytearray((tmp_path / "dump.rdb").read_bytes())
    data[-9] ^= 0xFF  # the EOF opcode: what follows the keys is no longer an RDB
    (tmp_path / "dump.rdb").write_bytes(bytes(data))
    with pytest.raises(rdb.RdbError):
        load.import_file(server, tmp_path / "dump.rdb")
    assert server.engine.get(0, b"old") == b"kept" and server.engine.dbsize(0) == 1
