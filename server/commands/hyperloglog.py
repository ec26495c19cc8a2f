"""PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST on string values holding Redis's
HyperLogLog representation (see server.algorithms.hyperloglog), as Redis's hyperloglog.c.

Like Redis, PFCOUNT of one key stores the cardinality it computed in the value's
header (a write, so a later GET shows Redis's bytes, and WATCH sees it), and changes
keep the TTL.
PFCOUNT and PFMERGE read their keys as counted lookups (lookupKeyRead); PFADD
and PFDEBUG look up for writing.
"""

from __future__ import annotations

from protocol.reply import OK, SimpleString
from server.algorithms.hyperloglog import (
    DENSE,
    REGISTERS,
    SPARSE,
    Hll,
    InvalidHll,
    count_registers,
    selftest,
)
from server.commands.strings import read
from server.errors import CommandError
from storage.events import UNANNOUNCED

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPT = "INVALIDOBJ Corrupted HLL object detected"


def _parse(value: bytes) -> Hll:
    hll = Hll.parse(value)
    if hll is None:
        raise CommandError(NOT_HLL)
    return hll


def _store(client, key: bytes, hll: Hll, event: str) -> None:
    """Write the value back, TTL kept. PFADD and PFMERGE report Redis's "pfadd" event;
    PFCOUNT's cache and PFDEBUG's conversion are changes too (WATCH sees them), though
    Redis announces no keyspace event for them (UNANNOUNCED)."""
    client.engine.put(client.db, key, bytes(hll), keep_ttl=True, event=event)


def pfadd(client, argv: list[bytes]):
    key = argv[1]
    value = client.engine.get(client.db, key)
    hll = Hll.new() if value is None else _parse(value)
    updated = value is None
    try:
        for element in argv[2:]:
            updated |= hll.add(element)
    except InvalidHll:
        raise CommandError(CORRUPT) from None
    if updated:
        hll.invalidate_cache()
        _store(client, key, hll, "pfadd")
    return int(updated)


def pfcount(client, argv: list[bytes]):
    if len(argv) > 2:  # the cardinality of the union
        maxima = bytearray(REGISTERS)
        for key in argv[1:]:
            value = read(client, key)
            if value is not None:
                _merge_into(maxima, _parse(value))
        return count_registers(maxima)
    value = read(client, argv[1])
    if value is None:
        return 0
    hll = _parse(value)
    cached = hll.cached_count()
    if cached is not None:
        return cached
    try:
        count = hll.count()
    except InvalidHll:
        raise CommandError(CORRUPT) from None
    if client.engine.writable:  # the cache is only a saving: reads go on if the disk fails
        hll.store_count(count)
        _store(client, argv[1], hll, UNANNOUNCED)
    return count


def _merge_into(maxima: bytearray, hll: Hll) -> None:
    try:
        hll.merge_into(maxima)
    except InvalidHll:
        raise CommandError(CORRUPT) from None


def pfmerge(client, argv: list[bytes]):
    """PFMERGE destkey [sourcekey ...]: the destination counts as a source too; the
    result is dense if any input was."""
    maxima = bytearray(REGISTERS)
    any_dense = False
    for key in argv[1:]:
        value = read(client, key)
        if value is None:
            continue
        hll = _parse(value)
        any_dense |= hll.encoding == DENSE
        _merge_into(maxima, hll)
    target = client.engine.get(client.db, argv[1])
    hll = Hll.new() if target is None else Hll(target)
    if any_dense:
        hll.to_dense()  # valid: it was merged above
    for index, count in enumerate(maxima):
        if count:
            hll.set_register(index, count)
    hll.invalidate_cache()
    _store(client, argv[1], hll, "pfadd")
    return OK


def pfdebug(client, argv: list[bytes]):
    """PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. GETREG and TODENSE leave the
    value dense, as in Redis."""
    subcommand, key = argv[1], argv[2]
    value = client.engine.get(client.db, key)
    if value is None:
        raise CommandError("ERR The specified key does not exist")
    hll = _parse(value)
    name = subcommand.lower()
    if name in (b"getreg", b"todense"):
        try:
            converted = hll.to_dense()
        except InvalidHll:
            raise CommandError(CORRUPT) from None
        if converted:
            _store(client, key, hll, UNANNOUNCED)
        return list(hll.registers()) if name == b"getreg" else int(converted)
    if name == b"decode":
        if hll.encoding != SPARSE:
            raise CommandError("ERR HLL encoding is not sparse")
        return hll.decode_sparse().encode()
    if name == b"encoding":
        return SimpleString("sparse" if hll.encoding == SPARSE else "dense")
    raise CommandError(f"ERR Unknown PFDEBUG subcommand "
                       f"'{subcommand.decode('utf-8', 'surrogateescape')}'")


def pfselftest(client, argv: list[bytes]):
    failure = selftest()
    if failure is not None:
        raise CommandError(f"ERR {failure}")
    return OK
