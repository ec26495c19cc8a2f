"""The ``aclfile``: read at start, written by ACL SAVE, read again by ACL LOAD."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys

import pytest
import redis

from tests.support import ROOT, free_port

ALICE = (f"user alice on #{hashlib.sha256(b'pw').hexdigest()} ~cache:* resetchannels -@all "
         "+get +set")


def test_users_come_from_the_acl_file_and_acl_save_writes_it(caskd_factory, tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text(f"{ALICE}\nuser default on nopass ~* &* +@all\n")
    server = caskd_factory("--aclfile", str(aclfile))
    alice = server.client(username="alice", password="pw")
    assert alice.set("cache:1", "v")
    with pytest.raises(redis.exceptions.NoPermissionError):
        alice.set("other", "v")
    admin = server.client()
    assert admin.acl_setuser("bob", enabled=True, nopass=True, commands=["+ping"])
    assert admin.execute_command("ACL", "SAVE") == b"OK"
    assert aclfile.read_text().splitlines() == [
        ALICE, "user bob on nopass resetchannels -@all +ping",
        "user default on nopass ~* &* +@all"]
    assert stat.S_IMODE(aclfile.stat().st_mode) == 0o600  # it holds password hashes
    server.restart()
    assert server.client(username="bob", password="any").ping()


def test_acl_load_replaces_the_users_or_changes_nothing(caskd_factory, tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text(f"{ALICE}\n")
    server = caskd_factory("--aclfile", str(aclfile))
    admin = server.client()
    alice = server.client(username="alice", password="pw")
    alice.get("cache:1")
    aclfile.write_text(f"{ALICE}\n# a comment\nuser carol on +nosuch\nuser alice off\n")
    with pytest.raises(redis.exceptions.ResponseError) as refused:
        admin.execute_command("ACL", "LOAD")
    assert str(refused.value) == (
        f"{aclfile}:2 should start with user keyword followed by the username. "
        f"{aclfile}:3: Error in applying operation '+nosuch': Unknown command or category "
        "name in ACL. "
        "WARNING: Duplicate user 'alice' found on line 4. "
        "WARNING: ACL errors detected, no change to the previously active ACL rules "
        "was performed")
    assert alice.get("cache:1") is None  # still logged in, same rules
    aclfile.write_text("user carol on nopass +@all ~*\n")
    assert admin.execute_command("ACL", "LOAD") == b"OK"
    assert admin.acl_users() == ["carol", "default"]
    with pytest.raises(redis.exceptions.ConnectionError):
        alice.get("cache:1")  # alice was dropped: so are her clients
    assert server.client(username="carol", password="x").ping()


def test_a_bad_acl_file_stops_the_start(tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user alice on +nosuch\n")
    for path in (aclfile, tmp_path / "missing.acl"):
        result = subprocess.run(
            [sys.executable, "-m", "server", "--port", str(free_port()), "--dir",
             str(tmp_path / "data"), "--aclfile", str(path)],
            cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        assert "Aborting Redis startup because of ACL errors" in result.stderr
        assert f"{path}" in result.stderr
