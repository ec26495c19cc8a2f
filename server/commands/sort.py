"""SORT and SORT_RO, as Redis's sortCommandGeneric (src/sort.c): the elements of a
list, set or sorted set, ordered by their value or by keys their value names
(``BY weight_*``, ``BY obj_*->field``), or not at all (``BY nosort``), with the
``GET`` patterns looked up for each, LIMIT, and STORE into a list.

Redis sorts with the C library's qsort, a stable merge sort in glibc, so elements
that compare equal keep the order they were read in; Python's sort is stable too.
(Redis reads a set or sorted set in its hash table's order, caskd in its own: only
there can ties come out differently.)
ALPHA compares as ``strcoll`` in the C (or C.UTF-8) locale: bytes, up to the
first NUL; with STORE, as Redis does, the whole value.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from itertools import islice

from server.algorithms.doubles import strtod_erange
from server.commands.objects import set_reply
from server.errors import SYNTAX, WRONGTYPE, CommandError, parse_int
from storage.datatypes import ZSet

NOT_DOUBLE = "ERR One or more scores can't be converted into double"
_DENIED = "ERR {} option of SORT denied due to insufficient ACL permissions."


@dataclass
class SortOptions:
    desc: bool = False
    alpha: bool = False
    limit_start: int = 0
    limit_count: int = -1
    store: bytes | None = None
    by: bytes | None = None
    dont_sort: bool = False
    gets: list[bytes] = field(default_factory=list)


def _c_string(arg: bytes) -> bytes:
    """What C's string functions see of an argument: up to its first NUL."""
    return arg.split(b"\0", 1)[0]


def parse_sort(client, argv: list[bytes], readonly: bool) -> SortOptions:
    """SORT's SQL-like options, read in order; a later ASC/DESC, LIMIT, STORE or BY
    wins, but a constant BY pattern leaves ``dont_sort`` set for good (as in Redis)."""
    options = SortOptions()
    j = 2
    while j < len(argv):
        option, left = argv[j].lower(), len(argv) - j - 1
        if option == b"asc":
            options.desc = False
        elif option == b"desc":
            options.desc = True
        elif option == b"alpha":
            options.alpha = True
        elif option == b"limit" and left >= 2:
            options.limit_start, options.limit_count = parse_int(argv[j + 1]), \
                parse_int(argv[j + 2])
            j += 2
        elif not readonly and option == b"store" and left >= 1:
            options.store = argv[j + 1]
            j += 1
        elif option == b"by" and left >= 1:
            options.by = argv[j + 1]
            if b"*" not in _c_string(options.by):
                options.dont_sort = True
            elif not client.user.all_keys:
                raise CommandError(_DENIED.format("BY"))
            j += 1
        elif option == b"get" and left >= 1:
            if not client.user.all_keys:
                raise CommandError(_DENIED.format("GET"))
            options.gets.append(argv[j + 1])
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1
    return options


def lookup_by_pattern(client, pattern: bytes, element: bytes) -> bytes | None:
    """Redis's lookupKeyByPattern: "#" is the element itself; otherwise the first
    "*" is replaced by the element and the key read as a string, or, after "->", as
    that field of a hash. None if there is no "*", no such key, or another type."""
    text = _c_string(pattern)
    if text == b"#":
        return element
    star = text.find(b"*")
    if star < 0:
        return None
    arrow = text.find(b"->", star + 1)
    if arrow >= 0 and arrow + 2 < len(text):
        key, hash_field = pattern[:star] + element + pattern[star + 1:arrow], pattern[arrow + 2:]
    else:
        key, hash_field = pattern[:star] + element + pattern[star + 1:], None
    value = client.engine.get_object(client.db, key)
    client.server.count_lookup(value is not None)
    if value is None:
        return None
    if hash_field is not None:
        return value.get(hash_field) if type(value) is dict else None
    return client.engine.get(client.db, key) if type(value) is int else None


def _limits(options: SortOptions, length: int) -> tuple[int, int]:
    """Redis's LIMIT sanity checks: the inclusive [start, end] of the output."""
    start = min(max(options.limit_start, 0), length)
    count = min(max(options.limit_count, -1), length)
    end = length - 1 if count < 0 else start + count - 1
    if start >= length:
        start, end = length - 1, length - 2
    return start, min(end, length - 1)


def _elements(value, options: SortOptions, start: int, end: int) -> tuple[list[bytes], int]:
    """The elements to sort, and the offset of ``start`` among them: a list or sorted
    set left unsorted is read only over the LIMIT range, in its own order (reversed
    by DESC); a set in its own order (caskd's, or an intset's ascending one)."""
    if type(value) is deque:
        if options.dont_sort:
            if end < start:
                return [], 0
            return list(islice(reversed(value) if options.desc else value, start, end + 1)), 0
        return list(value), start
    if type(value) is ZSet:
        if options.dont_sort:
            if end < start:
                return [], 0
            length = len(value)
            low, high = (length - 1 - end, length - start) if options.desc else (start, end + 1)
            return [member for _, member in value.order.islice(low, high,
                                                                reverse=options.desc)], 0
        return list(value.scores), start
    return list(set_reply(value)), start


def _numeric_weight(weight: bytes | None) -> float | None:
    """A weight as strtod reads it (a missing one: 0); None where Redis says it
    can't be converted (text after the number, overflow, underflow, NaN)."""
    if weight is None:
        return 0.0
    score, end, out_of_range = strtod_erange(weight)
    if weight[end:end + 1] not in (b"", b"\0") or out_of_range or math.isnan(score):
        return None
    return score


def _sort(client, elements: list[bytes], options: SortOptions) -> list[bytes]:
    """sortCompare's order; raises CommandError(NOT_DOUBLE) after looking at them all."""
    by = options.by
    weights = elements if by is None else [lookup_by_pattern(client, by, element)
                                           for element in elements]
    if options.alpha:
        if by is None:
            keys = elements if options.store is not None else [_c_string(e) for e in elements]
        else:  # a missing weight sorts first
            keys = [(0, b"") if weight is None else
                    (1, weight if options.store is not None else _c_string(weight))
                    for weight in weights]
    else:  # ties broken by the element's bytes
        scores = [_numeric_weight(weight) for weight in weights]
        if None in scores:
            raise CommandError(NOT_DOUBLE)
        keys = list(zip(scores, elements, strict=True))
    order = sorted(range(len(elements)), key=keys.__getitem__, reverse=options.desc)
    return [elements[i] for i in order]


def sort_generic(client, argv: list[bytes], readonly: bool):
    options = parse_sort(client, argv, readonly)
    value = client.engine.get_object(client.db, argv[1])
    client.server.count_lookup(value is not None)
    if value is None:
        value = deque()
    elif type(value) not in (deque, set, ZSet):
        raise CommandError(WRONGTYPE)
    if options.dont_sort and type(value) is set and options.store is not None:
        # A set's order is its hash table's: a stored result must not depend on it.
        options.dont_sort, options.alpha, options.by = False, True, None
    if type(value) is ZSet:
        value.listpack = False  # SORT converts a listpack sorted set to a skiplist for good
    start, end = _limits(options, len(value))
    elements, offset = _elements(value, options, start, end)
    if not options.dont_sort:
        elements = _sort(client, elements, options)
    chosen = elements[offset:offset + max(end - start + 1, 0)]
    if options.gets:
        output = [lookup_by_pattern(client, pattern, element)
                  for element in chosen for pattern in options.gets]
    else:
        output = chosen
    if options.store is None:
        return output
    client.engine.put_object(client.db, options.store,
                             deque(b"" if item is None else item for item in output),
                             event="sortstore")
    return len(output)


def sort(client, argv: list[bytes]):
    """SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
    [STORE destination]."""
    return sort_generic(client, argv, readonly=False)


def sort_ro(client, argv: list[bytes]):
    return sort_generic(client, argv, readonly=True)


def sort_keys(argv: list[bytes]) -> list[int]:
    """Redis's sortGetKeys: the sorted key, and the destination of the last STORE
    (options taking arguments are stepped over; an unknown word is not)."""
    keys = [1]
    store = None
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    while i < len(argv):
        word = argv[i].lower()
        if word in skips:
            i += skips[word]
        elif word == b"store" and i + 1 < len(argv):
            store = i + 1
        i += 1
    return keys if store is None else [*keys, store]
