"""A flipped bit on disk costs the damaged records only: caskd starts, serves
everything else, names the damage in its log and INFO, and the damaged keys
answer the checksum error a damaged read gets, whatever command reads them."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis

from tests.support import ROOT, wait_until

SEGMENT = "4096"


def flip_in(path, needle: bytes) -> int:
    """Flip a bit of the first occurrence of ``needle`` in ``path``; its offset."""
    data = bytearray(path.read_bytes())
    offset = data.index(needle)
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return offset


def segment_with(directory, needle: bytes):
    return next(path for path in sorted(directory.glob("*.log"))
                if needle in path.read_bytes())


@pytest.fixture
def damaged_server(caskd_factory, tmp_path):
    """A caskd whose log had a string, a hash and an MSET damaged while it was
    stopped (hint files removed, so start-up reads every record)."""
    data_dir = tmp_path / "data"
    server = caskd_factory("--caskd-segment-size", SEGMENT, data_dir=data_dir)
    client = server.client()
    client.set("before", "intact")
    client.set("victim", "the-victims-value")
    client.hset("hash", mapping={"f1": "one"})
    client.mset({"m1": "first-of-mset", "m2": "second-of-mset"})
    for i in range(200):  # several sealed segments after the damage
        client.set(f"filler:{i}", "x" * 40)
    client.hset("hash", "f2", "two")  # a later operation on the damaged hash
    client.set("after", "intact too")
    server.stop()
    for hint in data_dir.glob("*.hint"):
        hint.unlink()
    for needle in (b"the-victims-value", b"one", b"first-of-mset"):
        flip_in(segment_with(data_dir, needle), needle)
    server.start()
    return server


def test_the_server_starts_and_serves_the_rest(damaged_server):
    client = damaged_server.client()
    assert client.get("before") == b"intact" and client.get("after") == b"intact too"
    assert client.mget([f"filler:{i}" for i in range(200)]) == [b"x" * 40] * 200
    info = client.info("persistence")
    assert info["caskd_damaged_records"] == 3
    log = damaged_server.log()
    assert "db 0 key b'victim'" in log and "db 0 key b'hash'" in log
    assert "db 0 key b'm1', db 0 key b'm2'" in log
    assert "caskd-check --fix" in log


@pytest.mark.parametrize("command", [("GET", "victim"), ("GETRANGE", "victim", "0", "3"),
                                     ("STRLEN", "victim"), ("HGET", "hash", "f2"),
                                     ("HGETALL", "hash"), ("HSET", "hash", "f3", "3"),
                                     ("GET", "m1"), ("MGET", "m2"), ("GET", "hash")])
def test_damaged_keys_answer_the_checksum_error(damaged_server, command):
    client = damaged_server.client()
    with pytest.raises(redis.ResponseError) as excinfo:
        client.execute_command(*command)
    message = str(excinfo.value)
    assert "failed its checksum (corrupted on disk)" in message
    assert ".log at offset" in message


def test_writing_or_deleting_a_damaged_key_accepts_the_loss(damaged_server):
    client = damaged_server.client()
    client.set("victim", "new")
    assert client.delete("hash") == 1
    damaged_server.restart()
    client = damaged_server.client()
    assert client.get("victim") == b"new"
    assert client.exists("hash") == 0
    with pytest.raises(redis.ResponseError):  # not written again: still damaged
        client.get("m1")


def test_caskd_check_fix_removes_only_the_damage(damaged_server):
    data_dir = damaged_server.dir
    damaged_server.stop()
    fix = subprocess.run([sys.executable, "-m", "scripts.caskd_check", "--fix", "--yes",
                          str(data_dir)], cwd=ROOT, capture_output=True, text=True)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert fix.stdout.count("remove from ") == 3
    damaged_server.start()
    client = damaged_server.client()
    assert client.info("persistence")["caskd_damaged_records"] == 0
    assert (client.get("victim"), client.get("m1"), client.get("m2")) == (None, None, None)
    assert client.hgetall("hash") == {b"f2": b"two"}  # the later operation stands
    assert client.get("after") == b"intact too"
    assert client.mget([f"filler:{i}" for i in range(200)]) == [b"x" * 40] * 200


def test_bgrewriteaof_says_why_compaction_waits_and_resumes_once_the_loss_is_accepted(
        damaged_server):
    client = damaged_server.client()
    assert client.info("persistence")["caskd_compaction_paused"] == 1
    with pytest.raises(redis.ResponseError) as excinfo:
        client.bgrewriteaof()
    message = str(excinfo.value)
    assert message.startswith("Can't execute an AOF background rewriting: compaction is "
                              "paused while 4 key(s) read a damaged record")
    assert "write or delete them" in message
    assert f"caskd-check --fix {damaged_server.dir}" in message
    client.set("victim", "new")
    client.delete("hash")
    client.mset({"m1": "1", "m2": "2"})
    assert client.info("persistence")["caskd_compaction_paused"] == 0
    assert client.bgrewriteaof()
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)
    assert client.info("persistence")["aof_last_bgrewrite_status"] == "ok"
    damaged_server.restart()  # the damaged records went with the compacted segments
    client = damaged_server.client()
    assert client.info("persistence")["caskd_damaged_records"] == 0
    assert client.mget(["victim", "m1", "m2", "hash", "after"]) == [
        b"new", b"1", b"2", None, b"intact too"]
