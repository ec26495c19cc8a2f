"""MEMORY STATS, MALLOC-STATS, PURGE and HELP (MEMORY USAGE is a key's, in keys.py).

caskd's numbers are its process's, as INFO memory reports them (used memory is the
resident set: Python has no allocator counter like Redis's zmalloc), and the hash
tables are the sizes of the index's and TTL table's dicts. What caskd does not have
(a replication backlog, replica or cluster buffers, Lua caches) is 0, as in a Redis
that has none of them.
"""

from __future__ import annotations

import gc

from protocol.reply import OK, Verbatim
from server.info import memory_figures
from server.replies import help_reply

_HELP = (
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
)


def memory_help(client, argv: list[bytes]):
    return help_reply("MEMORY", _HELP)


def memory_stats(client, argv: list[bytes]) -> dict[bytes, object]:
    """The map of Redis's memoryCommand "stats", in its order, with one ``db.N`` map
    per database that has keys."""
    engine = client.server.engine
    used, peak = memory_figures()
    tables = {db: engine.table_sizes(db) for db in range(engine.databases) if engine.dbsize(db)}
    overhead = sum(main + expires for main, expires in tables.values())
    keys = sum(engine.dbsize(db) for db in tables)
    dataset = max(used - overhead, 0)
    stats: dict[str, object] = {
        "peak.allocated": peak, "total.allocated": used, "startup.allocated": 0,
        "replication.backlog": 0, "clients.slaves": 0, "clients.normal": 0,
        "cluster.links": 0, "aof.buffer": 0, "lua.caches": 0, "functions.caches": 0,
    }
    for db, (main, expires) in tables.items():
        stats[f"db.{db}"] = {b"overhead.hashtable.main": main,
                             b"overhead.hashtable.expires": expires,
                             b"overhead.hashtable.slot-to-keys": 0}
    # As Redis's getMemoryOverheadData: the allocator's figures are the resident set
    # when the allocator gives none (libc), so their ratios are 1.
    stats.update({
        "overhead.total": overhead, "keys.count": keys,
        "keys.bytes-per-key": used // keys if keys else 0, "dataset.bytes": dataset,
        "dataset.percentage": dataset * 100 / used if used else 0.0,
        "peak.percentage": used * 100 / peak if peak else 0.0,
        "allocator.allocated": used, "allocator.active": used, "allocator.resident": used,
        "allocator-fragmentation.ratio": 1.0, "allocator-fragmentation.bytes": 0,
        "allocator-rss.ratio": 1.0, "allocator-rss.bytes": 0,
        "rss-overhead.ratio": 1.0, "rss-overhead.bytes": 0,
        "fragmentation": 1.0, "fragmentation.bytes": 0,
    })
    return {name.encode(): value for name, value in stats.items()}


EMPTY = ("Hi Sam, this instance is empty or is using very little memory, my issues detector "
          "can't be used in these conditions. Please, leave for your mission on Earth and fill "
          "it with some data. The new Sam and I will be back to our programming as soon as I "
          "finished rebooting.\n")
HEALTHY = ("Hi Sam, I can't find any memory issue in your instance. I can only account for "
            "what occurs on this base.\n")
BIG_PEAK = (
    "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
    " * Peak memory: In the past this instance used more than 150% the memory that is "
    "currently using. The allocator is normally not able to release memory after a peak, so "
    "you can expect to see a big fragmentation ratio, however this is actually harmless and is "
    "only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently "
    "bigger than expected, the memory will be used as soon as you fill the Redis instance with "
    "more data. If the memory peak was only occasional and you want to try to reclaim memory, "
    "please try the MEMORY PURGE command, otherwise the only other option is to shutdown and "
    "restart the instance.\n\nI'm here to keep you safe, Sam. I want to help you.\n")


def memory_doctor(client, argv: list[bytes]) -> Verbatim:
    """Redis's getMemoryDoctorReport. Of its checks only "almost empty" (under 5 MB) and
    "peak above 150%" can fire in caskd: the others look at allocator fragmentation,
    replica buffers and cached scripts, none of which it has."""
    used, peak = memory_figures()
    if used < 5 * 1024 * 1024:
        return Verbatim(EMPTY)
    return Verbatim(BIG_PEAK if peak / used > 1.5 else HEALTHY)


def memory_malloc_stats(client, argv: list[bytes]) -> bytes:
    """What Redis built without jemalloc answers: caskd's allocator is Python's."""
    return b"Stats not supported for the current allocator"


def memory_purge(client, argv: list[bytes]):
    """Redis asks jemalloc to return dirty pages; caskd frees unreachable objects."""
    gc.collect()
    return OK
