"""FUNCTION DUMP/RESTORE payloads."""

from __future__ import annotations

import pytest

from server.scripting import rdb


def test_dump_round_trips_and_is_verified():
    codes = [b"#!lua name=a\n" + b"x" * 70, b"#!lua name=b\n" + bytes(range(256)) * 80]
    payload = rdb.dump(codes)
    assert payload[0] == rdb.OPCODE_FUNCTION2 and payload[-10:-8] == b"\x0a\x00"
    assert len(payload) < 200 + 256 * 80  # the repetitive code went LZF-compressed
    assert rdb.verify(payload)
    assert rdb.library_codes(payload) == codes
    assert not rdb.verify(payload[:-1] + bytes([payload[-1] ^ 1]))
    assert not rdb.verify(b"short")


def test_a_payload_of_something_else_is_refused():
    body = b"\x00\x01k\x01v" + b"\x0a\x00"
    payload = body + rdb.rdb.crc64(body).to_bytes(8, "little")
    with pytest.raises(rdb.PayloadError, match="given type is not a function"):
        rdb.library_codes(payload)
    truncated = b"\xf5\x40\xff" + b"\x0a\x00" + bytes(8)
    with pytest.raises(rdb.PayloadError, match="failed loading"):
        rdb.library_codes(truncated)
