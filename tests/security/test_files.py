"""The data directory and everything in it belong to the server's user alone."""

from __future__ import annotations

import os
import stat

from tests.support import wait_until


def test_data_directory_and_files_are_owner_only(caskd_factory, tmp_path):
    old_umask = os.umask(0)  # even a permissive umask gives away nothing
    try:
        server = caskd_factory("--caskd-segment-size", "4096", data_dir=tmp_path / "data")
    finally:
        os.umask(old_umask)
    client = server.client()
    for i in range(200):  # several segments
        client.set(f"key:{i}", "x" * 100)
    client.bgrewriteaof()  # compaction writes merged segments and hint files
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0,
               what="compaction to finish")
    client.save()
    assert stat.S_IMODE(server.dir.stat().st_mode) == 0o700
    files = [path for path in server.dir.iterdir() if path.is_file()]
    assert {".log", ".hint", ""} <= {path.suffix for path in files}  # segments, hints, LOCK
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == \
        {path.name: 0o600 for path in files}
