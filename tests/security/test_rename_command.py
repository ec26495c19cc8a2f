"""rename-command: hide a command, or give it a name only the operator knows."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT, CaskdProcess, free_port


@pytest.fixture
def renamed(tmp_path):
    """caskd started from a config file that disables CONFIG and renames FLUSHALL."""
    conf = tmp_path / "caskd.conf"
    conf.write_text('rename-command CONFIG ""\nrename-command FLUSHALL xyz\n')
    server = CaskdProcess(tmp_path / "data", config_file=conf).start()
    yield server
    server.stop()


def test_a_renamed_command_answers_only_to_its_new_name(renamed):
    raw = renamed.raw()
    raw.roundtrip("SET", "k", "v", reply=b"+OK\r\n")
    raw.roundtrip("CONFIG", "GET", "port", reply=b"-ERR unknown command 'CONFIG', with args "
                                                   b"beginning with: 'GET' 'port' \r\n")
    raw.roundtrip("flushall", reply=b"-ERR unknown command 'flushall', with args beginning "
                                    b"with: \r\n")
    raw.roundtrip("xYz", reply=b"+OK\r\n")
    raw.roundtrip("DBSIZE", reply=b":0\r\n")
    # ACL rules name commands by their original names, as in Redis.
    raw.roundtrip("ACL", "SETUSER", "u", "+flushall", reply=b"+OK\r\n")
    raw.roundtrip("ACL", "SETUSER", "u", "+xyz", reply=b"-ERR Error in ACL SETUSER modifier "
                                                      b"'+xyz': Unknown command or category "
                                                      b"name in ACL\r\n")


def test_config_rewrite_keeps_the_renames(tmp_path):
    conf = tmp_path / "caskd.conf"
    conf.write_text("rename-command flushall xyz\n")
    server = CaskdProcess(tmp_path / "data", config_file=conf).start()
    try:
        client = server.client()
        client.config_set("hz", "20")
        client.config_rewrite()
        server.restart()
        server.raw().roundtrip("XYZ", reply=b"+OK\r\n")
        assert server.client().config_get("hz") == {"hz": "20"}
    finally:
        server.stop()


def test_renames_on_the_command_line(caskd_factory):
    server = caskd_factory("--rename-command", "flushdb", "")
    server.raw().roundtrip("FLUSHDB", reply=b"-ERR unknown command 'FLUSHDB', with args "
                                            b"beginning with: \r\n")


@pytest.mark.parametrize(("line", "message"), [
    ("rename-command nosuch other", "No such command in rename-command"),
    ("rename-command get set", "Target command name already exists"),
    ("rename-command get", "Bad directive or wrong number of arguments"),  # as Redis
])
def test_a_bad_rename_stops_the_start(tmp_path, line, message):
    conf = tmp_path / "caskd.conf"
    conf.write_text(line + "\n")
    result = subprocess.run([sys.executable, "-m", "server", str(conf), "--port",
                             str(free_port()), "--dir", str(tmp_path / "data")],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert message in result.stderr
