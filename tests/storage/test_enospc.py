"""A full disk: writes are refused, reads go on, nothing acknowledged is lost, and
the engine recovers by itself once space is freed. Needs a small tmpfs (root)."""

from __future__ import annotations

import subprocess
import time

import pytest

from storage.engine import Engine

from .conftest import crash_image


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_refuses_writes_keeps_reads_and_recovers(small_disk, tmp_path):
    filler = small_disk / "filler"
    filler.write_bytes(b"\1" * (1200 * 1024))
    engine = Engine(small_disk / "data", fsync="always", segment_size=128 * 1024)
    acknowledged: dict[bytes, bytes] = {}
    refused = None
    for i in range(200):
        key, value = b"key%d" % i, bytes([i % 251 + 1]) * 10_000
        engine.put(0, key, value)
        engine.flush()
        if not engine.writable:
            refused = key, value
            break
        assert engine.pending_bytes == 0
        acknowledged[key] = value
    assert refused is not None, "the disk never filled up"
    assert len(acknowledged) > 10
    error = engine.last_error
    assert error is not None and error.errno == 28 and "No space" in engine.info()["write_error"]

    # Reads keep working, including the refused (still buffered) write.
    assert all(engine.get(0, key) == value for key, value in acknowledged.items())
    assert engine.get(0, refused[0]) == refused[1]
    engine.tick()
    assert not engine.writable
    assert engine.start_compaction()  # a merge on a full disk fails cleanly
    deadline = time.monotonic() + 10
    while engine.compacting:
        engine.compaction_step()
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert engine.compaction_status == "err"
    assert not list((small_disk / "data").glob("*.tmp"))

    # The log stays readable: a crash now keeps everything acknowledged.
    image = Engine(crash_image(small_disk / "data", tmp_path / "image"), fsync="no")
    assert all(image.get(0, key) == value for key, value in acknowledged.items())
    image.close()

    filler.unlink()
    engine.tick()  # the periodic upkeep retries the write by itself
    assert engine.writable and engine.pending_bytes == 0
    acknowledged[refused[0]] = refused[1]
    engine.put(0, b"after", b"recovered")
    engine.flush()
    assert engine.writable
    acknowledged[b"after"] = b"recovered"
    engine.close()

    engine = Engine(small_disk / "data", fsync="no", segment_size=128 * 1024)
    assert all(engine.get(0, key) == value for key, value in acknowledged.items())
    assert engine.dbsize(0) == len(acknowledged)
    engine.close()
