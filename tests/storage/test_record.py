"""The record format: encoding, checksums, unused space, batches."""

from __future__ import annotations

import pytest

from storage import record
from storage.damage import find_next_record
from storage.record import HEADER_SIZE, CorruptRecord, RecordType


def decode(data: bytes, pos: int = 0):
    return record.decode_at(memoryview(data), pos, len(data))


def test_round_trip_of_every_field():
    data = record.encode(RecordType.PUT, 7, b"key", b"value", expire_at=123456789)
    rec = decode(data)
    assert (rec.type, rec.db, rec.expire_at, rec.key) == (RecordType.PUT, 7, 123456789, b"key")
    assert data[rec.value_offset:rec.value_offset + rec.value_len] == b"value"
    assert rec.offset == 0 and rec.end == len(data) == HEADER_SIZE + 3 + 5
    assert record.value_at(data, 0) == b"value"


def test_binary_and_empty_keys_and_values():
    for key, value in [(b"", b""), (b"\0\r\n", bytes(range(256))), (b"k" * 1000, b"")]:
        data = record.encode(RecordType.PUT, 0, key, value)
        rec = decode(data)
        assert rec.key == key and record.value_at(data, 0) == value


def test_records_follow_each_other():
    data = (record.encode(RecordType.PUT, 0, b"a", b"1")
            + record.encode(RecordType.DELETE, 1, b"b")
            + record.encode(RecordType.EXPIRE, 2, b"c", expire_at=5))
    recs = list(record.iter_records(memoryview(data), 0, len(data)))
    assert [(r.type, r.db, r.key) for r in recs] == [
        (RecordType.PUT, 0, b"a"), (RecordType.DELETE, 1, b"b"), (RecordType.EXPIRE, 2, b"c")]
    assert recs[2].expire_at == 5


def test_every_flipped_bit_is_detected():
    data = record.encode(RecordType.PUT, 3, b"key", b"value", expire_at=99)
    for index in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[index] ^= 1 << bit
            # Either the header no longer makes sense or the checksum fails: never
            # a silently different record, never "unused space".
            with pytest.raises(CorruptRecord):
                decode(bytes(damaged))


def test_zero_filled_space_is_unused_not_a_record():
    assert decode(bytes(100)) is None
    assert decode(bytes(HEADER_SIZE - 1)) is None  # a short zero tail too
    assert not record.is_record_at(memoryview(bytes(100)), 0, 100)


def test_truncated_record_is_corrupt():
    data = record.encode(RecordType.PUT, 0, b"key", b"value")
    for cut in range(1, len(data)):
        with pytest.raises(CorruptRecord) as excinfo:
            decode(data[:cut])
        assert excinfo.value.offset == 0


def test_type_zero_is_never_valid_and_unknown_types_are_corrupt():
    data = bytearray(record.encode(RecordType.PUT, 0, b"k", b"v"))
    data[4] = 200
    with pytest.raises(CorruptRecord, match="bad record header"):
        decode(bytes(data))


def test_batch_is_one_checksummed_unit():
    inner = (record.encode(RecordType.PUT, 0, b"a", b"1")
             + record.encode(RecordType.PUT, 0, b"b", b"2"))
    batch = record.encode(RecordType.BATCH, 0, b"", inner)
    recs = list(record.iter_records(memoryview(batch), 0, len(batch)))
    assert [r.key for r in recs] == [b"a", b"b"]
    damaged = bytearray(batch)
    damaged[-1] ^= 1
    with pytest.raises(CorruptRecord, match="checksum"):
        list(record.iter_records(memoryview(bytes(damaged)), 0, len(damaged)))


def batch_part(key: bytes, value: bytes) -> bytes:
    """A part of a batch as the log writes it: its own CRC, masked."""
    whole = bytearray(record.encode(RecordType.PUT, 0, key, value))
    (crc,) = record.CRC.unpack_from(whole)
    record.CRC.pack_into(whole, 0, crc ^ record.PART_MASK)
    return bytes(whole)


def test_a_batch_part_is_verified_on_its_own():
    parts = batch_part(b"a", b"first") + batch_part(b"b", b"second")
    second = len(batch_part(b"a", b"first"))
    assert record.value_at(parts, 0) == b"first"
    assert record.value_at(parts, second) == b"second"
    damaged = bytearray(parts)
    damaged[-1] ^= 1  # the second value's last byte
    assert record.value_at(bytes(damaged), 0) == b"first"  # its neighbour reads fine
    with pytest.raises(CorruptRecord, match="checksum"):
        record.value_at(bytes(damaged), second)
    assert record.decode_at(memoryview(parts), second, len(parts), may_be_part=True).key == b"b"
    with pytest.raises(CorruptRecord, match="checksum"):
        record.decode_at(memoryview(bytes(damaged)), second, len(damaged), may_be_part=True)


def test_a_batch_part_never_passes_for_a_whole_record():
    """The scan for the next intact record after damage must never resume inside a
    batch: that would apply part of it, and a batch is all or nothing."""
    part = batch_part(b"a", b"1")
    with pytest.raises(CorruptRecord, match="checksum"):
        decode(part)
    assert not record.is_record_at(memoryview(part), 0, len(part))
    batch = bytearray(record.encode(RecordType.BATCH, 0, b"", part + batch_part(b"b", b"2")))
    batch[HEADER_SIZE + 2] ^= 1  # the batch's first part is damaged
    assert find_next_record(memoryview(bytes(batch)), 0, len(batch)) is None


def test_a_part_an_older_log_wrote_with_a_zero_checksum_reads_unverified():
    old = bytearray(record.encode(RecordType.PUT, 0, b"a", b"value"))
    record.CRC.pack_into(old, 0, 0)
    assert record.value_at(bytes(old), 0) == b"value"
    assert record.decode_at(memoryview(bytes(old)), 0, len(old), may_be_part=True).key == b"a"
    batch = record.encode(RecordType.BATCH, 0, b"", bytes(old))
    assert [r.key for r in record.iter_records(memoryview(batch), 0, len(batch))] == [b"a"]
