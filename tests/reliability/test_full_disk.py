"""A full disk, end to end: caskd on a 4 MB tmpfs (mounting needs root).

Writes are refused with Redis's -MISCONF while reads go on; a compaction fails
cleanly; once space is freed, writes and compaction work again by themselves,
and nothing acknowledged is lost, before or after a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import redis

from scripts.caskd_check import main as caskd_check
from tests.support import CaskdProcess, wait_until

MISCONF = b"-MISCONF Errors writing to the AOF file: No space left on device\r\n"
VALUE_SIZE = 10_000


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                             str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
        message = f"cannot mount a tmpfs (needs root): {result.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def persistence(client: redis.Redis) -> dict:
    return client.info("persistence")


def value_of(i: int) -> bytes:
    return bytes([i % 250 + 1]) * VALUE_SIZE


class Writer(threading.Thread):
    """Writes until -MISCONF or ``stop``. The write that found the disk full is
    answered only once it is on disk, so this thread may wait there until space is
    freed."""

    def __init__(self, server: CaskdProcess) -> None:
        super().__init__(daemon=True)
        self.client = server.client(socket_timeout=60)
        self.acked: dict[bytes, bytes] = {}
        self.refusal: str | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        for i in range(10**6):
            if self.stop.is_set():
                return
            key = b"k%d" % i
            try:
                self.client.set(key, value_of(i))
            except redis.ResponseError as exc:
                self.refusal = str(exc)
                return
            self.acked[key] = value_of(i)


@pytest.mark.parametrize("fsync", ["always", "everysec"])
def test_full_disk_refuses_writes_keeps_reads_and_recovers_by_itself(small_disk, tmp_path,
                                                                     fsync):
    filler = small_disk / "filler"
    stats = os.statvfs(small_disk)
    filler.write_bytes(b"x" * (stats.f_bavail * stats.f_frsize - 1_500_000))
    server = CaskdProcess(small_disk / "data", "--caskd-segment-size", "256kb",
                          "--appendfsync", fsync)
    server.log_path = tmp_path / "caskd.log"  # not on the full disk
    server.start()
    try:
        client = server.client()
        writer = Writer(server)
        writer.start()
        wait_until(lambda: persistence(client)["aof_last_write_status"] == "err",
                   timeout=30, what="the disk to fill up")
        assert len(writer.acked) > 50

        raw = server.raw()
        raw.command("SET", "refused", "x")
        raw.expect(MISCONF)
        raw.command("DEL", "k1")
        raw.expect(MISCONF)
        key, value = next(iter(writer.acked.items()))
        assert client.get(key) == value  # reads go on
        assert client.dbsize() >= len(writer.acked)

        # A compaction needs room for its output: it fails, leaving no temp file.
        assert client.bgrewriteaof()
        wait_until(lambda: persistence(client)["aof_rewrite_in_progress"] == 0,
                   what="the compaction to give up")
        assert persistence(client)["aof_last_bgrewrite_status"] == "err"
        assert not list((small_disk / "data").glob("*.tmp"))

        writer.stop.set()
        filler.unlink()
        writer.join(timeout=30)  # its held write is answered once it is on disk
        assert not writer.is_alive()
        assert writer.refusal is None or "MISCONF" in writer.refusal
        wait_until(lambda: persistence(client)["aof_last_write_status"] == "ok",
                   timeout=10, what="writes to resume")
        assert client.set("after", "recovered")
        writer.acked[b"after"] = b"recovered"

        assert client.bgrewriteaof()
        wait_until(lambda: persistence(client)["aof_rewrite_in_progress"] == 0,
                   what="the compaction to finish")
        assert persistence(client)["aof_last_bgrewrite_status"] == "ok"
        assert_all_there(client, writer.acked)

        server.restart()
        assert_all_there(server.client(), writer.acked)
    finally:
        server.stop()
    assert caskd_check([str(small_disk / "data")]) == 0


def assert_all_there(client: redis.Redis, acked: dict[bytes, bytes]) -> None:
    keys = list(acked)
    assert client.mget(keys) == [acked[key] for key in keys]


if sys.platform != "linux":  # tmpfs and mount are Linux's
    pytestmark = pytest.mark.skip("needs Linux")
