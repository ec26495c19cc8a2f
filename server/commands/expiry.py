"""TTL commands."""

from __future__ import annotations

from server.errors import CommandError, parse_int
from storage.engine import now_ms


def _ttl_ms(client, key: bytes) -> int:
    """Remaining ms; -2 if no key, -1 if no TTL (Redis's conventions)."""
    expire_at = client.engine.get_expire(client.db, key)
    if expire_at is None:
        return -2
    if expire_at == 0:
        return -1
    return max(expire_at - now_ms(), 0)


def ttl(client, argv: list[bytes]):
    ms = _ttl_ms(client, argv[1])
    return ms if ms < 0 else (ms + 500) // 1000


def pttl(client, argv: list[bytes]):
    return _ttl_ms(client, argv[1])


def _expire_generic(client, argv: list[bytes], unit_ms: int, absolute: bool, command: str):
    """EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key amount [NX|XX|GT|LT]."""
    key = argv[1]
    amount = parse_int(argv[2])
    options = {arg.upper() for arg in argv[3:]}
    unknown = options - {b"NX", b"XX", b"GT", b"LT"}
    if unknown:
        raise CommandError(f"ERR Unsupported option {next(iter(unknown)).decode()}")
    if b"NX" in options and options & {b"XX", b"GT", b"LT"}:
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if {b"GT", b"LT"} <= options:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    invalid = f"ERR invalid expire time in '{command}' command"
    if unit_ms == 1000 and not -(2**63) // 1000 <= amount <= (2**63 - 1) // 1000:
        raise CommandError(invalid)
    when = amount * unit_ms + (0 if absolute else now_ms())
    if not -(2**63) <= when < 2**63:
        raise CommandError(invalid)
    engine, db = client.engine, client.db
    current = engine.get_expire(db, key)
    if current is None:
        return 0
    # A key with no TTL counts as an infinite TTL for GT and LT.
    if (b"NX" in options and current) or (b"XX" in options and not current) \
            or (b"GT" in options and (not current or when <= current)) \
            or (b"LT" in options and current and when >= current):
        return 0
    engine.set_expire(db, key, max(when, 1) if when <= now_ms() else when)
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
