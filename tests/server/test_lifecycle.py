"""Starting, configuring and stopping caskd as a process."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.support import ROOT, CaskdProcess, free_port


def run_caskd(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_unknown_setting_is_refused_before_touching_anything(tmp_path):
    result = run_caskd("--port", str(free_port()), "--dir", str(tmp_path / "d"),
                       "--no-such-setting", "1")
    assert result.returncode != 0
    assert "no-such-setting" in result.stderr
    assert not (tmp_path / "d").exists()


def test_bad_value_names_the_setting(tmp_path):
    result = run_caskd("--appendfsync", "sometimes", "--dir", str(tmp_path / "d"))
    assert result.returncode != 0
    assert "appendfsync" in result.stderr


def test_config_file_then_flags(tmp_path):
    port = free_port()
    conf = tmp_path / "caskd.conf"
    conf.write_text(f"# comment\nport {port + 1}\nappendfsync always\ndatabases 4\n")
    server = CaskdProcess(tmp_path / "data", port=port, config_file=conf).start()
    try:  # flags after the file win
        client = server.client()
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
        assert client.config_get("databases") == {"databases": "4"}
        assert client.config_get("port") == {"port": str(port)}
    finally:
        assert server.stop() == 0


def test_sigterm_stops_cleanly_and_keeps_data(caskd):
    client = caskd.client()
    client.set("k", "v")
    assert caskd.stop(signal.SIGTERM) == 0
    assert "ready to exit" in caskd.log()
    caskd.start()
    assert caskd.client().get("k") == b"v"


def test_shutdown_command(caskd):
    client = caskd.raw()
    client.command("SET", "k", "v")
    client.expect(b"+OK\r\n")
    client.command("SHUTDOWN")
    assert client.read_until_closed() == b""
    assert caskd.proc.wait(20) == 0
    caskd.proc = None
    caskd.log_file.close()
    caskd.start()
    assert caskd.client().get("k") == b"v"


def test_second_server_on_same_dir_refuses(caskd, tmp_path):
    result = run_caskd("--port", str(free_port()), "--dir", str(caskd.dir))
    assert result.returncode != 0
    assert "in use by another caskd process" in result.stdout + result.stderr
    assert caskd.client().ping()


def test_config_get_set(caskd):
    client = caskd.client()
    assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert client.config_set("appendfsync", "always")
    client.set("k", "v")
    assert client.config_get("appendfsync") == {"appendfsync": "always"}
    assert set(client.config_get("auto-aof-*")) == {"auto-aof-rewrite-percentage",
                                                    "auto-aof-rewrite-min-size"}
    raw = caskd.raw()
    raw.roundtrip("CONFIG", "SET", "port", "1",
                  reply=b"-ERR CONFIG SET failed (possibly related to argument 'port') - "
                        b"can't set immutable config\r\n")
    raw.roundtrip("CONFIG", "SET", "nosuch", "1",
                  reply=b"-ERR Unknown option or number of arguments for CONFIG SET - "
                        b"'nosuch'\r\n")
