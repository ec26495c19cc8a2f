"""The LOCK file protocol (storage/lock.py), shared by the engine and caskd-check."""

from __future__ import annotations

import os

import pytest

from storage.errors import DirectoryLocked
from storage.lock import LOCK_NAME, lock_directory, try_lock


def test_the_lock_names_its_holder_and_refuses_a_second_taker(tmp_path):
    fd = lock_directory(tmp_path)
    try:
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        assert try_lock(tmp_path, create=False) is None  # as caskd-check sees it
        with pytest.raises(DirectoryLocked, match=f"pid {os.getpid()}"):
            lock_directory(tmp_path)
    finally:
        os.close(fd)
    again = try_lock(tmp_path, create=False)  # released with its fd
    assert again is not None
    os.close(again)


def test_without_create_a_directory_with_no_lock_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        try_lock(tmp_path, create=False)
    assert not (tmp_path / LOCK_NAME).exists()
