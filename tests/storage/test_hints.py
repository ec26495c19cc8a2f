"""Hint files: written for every sealed segment, read at start-up instead of the
segment, and ignored (the segment scanned) whenever they cannot be trusted."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import storage.engine
import storage.recovery
from storage.datatypes import Op
from storage.engine import Engine
from storage.hints import (
    HINT_HEADER,
    HintBuilder,
    iter_hint,
    read_hint,
    write_hint,
    write_segment_hint,
)
from storage.record import RecordType, decode_at, encode
from storage.segment import hint_path, map_file

from .conftest import segment_files
from .test_collections import contents
from .test_collections import fill as fill_collections

SEGMENT_SIZE = 1024


def history(engine: Engine) -> None:
    """Every kind of record, over many small segments: overwrites within and
    across segments, TTLs set and removed, deletes, batches, collections,
    renames, flushes and swaps."""
    far = storage.engine.now_ms() + 10**9
    engine.put(5, b"doomed", b"x")
    engine.flushall()
    for round_ in range(4):
        for i in range(40):
            engine.put(i % 3, b"key%d" % i, b"r%d-%d" % (round_, i) * 4,
                       far + i if i % 4 == round_ else 0)
            if i % 9 == 0:
                engine.put(i % 3, b"key%d" % i, b"again%d" % i)
        for i in range(round_, 40, 7):
            engine.delete(i % 3, b"key%d" % i)
        engine.set_expire(0, b"key3", far)
        engine.set_expire(1, b"key4", 0)
        with engine.batch():
            engine.put(0, b"batched%d" % round_, b"b")
            engine.delete(0, b"key%d" % (round_ + 20))
        engine.flush()
    fill_collections(engine)
    engine.apply(1, b"set", Op.SADD, [b"late"])
    engine.rename(0, b"hash", 2, b"hash2")
    engine.rename(1, b"key1", 0, b"moved")
    engine.flushdb(2)
    engine.put(2, b"after-flush", b"y")
    engine.swapdb(0, 3)
    engine.put(0, b"key1", b"new in swapped db")
    engine.flush()


def state(engine: Engine) -> tuple:
    """What a user sees, and the dead bytes auto-compaction judges by."""
    return (contents(engine, range(6)), engine.dead_size(),
            [stats["dead"] for stats in engine.segment_stats()])


def sealed_segments(directory: Path) -> list[Path]:
    return segment_files(directory)[:-1]  # the last one is the active segment


def wait_for_hints(engine: Engine, directory: Path) -> None:
    """Run the engine's upkeep until every sealed segment has its hint file."""
    deadline = time.monotonic() + 30
    while not all(hint_path(p).exists() for p in sealed_segments(directory)):
        assert time.monotonic() < deadline, "hint files were not written"
        engine.tick()
        time.sleep(0.01)
    while engine._hints.process is not None:  # and the writer has been reaped
        assert time.monotonic() < deadline
        engine.tick()
        time.sleep(0.01)


def open_replaying(open_engine, directory: Path, monkeypatch) -> tuple[Engine, list[str]]:
    """Open ``directory``, noting which segments are scanned (not read from hints)."""
    replayed: list[str] = []
    real_replay = storage.recovery.replay_segment
    monkeypatch.setattr(storage.recovery, "replay_segment", lambda *args, **options: (
        replayed.append(args[3].path.name), real_replay(*args, **options))[1])
    engine = open_engine(directory=directory, segment_size=SEGMENT_SIZE)
    monkeypatch.setattr(storage.recovery, "replay_segment", real_replay)
    return engine, replayed


@pytest.fixture
def written(open_engine, data_dir, tmp_path) -> tuple[tuple, Path]:
    """A directory with hint files for every sealed segment, the state it holds,
    and a copy of it without any hint file."""
    engine = open_engine(segment_size=SEGMENT_SIZE)
    history(engine)
    wait_for_hints(engine, data_dir)
    engine.close()
    plain = tmp_path / "plain"
    shutil.copytree(data_dir, plain)
    for hint in plain.glob("*.hint"):
        hint.unlink()
    engine = open_engine(directory=plain, segment_size=SEGMENT_SIZE)
    expected = state(engine)
    engine.close()
    for hint in plain.glob("*.hint"):  # written by close()
        hint.unlink()
    return expected, plain


def test_rotation_hints_give_the_same_index_as_replay(written, open_engine, data_dir,
                                                      monkeypatch):
    replayed_state, _ = written
    assert len(list(data_dir.glob("*.hint"))) >= 5
    engine, replayed = open_replaying(open_engine, data_dir, monkeypatch)
    assert replayed == [segment_files(data_dir)[-2].name]  # only the last one closed
    assert state(engine) == replayed_state


def test_segments_scanned_at_open_get_hints_for_the_next(written, open_engine, monkeypatch):
    replayed_state, plain = written
    engine, replayed = open_replaying(open_engine, plain, monkeypatch)
    assert len(replayed) >= 5
    wait_for_hints(engine, plain)
    engine.close()
    engine, replayed = open_replaying(open_engine, plain, monkeypatch)
    assert replayed == []
    assert state(engine) == replayed_state


def test_close_writes_the_hints_still_to_write(open_engine, data_dir, monkeypatch):
    engine = open_engine(segment_size=SEGMENT_SIZE)
    history(engine)  # no upkeep ran: no hint writer was started
    expected = state(engine)
    engine.close()
    engine, replayed = open_replaying(open_engine, data_dir, monkeypatch)
    assert replayed == [segment_files(data_dir)[-2].name]
    assert state(engine)[:2] == expected[:2]  # (a new active segment has started)


@pytest.mark.parametrize("spoil", ["damage", "truncate segment", "other segment", "old format",
                                   "empty", "missing"])
def test_untrustworthy_hint_falls_back_to_replay(written, open_engine, data_dir, spoil,
                                                 monkeypatch):
    replayed_state, _ = written
    victim = sealed_segments(data_dir)[3]
    hint = hint_path(victim)
    raw = bytearray(hint.read_bytes())
    if spoil == "damage":
        raw[len(raw) // 2] ^= 0x04
        hint.write_bytes(bytes(raw))
    elif spoil == "truncate segment":  # as caskd-check --fix does: the hint is stale
        data = victim.read_bytes()
        victim.write_bytes(data[:_last_record_offset(data)])
    elif spoil == "other segment":
        hint.write_bytes(hint_path(sealed_segments(data_dir)[4]).read_bytes())
    elif spoil == "old format":
        hint.write_bytes(b"CASKHNT3" + bytes(raw[8:]))
    elif spoil == "empty":
        hint.write_bytes(b"")
    else:
        hint.unlink()
    engine, replayed = open_replaying(open_engine, data_dir, monkeypatch)
    assert victim.name in replayed
    if spoil == "truncate segment":  # its last record is gone, and only that
        assert len(contents(engine, range(6))) <= len(replayed_state[0])
    else:
        assert state(engine) == replayed_state


def test_crash_while_writing_hints_leaves_a_loadable_directory(written, open_engine, data_dir):
    replayed_state, _ = written
    victim = sealed_segments(data_dir)[2]
    hint_path(victim).rename(hint_path(victim).with_suffix(".hint.tmp"))  # never renamed
    half = hint_path(sealed_segments(data_dir)[5])
    half.write_bytes(half.read_bytes()[:HINT_HEADER.size + 10])  # a torn hint
    engine = open_engine(segment_size=SEGMENT_SIZE)
    assert state(engine) == replayed_state
    assert not list(data_dir.glob("*.tmp"))


def test_writer_killed_mid_way_leaves_a_loadable_directory(written, open_engine, data_dir):
    replayed_state, plain = written
    engine = open_engine(directory=plain, segment_size=SEGMENT_SIZE)
    engine.tick()  # starts the writer for every segment the open scanned
    engine._hints.process.kill()
    engine.close()
    assert state(open_engine(directory=plain, segment_size=SEGMENT_SIZE)) == replayed_state


def test_compaction_stops_hinting_the_segments_it_replaces(open_engine, data_dir):
    engine = open_engine(segment_size=SEGMENT_SIZE)
    history(engine)
    engine.tick()
    assert engine._hints.process is not None
    expected = contents(engine, range(6))
    engine.start_compaction()
    assert engine._hints.process is None
    while engine.compacting:
        engine.compaction_step()
        time.sleep(0.001)
    engine.close()
    assert all(p.with_suffix(".log").exists() for p in data_dir.glob("*.hint"))
    assert contents(open_engine(segment_size=SEGMENT_SIZE), range(6)) == expected


def test_no_hint_for_a_segment_that_is_not_whole_records(tmp_path):
    segment = tmp_path / "0000000001-0000.log"
    good = _record(b"k", b"v")
    for damaged in (good + bytes(100), good + good[:-1], good[:10] + b"X" + good[11:]):
        segment.write_bytes(damaged)
        assert not write_segment_hint(segment)
        assert not hint_path(segment).exists()
    segment.write_bytes(good + good)
    assert write_segment_hint(segment)
    view = map_file(segment)
    assert [put for _, put in iter_hint(read_hint(hint_path(segment), view))] == [(0, 0, b"k")]
    view.close()


def test_hint_round_trip_and_damage(tmp_path):
    segment = tmp_path / "0000000001-0000.log"
    segment.write_bytes(_record(b"a", b"1") * 50)
    builder = HintBuilder()
    builder.add(RecordType.PUT, 0, b"a", 0, 24, 0)
    builder.add(RecordType.PUT, 0, b"a", 24, 24, 99)  # supersedes the first
    builder.add(RecordType.DELETE, 0, b"a", 48, 23, 0)
    builder.add(RecordType.PUT, 15, b"\0binary\n", 72, 30, 0)
    path = tmp_path / "x.hint"
    view = map_file(segment)
    write_hint(path, view, builder.encode())
    assert list(iter_hint(read_hint(path, view))) == [
        (24, (0, 99, b"a")), (48, None), (72, (15, 0, b"\0binary\n"))]
    raw = path.read_bytes()
    for index in range(len(raw)):
        damaged = bytearray(raw)
        damaged[index] ^= 0x10
        path.write_bytes(bytes(damaged))
        assert read_hint(path, view) is None, index
    path.write_bytes(raw[:-1])
    assert read_hint(path, view) is None
    view.close()


def _last_record_offset(data: bytes) -> int:
    pos = last = 0
    while pos < len(data):
        last, pos = pos, decode_at(memoryview(data), pos, len(data)).end
    return last


def _record(key: bytes, value: bytes) -> bytes:
    return encode(RecordType.PUT, 0, key, value)
