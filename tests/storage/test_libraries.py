"""Function libraries in the log: stored as bytes by name, replayed at open (from
segments or their hint files), kept whole by compaction, untouched by FLUSHALL."""

from __future__ import annotations

import pytest

from storage.engine import Engine

from .conftest import segment_files
from .test_compaction import compact
from .test_hints import open_replaying, wait_for_hints

SEGMENT_SIZE = 2048


def history(engine: Engine) -> dict[bytes, bytes]:
    """Libraries loaded, replaced, deleted and flushed across several segments, with
    keys between them; returns the libraries that are left."""
    for round_ in range(3):
        engine.put_library(b"gone", b"code of gone")
        for i in range(40):
            engine.put(0, b"key%d" % i, b"value-%d" % round_ * 10)
        engine.put_library(b"lib%d" % round_, b"#!lua name=lib%d\n-- v1" % round_)
        engine.put_library(b"lib%d" % round_, b"#!lua name=lib%d\n-- v2" % round_)
        engine.delete_library(b"gone")
    engine.replace_libraries({b"kept": b"kept's code", b"lib2": b"lib2's code"})
    engine.put_library(b"after", b"after's code")
    engine.flushall()  # keys only: functions are not part of the keyspace
    engine.put(0, b"last", b"x")
    return {b"kept": b"kept's code", b"lib2": b"lib2's code", b"after": b"after's code"}


def test_libraries_survive_reopening(open_engine):
    engine = open_engine(segment_size=SEGMENT_SIZE)
    expected = history(engine)
    assert engine.libraries == expected
    engine.close()
    assert open_engine(segment_size=SEGMENT_SIZE).libraries == expected


def test_flushing_and_deleting_survive_reopening(open_engine):
    engine = open_engine()
    engine.put_library(b"a", b"a's code")
    engine.put_library(b"b", b"b's code")
    engine.delete_library(b"a")
    engine.close()
    engine = open_engine()
    assert engine.libraries == {b"b": b"b's code"}
    engine.replace_libraries({})
    engine.close()
    assert open_engine().libraries == {}


def test_compaction_writes_the_live_libraries_once(open_engine, data_dir):
    engine = open_engine(segment_size=SEGMENT_SIZE)
    engine.merge_in_child = False
    expected = history(engine)
    engine.put(0, b"rotate", b"r" * SEGMENT_SIZE)  # seal the segment with the last change
    compact(engine)
    assert engine.libraries == expected
    merged = b"".join(path.read_bytes() for path in segment_files(data_dir))
    assert b"code of gone" not in merged and b"-- v1" not in merged
    assert merged.count(b"kept's code") == 1
    engine.close()
    assert open_engine(segment_size=SEGMENT_SIZE).libraries == expected


def test_hint_files_keep_the_libraries(open_engine, data_dir, monkeypatch):
    engine = open_engine(segment_size=SEGMENT_SIZE)
    expected = history(engine)
    wait_for_hints(engine, data_dir)
    engine.close()
    engine, replayed = open_replaying(open_engine, data_dir, monkeypatch)
    assert len(replayed) <= 1  # the others were read from their hints
    assert engine.libraries == expected


def test_a_library_needs_a_name_and_code(open_engine):
    engine = open_engine()
    with pytest.raises(ValueError):
        engine.put_library(b"", b"code")
    with pytest.raises(ValueError):
        engine.put_library(b"name", b"")
