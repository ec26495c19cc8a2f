"""TTL commands: EXPIRE and friends (NX/XX/GT/LT), TTL/PTTL, EXPIRETIME/PEXPIRETIME,
PERSIST, with Redis 7.0's argument checks in Redis's order."""

from __future__ import annotations

from protocol.numbers import LLONG_MAX
from server.errors import CommandError, parse_int
from storage.engine import now_ms

_EXPIRE_FLAGS = (b"NX", b"XX", b"GT", b"LT")


def _ttl_generic(client, key: bytes, in_ms: bool, absolute: bool) -> int:
    """-2 if no key, -1 if no TTL, else the TTL (or expiry time) rounded as Redis does.
    The lookup counts as a keyspace hit or miss, as Redis's does."""
    expire_at = client.engine.get_expire(client.db, key)
    client.server.count_lookup(expire_at is not None)
    if expire_at is None:
        return -2
    if not expire_at:
        return -1
    ms = expire_at if absolute else max(expire_at - now_ms(), 0)
    return ms if in_ms else (ms + 500) // 1000


def ttl(client, argv: list[bytes]):
    return _ttl_generic(client, argv[1], in_ms=False, absolute=False)


def pttl(client, argv: list[bytes]):
    return _ttl_generic(client, argv[1], in_ms=True, absolute=False)


def expiretime(client, argv: list[bytes]):
    return _ttl_generic(client, argv[1], in_ms=False, absolute=True)


def pexpiretime(client, argv: list[bytes]):
    return _ttl_generic(client, argv[1], in_ms=True, absolute=True)


def _expire_flags(argv: list[bytes]) -> set[bytes]:
    """NX / XX / GT / LT, checked before the time argument as Redis does."""
    flags = set()
    for arg in argv[3:]:
        flag = arg.upper()
        if flag not in _EXPIRE_FLAGS:
            raise CommandError(f"ERR Unsupported option {arg.decode('utf-8', 'surrogateescape')}")
        flags.add(flag)
    if b"NX" in flags and len(flags) > 1:
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if {b"GT", b"LT"} <= flags:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    return flags


def _expire_generic(client, argv: list[bytes], unit_ms: int, absolute: bool, command: str):
    """EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key amount [NX|XX|GT|LT]."""
    key = argv[1]
    flags = _expire_flags(argv)
    when = parse_int(argv[2])
    invalid = f"ERR invalid expire time in '{command}' command"
    if unit_ms == 1000:
        if not -(LLONG_MAX // 1000) <= when <= LLONG_MAX // 1000:  # C division truncates
            raise CommandError(invalid)
        when *= 1000
    base = 0 if absolute else now_ms()
    if when > LLONG_MAX - base:
        raise CommandError(invalid)
    when += base
    engine, db = client.engine, client.db
    current = engine.get_expire(db, key)  # 0: no TTL, which GT and LT take as infinite
    if current is None:
        return 0
    if (b"NX" in flags and current) or (b"XX" in flags and not current) \
            or (b"GT" in flags and (not current or when <= current)) \
            or (b"LT" in flags and current and when >= current):
        return 0
    if when <= now_ms():  # a time in the past deletes the key
        engine.delete(db, key)
    else:
        engine.set_expire(db, key, when)
    return 1


def expire(client, argv: list[bytes]):
    return _expire_generic(client, argv, 1000, False, "expire")


def pexpire(client, argv: list[bytes]):
    return _expire_generic(client, argv, 1, False, "pexpire")


def expireat(client, argv: list[bytes]):
    return _expire_generic(client, argv, 1000, True, "expireat")


def pexpireat(client, argv: list[bytes]):
    return _expire_generic(client, argv, 1, True, "pexpireat")


def persist(client, argv: list[bytes]):
    engine, db, key = client.engine, client.db, argv[1]
    if not engine.get_expire(db, key):
        return 0
    engine.set_expire(db, key, 0)
    return 1
