"""Partial updates of large strings cost the change, not the value: a SETRANGE of
4 bytes into a 50 MB value appends a few dozen bytes to the log, appends grow the
log linearly, and the values read back exactly after a restart and after
BGREWRITEAOF (see storage/extents.py)."""

from __future__ import annotations

import os
import random

from tests.support import wait_until

BIG = int(os.environ.get("CASKD_BIG_VALUE_MB", "50")) << 20
APPENDS = int(os.environ.get("CASKD_APPENDS", "10000"))


def log_size(client) -> int:
    return client.info("persistence")["aof_current_size"]


def rewrite(client) -> None:
    count = client.info("persistence")["aof_rewrites"]
    client.bgrewriteaof()
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0
               and client.info("persistence")["aof_rewrites"] > count,
               timeout=60, what="the rewrite to finish")


def test_a_small_setrange_into_a_50_mb_value_logs_only_the_change(caskd):
    client = caskd.client()
    value = bytearray(random.Random(3).randbytes(BIG))
    client.set("big", bytes(value))
    client.expire("big", 10_000)
    before = log_size(client)
    for offset in (BIG // 2, 17, BIG - 2):
        assert client.setrange("big", offset, b"abcd") == max(BIG, offset + 4)
        value[offset:offset + 4] = b"abcd"
    client.setbit("big", 8, 1)
    value[1] |= 0x80
    assert log_size(client) - before < 1024  # rewriting it would log 50 MB each time
    assert client.getrange("big", BIG // 2 - 2, BIG // 2 + 5) == value[BIG // 2 - 2:BIG // 2 + 6]
    assert client.getbit("big", 8) == 1 and client.strlen("big") == len(value)
    assert client.get("big") == value
    caskd.restart()
    client = caskd.client()
    assert client.get("big") == value and 0 < client.ttl("big") <= 10_000
    rewrite(client)
    assert client.get("big") == value
    caskd.restart()
    assert caskd.client().get("big") == value


def test_appends_grow_the_log_linearly(caskd):
    client = caskd.client()
    chunk = b"0123456789abcdef" * 64  # 1 KB
    before = log_size(client)
    pipe = client.pipeline(transaction=False)
    for _ in range(APPENDS):
        pipe.append("log", chunk)
    assert pipe.execute()[-1] == APPENDS * len(chunk)
    total = APPENDS * len(chunk)
    # Each APPEND rewriting the value would log total * APPENDS / 2 bytes (50 GB).
    assert log_size(client) - before < 8 * total
    assert client.get("log") == chunk * APPENDS
    caskd.restart()
    client = caskd.client()
    assert client.get("log") == chunk * APPENDS
    rewrite(client)
    client.append("log", b"!")
    caskd.restart()
    assert caskd.client().get("log") == chunk * APPENDS + b"!"
