"""Sorted-set commands. A sorted set is a ZSet in memory (member -> score, plus
the (score, member) pairs in a SortedList: ranks and ranges in O(log n)); every
change goes through the engine, which logs its effect (ZADD of absolute scores,
ZREM of what a range or a pop removed)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from protocol.reply import NullArray
from server.algorithms.doubles import d2string, string2d, strtod
from server.blocking import Blocked, parse_timeout
from server.commands.objects import (
    blocking_mpop,
    index_range,
    parse_cursor,
    parse_mpop,
    parse_positive,
    parse_random_count,
    parse_scan_options,
    read_key,
    scan_items,
    scan_reply,
    write_key,
)
from server.errors import NOT_FLOAT, SYNTAX, WRONGTYPE, CommandError, parse_int
from storage.datatypes import ENCODING, Op, ZSet, zadd_args

NAN_SCORE = "ERR resulting score is not a number (NaN)"
NOT_FLOAT_RANGE = "ERR min or max is not a float"
NOT_LEX_RANGE = "ERR min or max not valid string range item"


def _score(arg: bytes, error: str = NOT_FLOAT) -> float:
    if arg.isdigit() and len(arg) < 16:  # the common case, exact in a double
        return float(arg)
    value = string2d(arg)
    if value is None:
        raise CommandError(error)
    return value


def _pairs_reply(client, pairs, with_scores: bool) -> list:
    """Members, or members and scores: flat in RESP2, [member, score] pairs in RESP3."""
    if not with_scores:
        return [member for member, _ in pairs]
    if client.resp3:
        return [[member, score] for member, score in pairs]
    return [part for pair in pairs for part in pair]


# ------------------------------------------------------------------ adding


def zadd(client, argv: list[bytes]):
    """ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]."""
    if len(argv) == 4 and argv[2].isdigit() and len(argv[2]) < 16:  # the common case
        # add_scores for one pair and no flags: the member is new (1) or moves (0), or
        # keeps its score, which changes nothing (zsetAdd's ZADD_OUT_NOP: no log record,
        # no event).
        key, score, member = argv[1], float(argv[2]), argv[3]
        zset = write_key(client, key, ZSet)
        if zset is not None and zset.scores.get(member) == score:
            return 0
        return client.engine.apply(client.db, key, Op.ZADD, zadd_args([(score, member)]),
                                   event="zadd")
    flags: set[bytes] = set()
    i = 2
    while i < len(argv) and argv[i].upper() in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"):
        flags.add(argv[i].upper())
        i += 1
    rest = argv[i:]
    if not rest or len(rest) % 2:
        raise CommandError(SYNTAX)
    if {b"NX", b"XX"} <= flags:
        raise CommandError("ERR XX and NX options at the same time are not compatible")
    if len(flags & {b"NX", b"GT", b"LT"}) > 1:
        raise CommandError("ERR GT, LT, and/or NX options at the same time are not "
                           "compatible")
    if b"INCR" in flags and len(rest) > 2:
        raise CommandError("ERR INCR option supports a single increment-element pair")
    pairs = [(_score(rest[j]), rest[j + 1]) for j in range(0, len(rest), 2)]
    return add_scores(client, argv[1], pairs, flags)


def zincrby(client, argv: list[bytes]):
    return add_scores(client, argv[1], [(_score(argv[2]), argv[3])], {b"INCR"})


def add_scores(client, key: bytes, pairs: list[tuple[float, bytes]], flags: frozenset | set):
    """Redis's zsetAdd for each pair in turn; logs the pairs that change a score."""
    zset = write_key(client, key, ZSet)
    incr = b"INCR" in flags
    scores = {} if zset is None else zset.scores
    if zset is None and b"XX" in flags:
        return None if incr else 0
    pending: dict[bytes, float] = {}  # this command's own changes so far
    changes: list[tuple[float, bytes]] = []
    added = updated = processed = 0
    score = None
    for score, member in pairs:
        current = pending.get(member, scores.get(member))
        if current is None:
            if b"XX" in flags:
                continue
            added += 1
        else:
            if b"NX" in flags:
                continue
            if incr:
                score += current
                if math.isnan(score):
                    raise CommandError(NAN_SCORE)
            if (b"LT" in flags and score >= current) or (b"GT" in flags and score <= current):
                continue
            if score == current:
                processed += 1
                continue
            updated += 1
        processed += 1
        pending[member] = score
        changes.append((score, member))
    if changes:
        client.engine.apply(client.db, key, Op.ZADD, zadd_args(changes),
                            event="zincr" if incr else "zadd")
    if incr:
        return score if processed else None
    return added + updated if b"CH" in flags else added


# ------------------------------------------------------------------ reading


def zcard(client, argv: list[bytes]):
    return len(read_key(client, argv[1], ZSet) or ())


def zscore(client, argv: list[bytes]):
    zset = read_key(client, argv[1], ZSet)
    return None if zset is None else zset.scores.get(argv[2])


def zmscore(client, argv: list[bytes]):
    zset = read_key(client, argv[1], ZSet)
    scores = {} if zset is None else zset.scores
    return [scores.get(member) for member in argv[2:]]


def _rank(client, argv: list[bytes], reverse: bool):
    zset = read_key(client, argv[1], ZSet)
    rank = None if zset is None else zset.rank(argv[2])
    return len(zset) - 1 - rank if rank is not None and reverse else rank


def zrank(client, argv: list[bytes]):
    return _rank(client, argv, False)


def zrevrank(client, argv: list[bytes]):
    return _rank(client, argv, True)


# ------------------------------------------------------------------ ranges


@dataclass
class Range:
    """A parsed range: by rank (start, end), score or lex (min, max bounds)."""

    kind: str  # "rank", "score" or "lex"
    low: object
    high: object

    def slice(self, zset: ZSet, reverse: bool = False) -> tuple[int, int]:
        """The [start, stop) indexes of the elements in the range (ranks of a
        reversed range count from the end)."""
        length = len(zset)
        if self.kind == "rank":
            start, stop = index_range(self.low, self.high, length)
            return (length - stop, length - start) if reverse else (start, stop)
        if self.kind == "score":
            (low, low_open), (high, high_open) = self.low, self.high
            start = zset.count_below(low, inclusive=low_open)
            stop = zset.count_below(high, inclusive=not high_open)
        elif zset.listpack or (zset.order and zset.order[0][0] != zset.order[-1][0]):
            # A listpack is walked; so, in effect, is a skiplist whose members have
            # several scores (the case Redis leaves undefined): bisecting by member
            # is right only where every member has the same score.
            return _lex_scan(zset, self.low, self.high, reverse)
        else:
            start = _lex_index(zset, self.low, after=True)
            stop = _lex_index(zset, self.high, after=False)
        return start, max(start, stop)


def _lex_index(zset: ZSet, bound: tuple[bytes, bool] | str, after: bool) -> int:
    """Where a lex bound falls: "-" before everything, "+" after; for a low
    bound, the first index in the range, for a high one, one past the last."""
    if bound == "-":
        return 0
    if bound == "+":
        return len(zset)
    member, exclusive = bound
    return zset.count_below_member(member, inclusive=exclusive == after)


def _above_low(member: bytes, bound) -> bool:
    if isinstance(bound, str):
        return bound == "-"
    value, exclusive = bound
    return member > value if exclusive else member >= value


def _below_high(member: bytes, bound) -> bool:
    if isinstance(bound, str):
        return bound == "+"
    value, exclusive = bound
    return member < value if exclusive else member <= value


def _lex_scan(zset: ZSet, low, high, reverse: bool) -> tuple[int, int]:
    """A lex range found as Redis walks a listpack (or, from "-", a skiplist): from the
    first member past the low bound (reversed: from the last one under the high
    bound) for as long as members stay in range. With one score for all members
    (the only case Redis defines) this is the bisection's answer; with several it
    is still Redis's."""
    members = [member for _, member in zset.order]
    if not (members and _above_low(members[-1], low) and _below_high(members[0], high)):
        return 0, 0
    if reverse:
        end = next((i + 1 for i in range(len(members) - 1, -1, -1)
                    if _below_high(members[i], high)), 0)
        start = end
        while start > 0 and _above_low(members[start - 1], low):
            start -= 1
        return start, end
    start = next((i for i, member in enumerate(members) if _above_low(member, low)),
                 len(members))
    stop = start
    while stop < len(members) and _below_high(members[stop], high):
        stop += 1
    return start, stop


def parse_score_bound(arg: bytes) -> tuple[float, bool]:
    """zslParseRange's half: "(" for exclusive, then what strtod reads, which must
    end the argument (C-string: at a NUL) and not be NaN."""
    exclusive = arg[:1] == b"("
    text = arg[1:] if exclusive else arg
    value, end = strtod(text)
    if text[end:end + 1] not in (b"", b"\0") or math.isnan(value):
        raise CommandError(NOT_FLOAT_RANGE)
    return value, exclusive


def parse_lex_bound(arg: bytes) -> tuple[bytes, bool] | str:
    """zslParseLexRangeItem: "-", "+", or "[" / "(" and a member."""
    first, rest = arg[:1], arg[1:]
    if first in (b"-", b"+"):
        if rest[:1] not in (b"", b"\0"):
            raise CommandError(NOT_LEX_RANGE)
        return first.decode()
    if first in (b"[", b"("):
        return rest, first == b"("
    raise CommandError(NOT_LEX_RANGE)


def _parse_range(kind: str, low: bytes, high: bytes) -> Range:
    if kind == "rank":
        return Range(kind, parse_int(low), parse_int(high))
    if kind == "score":
        return Range(kind, parse_score_bound(low), parse_score_bound(high))
    try:
        return Range(kind, parse_lex_bound(low), parse_lex_bound(high))
    except CommandError:
        raise CommandError(NOT_LEX_RANGE) from None


def _select(zset: ZSet, where: Range, reverse: bool, offset: int = 0,
            limit: int = -1) -> list[tuple[bytes, float]]:
    """(member, score) of the range, in order or reversed, after LIMIT."""
    start, stop = where.slice(zset, reverse)
    if offset < 0 or start >= stop:
        return []
    if reverse:
        stop -= offset
        if limit >= 0:
            start = max(start, stop - limit)
    else:
        start += offset
        if limit >= 0:
            stop = min(stop, start + limit)
    if start >= stop:
        return []
    return [(member, score) for score, member in
            zset.order.islice(start, stop, reverse=reverse)]


def _zrange_generic(client, argv: list[bytes], first: int, kind: str | None,
                    reverse: bool | None, store: bool = False):
    """Redis's zrangeGenericCommand: argv[first] is the source key, then the
    range; ``kind`` and ``reverse`` are fixed by the old commands (ZRANGEBYSCORE…)
    and None where ZRANGE's options pick them."""
    with_scores, offset, limit = False, 0, -1
    j = first + 3
    while j < len(argv):
        option, left = argv[j].upper(), len(argv) - j - 1
        if option == b"WITHSCORES" and not store:
            with_scores = True
        elif option == b"LIMIT" and left >= 2:
            offset, limit = parse_int(argv[j + 1]), parse_int(argv[j + 2])
            j += 2
        elif option == b"REV" and reverse is None:
            reverse = True
        elif option == b"BYLEX" and kind is None:
            kind = "lex"
        elif option == b"BYSCORE" and kind is None:
            kind = "score"
        else:
            raise CommandError(SYNTAX)
        j += 1
    kind, reverse = kind or "rank", bool(reverse)
    if kind == "rank" and limit != -1:  # Redis tells LIMIT by its count: -1 is none
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with "
                           "either BYSCORE or BYLEX")
    if with_scores and kind == "lex":
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination "
                           "with BYLEX")
    low, high = argv[first + 1], argv[first + 2]
    if reverse and kind != "rank":  # given as max, min
        low, high = high, low
    where = _parse_range(kind, low, high)
    zset = read_key(client, argv[first], ZSet)
    if kind == "rank":
        offset = 0
    pairs = [] if zset is None else _select(zset, where, reverse, offset, limit)
    if store:
        return store_pairs(client, argv[1], [(score, member) for member, score in pairs],
                           "zrangestore")
    return _pairs_reply(client, pairs, with_scores)


def zrange(client, argv: list[bytes]):
    return _zrange_generic(client, argv, 1, None, None)


def zrangestore(client, argv: list[bytes]):
    return _zrange_generic(client, argv, 2, None, None, store=True)


def zrevrange(client, argv: list[bytes]):
    return _zrange_generic(client, argv, 1, "rank", True)


def zrangebyscore(client, argv: list[bytes]):
    return _zrange_generic(client, argv, 1, "score", False)


def zrevrangebyscore(client, argv: list[bytes]):
    return _zrange_generic(client, argv, 1, "score", True)


def zrangebylex(client, argv: list[bytes]):
    return _zrange_generic(client, argv, 1, "lex", False)


def zrevrangebylex(client, argv: list[bytes]):
    return _zrange_generic(client, argv, 1, "lex", True)


def _count(client, argv: list[bytes], kind: str) -> int:
    where = _parse_range(kind, argv[2], argv[3])
    zset = read_key(client, argv[1], ZSet)
    if zset is None:
        return 0
    start, stop = where.slice(zset)
    return stop - start


def zcount(client, argv: list[bytes]):
    return _count(client, argv, "score")


def zlexcount(client, argv: list[bytes]):
    return _count(client, argv, "lex")


# ------------------------------------------------------------------ removing


def zrem(client, argv: list[bytes]):
    zset = write_key(client, argv[1], ZSet)
    if zset is None or not any(member in zset.scores for member in argv[2:]):
        return 0
    return client.engine.apply(client.db, argv[1], Op.ZREM, argv[2:])


def _remove_range(client, argv: list[bytes], kind: str) -> int:
    where = _parse_range(kind, argv[2], argv[3])
    zset = write_key(client, argv[1], ZSet)
    if zset is None:
        return 0
    start, stop = where.slice(zset)
    if start >= stop:
        return 0
    members = [member for _, member in zset.order.islice(start, stop)]
    return client.engine.apply(client.db, argv[1], Op.ZREM, members,
                               event=f"zremrangeby{kind}")


def zremrangebyrank(client, argv: list[bytes]):
    return _remove_range(client, argv, "rank")


def zremrangebyscore(client, argv: list[bytes]):
    return _remove_range(client, argv, "score")


def zremrangebylex(client, argv: list[bytes]):
    return _remove_range(client, argv, "lex")


def _pop(client, key: bytes, count: int, highest: bool) -> list[tuple[bytes, float]]:
    """Remove and return up to ``count`` lowest (or highest) (member, score)."""
    zset = write_key(client, key, ZSet)
    if not zset or count == 0:
        return []
    if count == 1:  # the common case: no slice
        score, member = zset.order[-1 if highest else 0]
        taken = [(member, score)]
    else:
        start, stop = (max(0, len(zset) - count), len(zset)) if highest else (0, count)
        taken = [(member, score) for score, member in
                 zset.order.islice(start, stop, reverse=highest)]
    client.engine.apply(client.db, key, Op.ZREM, [member for member, _ in taken],
                        event="zpopmax" if highest else "zpopmin")
    return taken


def _zpop(client, argv: list[bytes], highest: bool):
    """ZPOPMIN / ZPOPMAX key [count]: a count (even 1) gives [member, score] pairs
    in RESP3; without one, one flat pair."""
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    count = parse_positive(argv[2]) if len(argv) == 3 else None
    popped = _pop(client, argv[1], 1 if count is None else count, highest)
    if count is None:
        return [part for pair in popped for part in pair]
    return _pairs_reply(client, popped, True)


def zpopmin(client, argv: list[bytes]):
    return _zpop(client, argv, False)


def zpopmax(client, argv: list[bytes]):
    return _zpop(client, argv, True)


def _bzpop(client, argv: list[bytes], highest: bool):
    """BZPOPMIN / BZPOPMAX key [key ...] timeout: [key, member, score]."""
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    for key in keys:
        if write_key(client, key, ZSet):
            member, score = _pop(client, key, 1, highest)[0]
            return [key, member, score]
    if client.in_exec:
        return NullArray
    raise Blocked(keys, ZSet, timeout)


def bzpopmin(client, argv: list[bytes]):
    return _bzpop(client, argv, False)


def bzpopmax(client, argv: list[bytes]):
    return _bzpop(client, argv, True)


def _zmpop(client, keys: list[bytes], where: bytes, count: int) -> list | None:
    """Redis's genericZpopCommand for ZMPOP: [key, [[member, score], ...]] from the
    first key that exists (a sorted set is never empty)."""
    for key in keys:
        if write_key(client, key, ZSet):
            popped = _pop(client, key, count, where == b"MAX")
            return [key, [[member, score] for member, score in popped]]
    return None


def zmpop(client, argv: list[bytes]):
    """ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]."""
    keys, where, count = parse_mpop(argv, 1, (b"MIN", b"MAX"))
    return _zmpop(client, keys, where, count) or NullArray


def bzmpop(client, argv: list[bytes]):
    """BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]."""
    return blocking_mpop(client, argv, (b"MIN", b"MAX"), ZSet, _zmpop)


def zrandmember(client, argv: list[bytes]):
    """ZRANDMEMBER key [count [WITHSCORES]], as HRANDFIELD."""
    if len(argv) == 2:
        zset = read_key(client, argv[1], ZSet)
        return None if not zset else zset.order[random.randrange(len(zset))][1]
    count = parse_random_count(argv[2])
    with_scores = len(argv) == 4
    if len(argv) > 4 or (with_scores and argv[3].upper() != b"WITHSCORES"):
        raise CommandError(SYNTAX)
    if with_scores and not -(2**62 - 1) <= count <= 2**62 - 1:
        raise CommandError("ERR value is out of range")
    zset = read_key(client, argv[1], ZSet)
    if not zset or count == 0:
        return []
    size = len(zset)
    if count < 0:
        indexes = [random.randrange(size) for _ in range(-count)]
    elif count >= size:  # all of them: Redis walks the sorted set from its end
        indexes = list(range(size - 1, -1, -1))
    else:
        indexes = random.sample(range(size), count)
    order = zset.order
    pairs = [(order[i][1], order[i][0]) for i in indexes]
    return _pairs_reply(client, pairs, with_scores)


# ------------------------------------------------------------------ algebra


def _aggregate(total: float, value: float, how: bytes) -> float:
    """zunionInterAggregate: inf + -inf counts as 0."""
    if how == b"SUM":
        total += value
        return 0.0 if math.isnan(total) else total
    if how == b"MIN":
        return value if value < total else total
    return value if value > total else total


def _sources(client, argv: list[bytes], name: str, store: bool, difference: bool,
             cardinality: bool = False):
    """The input keys (sorted sets or sets; None for a missing one), their
    weights, AGGREGATE, WITHSCORES and (ZINTERCARD, the only one taking no other
    option) LIMIT, 0 for none, as Redis's zunionInterDiffGenericCommand parses them."""
    numkeys_at = 2 if store else 1
    numkeys = parse_int(argv[numkeys_at])
    if numkeys < 1:
        raise CommandError(f"ERR at least 1 input key is needed for '{name}' command")
    if numkeys > len(argv) - numkeys_at - 1:
        raise CommandError(SYNTAX)
    keys = argv[numkeys_at + 1:numkeys_at + 1 + numkeys]
    inputs = []
    lookup = client.engine.get_object
    for key in keys:  # counted as reads, the STORE forms' too (as Redis 7.0 does)
        value = lookup(client.db, key)
        client.server.count_lookup(value is not None)
        if value is not None and type(value) not in (ZSet, set):
            raise CommandError(WRONGTYPE)
        inputs.append(value)
    weights = [1.0] * numkeys
    how, with_scores, limit = b"SUM", False, 0
    j = numkeys_at + 1 + numkeys
    while j < len(argv):
        option, left = argv[j].upper(), len(argv) - j
        if cardinality:
            if option != b"LIMIT" or left < 2:
                raise CommandError(SYNTAX)
            limit = parse_int(argv[j + 1], "ERR LIMIT can't be negative")
            if limit < 0:
                raise CommandError("ERR LIMIT can't be negative")
            j += 2
        elif not difference and option == b"WEIGHTS" and left >= numkeys + 1:
            weights = [_score(arg, "ERR weight value is not a float")
                       for arg in argv[j + 1:j + 1 + numkeys]]
            j += numkeys + 1
        elif not difference and option == b"AGGREGATE" and left >= 2:
            how = argv[j + 1].upper()
            if how not in (b"SUM", b"MIN", b"MAX"):
                raise CommandError(SYNTAX)
            j += 2
        elif not store and option == b"WITHSCORES":
            with_scores = True
            j += 1
        else:
            raise CommandError(SYNTAX)
    return inputs, weights, how, with_scores, limit


def _scored(value) -> dict[bytes, float]:
    """member -> score of an input: a set's members all score 1."""
    if value is None:
        return {}
    return value.scores if type(value) is ZSet else dict.fromkeys(value, 1.0)


def _combine(inputs: list, weights: list[float], how: bytes, op: str) -> dict[bytes, float]:
    """ZUNION / ZINTER / ZDIFF of the inputs, as Redis computes them (inputs by
    ascending size, each score times its weight, NaN counted as 0)."""
    if op == "diff":
        first = _scored(inputs[0])
        others = [_scored(value) for value in inputs[1:]]
        return {member: score for member, score in first.items()
                if not any(member in other for other in others)}
    ordered = sorted(zip((_scored(value) for value in inputs), weights, strict=True),
                     key=lambda source: len(source[0]))
    result: dict[bytes, float] = {}
    if op == "union":
        for scores, weight in ordered:
            for member, score in scores.items():
                value = weight * score
                if math.isnan(value):
                    value = 0.0
                result[member] = value if member not in result else \
                    _aggregate(result[member], value, how)
        return result
    (first, first_weight), rest = ordered[0], ordered[1:]
    for member, score in first.items():
        total = first_weight * score
        if math.isnan(total):
            total = 0.0
        for scores, weight in rest:
            value = scores.get(member)
            if value is None:
                break
            total = _aggregate(total, value * weight, how)
        else:
            result[member] = total
    return result


def _algebra(client, argv: list[bytes], op: str, name: str):
    store = name.endswith("store")
    inputs, weights, how, with_scores, _ = _sources(client, argv, name, store, op == "diff")
    result = _combine(inputs, weights, how, op)
    pairs = sorted((score, member) for member, score in result.items())
    if store:
        return store_pairs(client, argv[1], pairs, name)
    return _pairs_reply(client, [(member, score) for score, member in pairs], with_scores)


def store_pairs(client, key: bytes, pairs: list[tuple[float, bytes]], event: str) -> int:
    """A STORE command's result replaces ``key`` (none: the key is deleted); ``event``
    is Redis's name for the change."""
    zset = ZSet()
    zset.listpack = len(pairs) <= ENCODING.zset_entries and all(
        len(member) <= ENCODING.zset_value for _, member in pairs)
    for score, member in pairs:
        zset.add(member, score)
    client.engine.put_object(client.db, key, zset, event=event)
    return len(zset)


def zunionstore(client, argv: list[bytes]):
    return _algebra(client, argv, "union", "zunionstore")


def zinterstore(client, argv: list[bytes]):
    return _algebra(client, argv, "inter", "zinterstore")


def zdiffstore(client, argv: list[bytes]):
    return _algebra(client, argv, "diff", "zdiffstore")


def zunion(client, argv: list[bytes]):
    return _algebra(client, argv, "union", "zunion")


def zinter(client, argv: list[bytes]):
    return _algebra(client, argv, "inter", "zinter")


def zdiff(client, argv: list[bytes]):
    return _algebra(client, argv, "diff", "zdiff")


def zintercard(client, argv: list[bytes]):
    """ZINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size,
    at most ``limit`` (0: no limit)."""
    inputs, weights, how, _, limit = _sources(client, argv, "zintercard", False, False,
                                              cardinality=True)
    size = len(_combine(inputs, weights, how, "inter"))
    return min(size, limit) if limit else size


def zscan(client, argv: list[bytes]):
    cursor = parse_cursor(argv[2])
    zset = read_key(client, argv[1], ZSet)
    if zset is None:
        return [b"0", []]
    count, pattern, _ = parse_scan_options(argv, 3)
    if zset.listpack:  # whole, in order, as a listpack is walked
        cursor, items = 0, [(member, score) for score, member in zset.order]
    else:
        cursor, items = scan_items(zset, cursor, count, False)
    return scan_reply(cursor, [(member, d2string(score)) for member, score in items],
                      pattern, pairs=True)
