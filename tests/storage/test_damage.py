"""Damage costs only the damaged records: recovery steps over a record that fails
its checksum (or scans past a damaged header), reports it, and the keys it names
answer a checksum error until written again; everything else is served."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil

import pytest

from scripts import caskd_check
from storage import record
from storage.damage import find_next_record
from storage.datatypes import Op, WrongType
from storage.engine import CorruptValue, Engine
from storage.record import HEADER_SIZE

from .conftest import crash_image, segment_files
from .test_recovery import flip_bit, spans_in, write_records

VALUE = b"value-%d" * 3


def sealed_store(data_dir, *, hints: bool, count: int = 52, segment_size: int = 1024) -> list:
    """``count`` keys k0.. (one record each) in sealed segments, closed; the
    segment files, without their hint files unless ``hints``."""
    engine = Engine(data_dir, fsync="no", segment_size=segment_size)
    write_records(engine, count)
    engine.close()
    if not hints:
        for hint in data_dir.glob("*.hint"):
            hint.unlink()
    return segment_files(data_dir)


def key_at(path, index: int) -> bytes:
    """The key of the ``index``-th record of a segment file."""
    data = memoryview(path.read_bytes())
    return record.decode_at(data, spans_in(path)[index][0], len(data)).key


def assert_served(engine: Engine, count: int, damaged: set[bytes],
                  missing: frozenset[bytes] = frozenset()) -> None:
    """Every undamaged key k0.. reads its value; a damaged one the checksum error."""
    for i in range(count):
        key = b"k%d" % i
        if key in missing:
            assert engine.get(0, key) is None, key
        elif key in damaged:
            with pytest.raises(CorruptValue, match="failed its checksum"):
                engine.get(0, key)
        else:
            assert engine.get(0, key) == VALUE % (i, i, i), key


# Where in the 3rd record of a segment a bit flips: (offset in the record, bit).
IN_RECORD = {"checksum": (1, 2), "type": (4, 1), "expiry": (8, 1),
             "key": (HEADER_SIZE + 1, 6), "value": (-1, 0)}


@pytest.mark.parametrize("where", IN_RECORD)
def test_a_flipped_bit_in_a_sealed_record_costs_that_record_only(open_engine, data_dir,
                                                                   caplog, where):
    segments = sealed_store(data_dir, hints=False)
    first = segments[1]
    start, end = spans_in(first)[2]
    key = key_at(first, 2)
    offset, bit = IN_RECORD[where]
    flip_bit(first, (end if offset < 0 else start) + offset, bit)
    with caplog.at_level(logging.ERROR, logger="caskd.storage"):
        engine = open_engine(segment_size=1024)
    assert engine.stats["damaged_records"] == 1
    assert f"Damaged record in {first}" in caplog.text
    assert f"offset {start}" in caplog.text
    if where == "key":  # the name is read from the damaged record: as damaged as it is
        damaged_name = bytearray(key)
        damaged_name[1] ^= 1 << 6
        assert repr(bytes(damaged_name)) in caplog.text
        with pytest.raises(CorruptValue):
            engine.get(0, bytes(damaged_name))
        assert_served(engine, 52, set(), missing={key})  # its only record was damaged
    else:
        assert repr(key) in caplog.text
        assert_served(engine, 52, {key})


def test_the_rest_of_the_key_s_value_check_holds_for_every_type(open_engine, data_dir):
    """A key marked damaged answers the checksum error whatever reads it: a hash
    command meets it as a damaged key, not as a string (WRONGTYPE)."""
    engine = open_engine(segment_size=1024)
    engine.apply(0, b"h", Op.HSET, [b"f", b"1"])
    write_records(engine, 40)  # seals the segment with the hash's first op
    engine.apply(0, b"h", Op.HSET, [b"g", b"2"])  # a later op of the same key
    engine.close()
    first = segment_files(data_dir)[0]
    for hint in data_dir.glob("*.hint"):
        hint.unlink()
    flip_bit(first, spans_in(first)[0][1] - 1)  # the first HSET's last byte
    engine = open_engine(segment_size=1024)
    with pytest.raises(CorruptValue):
        engine.get(0, b"h")
    with pytest.raises(CorruptValue):  # not WRONGTYPE, not a hash of {g: 2} alone
        engine.apply(0, b"h", Op.HSET, [b"x", b"y"])
    assert engine.get_object(0, b"h") != {b"g": b"2"}
    engine.delete(0, b"h")  # deleting (or writing) it accepts the loss
    engine.apply(0, b"h", Op.HSET, [b"new", b"1"])
    engine.close()
    engine = open_engine(segment_size=1024)
    assert engine.get_object(0, b"h") == {b"new": b"1"}


def test_hash_commands_on_a_string_still_answer_wrongtype(open_engine):
    engine = open_engine()
    engine.put(0, b"s", b"v")
    with pytest.raises(WrongType):
        engine.apply(0, b"s", Op.HSET, [b"f", b"v"])


def test_a_damaged_header_is_scanned_past_and_the_range_reported(open_engine, data_dir,
                                                                  caplog):
    segments = sealed_store(data_dir, hints=False)
    first = segments[1]
    spans = spans_in(first)
    key = key_at(first, 2)
    flip_bit(first, spans[2][0] + 14 + 1, 4)  # the key length: the framing no longer holds
    with caplog.at_level(logging.ERROR, logger="caskd.storage"):
        engine = open_engine(segment_size=1024)
    assert engine.stats["damaged_records"] == 1
    assert f"from offset {spans[2][0]} to {spans[3][0]}" in caplog.text
    assert "keys there are unknown" in caplog.text
    assert_served(engine, 52, set(), missing={key})  # its name was in the damaged bytes


def test_damaged_records_side_by_side_are_each_one_record(open_engine, data_dir, caplog):
    segments = sealed_store(data_dir, hints=False)
    first = segments[1]
    spans = spans_in(first)
    keys = [key_at(first, index) for index in (2, 3, 4)]
    for index in (2, 3, 4):  # three neighbours, each with a flipped value byte
        flip_bit(first, spans[index][1] - 1)
    with caplog.at_level(logging.ERROR, logger="caskd.storage"):
        engine = open_engine(segment_size=1024)
    assert engine.stats["damaged_records"] == 3
    assert "keys there are unknown" not in caplog.text
    assert_served(engine, 52, set(keys))


@pytest.mark.parametrize("hints", [True, False], ids=["with-hints", "without-hints"])
def test_damage_in_the_middle_of_a_sealed_segment(open_engine, data_dir, hints):
    # Segments large enough that a hint's fingerprint (64 KB at each end) does not
    # see their middle: the hint stays valid and is used.
    segments = sealed_store(data_dir, hints=hints, count=6000, segment_size=160 * 1024)
    assert len(segments) >= 3 and (data_dir / segments[1].with_suffix(".hint").name
                                   ).exists() == hints
    middle = segments[1]
    spans = spans_in(middle)
    index = len(spans) // 2
    key = key_at(middle, index)
    flip_bit(middle, spans[index][1] - 2)  # a value byte
    engine = open_engine(segment_size=160 * 1024)
    # From a hint the value is indexed unread: its damage shows when it is read.
    assert engine.stats["damaged_records"] == (0 if hints else 1)
    assert_served(engine, 6000, {key})


@pytest.mark.parametrize("batched", [False, True], ids=["alone", "in-a-batch"])
def test_a_damaged_operation_is_found_even_through_a_hint_file(open_engine, data_dir,
                                                               batched):
    """A hint file indexes strings unread (a read verifies them), but an operation
    on a collection is applied at start-up: it is verified first, by its own
    checksum if MULTI/EXEC wrote it with others (its key is marked, not silently
    missing the change)."""
    engine = open_engine(segment_size=160 * 1024)
    write_records(engine, 1400)  # past the 64 KB a hint's fingerprint covers
    with engine.batch() if batched else contextlib.nullcontext():
        engine.apply(0, b"h", Op.HSET, [b"field", b"value"])
        for i in range(20 if batched else 0):  # more parts than damage framing chains through
            engine.apply(0, b"other", Op.HSET, [b"f%d" % i, b"v"])
    write_records(engine, 4000, b"after")
    engine.close()
    first = segment_files(data_dir)[0]
    assert first.with_suffix(".hint").exists()
    flip_bit(first, first.read_bytes().index(b"field"))
    engine = open_engine(segment_size=160 * 1024)
    assert engine.stats["damaged_records"] == 1
    with pytest.raises(CorruptValue):
        engine.apply(0, b"h", Op.HSET, [b"f", b"v"])
    assert_served(engine, 1400, set())
    assert len(engine.get_object(0, b"other") or ()) == (20 if batched else 0)
    assert "1 key(s) read a damaged record" in engine.compaction_paused


def test_damage_in_the_middle_of_the_active_segment_after_a_crash(open_engine, data_dir,
                                                                  tmp_path):
    engine = open_engine()
    spans = write_records(engine, 20)
    image = crash_image(data_dir, tmp_path / "image")
    active = segment_files(image)[-1]
    flip_bit(active, spans[7][1] - 1)
    opened = open_engine(directory=image)
    assert opened.stats["damaged_records"] == 1
    assert opened.stats["torn_bytes_dropped"] == 0
    assert_served(opened, 20, {b"k7"})
    opened.put(0, b"k7", b"again")  # written again: the damage is behind it
    opened.close()
    reopened = open_engine(directory=image)
    assert reopened.get(0, b"k7") == b"again"
    assert [reopened.get(0, b"k%d" % i) for i in range(20) if i != 7] == [
        VALUE % (i, i, i) for i in range(20) if i != 7]


def test_an_older_intact_value_is_not_served_in_place_of_a_damaged_newer_one(
        open_engine, data_dir):
    engine = open_engine(segment_size=1024)
    engine.put(0, b"k", b"old value")
    write_records(engine, 30, b"filler")
    engine.put(0, b"k", b"new value")
    write_records(engine, 30, b"more")
    engine.close()
    for hint in data_dir.glob("*.hint"):
        hint.unlink()
    newest = next(path for path in segment_files(data_dir) if b"new value" in path.read_bytes())
    flip_bit(newest, newest.read_bytes().index(b"new value"))
    engine = open_engine(segment_size=1024)
    with pytest.raises(CorruptValue):
        engine.get(0, b"k")
    with pytest.raises(CorruptValue):  # STRLEN does not trust the damaged header either
        engine.value_length(0, b"k")


def test_a_damaged_batch_marks_every_key_it_names(open_engine, data_dir, caplog):
    engine = open_engine(segment_size=1024)
    write_records(engine, 5)
    with engine.batch():
        engine.put(0, b"a", b"1")
        engine.put(0, b"b", b"2")
        engine.delete(0, b"k1")
    write_records(engine, 40, b"later")
    engine.close()
    for hint in data_dir.glob("*.hint"):
        hint.unlink()
    first = segment_files(data_dir)[0]
    batch = spans_in(first)[5]
    flip_bit(first, batch[0] + 2 * HEADER_SIZE + 1)  # the value of its first part
    with caplog.at_level(logging.ERROR, logger="caskd.storage"):
        engine = open_engine(segment_size=1024)
    assert "a BATCH record" in caplog.text
    assert "db 0 key b'a', db 0 key b'b', db 0 key b'k1'" in caplog.text
    for key in (b"a", b"b", b"k1"):  # all or nothing: none of it is applied
        with pytest.raises(CorruptValue):
            engine.get(0, key)
    assert engine.get(0, b"k0") == VALUE % (0, 0, 0)
    assert engine.get(0, b"later39") == b"value-39" * 3


def compact(engine: Engine) -> None:
    """Run a compaction to its end (merge and fix-up)."""
    assert engine.start_compaction()
    while engine.compacting:
        engine._compactor.state.thread.join()
        engine.compaction_step(budget=1 << 30)


def test_compaction_pauses_while_a_key_reads_damage_and_resumes_once_it_is_written(
        open_engine, data_dir, caplog):
    segments = sealed_store(data_dir, hints=False, count=120)
    damaged = segments[3]
    key = key_at(damaged, 1)
    flip_bit(damaged, spans_in(damaged)[1][1] - 1)
    engine = open_engine(segment_size=1024, auto_compact_min_size=0,
                         auto_compact_dead_ratio=0.0)
    paused = engine.compaction_paused
    assert "1 key(s) read a damaged record" in paused
    assert "write or delete them" in paused and f"caskd-check --fix {data_dir}" in paused
    before = engine.segment_stats()
    with caplog.at_level(logging.WARNING, logger="caskd.storage"):
        engine.tick()  # automatic compaction is due, but paused
        assert engine.start_compaction() and not engine.compacting  # nor on request
    assert "Automatic compaction is paused: 1 key(s) read a damaged record" in caplog.text
    assert engine.segment_stats() == before and engine.info()["compaction_paused"]
    assert_served(engine, 120, {key})
    engine.put(0, key, b"written again")  # accepts the loss
    assert engine.compaction_paused is None
    compact(engine)
    assert engine.compaction_status == "ok" and not damaged.exists()
    assert all(engine.get(0, b"k%d" % i) == VALUE % (i, i, i)
               for i in range(120) if b"k%d" % i != key)
    engine.close()
    engine = open_engine(segment_size=1024)
    assert engine.stats["damaged_records"] == 0 and engine.compaction_paused is None
    assert engine.get(0, key) == b"written again"


def test_a_damaged_header_pauses_compaction_until_caskd_check_fix(open_engine, data_dir,
                                                                 capsys):
    segments = sealed_store(data_dir, hints=False)
    flip_bit(segments[1], spans_in(segments[1])[2][0] + 14 + 1, 4)  # a key length
    engine = open_engine(segment_size=1024)
    assert "whose keys are unknown" in engine.compaction_paused
    assert f"run 'caskd-check --fix {data_dir}'" in engine.compaction_paused
    engine.close()
    assert caskd_check.main(["--fix", "--yes", str(data_dir)]) == caskd_check.OK
    engine = open_engine(segment_size=1024)
    assert engine.compaction_paused is None
    compact(engine)
    assert engine.compaction_status == "ok"


def test_compaction_keeps_the_intact_values_of_a_batch_a_read_found_damaged(open_engine,
                                                                           data_dir):
    """A hint file loads a batch unread; a read finds one of its values damaged. Once
    that key is deleted, compaction steps over its damaged part and keeps every
    other value of the batch (each verified by its own checksum)."""
    engine = open_engine(segment_size=160 * 1024)
    values = write_trios(engine, 9000)
    engine.close()
    middle = segment_files(data_dir)[1]
    data = memoryview(middle.read_bytes())
    batch = record.decode_at(data, spans_in(middle)[len(spans_in(middle)) // 2][0], len(data))
    parts = list(record.iter_records(data, batch.value_offset, batch.end, verify=False))
    flip_bit(middle, parts[0].end - 1)
    engine = open_engine(segment_size=160 * 1024)
    with pytest.raises(CorruptValue):
        engine.get(0, parts[0].key)
    assert "1 key(s) read a damaged record" in engine.compaction_paused
    engine.delete(0, parts[0].key)
    compact(engine)
    assert engine.compaction_status == "ok" and not middle.exists()
    engine.close()
    engine = open_engine(segment_size=160 * 1024)
    assert engine.stats["damaged_records"] == 0
    del values[parts[0].key]
    assert engine.get(0, parts[0].key) is None
    assert all(engine.get(0, key) == value for key, value in values.items())


def test_damage_a_compaction_finds_pauses_it_if_a_key_still_reads_it(open_engine, data_dir):
    engine = open_engine(segment_size=1024)
    write_records(engine, 52)
    write_records(engine, 10, b"again-")  # so the merge has something to do
    first = segment_files(data_dir)[1]
    key, dead = key_at(first, 0), key_at(first, 1)
    engine.put(0, dead, VALUE % ((int(dead[1:]),) * 3))  # its record there is now dead
    spans = spans_in(first)
    for index in (0, 1):  # under the open engine, as bit rot: no read has seen it
        flip_bit(first, spans[index][1] - 1)
    compact(engine)
    assert engine.compaction_status == "err" and first.exists()  # copied nothing
    assert "1 key(s) read a damaged record" in engine.compaction_paused
    assert_served(engine, 52, {key})
    engine.put(0, key, b"new")  # accepts the loss
    compact(engine)  # which meets the damage of the dead record next: it holds nothing
    assert engine.compaction_status == "err" and engine.compaction_paused is None
    compact(engine)  # so it is stepped over, as the first one is now
    assert engine.compaction_status == "ok" and not first.exists()
    assert engine.get(0, key) == b"new"
    engine.close()
    engine = open_engine(segment_size=1024)
    assert engine.stats["damaged_records"] == 0 and engine.get(0, key) == b"new"
    assert engine.get(0, dead) == VALUE % ((int(dead[1:]),) * 3)


def write_trios(engine: Engine, count: int, batched=lambda trio: True) -> dict[bytes, bytes]:
    """Keys key:0.. in trios, each trio ``batched`` one batch (as MSET writes it);
    the values written."""
    values = {}
    for i in range(0, count, 3):
        with engine.batch() if batched(i // 3) else contextlib.nullcontext():
            for key in (b"key:%d" % j for j in range(i, i + 3)):
                values[key] = key * (len(values) % 7 + 1)
                engine.put(0, key, values[key])
    return values


@pytest.mark.parametrize("hints", [True, False], ids=["with-hints", "without-hints"])
def test_a_flipped_bit_in_a_batched_value_costs_that_value(open_engine, data_dir, hints):
    """A value written by MSET (one part of a batch record) has its own checksum: read
    through a hint file (so start-up never checked its batch), the damaged value
    answers the checksum error while the other keys of its batch read fine.
    Scanned at start-up, the batch fails as a whole (all or nothing)."""
    engine = open_engine(segment_size=160 * 1024)
    values = write_trios(engine, 9000)
    engine.close()
    if not hints:
        for hint in data_dir.glob("*.hint"):
            hint.unlink()
    middle = segment_files(data_dir)[1]  # its middle: past the 64 KB a hint's fingerprint sees
    data = memoryview(middle.read_bytes())
    batch = record.decode_at(data, spans_in(middle)[len(spans_in(middle)) // 2][0], len(data))
    assert batch.type == record.RecordType.BATCH
    parts = list(record.iter_records(data, batch.value_offset, batch.end, verify=False))
    flip_bit(middle, parts[1].end - 1, 3)  # the last byte of the second key's value
    engine = open_engine(segment_size=160 * 1024)
    assert engine.stats["damaged_records"] == (0 if hints else 1)
    damaged = {parts[1].key} if hints else {part.key for part in parts}
    for key, value in values.items():
        if key in damaged:
            with pytest.raises(CorruptValue, match="failed its checksum"):
                engine.get(0, key)
        else:
            assert engine.get(0, key) == value, key
    assert engine.info()["damaged_records"] == 1


SWEEP_TRIALS = int(os.environ.get("CASKD_BITFLIP_TRIALS", "24"))


# 32 KB segments are all inside their hint's fingerprint (a flip anywhere makes
# start-up scan the segment); in 160 KB ones a flip in the middle leaves the hint
# in use, so the damage is found only when the value is read.
@pytest.mark.parametrize("segment_size", [32 * 1024, 160 * 1024], ids=["scanned", "hinted"])
def test_random_bit_flips_never_serve_wrong_data(data_dir, tmp_path, capsys, segment_size):
    """Thousands of keys, some written in batches; a bit flipped at a random place of
    a random file (a sealed or the active segment, a hint file): the store opens
    every time, every key whose record holds the flip reads as a checksum error or
    as missing, every other key reads its value; and after caskd-check --fix too.
    CASKD_BITFLIP_TRIALS sets the number of flips (24)."""
    engine = Engine(data_dir, fsync="no", segment_size=segment_size)
    values = write_trios(engine, 3000 * segment_size // (32 * 1024),
                         batched=lambda trio: trio % 2)  # every other trio
    engine.flush()
    image = crash_image(data_dir, tmp_path / "image")  # the active segment as a crash leaves it
    engine.close()
    shutil.rmtree(data_dir)
    spans = {path.name: spans_in(path) for path in segment_files(image)}
    rng = random.Random(20)
    for trial in range(SWEEP_TRIALS):
        copy = crash_image(image, tmp_path / f"trial{trial}")
        files = sorted(copy.glob("*.log")) + sorted(copy.glob("*.hint"))
        target = rng.choice(files)
        size = target.stat().st_size
        records_end = spans[target.name][-1][1] if target.suffix == ".log" else size
        offset = rng.randrange(records_end)
        flip_bit(target, offset, rng.randrange(8))
        damaged: set[bytes] = set()
        if target.suffix == ".log":  # the key of the record hit, and what it may now say
            start = max(s for s, _ in spans[target.name] if s <= offset)
            for data in (image / target.name).read_bytes(), target.read_bytes():
                with memoryview(data) as view, contextlib.suppress(record.CorruptRecord):
                    hit = record.decode_at(view, start, len(view), verify=False)
                    damaged.add(hit.key)
                    if hit.type == record.RecordType.BATCH:  # all of it goes
                        damaged.update(part.key for part in record.iter_records(
                            view, hit.value_offset, hit.end, verify=False))
        where = (trial, target.name, offset)
        assert_never_wrong(copy, values, damaged, where, segment_size)
        # caskd-check --fix then loses nothing undamaged, and leaves no damage.
        assert caskd_check.main(["--fix", "--yes", str(copy)]) == 0, where
        assert_never_wrong(copy, values, damaged, where, segment_size, damage_left=False)
        shutil.rmtree(copy)
    capsys.readouterr()


def assert_never_wrong(directory, values: dict, damaged: set[bytes], where: tuple,
                       segment_size: int, *, damage_left: bool = True) -> None:
    opened = Engine(directory, fsync="no", segment_size=segment_size)
    try:
        if not damage_left:
            assert opened.stats["damaged_records"] == 0, where
        for key, value in values.items():
            try:
                got = opened.get(0, key)
            except CorruptValue:
                assert damage_left and key in damaged, (*where, key)
                continue
            if key in damaged:
                assert got in (None, value), (*where, key)
            else:
                assert got == value, (*where, key)
    finally:
        opened.close()


def test_find_next_record_skips_garbage_and_zeros():
    good = record.encode(record.RecordType.PUT, 0, b"key", b"value")
    data = b"\x01garbage" + bytes(70000) + good + bytes(10)
    found = find_next_record(memoryview(data), 0, len(data))
    assert found == len(data) - len(good) - 10
    assert find_next_record(memoryview(data), found, len(data)) is None
    assert find_next_record(memoryview(bytes(1000)), 0, 1000) is None


# ------------------------------------------------- the last record of the log


@pytest.mark.parametrize("closed", [False, True], ids=["after-a-crash", "after-a-close"])
@pytest.mark.parametrize("where", ["value", "checksum", "key"])
def test_damage_in_the_last_record_of_the_log_is_damage_not_a_torn_tail(
        open_engine, data_dir, tmp_path, caplog, capsys, closed, where):
    """The last record whole (its lengths lead to the zeros of the preallocated
    tail, or to the end of a closed segment), its last byte written, its checksum
    failing: that is no crash's torn write but damage, reported and kept."""
    engine = open_engine()
    spans = write_records(engine, 10)
    if closed:
        engine.close()
        image = crash_image(data_dir, tmp_path / "image")
    else:
        image = crash_image(data_dir, tmp_path / "image")
        assert segment_files(image)[-1].stat().st_size > spans[-1][1]  # preallocated
    last = segment_files(image)[-1]
    start, end = spans[-1]
    offset, bit = IN_RECORD[where]
    flip_bit(last, (end if offset < 0 else start) + offset, bit)
    with caplog.at_level(logging.WARNING, logger="caskd.storage"):
        opened = open_engine(directory=image)
    assert opened.stats["damaged_records"] == 1 and opened.stats["torn_bytes_dropped"] == 0
    assert f"Damaged record in {last}: a PUT record of {end - start} bytes at offset {start}" \
        in caplog.text
    assert "Torn tail" not in caplog.text
    damaged = {b"k9"} if where != "key" else set()
    assert_served(opened, 10, damaged, missing=frozenset({b"k9"}) - damaged)
    opened.put(0, b"after", b"the damage")  # the log goes on, in a new segment
    opened.close()
    assert last.stat().st_size == end  # kept (only the zero tail went), not cut
    assert caskd_check.main(["--dry-run", str(image)]) == caskd_check.DAMAGED
    report = capsys.readouterr().out
    assert f"damaged: a PUT record of {end - start} bytes at offset {start}" in report
    assert "torn tail" not in report
    assert caskd_check.main(["--fix", "--yes", str(image)]) == caskd_check.OK
    repaired = open_engine(directory=image)
    assert repaired.stats["damaged_records"] == 0
    assert_served(repaired, 10, set(), missing=frozenset({b"k9"}))
    assert repaired.get(0, b"after") == b"the damage"


def test_a_damaged_batch_at_the_end_of_the_log_marks_its_keys(open_engine, data_dir, tmp_path):
    engine = open_engine()
    write_records(engine, 5)
    with engine.batch():
        engine.put(0, b"a", b"1")
        engine.put(0, b"b", b"2")
    engine.flush()
    image = crash_image(data_dir, tmp_path / "image")
    last = segment_files(image)[-1]
    batch = spans_in(last)[-1]
    flip_bit(last, batch[1] - 1)  # the last byte of its last part
    opened = open_engine(directory=image)
    assert opened.stats["damaged_records"] == 1
    for key in (b"a", b"b"):  # all or nothing
        with pytest.raises(CorruptValue):
            opened.get(0, key)
    assert_served(opened, 5, set())


def test_a_last_record_cut_short_or_with_a_damaged_length_is_still_a_torn_tail(
        open_engine, data_dir, tmp_path):
    """What a crash can leave is cut as before: the record's end zeroed (a write that
    stopped short in the preallocated tail), or a length that runs past the data."""
    engine = open_engine()
    spans = write_records(engine, 10)
    start, end = spans[-1]
    image = crash_image(data_dir, tmp_path / "image")
    last = segment_files(image)[-1]
    data = bytearray(last.read_bytes())
    data[start + HEADER_SIZE + 5:end] = bytes(end - start - HEADER_SIZE - 5)  # stopped short
    last.write_bytes(bytes(data))
    short = crash_image(image, tmp_path / "short")
    flip_bit(last, start + 18 + 3, 6)  # a value length of gigabytes
    for directory in (short, image):
        opened = open_engine(directory=directory)
        assert opened.stats["damaged_records"] == 0 and opened.stats["torn_bytes_dropped"] > 0
        assert_served(opened, 10, set(), missing=frozenset({b"k9"}))
