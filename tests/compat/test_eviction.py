"""maxmemory, OBJECT FREQ / IDLETIME and the OOM refusals, against redis-server.

Only what is deterministic in both is compared: an LFU counter up to LFU_INIT_VAL + 1
(the first increments are certain, later ones random), and refusals while both
servers are over a 1-byte limit with noeviction (so neither evicts anything).
"""

from __future__ import annotations

import pytest

from tests.compat.differences import OBJECT_IDLETIME

OOM_SCRIPTS = [
    ("EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "k"),
    ("EVAL", "#!lua\nreturn redis.call('set', KEYS[1], 'x')", "1", "k"),
    ("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], 'x')", "1", "k"),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "k"),
    ("EVAL", "return redis.call('get', KEYS[1])", "1", "k"),
    ("EVAL", "return redis.pcall('rpush', KEYS[1], 'x')", "1", "k"),
]


@pytest.fixture
def policy(pair):
    """The pair, with maxmemory settings put back afterwards."""
    yield pair
    pair.both("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction")


def test_lfu_counters(policy):
    pair = policy
    pair.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    for command in [("SET", "s", "text"), ("OBJECT", "FREQ", "s"), ("GET", "s"),
                    ("OBJECT", "FREQ", "s"), ("OBJECT", "FREQ", "s"),  # OBJECT does not use
                    ("HSET", "h", "f", "v"), ("OBJECT", "FREQ", "h"), ("HGET", "h", "f"),
                    ("OBJECT", "FREQ", "h"), ("RPUSH", "l", "a"), ("TOUCH", "l", "missing"),
                    ("OBJECT", "FREQ", "l"), ("OBJECT", "FREQ", "missing"),
                    ("OBJECT", "IDLETIME", "s"), ("OBJECT", "IDLETIME", "missing"),
                    ("TYPE", "s"), ("OBJECT", "ENCODING", "s"), ("OBJECT", "FREQ", "s")]:
        pair.check(*command)


def test_restore_sets_freq_and_idletime(policy):
    pair = policy
    pair.check("SET", "s", "text")
    payload = pair.check("DUMP", "s")
    pair.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    pair.check("RESTORE", "f", "0", payload, "FREQ", "100")
    pair.check("OBJECT", "FREQ", "f")
    pair.check("CONFIG", "SET", "maxmemory-policy", "volatile-lru")
    pair.check("OBJECT", "FREQ", "s")
    pair.check("RESTORE", "i", "0", payload, "IDLETIME", "1000")
    pair.check("OBJECT", "IDLETIME", "i", allow=OBJECT_IDLETIME)
    pair.check("RESTORE", "j", "0", payload, "IDLETIME", "100000000")  # past the clock's wrap
    pair.check("OBJECT", "IDLETIME", "j", allow=OBJECT_IDLETIME)


def test_noeviction_refuses_what_would_grow(policy, writer):
    pair = policy
    pair.check("MSET", "a", "1", "b", "2")
    pair.check("RPUSH", "list", "x")
    pair.check("CONFIG", "SET", "maxmemory", "1")  # both far over it now
    for command in [("SET", "c", "3"), ("GET", "a"), ("RPUSH", "list", "y"), ("LPOP", "list"),
                    ("INCR", "a"), ("APPEND", "a", "x"), ("EXPIRE", "a", "100"),
                    ("DEL", "b"), ("EXISTS", "b"), ("MULTI",), ("GET", "a"), ("EXEC",),
                    ("MULTI",), ("DISCARD",), *OOM_SCRIPTS, ("PING",), ("DBSIZE",)]:
        pair.check(*command)
    pair.check("CONFIG", "SET", "maxmemory", "0")
    pair.check("SET", "c", "3")
    pair.check("MULTI")
    pair.check("SET", "d", "4")
    writer.check("CONFIG", "SET", "maxmemory", "1")
    pair.check("EXEC")  # a queued denyoom command dooms it
    pair.check("MGET", "a", "b", "c", "d")
