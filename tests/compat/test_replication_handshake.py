"""What a master answers a replica's handshake and a WAIT, caskd against
redis-server: REPLCONF's options and errors, PSYNC's argument errors, WAIT with
no replicas (at once, after its timeout, inside MULTI), -NOREPLICAS, and ROLE.
(A real handshake, which changes the servers' replication state, is
tests/replication's.)"""

from __future__ import annotations

from tests.compat.test_strings import run


def test_replconf_options_and_errors(pair):
    run(pair,
        ("REPLCONF",), ("REPLCONF", "a"), ("REPLCONF", "foo", "bar"),
        ("REPLCONF", "listening-port", "x"), ("REPLCONF", "listening-port", "6380"),
        ("REPLCONF", "listening-port", "1", "ip-address", "10.0.0.1", "capa", "eof",
         "capa", "psync2", "capa", "unknown"),
        ("REPLCONF", "ip-address", "x" * 300), ("REPLCONF", "rdb-only", "2"),
        ("REPLCONF", "rdb-only", "0"), ("replconf", "CAPA", "EOF"))


def test_psync_and_sync_argument_errors(pair):
    run(pair,
        ("PSYNC",), ("PSYNC", "?"), ("PSYNC", "?", "x"), ("SYNC", "x"),
        ("MULTI",), ("PSYNC", "?", "-1"), ("SYNC",), ("DISCARD",))


def test_wait_without_replicas(pair):
    run(pair,
        ("WAIT", "0", "0"), ("WAIT", "x", "0"), ("WAIT", "0", "-1"), ("WAIT", "0", "x"),
        ("WAIT", "1", "10"), ("WAIT",), ("MULTI",), ("SET", "k", "v"), ("WAIT", "1", "0"),
        ("EXEC",), ("ROLE",))


def test_min_replicas_to_write_refuses_writes(pair):
    try:
        run(pair,
            ("CONFIG", "SET", "min-replicas-to-write", "1"), ("SET", "k", "v"), ("GET", "k"),
            ("MULTI",), ("SET", "k", "v"), ("EXEC",), ("MULTI",), ("GET", "k"), ("EXEC",))
    finally:
        pair.both("CONFIG", "SET", "min-replicas-to-write", "0")
    run(pair, ("SET", "k", "v"))

