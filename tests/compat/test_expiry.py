"""TTL commands, caskd against redis-server, in RESP2 and RESP3. Absolute times keep
the replies exact; relative ones are compared with a clock tolerance."""

from __future__ import annotations

import time

import pytest

from tests.compat.differences import PTTL_CLOCK, TTL_CLOCK
from tests.compat.harness import decode
from tests.compat.test_strings import run
from tests.support import wait_until

COMMANDS = ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")


def test_ttl_family_on_missing_and_persistent_keys(pair):
    run(pair,
        ("TTL", "missing"), ("PTTL", "missing"), ("EXPIRETIME", "missing"),
        ("PEXPIRETIME", "missing"), ("PERSIST", "missing"),
        ("SET", "k", "v"), ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"),
        ("PEXPIRETIME", "k"), ("PERSIST", "k"),
        ("TTL",), ("PTTL", "a", "b"), ("EXPIRETIME",), ("PEXPIRETIME", "a", "b"),
        ("PERSIST",))


def test_expireat_and_expiretime_are_exact(pair):
    at = int(time.time()) + 100_000
    run(pair,
        ("SET", "k", "v"), ("EXPIREAT", "k", at), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", at * 1000 + 499), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", at * 1000 + 500), ("EXPIRETIME", "k"),
        ("PERSIST", "k"), ("EXPIRETIME", "k"), ("PERSIST", "k"))


def test_relative_expiry(pair):
    run(pair, ("SET", "k", "v"), ("EXPIRE", "k", "100"), ("TTL", "k"))
    pair.check("PTTL", "k", allow=PTTL_CLOCK)
    pair.check("PEXPIRE", "k", "5000500")
    pair.check("TTL", "k", allow=TTL_CLOCK)
    pair.check("EXPIRETIME", "k", allow=TTL_CLOCK)
    pair.check("PEXPIRETIME", "k", allow=PTTL_CLOCK)


@pytest.mark.parametrize("command", COMMANDS)
def test_times_in_the_past_delete_the_key(pair, command):
    past = ("0", "-1", "-9223372036854775") + (("1",) if command.endswith("AT") else ())
    for amount in past:
        run(pair, ("SET", "k", "v"), (command, "k", amount), ("EXISTS", "k"),
            (command, "k", amount))


@pytest.mark.parametrize("command", COMMANDS)
def test_argument_errors_in_redis_order(pair, command):
    run(pair,
        ("SET", "k", "v"),
        (command, "k", "x"), (command, "k", "1.5"), (command, "k", ""),
        (command, "k", "x", "FOO"), (command, "k", "10", "FOO"), (command, "k", "10", "nx", "Bar"),
        (command, "k", "x", "NX", "XX"), (command, "k", "10", "NX", "XX"),
        (command, "k", "10", "NX", "GT"), (command, "k", "10", "LT", "NX"),
        (command, "k", "10", "GT", "LT"), (command, "k", "10", "XX", "GT", "LT"),
        (command, "k", "x", "GT", "LT"), (command, "missing", "10", "GT", "LT"),
        (command, "k", "9223372036854775807"), (command, "k", "9223372036854775"),
        (command, "k", "9223372036854776"), (command, "k", "-9223372036854775808"),
        (command, "k", "-9223372036854776"), (command, "k", "9223372036854775808"),
        (command, "missing", "x"), (command, "missing", "10"), ("EXISTS", "k"),
        (command, "k"), (command,))


@pytest.mark.parametrize("command,scale", [("EXPIREAT", 1), ("PEXPIREAT", 1000)])
def test_nx_xx_gt_lt(pair, command, scale):
    """Absolute times so that the comparisons are exact; no TTL counts as infinite."""
    base = int(time.time()) + 100_000
    early, middle, late = (str((base + offset) * scale) for offset in (0, 500, 1000))
    run(pair,
        ("SET", "k", "v"),
        (command, "k", middle, "XX"), (command, "k", middle, "GT"), ("TTL", "k"),
        (command, "k", middle, "LT"), ("EXPIRETIME", "k"),
        (command, "k", late, "NX"), (command, "k", early, "LT"), ("EXPIRETIME", "k"),
        (command, "k", early, "LT"), (command, "k", early, "GT"),
        (command, "k", late, "GT"), ("EXPIRETIME", "k"), (command, "k", middle, "GT"),
        (command, "k", middle, "XX", "LT"), ("EXPIRETIME", "k"),
        (command, "k", late, "xx", "gt"), ("EXPIRETIME", "k"),
        (command, "k", early, "NX", "NX"), (command, "k", early, "GT", "GT", "XX"),
        (command, "k", "1", "LT"), ("EXISTS", "k"),
        ("SET", "p", "v"), (command, "p", "1", "GT"), ("EXISTS", "p"),
        (command, "p", "1", "XX"), (command, "p", "1", "LT"), ("EXISTS", "p"),
        (command, "missing", late, "NX"))


def test_relative_expiry_options(pair):
    run(pair,
        ("SET", "k", "v"), ("EXPIRE", "k", "100", "XX"), ("EXPIRE", "k", "100", "NX"),
        ("EXPIRE", "k", "200", "NX"), ("EXPIRE", "k", "50", "GT"), ("EXPIRE", "k", "5000", "LT"),
        ("EXPIRE", "k", "10", "LT"), ("EXPIRE", "k", "1000", "GT"), ("TTL", "k"),
        ("PEXPIRE", "k", "5000000", "XX"), ("TTL", "k"))


def test_commands_that_keep_or_clear_the_ttl(pair):
    at = int(time.time()) + 100_000
    keep = [("SETRANGE", "k", "0", "x"), ("APPEND", "k", "y"), ("INCR", "n"),
            ("INCRBYFLOAT", "n", "1.5"), ("SET", "k", "w", "KEEPTTL"), ("GETEX", "k")]
    clear = [("SET", "k", "w"), ("GETSET", "k", "w"), ("MSET", "k", "w"),
             ("SETEX", "k", "100000", "w"), ("PSETEX", "k", "100000", "w")]
    for command in keep + clear:
        run(pair, ("MSET", "k", "v", "n", "1"), ("EXPIREAT", "k", at), ("EXPIREAT", "n", at),
            command)
        pair.check("TTL", command[1], allow=TTL_CLOCK)


def test_a_key_expires_in_both(pair):
    """Lazy expiry (GET, EXISTS, TTL) and active expiry (DBSIZE shrinking) alike."""
    run(pair, ("SET", "lazy", "v", "PX", "100"), ("SET", "active", "v", "PX", "100"),
        ("SET", "stays", "v"))
    for connection in (pair.redis, pair.caskd):
        def gone(connection=connection):
            connection.send(("EXISTS", "lazy"))
            return decode(connection.reply()) == 0

        wait_until(gone, timeout=10, what="the key to expire")
    run(pair, ("GET", "lazy"), ("TTL", "lazy"), ("PERSIST", "lazy"))
    for connection in (pair.redis, pair.caskd):
        def shrunk(connection=connection):
            connection.send(("DBSIZE",))
            return decode(connection.reply()) == 1

        wait_until(shrunk, timeout=10, what="active expiry to remove the key")
