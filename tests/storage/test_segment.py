"""Segment naming, index locations and rotation."""

from __future__ import annotations

import os

from storage import segment
from storage.segment import (
    ACCESS_FIELD,
    list_segments,
    location_of,
    pack_location,
    segment_name,
    unpack_location,
)

from .conftest import segment_files


def test_names_sort_in_replay_order(tmp_path):
    names = [(2, 0), (1, 0), (1, 2), (10, 0), (1, 1)]
    for major, minor in names:
        (tmp_path / segment_name(major, minor)).touch()
    (tmp_path / "0000000001-0001.hint").touch()
    (tmp_path / "0000000003-0000.log.tmp").touch()
    (tmp_path / "LOCK").touch()
    assert list_segments(tmp_path) == [(1, 0), (1, 1), (1, 2), (2, 0), (10, 0)]
    assert sorted(p.name for p in tmp_path.glob("*.log")) == [
        segment_name(*n) for n in list_segments(tmp_path)]


def test_locations_are_small_ints():
    """With the access data in it, an entry of any of a run's first 16 segments is
    a 32-byte int object; later ones take 48 (one more digit), with no limit."""
    entry = pack_location(15, 0xFFFFFFFF) | ACCESS_FIELD
    assert entry < 1 << 60
    assert unpack_location(entry) == (15, 0xFFFFFFFF)
    assert location_of(entry) == pack_location(15, 0xFFFFFFFF)
    assert pack_location(16, 0) == 1 << 60
    location = pack_location(123456, 0xFFFFFFFF)
    assert unpack_location(location | ACCESS_FIELD) == (123456, 0xFFFFFFFF)


def test_active_segment_rotates_at_the_configured_size(open_engine, data_dir):
    engine = open_engine(segment_size=4096)
    value = b"v" * 100
    for i in range(200):
        engine.put(0, b"key%d" % i, value)
        engine.flush()
    sealed = [s for s in engine.segment_stats()][:-1]
    assert len(sealed) >= 5
    for stats in sealed:  # rotation happens at the first append past the size
        assert 4096 <= stats["size"] < 4096 + 200
    assert all(engine.get(0, b"key%d" % i) == value for i in range(200))
    engine.close()
    files = segment_files(data_dir)
    assert len(files) == len(sealed) + 1
    assert all(os.path.getsize(p) < 4096 + 200 for p in files)  # no preallocation left
    reopened = open_engine(segment_size=4096)
    assert all(reopened.get(0, b"key%d" % i) == value for i in range(200))


def test_segment_size_is_validated(data_dir):
    import pytest

    from storage.engine import Engine
    with pytest.raises(ValueError):
        Engine(data_dir, segment_size=0)
    with pytest.raises(ValueError):
        Engine(data_dir, segment_size=segment.MAX_RECORD_OFFSET)
