"""FUNCTION DUMP/RESTORE payloads: Redis's CRC64, RDB strings and LZF."""

from __future__ import annotations

import pytest

from server.scripting import rdb


def test_crc64_is_redis_jones_crc():
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA  # crc64.c's own test vector


def test_dump_round_trips_and_is_verified():
    codes = [b"#!lua name=a\n" + b"x" * 70, b"#!lua name=b\n" + b"y" * 20_000]
    payload = rdb.dump(codes)
    assert payload[0] == rdb.OPCODE_FUNCTION2 and payload[-10:-8] == b"\x0a\x00"
    assert rdb.verify(payload)
    assert rdb.library_codes(payload) == codes
    assert not rdb.verify(payload[:-1] + bytes([payload[-1] ^ 1]))
    assert not rdb.verify(b"short")


def test_lzf_strings_decompress():
    # "abcabcabcabc" as liblzf writes it: 3 literals, then a back reference of 9.
    assert rdb.lzf_decompress(b"\x02abc\xe0\x00\x02", 12) == b"abcabcabcabc"
    with pytest.raises(rdb.PayloadError):
        rdb.lzf_decompress(b"\x02abc\xe0\x00\x02", 11)


def test_a_payload_of_something_else_is_refused():
    body = b"\x00\x01k\x01v" + b"\x0a\x00"
    payload = body + rdb.crc64(body).to_bytes(8, "little")
    with pytest.raises(rdb.PayloadError, match="given type is not a function"):
        rdb.library_codes(payload)
