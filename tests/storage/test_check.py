"""scripts/caskd_check.py: verification, the first problem, --fix, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts import caskd_check
from storage import record
from storage.engine import CorruptValue, Engine

from .conftest import crash_image, segment_files
from .test_recovery import iter_top

ROOT = Path(__file__).resolve().parents[2]


def populate(directory: Path, compact: bool = True) -> dict:
    engine = Engine(directory, fsync="no", segment_size=2048)
    for i in range(120):
        engine.put(i % 2, b"key%d" % i, b"value%d" % i * 4)
        if i % 10 == 0:
            with engine.batch():
                engine.put(0, b"batch%d" % i, b"b")
                engine.delete(1, b"key%d" % (i - 1))
    if compact:
        engine.start_compaction()
        engine._compactor.state.thread.join()
        engine.compaction_step(budget=1 << 30)
    for i in range(40):  # some plain segments after the compacted ones
        engine.put(0, b"late%d" % i, b"v" * 50)
    state = {(db, key): engine.get(db, key) for db in (0, 1) for key in engine.keys(db)}
    engine.close()
    return state


def run(capsys, *args: str, answer: str | None = None, monkeypatch=None) -> tuple[int, str]:
    if answer is not None:
        monkeypatch.setattr("builtins.input", lambda prompt: print(prompt) or answer)
    code = caskd_check.main(list(args))
    return code, capsys.readouterr().out


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def test_sound_directory(data_dir, capsys):
    populate(data_dir)
    code, out = run(capsys, str(data_dir))
    assert code == 0 and "No problems found." in out
    for segment in segment_files(data_dir):
        assert segment.name in out
    assert "hint ok" in out and "BAD" not in out


def test_the_hint_of_a_segment_with_batches_matches_it(data_dir, capsys):
    """A hint names each part of a batch, which is verified by its own checksum
    (not taken for a whole record, whose checksum it fails by design)."""
    populate(data_dir, compact=False)
    assert any(rec.type == record.RecordType.BATCH for path in segment_files(data_dir)
               for rec in iter_top(record, memoryview(path.read_bytes())))
    code, out = run(capsys, str(data_dir))
    assert code == 0 and "does not match" not in out and "hint ok" in out


def test_preallocated_tail_of_a_crash_is_not_damage(data_dir, tmp_path, capsys):
    engine = Engine(data_dir, fsync="no")
    engine.put(0, b"k", b"v")
    engine.flush()
    image = crash_image(data_dir, tmp_path / "image")
    engine.close()
    code, out = run(capsys, str(image))
    assert code == 0 and "unused preallocated space" in out


def damaged_key(segment: Path, offset: int) -> bytes:
    """The key of the record of ``segment`` that holds byte ``offset``."""
    data = memoryview(segment.read_bytes())
    pos = 0
    while True:
        rec = record.decode_at(data, pos, len(data))
        if rec.end > offset:
            return rec.key
        pos = rec.end


def test_flipped_bit_is_reported_and_only_its_record_removed(data_dir, capsys, monkeypatch):
    state = populate(data_dir)
    segment = segment_files(data_dir)[-2]  # a sealed, plain segment
    size = segment.stat().st_size
    key = damaged_key(segment, 300)
    flip(segment, 300)
    code, out = run(capsys, str(data_dir))
    assert code == 1
    first = [line for line in out.splitlines() if line.startswith("First problem:")]
    assert len(first) == 1 and str(segment) in first[0] and "checksum mismatch" in first[0]
    offset = int(first[0].split("at offset ")[1].split(":")[0])
    assert 0 < offset <= 300
    assert f"damaged: a PUT record of 77 bytes at offset {offset}" in out
    assert f"db 0 key {key!r}" in out

    code, out = run(capsys, "--dry-run", str(data_dir))
    assert code == 1 and "Nothing changed (--dry-run)." in out
    assert f"remove from {segment.name} a PUT record of 77 bytes at offset {offset}" in out
    code, out = run(capsys, "--fix", str(data_dir), answer="n", monkeypatch=monkeypatch)
    assert code == 1 and "Nothing changed." in out
    assert segment.stat().st_size == size

    code, out = run(capsys, "--fix", str(data_dir), answer="y", monkeypatch=monkeypatch)
    assert code == 0 and "Repaired" in out
    assert segment.stat().st_size == size - 77  # that record only
    assert run(capsys, str(data_dir))[0] == 0
    engine = Engine(data_dir, fsync="no")  # it opens with everything but that key
    recovered = {(db, key): engine.get(db, key) for db in (0, 1) for key in engine.keys(db)}
    engine.close()
    del state[(0, key)]
    assert recovered == state


def intact_values(engine: Engine, state: dict) -> dict:
    """The keys of ``state`` the engine serves with their right value."""
    served = {}
    for db, key in state:
        try:
            value = engine.get(db, key)
        except CorruptValue:
            continue
        if value == state[db, key]:
            served[db, key] = value
    return served


def test_damage_in_several_places_costs_only_the_damaged_records(data_dir, capsys):
    """Damage in several segments, a damaged header among them: the fix removes
    exactly what caskd skips, and loses nothing caskd served."""
    state = populate(data_dir, compact=False)
    segments = segment_files(data_dir)
    for segment, offset in ((segments[0], 100), (segments[2], 30), (segments[2], 700),
                            (segments[3], 14)):  # the last: a key length, in a header
        flip(segment, offset)
    engine = Engine(data_dir, fsync="no")
    skipped = engine.stats["damaged_records"]
    served = intact_values(engine, state)
    engine.close()
    assert len(served) >= len(state) - 8
    code, out = run(capsys, "--fix", "--yes", str(data_dir))
    assert code == 0 and out.count("remove from ") == skipped == 4
    assert "the record header is damaged, the keys there are unknown" in out
    engine = Engine(data_dir, fsync="no")
    assert engine.stats["damaged_records"] == 0
    recovered = {(db, key): engine.get(db, key) for db in (0, 1) for key in engine.keys(db)}
    engine.close()
    assert served.items() <= recovered.items() <= state.items()


def test_the_fix_brings_back_the_previous_value_of_a_damaged_key(data_dir, capsys):
    engine = Engine(data_dir, fsync="no", segment_size=1024)
    engine.put(0, b"k", b"previous")
    for i in range(30):
        engine.put(0, b"filler%d" % i, b"x" * 40)
    engine.put(0, b"k", b"latest")
    engine.put(0, b"last", b"of all")  # (damage in the log's last record is a torn tail)
    engine.close()
    segment = next(p for p in segment_files(data_dir) if b"latest" in p.read_bytes())
    flip(segment, segment.read_bytes().index(b"latest"))
    engine = Engine(data_dir, fsync="no", segment_size=1024)
    with pytest.raises(CorruptValue):  # never the previous value, silently
        engine.get(0, b"k")
    engine.close()
    code, out = run(capsys, "--fix", "--yes", str(data_dir))
    assert code == 0 and "their previous value if the log holds one" in out
    engine = Engine(data_dir, fsync="no", segment_size=1024)
    assert engine.get(0, b"k") == b"previous"
    engine.close()


def test_a_damaged_batch_is_removed_whole_and_its_keys_named(data_dir, capsys):
    engine = Engine(data_dir, fsync="no")
    engine.put(0, b"before", b"1")
    with engine.batch():
        engine.put(0, b"a", b"1")
        engine.put(1, b"b", b"2")
    engine.put(0, b"after", b"3")
    engine.close()
    segment = segment_files(data_dir)[0]
    flip(segment, segment.read_bytes().index(b"a1") + 1)
    code, out = run(capsys, "--fix", "--yes", str(data_dir))
    assert code == 0
    assert "a BATCH record" in out and "db 0 key b'a', db 1 key b'b'" in out
    engine = Engine(data_dir, fsync="no")
    assert (engine.get(0, b"a"), engine.get(1, b"b")) == (None, None)
    assert (engine.get(0, b"before"), engine.get(0, b"after")) == (b"1", b"3")
    engine.close()


def test_torn_tail_is_reported_as_such(data_dir, tmp_path, capsys):
    engine = Engine(data_dir, fsync="no")
    for i in range(5):
        engine.put(0, b"k%d" % i, b"v" * 100)
        engine.flush()
    image = crash_image(data_dir, tmp_path / "image")
    engine.close()
    active = segment_files(image)[-1]
    data = active.read_bytes()
    cut = data.rstrip(b"\0")
    active.write_bytes(cut[:-30])  # half the last record
    code, out = run(capsys, str(image))
    assert code == 1 and "torn tail" in out
    code, out = run(capsys, "--fix", "--yes", str(image))
    assert code == 0
    engine = Engine(image, fsync="no")
    assert [engine.get(0, b"k%d" % i) is not None for i in range(5)] == [True] * 4 + [False]
    engine.close()


def test_damaged_hint_is_reported_and_removed(data_dir, capsys):
    state = populate(data_dir)
    hint = sorted(data_dir.glob("*.hint"))[0]
    flip(hint, hint.stat().st_size - 3)
    code, out = run(capsys, str(data_dir))
    assert code == 1 and hint.name in out and "damaged" in out
    code, out = run(capsys, "--fix", "-y", str(data_dir))
    assert code == 0 and not hint.exists()
    engine = Engine(data_dir, fsync="no")
    assert {(db, key): engine.get(db, key) for db in (0, 1) for key in engine.keys(db)} == state
    engine.close()


def test_hint_that_does_not_match_its_segment(data_dir, capsys):
    populate(data_dir)
    hint = sorted(data_dir.glob("*.hint"))[0]
    other = sorted(data_dir.glob("*.hint"))[-1]
    if hint == other:
        segment = hint.with_suffix(".log")
        segment.write_bytes(segment.read_bytes()[:40])  # hint now points past the end
    else:
        hint.write_bytes(other.read_bytes())
    code, out = run(capsys, str(data_dir))
    assert code == 1 and "hint" in out.split("First problem:")[1]


def test_usage_errors(tmp_path, data_dir, capsys):
    assert caskd_check.main([]) == 2
    assert caskd_check.main([str(tmp_path / "missing")]) == 2
    engine = Engine(data_dir, fsync="no")
    try:
        assert caskd_check.main(["--fix", "--yes", str(data_dir)]) == 2  # in use
        assert caskd_check.main([str(data_dir)]) == 0  # checking a live directory is fine
    finally:
        engine.close()
    capsys.readouterr()


def test_runs_as_a_module_and_prompts(data_dir):
    populate(data_dir, compact=False)
    flip(segment_files(data_dir)[0], 50)
    command = [sys.executable, "-m", "scripts.caskd_check", "--fix", str(data_dir)]
    declined = subprocess.run(command, cwd=ROOT, input="no\n", capture_output=True, text=True)
    assert declined.returncode == 1 and "Continue? [y/N]" in declined.stdout
    accepted = subprocess.run(command, cwd=ROOT, input="y\n", capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    check = subprocess.run([*command[:3], str(data_dir)], cwd=ROOT, capture_output=True,
                           text=True)
    assert check.returncode == 0
