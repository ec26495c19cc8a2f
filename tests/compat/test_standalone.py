"""What a single server answers about replication and memory, caskd against
redis-server: ROLE, REPLICAOF / SLAVEOF, and the MEMORY subcommands."""

from __future__ import annotations

import re

from server.commands.memory import BIG_PEAK, HEALTHY
from tests.compat.differences import ACL_RULE_ORDER
from tests.compat.harness import decode
from tests.compat.test_strings import run


def test_role_and_replicaof_no_one(pair):
    run(pair,
        ("ROLE",), ("ROLE", "x"), ("REPLICAOF", "NO", "ONE"), ("replicaof", "no", "one"),
        ("SLAVEOF", "NO", "ONE"), ("REPLICAOF", "NO ONE"), ("REPLICAOF", "host", "port"),
        ("REPLICAOF", "host", "70000"), ("REPLICAOF", "host", "-1"), ("ROLE",))


def test_replicaof_a_master_then_no_one(pair):
    """Both follow a master that is not there (the link stays down, ROLE says so) and
    become masters again; REPLICAOF of the same master again is a no-op."""
    try:
        run(pair, ("REPLICAOF", "127.0.0.1", "1"), ("REPLICAOF", "127.0.0.1", "1"),
            ("GET", "k"))
        redis_role, caskd_role = (decode(reply) for reply in pair.both("ROLE"))
        assert caskd_role[:3] == redis_role[:3] == [b"slave", b"127.0.0.1", 1]
        assert caskd_role[4] == redis_role[4] == -1
    finally:
        run(pair, ("REPLICAOF", "NO", "ONE"), ("SET", "k", "v"))


def test_memory_help_purge_and_errors(pair):
    run(pair,
        ("MEMORY", "HELP"), ("MEMORY", "PURGE"), ("MEMORY", "STATS", "x"),
        ("MEMORY", "DOCTOR", "x"), ("MEMORY", "MALLOC-STATS", "x"), ("MEMORY", "NOSUCH"))


def test_memory_stats_has_redis_fields_in_redis_order(pair):
    """The figures are each server's own; the names, their order and the per-database
    maps (only for databases with keys) are Redis's."""
    pair.both("SET", "k", "v")
    pair.both("SELECT", "3")
    pair.both("SET", "k", "v")
    redis_stats, caskd_stats = (decode(raw) for raw in pair.both("MEMORY", "STATS"))
    pair.both("SELECT", "0")

    def names(stats):
        pairs = stats.items() if isinstance(stats, dict) else zip(stats[::2], stats[1::2],
                                                                     strict=True)
        return [(name, list(value)[::2] if isinstance(value, list) else
                 list(value) if isinstance(value, dict) else None) for name, value in pairs]

    assert names(caskd_stats) == names(redis_stats)
    stats = dict(names(caskd_stats))
    assert stats[b"db.3"] == [b"overhead.hashtable.main", b"overhead.hashtable.expires",
                              b"overhead.hashtable.slot-to-keys"]


def test_memory_malloc_stats_and_doctor_answer_as_without_jemalloc(pair):
    """caskd's allocator is Python's, so MALLOC-STATS answers what a Redis built with
    libc malloc does, and DOCTOR one of Redis's reports (which one depends on how far the
    process grew before: the suite's earlier tests)."""
    _, malloc_stats = pair.both("MEMORY", "MALLOC-STATS")
    assert malloc_stats == b"$45\r\nStats not supported for the current allocator\r\n"
    _, doctor = pair.both("MEMORY", "DOCTOR")
    report = decode(doctor)
    assert getattr(report, "data", report).decode() in (HEALTHY, BIG_PEAK)  # the process's


def test_cluster_commands_answer_cluster_mode_off(pair):
    """Known commands (so ACL rules may name them), each saying cluster support is off."""
    run(pair,
        ("CLUSTER", "INFO"), ("CLUSTER", "SLOTS"), ("CLUSTER", "KEYSLOT", "k"),
        ("CLUSTER", "HELP"), ("CLUSTER", "NOSUCH"), ("CLUSTER", "INFO", "x"), ("CLUSTER",),
        ("ASKING",), ("READONLY",), ("READWRITE",), ("READONLY", "x"),
        ("ACL", "SETUSER", "ops", "on", "nopass", "+cluster", "+readonly", "-cluster|reset"))
    pair.check("ACL", "GETUSER", "ops", allow=ACL_RULE_ORDER)
    pair.check("ACL", "DELUSER", "ops")


def test_command_info_rows(pair2):
    """Arity, flags, key positions and ACL categories as Redis's table has them (flags
    and categories are sets, in any order)."""
    names = ("role", "replicaof", "slaveof", "memory", "cluster", "asking", "readonly",
             "readwrite", "zintercard")
    for name in names:
        expected, actual = map(decode, pair2.both("COMMAND", "INFO", name))
        assert actual[0][:2] == expected[0][:2]
        assert actual[0][3:6] == expected[0][3:6]
        assert sorted(actual[0][2]) == sorted(expected[0][2]), name
        assert sorted(actual[0][6]) == sorted(expected[0][6]), name
        expected_subs = sorted((sub[0], sub[1], sorted(sub[2]), sorted(sub[6]))
                               for sub in expected[0][9])
        actual_subs = sorted((sub[0], sub[1], sorted(sub[2]), sorted(sub[6]))
                             for sub in actual[0][9])
        assert actual_subs == expected_subs, name


def _shape(raw: bytes) -> list[int]:
    """The drawing's size: the characters on each line, colour codes aside (the art
    itself is random)."""
    return [len(re.sub(r"\x1b\[[0-9;]*m", "", line)) for line in raw.decode().split("\n")]


def test_lolwut(pair):
    """Redis 7.0's LOLWUT is its version line; VERSION 5 and 6 draw random art whose
    size, layout and caption are Redis's."""
    run(pair,
        ("LOLWUT",), ("LOLWUT", "VERSION", "7"), ("LOLWUT", "10", "20"),
        ("LOLWUT", "VERSION", "x"), ("LOLWUT", "VERSION"), ("lolwut", "version", "-1"),
        ("LOLWUT", "VERSION", "5", "x"), ("LOLWUT", "VERSION", "6", "1", "x"))
    for args in (("5",), ("5", "1", "1", "1"), ("5", "40", "3", "5"), ("5", "0", "300", "-1"),
                 ("6",), ("6", "10", "3"), ("6", "0", "0")):
        redis_art, caskd_art = pair.both("LOLWUT", "VERSION", *args)
        redis_text, caskd_text = (decode(raw) for raw in (redis_art, caskd_art))
        redis_text, caskd_text = (getattr(t, "data", t) for t in (redis_text, caskd_text))
        assert _shape(caskd_text) == _shape(redis_text), args
        assert caskd_text.split(b"\n")[-2:] == redis_text.split(b"\n")[-2:], args
