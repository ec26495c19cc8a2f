"""Recovery from damage: torn tails, flipped bits, unused preallocated space."""

from __future__ import annotations

import logging
import time
import zlib

import pytest

from storage.engine import CorruptValue, Engine

from .conftest import crash_image, segment_files


def write_records(engine: Engine, count: int, prefix: bytes = b"k") -> list[tuple[int, int]]:
    """Put ``count`` keys, one flush each; returns each record's (start, end) in the
    active segment at the time it was written."""
    spans = []
    for i in range(count):
        start = engine.segment_stats()[-1]["size"]
        engine.put(0, prefix + b"%d" % i, b"value-%d" % i * 3)
        engine.flush()
        spans.append((start, engine.segment_stats()[-1]["size"]))
    return spans


@pytest.mark.parametrize("style", ["truncate", "zero"])
def test_torn_tail_at_every_byte_of_the_last_record(open_engine, data_dir, tmp_path, caplog,
                                                    style):
    engine = open_engine(segment_size=1024)
    write_records(engine, 30, b"early")  # several sealed segments first
    spans = write_records(engine, 3)
    start, end = spans[-1]
    image = crash_image(data_dir, tmp_path / "image")
    active = segment_files(image)[-1]
    full = active.read_bytes()
    assert len(full) == 1024  # preallocated, as a crash leaves it
    for cut in range(start, end):
        torn = full[:cut] if style == "truncate" else full[:cut] + bytes(len(full) - cut)
        active.write_bytes(torn)
        copy = crash_image(image, tmp_path / f"cut{cut}")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="caskd.storage"):
            opened = Engine(copy, fsync="no", segment_size=1024)
        try:
            assert [opened.get(0, b"early%d" % i) for i in range(30)] == [
                b"value-%d" % i * 3 for i in range(30)]
            assert opened.get(0, b"k0") == b"value-0" * 3
            assert opened.get(0, b"k1") == b"value-1" * 3
            assert opened.get(0, b"k2") is None, cut
            dropped = len(full[start:cut].rstrip(b"\0"))
            assert opened.stats["torn_bytes_dropped"] == dropped
            if dropped:
                assert f"dropped {dropped} bytes after offset {start}" in caplog.text
            opened.put(0, b"after", b"crash")  # and the log goes on from there
        finally:
            opened.close()
        reopened = Engine(copy, fsync="no")
        assert reopened.get(0, b"after") == b"crash" and reopened.get(0, b"k1")
        reopened.close()
    active.write_bytes(full)


def test_crash_leaves_no_empty_segments_behind(open_engine, data_dir, tmp_path):
    engine = open_engine(segment_size=4096)
    engine.put(0, b"k", b"v")
    engine.flush()
    image = data_dir
    for round_ in range(3):  # crash right after opening, three times
        image = crash_image(image, tmp_path / f"crash{round_}")
        Engine(image, fsync="no", segment_size=4096)  # not closed: the copy sees a crash
    engine = Engine(crash_image(image, tmp_path / "final"), fsync="no", segment_size=4096)
    assert engine.get(0, b"k") == b"v"
    assert len(engine.segment_stats()) == 2  # the data and the new active segment
    engine.close()


def flip_bit(path, offset: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def spans_in(path):
    """(start, end) of each record of a segment file."""
    from storage import record
    data = memoryview(path.read_bytes())
    return [(r.offset, r.end) for r in iter_top(record, data)]


def iter_top(record, data):
    pos = 0
    while pos < len(data):
        rec = record.decode_at(data, pos, len(data))
        if rec is None:
            return
        yield rec
        pos = rec.end


def damage_value_of(data_dir, index: int) -> bytes:
    """Flip a bit of the ``index``-th record's value in the first segment, under an
    open engine (its map shows the change, as it would show bit rot); the key."""
    first = segment_files(data_dir)[0]
    end = spans_in(first)[index][1]
    flip_bit(first, end - 1)
    return b"k%d" % index


def test_a_value_damaged_on_disk_is_refused_not_returned(open_engine, data_dir, caplog):
    engine = open_engine(segment_size=1024)
    write_records(engine, 52)
    key = damage_value_of(data_dir, 3)
    with caplog.at_level(logging.ERROR, logger="caskd.storage"), \
            pytest.raises(CorruptValue) as excinfo:
        engine.get(0, key)
    assert segment_files(data_dir)[0].name in str(excinfo.value)
    assert "failed its checksum" in caplog.text
    with pytest.raises(CorruptValue):  # COPY, RENAME: every read checks
        engine.copy(0, key, 0, b"copy")
    assert engine.get(0, b"k4") == b"value-4" * 3  # the rest reads as before
    assert engine.get(0, b"copy") is None


def test_compaction_does_not_rewrite_a_damaged_value_with_a_new_checksum(open_engine,
                                                                       data_dir):
    engine = open_engine(segment_size=1024)
    write_records(engine, 52)
    key = damage_value_of(data_dir, 3)
    assert engine.start_compaction()
    deadline = time.monotonic() + 30
    while engine.compacting:
        engine.compaction_step()
        assert time.monotonic() < deadline, "compaction did not finish"
        time.sleep(0.001)
    assert engine.compaction_status == "err"
    with pytest.raises(CorruptValue):  # still detected: the damage was not laundered
        engine.get(0, key)


def test_a_log_written_before_batch_parts_had_checksums_reads_as_before(open_engine,
                                                                       data_dir):
    """Older caskd wrote a batch's parts with a zero CRC (the batch's covered them):
    such a log loads, from the segment and from its hint file, and reads back."""
    from storage import record

    engine = open_engine(segment_size=4096)
    with engine.batch():
        for i in range(50):
            engine.put(0, b"m%d" % i, b"batched-%d" % i)
    engine.close()
    for path in segment_files(data_dir):  # rewrite every batch as the old format had it
        data = bytearray(path.read_bytes())
        for batch in [r for r in iter_top(record, memoryview(bytes(data)))
                      if r.type == record.RecordType.BATCH]:
            for part in record.iter_records(memoryview(bytes(data)), batch.value_offset,
                                            batch.end, verify=False):
                record.CRC.pack_into(data, part.offset, 0)
            record.CRC.pack_into(data, batch.offset,
                                 zlib.crc32(data[batch.offset + 4:batch.end]))
        path.write_bytes(bytes(data))
        path.with_suffix(".hint").unlink(missing_ok=True)
    for _ in ("scanned", "from its new hint file"):
        engine = open_engine(segment_size=4096)
        assert engine.stats["damaged_records"] == 0
        assert [engine.get(0, b"m%d" % i) for i in range(50)] == [
            b"batched-%d" % i for i in range(50)]
        engine.close()
