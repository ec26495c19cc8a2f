"""Where caskd intentionally answers differently from Redis 7.0, or where the compat
suite cannot compare two servers byte for byte: the one list, each with its reason.

An entry with a ``compare`` function can be passed to ``Pair.check(..., allow=...)``:
the two decoded replies are then compared by it instead of byte for byte. Entries
without one are not compared at all; the README's compatibility table says the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Difference:
    what: str
    why: str
    compare: Callable[[Any, Any], bool] | None = None

    def same(self, redis_reply: Any, caskd_reply: Any) -> bool:
        if self.compare is None:
            raise AssertionError(f"{self.what}: not comparable ({self.why})")
        return self.compare(redis_reply, caskd_reply)


def _sorted_equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(a) == sorted(b)
    return a == b


def _within(tolerance: int) -> Callable[[Any, Any], bool]:
    """Equal, or both non-negative integers at most ``tolerance`` apart."""

    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, int) and isinstance(b, int) and a >= 0 and b >= 0:
            return abs(a - b) <= tolerance
        return a == b

    return compare


KEY_ORDER = Difference(
    "order of the keys KEYS returns",
    "Redis lists keys in hash-table order, caskd in its index's (insertion) order; "
    "neither is specified, so the lists are compared sorted.",
    _sorted_equal)
SCAN_CURSOR = Difference(
    "SCAN cursor values and how keys are split between calls",
    "caskd's cursor encodes a position in a snapshot of the key list (so no key present "
    "for the whole scan is missed, as Redis guarantees) and COUNT is how many keys of "
    "it one call looks at; Redis's cursor walks hash buckets. The suite compares the "
    "keys of a whole iteration instead.")
RANDOM_KEY = Difference(
    "which key RANDOMKEY picks",
    "it is random in both; compared: a key when the database has one, null when not.",
    lambda a, b: (a is None) == (b is None) and type(a) is type(b))
TTL_CLOCK = Difference(
    "TTL / EXPIRETIME of a relative expiry, in seconds",
    "not a difference in behaviour: the two servers read their clocks at different "
    "instants, so a rounded second may differ by one.",
    _within(1))
PTTL_CLOCK = Difference(
    "PTTL / PEXPIRETIME of a relative expiry, in milliseconds",
    "not a difference in behaviour: the two servers read their clocks at different "
    "instants (allowed: 2 s apart on a loaded machine).",
    _within(2000))
OBJECT_ENCODING = Difference(
    "OBJECT ENCODING after APPEND, SETRANGE, INCRBYFLOAT, PFADD or PFMERGE",
    "caskd keeps no in-memory object, so it derives the encoding from the value as "
    "SET would store it (int / embstr up to 44 bytes / raw). Redis reports 'raw' for "
    "strings APPEND or SETRANGE modified in place or the HyperLogLog commands made "
    "(a short sparse one included), and 'embstr' for INCRBYFLOAT results that look "
    "like integers.")
OBJECT_IDLETIME = Difference(
    "OBJECT IDLETIME",
    "not a difference in behaviour: both keep a key's last use by an LRU clock of "
    "seconds, which the two servers advance at different instants, so the idle "
    "seconds may differ by one.",
    _within(1))
MEMORY_USAGE = Difference(
    "MEMORY USAGE after APPEND or SETRANGE",
    "caskd reports what Redis would use for the key with its value as SET stores it "
    "(jemalloc size classes included), so tools that rank keys by it behave alike; "
    "values modified in place have spare room in Redis. caskd's own RAM per key is "
    "the index entry only: values live on disk.")
HELLO_ID = Difference(
    "the id field of HELLO's reply",
    "client ids are each server's own counter; the suite switches to RESP3 without "
    "comparing the greeting.")
INFO_FIELDS = Difference(
    "INFO's text",
    "caskd reports Redis's field names where they apply, adds caskd_* fields (log "
    "segments, dead bytes) and leaves out what has no meaning for it (RDB, replication "
    "backlog). keyspace_hits and keyspace_misses are compared by value.")



def _rules_sorted(reply: Any) -> Any:
    """A reply with the single-command rules of each ACL rule list (``+get``,
    ``-config``) sorted; ``+@all`` / ``-@all`` and the categories keep their places."""
    if isinstance(reply, list):
        return [_rules_sorted(item) for item in reply]
    if isinstance(reply, dict):
        return {key: _rules_sorted(value) for key, value in reply.items()}
    if not isinstance(reply, bytes) or b"@all" not in reply:
        return reply
    words = reply.split()
    first = next((i for i, w in enumerate(words) if w[:1] in b"+-" and w[1:2] != b"@"),
                 len(words))
    return b" ".join(words[:first] + sorted(words[first:]))


ACL_RULE_ORDER = Difference(
    "order of the single-command rules in ACL LIST / ACL GETUSER",
    "Redis names them in the order of its command dictionary, hashed with a seed chosen "
    "at random when it starts; caskd in its command table's order. Compared sorted (the "
    "categories in front keep their order).",
    lambda a, b: _rules_sorted(a) == _rules_sorted(b))
ACL_CAT_COMMANDS = Difference(
    "ACL CAT <category>",
    "the same commands for every command both servers have, in table order (Redis: "
    "hash order); caskd lacks some of Redis's commands.")
CONFIG_GET_ORDER = Difference(
    "order of the settings CONFIG GET <pattern> returns",
    "Redis lists them in the order of a hash table with a random seed, caskd in its "
    "settings table's order; compared as a map.",
    lambda a, b: (dict(zip(a[::2], a[1::2], strict=True)) if isinstance(a, list) else a)
    == (dict(zip(b[::2], b[1::2], strict=True)) if isinstance(b, list) else b))
CLIENT_TRACKING = Difference(
    "CLIENT TRACKING ON (and so CLIENT CACHING)",
    "caskd has no client-side caching: TRACKING ON answers an error saying so; OFF, "
    "TRACKINGINFO and GETREDIR answer as Redis does for a client that does not track.")
CLIENT_FIGURES = Difference(
    "CLIENT LIST / CLIENT INFO buffer figures",
    "fields and order are Redis 7.0's (plus lib-name and lib-ver, which caskd's CLIENT "
    "SETINFO from 7.2 sets); qbuf-free, argv-mem, rbs, rbp and tot-mem are 0: "
    "caskd has no such per-client buffers to measure; omem is the reply bytes the "
    "client has not taken yet.")
COMMAND_DOCS = Difference(
    "COMMAND DOCS, and COMMAND INFO's key specs and tips",
    "caskd's table holds summary, since, group and subcommands, not Redis's argument "
    "specs, complexity, history, key specs or tips; those come back empty.")
MEMORY_FIGURES = Difference(
    "MEMORY STATS' figures, MEMORY MALLOC-STATS",
    "the names, their order and the per-database maps are Redis's; the figures are "
    "caskd's process (the resident set, the index's dict sizes; 0 for what it has not: "
    "replication backlog, replica buffers, Lua caches). Its allocator is Python's, so "
    "MALLOC-STATS answers what a Redis built with libc malloc answers.")
SAVE_IS_COMPACTION = Difference(
    "what SAVE and BGSAVE do",
    "there is no RDB file: SAVE fsyncs the log and compacts it, blocking, as SAVE blocks; "
    "BGSAVE fsyncs and compacts in the background. Replies are Redis's.")
PAUSE_AND_EXPIRY = Difference(
    "keys expiring during CLIENT PAUSE",
    "Redis stops expiring keys while clients are paused; caskd keeps expiring them.")
DEBUG_RELOAD_IN_EXEC = Difference(
    "DEBUG RELOAD inside MULTI/EXEC",
    "refused: the transaction's atomic unit is still open on the log being reloaded.")


def _unordered(a: Any, b: Any) -> bool:
    """The same members in any order: lists compared sorted, item by item."""
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    return a == b


def _same_pairs(a: Any, b: Any) -> bool:
    """A flat field, value, field, value… array (RESP2) compared as a mapping."""
    if isinstance(a, list) and isinstance(b, list) and len(a) % 2 == 0 == len(b) % 2:
        return len(a) == len(b) and \
            dict(zip(a[::2], a[1::2], strict=True)) == dict(zip(b[::2], b[1::2], strict=True))
    return a == b


def _same_shape(a: Any, b: Any) -> bool:
    """Random picks: the same type, and as many of them."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_shape, a, b))
    return type(a) is type(b)


HASH_TABLE_ORDER = Difference(
    "order of the members of a hash-table-encoded set or hash (SMEMBERS, SINTER, HKEYS…)",
    "Redis lists a hash table's members in its hash order, caskd in its own. Compact "
    "encodings (intset, listpack) list them in the same order in both and are compared "
    "byte for byte; hash tables are compared sorted.",
    _unordered)
HASH_TABLE_PAIRS = Difference(
    "order of the fields of a hash-table-encoded hash in HGETALL (RESP2: a flat array)",
    "as HASH_TABLE_ORDER; the fields are compared as a mapping.",
    _same_pairs)
RANDOM_MEMBERS = Difference(
    "which members HRANDFIELD, SRANDMEMBER, SPOP and ZRANDMEMBER pick",
    "random in both; compared: the reply's shape (types, how many). The tests check "
    "separately that what was picked belongs to the collection.",
    _same_shape)
COLLECTION_SCAN = Difference(
    "HSCAN, SSCAN and ZSCAN cursors of hash-table-encoded collections",
    "as SCAN_CURSOR: a compactly encoded collection comes back whole with cursor 0 in "
    "both (compared byte for byte); for a bigger one the suite compares the members "
    "of a whole iteration.")
COLLECTION_ENCODING = Difference(
    "OBJECT ENCODING of a hash or set that outgrew its compact encoding and shrank",
    "Redis converts a hash or set back to listpack / intset only when it is reloaded; "
    "caskd derives the encoding from the contents, as Redis would after a reload (a "
    "sorted set keeps Redis's one-way conversion).")
COLLECTION_MEMORY_USAGE = Difference(
    "MEMORY USAGE of a hash, list, set or sorted set",
    "an estimate in Redis's terms (its encodings and allocator), not caskd's own memory, "
    "which is Python objects; compared: a number for an existing key, null for none.",
    lambda a, b: isinstance(a, int) == isinstance(b, int) and (a is None) == (b is None))
SORT_STALE_ERANGE = Difference(
    "SORT's numeric weights after some earlier strtod set errno to ERANGE",
    "Redis's sortCommand tests errno after strtod without clearing it first, so once any "
    "parse in the process overflowed (an earlier SORT, ZADD 1e400 …) every later "
    "numeric SORT of non-integer strings fails with \"One or more scores can't be "
    "converted\" until some other call changes errno. caskd judges each weight alone. "
    "The suite resets Redis's errno (by opening a connection) before comparing.")
SORT_TIES_IN_HASH_ORDER = Difference(
    "order of SORT results that compare equal when sorting a set or a sorted set",
    "Redis reads a set's or sorted set's elements from its hash table (in its seeded "
    "hash order) before sorting, and its stable sort leaves elements that compare "
    "equal (ALPHA: equal up to a NUL; BY ... ALPHA: equal or missing weights) in that "
    "order; caskd leaves them in its own. Lists, numeric sorts (ties broken by the "
    "element) and ALPHA STORE without BY are compared byte for byte.")
PARTIAL_SORT_TIES = Difference(
    "order of equal keys in SORT ... BY pattern LIMIT and in GEO searches with COUNT",
    "where only part of the result is wanted (SORT with BY and LIMIT, GEORADIUS / "
    "GEOSEARCH with COUNT and no ANY) Redis sorts with its partial quicksort (pqsort), "
    "which leaves equal weights or distances in no defined order; caskd keeps them in "
    "the order they were found, as Redis's full, stable (glibc) qsort does otherwise. "
    "Not compared: the tests give such cases distinct keys.")
CONFIG_SET_UP_DIFFERENTLY = Difference(
    "CONFIG GET of bind, appendonly and save; CONFIG SET of port, bind, dir and the TLS files",
    "caskd listens on 127.0.0.1 by default (Redis: * -::*), always keeps its log "
    "(appendonly is yes, and no is accepted without effect) and writes no RDB snapshots "
    "(save is empty); it cannot move its listeners or data directory while running, so "
    "those settings are immutable. The compat servers also differ in port, dir, logfile, "
    "pidfile, daemonize and appendfsync, as they are started.")
CONFIG_NAMES_SET_UP_DIFFERENTLY = frozenset({
    "port", "dir", "bind", "logfile", "pidfile", "appendonly", "save", "daemonize",
    "appendfsync"})

PUBSUB_CHANNEL_ORDER = Difference(
    "order of the channels PUBSUB CHANNELS and SHARDCHANNELS list, and of the "
    "confirmations of an UNSUBSCRIBE of every channel",
    "Redis walks its channel dicts in hash-table order, caskd in subscription order; "
    "neither is specified, so the lists are compared sorted.",
    _sorted_equal)


def _same_dumped_value(a: Any, b: Any) -> bool:
    from storage.datatypes import ZSet
    from storage.rdb import load_payload

    if not (isinstance(a, bytes) and isinstance(b, bytes)):
        return a == b
    left, right = load_payload(a), load_payload(b)
    if type(left) is ZSet:
        return type(right) is ZSet and list(left.order) == list(right.order)
    return type(left) is type(right) and left == right


DUMP_PAYLOAD = Difference(
    "DUMP of a hash-table-encoded hash or set; LZF-compressed parts of a payload",
    "as HASH_TABLE_ORDER, the payload lists the members in each server's own order; "
    "and caskd's LZF (python-lzf, liblzf) sometimes finds other matches than Redis's "
    "copy of lzf (about 1 in 20 compressible strings, mostly low-entropy binary), so "
    "those bytes differ while decompressing to the same. Compared as the values the "
    "payloads decode to. Listpacks, quicklist nodes, intsets, the integer encodings "
    "and the tested LZF cases are compared byte for byte.",
    _same_dumped_value)


def _functions_sorted(reply: Any) -> Any:
    """FUNCTION LIST (RESP2 pairs or RESP3 maps) with each library's functions sorted."""
    def fields(entry: Any) -> dict:
        return entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2],
                                                              strict=True))

    if not isinstance(reply, list):
        return reply
    libraries = []
    for library in map(fields, reply):
        library[b"functions"] = sorted(repr(sorted(fields(function).items(), key=repr))
                                       for function in library[b"functions"])
        libraries.append(library)
    return libraries


FUNCTION_ORDER = Difference(
    "order of a library's functions in FUNCTION LIST",
    "Redis lists them in its dict's hash order, caskd in the order they were registered; "
    "compared with each library's functions sorted.",
    lambda a, b: _functions_sorted(a) == _functions_sorted(b))
SCRIPTING_SANDBOX = Difference(
    "type() of redis.call and of the cjson/cmsgpack/bit/struct functions; pairs() over "
    "a library table; getmetatable(_G)",
    "caskd's functions are Python ones (userdata to Lua, not function), and its read-only "
    "tables are proxies (Redis patches its Lua instead); not compared.")


def _flat(reply: Any) -> Any:
    """A reply with RESP3 maps as RESP2's flat arrays, so both compare alike."""
    if isinstance(reply, dict):
        return [part for key, value in reply.items() for part in (_flat(key), _flat(value))]
    if isinstance(reply, list):
        return [_flat(item) for item in reply]
    return reply


_STREAM_ID = re.compile(rb"(\d+)-(\d+)")
_CLOCK_SLACK = 5000  # ms: two servers read their clocks at different instants


def _clock_close(a: Any, b: Any, idle_at: frozenset[int] = frozenset()) -> bool:
    """Equal, except for what the clock decides: absolute times in ms (both past
    2001), ids made by "*" (their ms part; the sequence of either may be anything),
    and the items at positions ``idle_at`` of a row (idle times)."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        return all(abs(x - y) <= _CLOCK_SLACK if i in idle_at and isinstance(x, int)
                   and isinstance(y, int) else _clock_close(x, y, idle_at)
                   for i, (x, y) in enumerate(zip(a, b, strict=True)))
    if isinstance(a, int) and isinstance(b, int) and min(a, b) > 10**12:
        return abs(a - b) <= _CLOCK_SLACK
    if isinstance(a, bytes) and isinstance(b, bytes) and a != b:
        ids = _STREAM_ID.fullmatch(a), _STREAM_ID.fullmatch(b)
        return all(ids) and min(int(ids[0][1]), int(ids[1][1])) > 10**12 and \
            abs(int(ids[0][1]) - int(ids[1][1])) <= _CLOCK_SLACK
    return a == b


def _named_idle(a: Any, b: Any) -> bool:
    """XINFO CONSUMERS: each consumer's fields, "idle" within the clock's slack."""
    a, b = _flat(a), _flat(b)
    if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
        return a == b
    return all(_clock_close(x, y, frozenset({5})) for x, y in zip(a, b, strict=True))


STREAM_CLOCK = Difference(
    "stream ids XADD makes with \"*\", and the delivery and seen times of XINFO STREAM FULL",
    "not a difference in behaviour: each server reads its own clock. Compared: the same "
    "shape, the ms part of such ids and absolute times within 5 s of each other.",
    lambda a, b: _clock_close(_flat(a), _flat(b)))
PENDING_IDLE = Difference(
    "idle times in XPENDING's extended form",
    "each server measures them on its own clock: compared within 5 s, the other fields "
    "byte for byte.",
    lambda a, b: _clock_close(a, b, frozenset({2})))
CONSUMER_IDLE = Difference(
    "idle times in XINFO CONSUMERS", "as PENDING_IDLE.", _named_idle)
BLOCKED_XREAD_SEVERAL = Difference(
    "what a client waiting in XREAD BLOCK on several streams gets when one of them grows",
    "Redis answers with the stream that got the entry; caskd runs the XREAD again and "
    "answers with every stream that has news for it then (more than one only when a "
    "transaction or script fed several). Not compared.")

DIFFERENCES = [KEY_ORDER, SCAN_CURSOR, RANDOM_KEY, TTL_CLOCK, PTTL_CLOCK, OBJECT_ENCODING,
               PUBSUB_CHANNEL_ORDER, OBJECT_IDLETIME, MEMORY_USAGE, HELLO_ID, INFO_FIELDS,
               ACL_RULE_ORDER, ACL_CAT_COMMANDS, CONFIG_GET_ORDER, CLIENT_TRACKING, CLIENT_FIGURES,
               COMMAND_DOCS, SAVE_IS_COMPACTION, PAUSE_AND_EXPIRY, DEBUG_RELOAD_IN_EXEC,
               HASH_TABLE_ORDER, HASH_TABLE_PAIRS, RANDOM_MEMBERS, COLLECTION_SCAN,
               COLLECTION_ENCODING, COLLECTION_MEMORY_USAGE, SORT_STALE_ERANGE,
               SORT_TIES_IN_HASH_ORDER, PARTIAL_SORT_TIES, CONFIG_SET_UP_DIFFERENTLY,
               DUMP_PAYLOAD, FUNCTION_ORDER, SCRIPTING_SANDBOX,
               STREAM_CLOCK, PENDING_IDLE, CONSUMER_IDLE, BLOCKED_XREAD_SEVERAL]
