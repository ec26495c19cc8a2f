"""Keyspace commands, caskd against redis-server, in RESP2 and RESP3."""

from __future__ import annotations

import time

import pytest

from tests.compat.differences import (
    KEY_ORDER,
    OBJECT_IDLETIME,
    RANDOM_KEY,
    SCAN_CURSOR,
)
from tests.compat.harness import Connection, decode
from tests.compat.test_strings import BINARY, run


def test_del_unlink_exists_touch_type(pair):
    run(pair,
        ("MSET", "a", "1", "b", "2", "c", "3", BINARY, "x"),
        ("EXISTS", "a", "a", "missing", BINARY), ("TOUCH", "a", "b", "missing", "a"),
        ("TYPE", "a"), ("TYPE", "missing"), ("TYPE", BINARY),
        ("DEL", "a", "missing", "a"), ("UNLINK", "b", "c", "missing"), ("UNLINK", "b"),
        ("DEL", BINARY), ("EXISTS", "a", "b", "c"), ("DBSIZE",),
        ("DEL",), ("UNLINK",), ("EXISTS",), ("TOUCH",), ("TYPE",), ("TYPE", "a", "b"),
        ("DBSIZE", "x"))


GLOB_KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[a]llo",
             "a-b", "a]b", "a\\b", "z", "user:1", "user:22", "user:", "USER:3", ""]
GLOB_PATTERNS = ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo",
                 "h\\*llo", "h\\?llo", "h[\\]]llo", "a[-]b", "a[]]b", "a\\\\b", "a\\",
                 "user:*", "user:?", "user:??", "*:*", "[", "[a-", "h[", "*[", "?",
                 "[^a-y]", "USER*", "", "h*l*o", "*o", "h[a-z", "\\h*"]


@pytest.mark.parametrize("pattern", GLOB_PATTERNS)
def test_keys_glob_patterns(pair2, pattern):
    pair2.check("MSET", *[part for key in GLOB_KEYS for part in (key, "v")])
    pair2.check("KEYS", pattern, allow=KEY_ORDER)


def _scan_all(connection: Connection, *options) -> list[bytes]:
    """Every key a whole SCAN iteration returns on one server."""
    cursor, found = b"0", []
    while True:
        connection.send(("SCAN", cursor, *options))
        reply = decode(connection.reply())
        assert isinstance(reply, list), reply
        cursor, batch = reply
        found += batch
        if cursor == b"0":
            return found


@pytest.mark.parametrize("options", [(), ("COUNT", "3"), ("MATCH", "key:1*"),
                                     ("MATCH", "key:1*", "COUNT", "1000"),
                                     ("TYPE", "string"), ("TYPE", "STRING", "COUNT", "7"),
                                     ("TYPE", "list"), ("MATCH", "none*")])
def test_scan_returns_the_same_keys(pair, options):
    pair.check("MSET", *[part for i in range(150) for part in (f"key:{i}", i)])
    keys = {name: _scan_all(connection, *options)
            for name, connection in (("redis", pair.redis), ("caskd", pair.caskd))}
    assert set(keys["caskd"]) == set(keys["redis"]), SCAN_CURSOR.what
    assert len(keys["caskd"]) == len(set(keys["caskd"]))  # each key once, from a quiet db


def test_scan_errors(pair):
    run(pair,
        ("SET", "k", "v"), ("SCAN", "x"), ("SCAN", " 1"), ("SCAN", "1 "), ("SCAN", "1.5"),
        ("SCAN", "18446744073709551616"), ("SCAN", "+"), ("SCAN", "0x10"),
        ("SCAN", "0", "COUNT", "0"), ("SCAN", "0", "COUNT", "-1"), ("SCAN", "0", "COUNT", "x"),
        ("SCAN", "0", "MATCH"), ("SCAN", "0", "TYPE"), ("SCAN", "0", "COUNT"),
        ("SCAN", "0", "FOO", "bar"), ("SCAN", "x", "COUNT", "0"), ("SCAN", "0", "count", "0"),
        ("SCAN",))
    for cursor in ("0", "", "-0", "+0", "00"):  # all read as 0 by strtoul: a whole scan
        pair.check("SCAN", cursor, "MATCH", "k")


def test_scan_misses_no_key_that_exists_throughout(pair):
    """Redis's guarantee, held by both servers while keys come and go between calls."""
    pair.check("MSET", *[part for i in range(300) for part in (f"stay:{i}", i)])
    pair.check("MSET", *[part for i in range(300) for part in (f"go:{i}", i)])
    for connection in (pair.redis, pair.caskd):
        cursor, found, step = b"0", set(), 0
        while True:
            connection.send(("SCAN", cursor, "COUNT", "20"))
            cursor, batch = decode(connection.reply())
            found.update(batch)
            step += 1
            connection.send(("DEL", *[f"go:{i}" for i in range(step * 10, step * 10 + 10)]))
            connection.send(("MSET", *[part for i in range(10) for part in (f"new:{step}:{i}", i)]))
            connection.reply()
            connection.reply()
            if cursor == b"0":
                break
        assert {f"stay:{i}".encode() for i in range(300)} <= found


def test_randomkey(pair):
    pair.check("RANDOMKEY")
    pair.check("SET", "only", "v")
    pair.check("RANDOMKEY")
    pair.check("MSET", "a", "1", "b", "2")
    pair.check("RANDOMKEY", allow=RANDOM_KEY)
    pair.check("RANDOMKEY", "x")


def test_rename_renamenx(pair):
    at = int(time.time()) + 100_000
    run(pair,
        ("RENAME", "missing", "x"), ("RENAMENX", "missing", "x"),
        ("RENAME", "missing", "missing"), ("RENAMENX", "missing", "missing"),
        ("MSET", "a", "1", "b", "2"), ("RENAME", "a", "a"), ("RENAMENX", "a", "a"),
        ("RENAMENX", "a", "b"), ("RENAME", "a", "b"), ("MGET", "a", "b"),
        ("EXPIREAT", "b", at), ("RENAME", "b", "c"), ("EXPIRETIME", "c"), ("EXISTS", "b"),
        ("SET", "d", "4"), ("EXPIREAT", "d", at + 5), ("RENAME", "c", "d"),
        ("EXPIRETIME", "d"), ("SET", "e", "5"), ("RENAMENX", "d", "e"),
        ("RENAMENX", "d", BINARY), ("EXPIRETIME", BINARY), ("GET", BINARY),
        ("RENAME", "x"), ("RENAME", "a", "b", "c"), ("RENAMENX", "a"))


def test_copy(pair):
    at = int(time.time()) + 100_000
    run(pair,
        ("COPY", "missing", "x"), ("SET", "a", "1"), ("EXPIREAT", "a", at),
        ("COPY", "a", "b"), ("MGET", "a", "b"), ("EXPIRETIME", "b"),
        ("COPY", "a", "b"), ("SET", "a", "2"), ("COPY", "a", "b", "REPLACE"), ("GET", "b"),
        ("TTL", "b"), ("COPY", "a", "a"), ("COPY", "a", "a", "DB", "0"),
        ("COPY", "a", "a", "DB", "1"), ("COPY", "a", "x", "db", "2", "replace"),
        ("COPY", "a", "x", "DB", "2"), ("COPY", "a", "x", "DB", "2", "REPLACE", "REPLACE"),
        ("SELECT", "1"), ("GET", "a"), ("SELECT", "2"), ("GET", "x"), ("SELECT", "0"),
        ("COPY", "a", "b", "DB", "16"), ("COPY", "a", "b", "DB", "-1"),
        ("COPY", "a", "b", "DB", "x"), ("COPY", "a", "b", "DB", "2147483648"),
        ("COPY", "a", "b", "DB"), ("COPY", "a", "b", "FOO"), ("COPY", "missing", "b", "FOO"),
        ("COPY", "a", "b", "DB", "1", "DB", "3"), ("SELECT", "3"), ("GET", "b"),
        ("COPY", "a"))


def test_move(pair):
    at = int(time.time()) + 100_000
    run(pair,
        ("MOVE", "missing", "1"), ("SET", "a", "1"), ("EXPIREAT", "a", at),
        ("MOVE", "a", "1"), ("EXISTS", "a"), ("SELECT", "1"), ("GET", "a"),
        ("EXPIRETIME", "a"), ("SET", "b", "db1"), ("SELECT", "0"), ("SET", "b", "db0"),
        ("MOVE", "b", "1"), ("GET", "b"), ("MOVE", "b", "0"), ("MOVE", "b", "16"),
        ("MOVE", "b", "-1"), ("MOVE", "b", "x"), ("MOVE", "b", "2147483648"),
        ("MOVE", "missing", "0"), ("MOVE", "b"), ("MOVE", "b", "1", "2"))


def test_swapdb(pair):
    run(pair,
        ("SET", "a", "db0"), ("SELECT", "1"), ("SET", "a", "db1"), ("SET", "b", "only1"),
        ("SWAPDB", "0", "1"), ("GET", "a"), ("GET", "b"), ("SELECT", "0"), ("GET", "a"),
        ("GET", "b"), ("DBSIZE",), ("SWAPDB", "0", "0"), ("GET", "a"),
        ("SWAPDB", "0", "5"), ("DBSIZE",), ("SELECT", "5"), ("DBSIZE",),
        ("SWAPDB", "x", "1"), ("SWAPDB", "1", "x"), ("SWAPDB", "x", "y"),
        ("SWAPDB", "0", "16"), ("SWAPDB", "-1", "0"), ("SWAPDB", "2147483648", "0"),
        ("SWAPDB", "0", "99999999999"), ("SWAPDB", "0"), ("SWAPDB", "0", "1", "2"))


def test_object(pair):
    run(pair,
        ("MSET", "small", "7", "large", "12345", "s", "text"),
        ("OBJECT", "ENCODING", "missing"), ("OBJECT", "REFCOUNT", "small"),
        ("OBJECT", "REFCOUNT", "large"), ("OBJECT", "REFCOUNT", "s"),
        ("OBJECT", "REFCOUNT", "missing"), ("OBJECT", "FREQ", "s"),
        ("OBJECT", "FREQ", "missing"), ("OBJECT", "IDLETIME", "missing"),
        ("OBJECT", "HELP"), ("OBJECT", "help"), ("OBJECT", "FOO", "s"), ("OBJECT", "FOO"),
        ("OBJECT",), ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "s", "x"),
        ("OBJECT", "HELP", "x"), ("OBJECT", "FREQ"))
    pair.check("OBJECT", "IDLETIME", "s", allow=OBJECT_IDLETIME)


def test_memory_usage(pair):
    """Redis's figures for strings as SET stores them (see MEMORY_USAGE for others)."""
    values = ["", "v", "1", "12345", "-1", "x" * 20, "1" * 21, "x" * 44, "x" * 45,
              "x" * 100, "x" * 255, "x" * 300, "x" * 5000, "x" * 20000]
    keys = ["k", "k" * 31, "k" * 32, "k" * 255, "k" * 300]
    for key in keys:
        for value in values:
            pair.check("SET", key, value)
            pair.check("MEMORY", "USAGE", key)
    run(pair,
        ("MEMORY", "USAGE", "missing"), ("MEMORY", "USAGE", "k", "SAMPLES", "5"),
        ("MEMORY", "USAGE", "k", "SAMPLES", "0"), ("MEMORY", "USAGE", "k", "SAMPLES", "-1"),
        ("MEMORY", "USAGE", "k", "SAMPLES", "x"), ("MEMORY", "USAGE", "k", "SAMPLES"),
        ("MEMORY", "USAGE", "k", "FOO"), ("MEMORY", "USAGE", "missing", "FOO"),
        ("MEMORY", "USAGE"), ("MEMORY",), ("MEMORY", "FOO"))
