"""Bitmaps on caskd's stored strings: what they write survives a restart, a write that
changes nothing is not a write (WATCH and the log do not see it), and BITFIELD's ops
apply in order within one command."""

from __future__ import annotations

import redis


def test_bits_and_fields_survive_a_restart(caskd):
    client = caskd.client()
    client.setbit("b", 1_000_000, 1)
    client.bitfield("f").set("i16", "#2", -1234).incrby("u8", 0, 300).execute()
    client.bitop("XOR", "x", "b", "f")
    expected = {key: client.get(key) for key in ("b", "f", "x")}
    caskd.restart()
    client = caskd.client()
    assert {key: client.get(key) for key in ("b", "f", "x")} == expected
    assert client.getbit("b", 1_000_000) == 1 and client.bitcount("b") == 1
    assert client.bitfield_ro("f", "i16", 32) == [-1234]
    assert client.bitpos("b", 1) == 1_000_000


def test_a_setbit_that_changes_nothing_leaves_watch_alone(caskd):
    client = caskd.client()
    client.setbit("b", 3, 1)
    with client.pipeline() as pipe:
        pipe.watch("b")
        assert caskd.client().setbit("b", 3, 1) == 1  # already set: no write
        pipe.multi()
        pipe.get("b")
        assert pipe.execute() == [b"\x10"]
    with client.pipeline() as pipe:
        pipe.watch("b")
        caskd.client().setbit("b", 3, 0)
        pipe.multi()
        pipe.get("b")
        try:
            pipe.execute()
            raise AssertionError("the transaction should have been aborted")
        except redis.WatchError:
            pass


def test_bitfield_ops_apply_in_order(caskd):
    client = caskd.client()
    replies = (client.bitfield("f").set("u8", 0, 200).get("u8", 0).incrby("u8", 0, 100)
               .overflow("FAIL").incrby("u8", 0, 250).get("u8", 0).execute())
    assert replies == [0, 200, 44, None, 44]


def test_field_arithmetic_is_c_s():
    """BITFIELD's overflow rules, from bitops.c's checks (no server needed)."""
    from server.commands.bitmaps import FieldOp, _fit

    def op(kind: str, overflow: bytes) -> FieldOp:
        return FieldOp(b"incrby", kind[0] == "i", int(kind[1:]), 0, 0, overflow)
    assert _fit(op("u8", b"wrap"), 250, 10) == 4
    assert _fit(op("u8", b"sat"), 250, 10) == 255 and _fit(op("u8", b"sat"), 5, -10) == 0
    assert _fit(op("u8", b"fail"), 250, 10) is None
    assert _fit(op("i8", b"wrap"), 127, 1) == -128
    assert _fit(op("i8", b"sat"), -128, -1) == -128
    assert _fit(op("i64", b"wrap"), 2**63 - 1, 1) == -(2**63)
    # C's wrapping of max - value: SET i8 to INT64_MIN saturates at the top, as in Redis.
    assert _fit(op("i8", b"sat"), -(2**63), 0) == 127
