"""Compaction: merging, the index fix-up, hint files, and every state a crash
during compaction can leave behind."""

from __future__ import annotations

import os
import signal
import time

import pytest

import storage.compaction
import storage.engine
import storage.recovery
from storage.engine import CorruptValue, Engine

from .conftest import crash_image, segment_files


def finish_compaction(engine: Engine, budget: int = 20000, between=lambda: None) -> None:
    """Run compaction_step until the compaction is over (it polls the merge thread)."""
    deadline = time.monotonic() + 30
    while engine.compacting:
        engine.compaction_step(budget)
        between()
        assert time.monotonic() < deadline, "compaction did not finish"
        time.sleep(0.001)


def compact(engine: Engine, **kwargs) -> None:
    assert engine.start_compaction()
    finish_compaction(engine, **kwargs)


def wait_for_merge(engine: Engine) -> None:
    """Until the merge's output files are in place, before any index fix-up."""
    deadline = time.monotonic() + 30
    while engine.compaction_progress < 1.0 and not (engine._compactor.state.result
                                                    or engine._compactor.state.error):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    engine._compactor.state.thread.join()


def state_of(engine: Engine, dbs=range(4)) -> dict:
    return {(db, key): (engine.get(db, key), engine.get_expire(db, key))
            for db in dbs for key in engine.keys(db)}


def fill(engine: Engine, rounds: int = 3, keys: int = 60) -> None:
    """Overwrites, deletes and TTLs spread over several segments."""
    for r in range(rounds):
        for i in range(keys):
            engine.put(i % 3, b"key%d" % i, b"round%d-%d" % (r, i) * 5)
        for i in range(r, keys, 7):
            engine.delete(i % 3, b"key%d" % i)
        engine.put(0, b"ttl%d" % r, b"t", storage.engine.now_ms() + 10**9)
        engine.flush()


def test_compaction_keeps_live_data_and_frees_dead_space(open_engine, data_dir):
    engine = open_engine(segment_size=2048)
    fill(engine)
    before = state_of(engine)
    size_before = engine.disk_size()
    compact(engine)
    assert state_of(engine) == before
    assert engine.disk_size() < size_before and engine.dead_size() == 0
    assert engine.compaction_status == "ok" and engine.compaction_count == 1
    assert list(data_dir.glob("*.hint"))  # beside every output
    assert all(p.with_suffix(".log").exists() for p in data_dir.glob("*.hint"))
    engine.close()
    assert state_of(open_engine(segment_size=2048)) == before


def test_reopen_after_compaction_reads_hints_not_segments(open_engine, monkeypatch):
    engine = open_engine(segment_size=2048)
    fill(engine)
    compact(engine)
    before = state_of(engine)
    engine.close()
    replayed = []
    real_replay = storage.recovery.replay_segment
    monkeypatch.setattr(storage.recovery, "replay_segment",
                        lambda *args, **options: replayed.append(args[3]) or real_replay(
                            *args, **options))
    engine = open_engine(segment_size=2048)
    assert state_of(engine) == before
    assert replayed == []  # every segment left is a compaction output with a hint


def test_damaged_hint_falls_back_to_scanning(open_engine, data_dir):
    engine = open_engine(segment_size=2048)
    fill(engine)
    compact(engine)
    before = state_of(engine)
    engine.close()
    for hint in data_dir.glob("*.hint"):
        raw = bytearray(hint.read_bytes())
        raw[len(raw) // 2] ^= 0x04
        hint.write_bytes(bytes(raw))
    assert state_of(open_engine(segment_size=2048)) == before


def test_second_compaction_after_new_writes_keeps_the_newest_values(open_engine):
    """Outputs must be merged in log order with what was written after them
    (they were once merged after newer segments, letting older values win)."""
    engine = open_engine(segment_size=4096)
    engine.put(0, b"k", b"v1")
    engine.put(0, b"gone", b"x")
    compact(engine)
    engine.put(0, b"k", b"v2")
    engine.delete(0, b"gone")
    compact(engine)
    engine.put(0, b"k", b"v3")
    compact(engine)
    assert engine.get(0, b"k") == b"v3" and engine.get(0, b"gone") is None
    engine.close()
    engine = open_engine(segment_size=4096)
    assert engine.get(0, b"k") == b"v3" and engine.get(0, b"gone") is None


def test_writes_during_compaction_win(open_engine):
    engine = open_engine(segment_size=2048)
    fill(engine)
    assert engine.start_compaction()
    engine.put(0, b"key0", b"during")
    engine.delete(1, b"key1")
    engine.put(2, b"new", b"n")
    engine.flushdb(3)
    finish_compaction(engine, budget=7, between=lambda: engine.put(0, b"key3", b"step"))
    expected = state_of(engine)
    assert expected[(0, b"key0")][0] == b"during" and (1, b"key1") not in expected
    assert expected[(0, b"key3")][0] == b"step"
    engine.close()
    assert state_of(open_engine(segment_size=2048)) == expected


def test_swapdb_during_compaction(open_engine):
    """The fix-up must follow the merged keys to the db they now live in."""
    engine = open_engine(segment_size=2048)
    for i in range(100):
        engine.put(0, b"a%d" % i, b"zero%d" % i)
        engine.put(1, b"b%d" % i, b"one%d" % i)
    assert engine.start_compaction()
    engine.swapdb(0, 1)
    finish_compaction(engine, budget=10)
    assert engine.get(1, b"a5") == b"zero5" and engine.get(0, b"b5") == b"one5"
    expected = state_of(engine)
    assert len(expected) == 200
    compact(engine)  # the first merge's inputs are gone: reads must not need them
    assert state_of(engine) == expected
    engine.close()
    assert state_of(open_engine(segment_size=2048)) == expected


def test_expired_keys_are_dropped_by_the_merge(open_engine, clock):
    engine = open_engine(segment_size=2048)
    engine.put(0, b"short", b"v", clock.now + 10)
    engine.put(0, b"long", b"v", clock.now + 10**6)
    clock.advance(20)
    compact(engine)
    assert engine.dbsize(0) == 1 and engine.get_expire(0, b"long") == clock.now + 10**6 - 20
    engine.close()
    engine = open_engine(segment_size=2048)
    assert list(engine.keys(0)) == [b"long"]


def test_key_whose_ttl_changes_after_the_merge_dropped_it_survives(open_engine, clock):
    """The merge judged the key expired; then (the wall clock stepped back) it was
    made persistent. Its value exists only in an input: it must be kept."""
    engine = open_engine(segment_size=2048)
    engine.put(0, b"k", b"precious", clock.now + 10)
    clock.advance(20)
    assert engine.start_compaction()
    wait_for_merge(engine)
    clock.advance(-20)
    assert engine.set_expire(0, b"k", 0)
    finish_compaction(engine)
    assert engine.get(0, b"k") == b"precious"
    engine.close()
    clock.advance(10**6)
    engine = open_engine(segment_size=2048)
    assert engine.get(0, b"k") == b"precious" and engine.get_expire(0, b"k") == 0


def test_ttl_persisted_during_compaction_survives_reopen(open_engine, clock):
    engine = open_engine(segment_size=2048)
    engine.put(0, b"k", b"v", clock.now + 1000)
    assert engine.start_compaction()
    engine.set_expire(0, b"k", 0)
    finish_compaction(engine)
    engine.close()
    clock.advance(10_000)
    engine = open_engine(segment_size=2048)
    assert engine.get(0, b"k") == b"v" and engine.get_expire(0, b"k") == 0


# ------------------------------------------------------------------ crash states


def test_leftover_temp_files_are_removed_at_open(open_engine, data_dir):
    engine = open_engine(segment_size=2048)
    fill(engine)
    expected = state_of(engine)
    engine.close()
    (data_dir / "0000000009-0001.log.tmp").write_bytes(b"half a merge")
    (data_dir / "0000000009-0001.hint.tmp").write_bytes(b"half a hint")
    (data_dir / "0000000009-0002.hint").write_bytes(b"orphan hint")
    engine = open_engine(segment_size=2048)
    assert state_of(engine) == expected
    assert not list(data_dir.glob("*.tmp")) and not (data_dir / "0000000009-0002.hint").exists()


@pytest.fixture
def merged_image(open_engine, data_dir, tmp_path):
    """(image directory, input segment names oldest first, outputs, expected state):
    a copy of the directory after the merge renamed its outputs into place and
    before any input was deleted. Some keys were deleted in later segments than
    the ones holding their values."""
    engine = open_engine(segment_size=2048)
    fill(engine, rounds=4)
    engine.put(0, b"deleted-later", b"x")
    engine.flush()
    engine.start_compaction()  # seals everything so far
    finish_compaction(engine)
    engine.put(0, b"after-first", b"y")
    fill(engine, rounds=2)
    engine.delete(0, b"deleted-later")
    for i in range(0, 60, 5):
        engine.delete(i % 3, b"key%d" % i)
    expected = state_of(engine)
    names_before = {p.name for p in segment_files(data_dir)}
    assert engine.start_compaction()
    inputs = sorted(s.path.name for s in engine._compactor.state.inputs)
    wait_for_merge(engine)
    image = crash_image(data_dir, tmp_path / "image")
    outputs = sorted({p.name for p in segment_files(image)} - names_before)
    finish_compaction(engine)
    assert state_of(engine) == expected
    assert len(inputs) >= 3 and outputs
    return image, inputs, outputs, expected


def open_copy(source, target):
    engine = Engine(crash_image(source, target), fsync="no", segment_size=2048)
    try:
        return state_of(engine)
    finally:
        engine.close()


def test_crash_with_inputs_and_outputs_both_present(merged_image, tmp_path):
    image, _inputs, _outputs, expected = merged_image
    assert open_copy(image, tmp_path / "both") == expected


def test_crash_part_way_through_deleting_inputs(merged_image, tmp_path):
    image, inputs, _outputs, expected = merged_image
    for deleted in range(1, len(inputs) + 1):  # oldest first, as the engine does
        copy = crash_image(image, tmp_path / f"partial{deleted}")
        for name in inputs[:deleted]:
            (copy / name).unlink()
        assert open_copy(copy, tmp_path / f"opened{deleted}") == expected, deleted


def test_crash_part_way_through_renaming_outputs(merged_image, tmp_path):
    image, _inputs, outputs, expected = merged_image
    for kept in range(len(outputs)):
        copy = crash_image(image, tmp_path / f"renamed{kept}")
        for name in outputs[kept:]:  # not renamed yet: still a temp file
            (copy / name).rename(copy / (name + ".tmp"))
            hint = (copy / name).with_suffix(".hint")
            if kept % 2 and hint.exists():
                hint.unlink()
        assert open_copy(copy, tmp_path / f"opened{kept}") == expected, kept


def test_deleted_keys_do_not_return_after_partial_merge_and_restart(merged_image, tmp_path):
    image, inputs, _outputs, expected = merged_image
    for deleted in range(len(inputs) + 1):
        copy = crash_image(image, tmp_path / f"p{deleted}")
        for name in inputs[:deleted]:
            (copy / name).unlink()
        engine = Engine(copy, fsync="no", segment_size=2048)
        assert engine.get(0, b"deleted-later") is None
        assert all(engine.get(i % 3, b"key%d" % i) is None for i in range(0, 60, 5))
        compact(engine)  # and merging the leftovers again does not bring them back
        engine.close()
        engine = Engine(copy, fsync="no", segment_size=2048)
        assert state_of(engine) == expected
        engine.close()


def test_failed_compaction_leaves_no_temp_files_and_backs_off(open_engine, data_dir,
                                                            monkeypatch):
    engine = open_engine(segment_size=2048, auto_compact_min_size=1)
    engine.merge_in_child = False  # so the patched write_hint is the one the merge calls
    fill(engine)
    expected = state_of(engine)
    real_write = storage.compaction.write_hint

    def failing_write_hint(path, entries, count):
        real_write(path, entries, count)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.compaction, "write_hint", failing_write_hint)
    assert engine.start_compaction()
    finish_compaction(engine)
    assert engine.compaction_status == "err"
    assert not list(data_dir.glob("*.tmp")) and not list(data_dir.glob("*.hint"))
    assert state_of(engine) == expected
    engine.tick()
    assert not engine.compacting  # backing off: no immediate retry
    monkeypatch.setattr(storage.compaction, "write_hint", real_write)
    engine._compactor.retry_at = 0  # the back-off has passed
    engine.tick()
    assert engine.compacting
    finish_compaction(engine)
    assert engine.compaction_status == "ok" and state_of(engine) == expected


def test_automatic_compaction_on_dead_bytes(open_engine):
    engine = open_engine(segment_size=4096, auto_compact_min_size=16 * 1024,
                         auto_compact_percentage=0, auto_compact_dead_ratio=0.5)
    for r in range(60):
        for i in range(20):
            engine.put(0, b"k%d" % i, b"%d" % r * 20)
        engine.flush()
        engine.tick()
    deadline = time.monotonic() + 10
    while engine.compaction_count == 0 or engine.compacting:
        engine.tick()
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert engine.dead_size() < engine.disk_size()
    assert all(engine.get(0, b"k%d" % i) == b"59" * 20 for i in range(20))


def test_merge_runs_in_a_child_process(open_engine):
    engine = open_engine(segment_size=2048)
    fill(engine)
    expected = state_of(engine)
    assert engine.start_compaction()
    engine._compactor.state.thread.join()
    process = engine._compactor.state.process
    assert process is not None and process.pid != os.getpid() and process.returncode == 0
    finish_compaction(engine)
    assert state_of(engine) == expected and engine.compaction_status == "ok"
    assert not list(engine.directory.glob("*.tmp"))  # the relocation file is gone too


def test_killed_merge_process_leaves_nothing_behind(open_engine, data_dir):
    engine = open_engine(segment_size=2048)
    fill(engine, rounds=6)
    expected = state_of(engine)
    before = {p.name for p in data_dir.iterdir()}
    assert engine.start_compaction()
    deadline = time.monotonic() + 10
    while engine._compactor.state.process is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    os.kill(engine._compactor.state.process.pid, signal.SIGKILL)
    finish_compaction(engine)
    assert engine.compaction_status == "err"
    # Only the segment the compaction's rotation started is new.
    assert len({p.name for p in data_dir.iterdir()} - before) == 1
    assert not list(data_dir.glob("*.tmp")) and state_of(engine) == expected
    engine._compactor.retry_at = 0
    compact(engine)
    assert engine.compaction_status == "ok" and state_of(engine) == expected


def test_outputs_of_a_failed_merge_are_removed(tmp_path):
    from storage.compaction import _remove_outputs
    names = ["0000000007-0000.log", "0000000007-0001.log", "0000000007-0002.log",
             "0000000007-0002.hint", "0000000007-0003.log.tmp", "0000000007-0002.reloc.tmp",
             "0000000008-0002.log"]
    for name in names:
        (tmp_path / name).touch()
    _remove_outputs(tmp_path, 7, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "0000000007-0000.log", "0000000007-0001.log", "0000000008-0002.log"]


def test_merge_process_error_is_reported(open_engine, data_dir, caplog):
    engine = open_engine(segment_size=2048)
    fill(engine)
    expected = state_of(engine)
    engine.start_compaction()
    finish_compaction(engine)
    engine.put(0, b"x", b"y")
    engine.flush()
    assert engine.start_compaction()  # seals the segment holding x...
    finish_compaction(engine)
    engine.put(0, b"z", b"w")
    engine.flush()
    engine._log.rotate()
    sealed = segment_files(data_dir)[-2]  # ...and this one holds z, sealed
    with open(sealed, "r+b") as f:  # damage it on disk: an absurd value length
        f.seek(18)
        f.write(b"\xff\xff\xff\x7f")
    with caplog.at_level("WARNING", logger="caskd.storage"):
        assert engine.start_compaction()
        finish_compaction(engine)
    assert engine.compaction_status == "err"
    assert "found a damaged record (bad record header in" in caplog.text
    assert str(sealed) in caplog.text
    assert not list(data_dir.glob("*.tmp"))
    with pytest.raises(CorruptValue):  # its own record is the damaged one: reads refuse it
        engine.get(0, b"z")
    # Its header is damaged: what it named is unknown, so only caskd-check --fix
    # resumes compaction (which would otherwise drop the damage for good).
    assert "whose keys are unknown" in engine.compaction_paused
    assert engine.start_compaction() and not engine.compacting and sealed.exists()
    engine.delete(0, b"z")
    assert state_of(engine) == {**expected, (0, b"x"): (b"y", 0)}
