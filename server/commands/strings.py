"""String commands: each handler parses its arguments, then applies them to the engine."""

from __future__ import annotations

from protocol.reply import OK
from server.errors import SYNTAX, CommandError, parse_int
from storage.engine import now_ms

MAX_MS = 2**63 - 1


def get(client, argv: list[bytes]):
    value = client.engine.get(client.db, argv[1])
    client.server.count_lookup(value is not None)
    return value


def parse_set_options(argv: list[bytes], command: str) -> tuple[str | None, bool, int, bool]:
    """SET's options: (condition "absent"/"present", get, expire_at ms or 0, keep_ttl)."""
    condition = None
    want_get = keep_ttl = False
    expire_unit = None
    expire_arg = b""
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        has_next = i + 1 < len(argv)
        if option == b"NX" and condition is None:
            condition = "absent"
        elif option == b"XX" and condition is None:
            condition = "present"
        elif option == b"GET" and not want_get:
            want_get = True
        elif option == b"KEEPTTL" and expire_unit is None and not keep_ttl:
            keep_ttl = True
        elif option in (b"EX", b"PX", b"EXAT", b"PXAT") and expire_unit is None \
                and not keep_ttl and has_next:
            expire_unit = option
            i += 1
            expire_arg = argv[i]
        else:
            raise CommandError(SYNTAX)
        i += 1
    expire_at = expire_at_from(expire_unit, expire_arg, command) if expire_unit else 0
    return condition, want_get, expire_at, keep_ttl


def expire_at_from(unit: bytes, arg: bytes, command: str) -> int:
    """An absolute expiry in ms from EX/PX/EXAT/PXAT, with Redis's range errors."""
    amount = parse_int(arg)
    invalid = f"ERR invalid expire time in '{command}' command"
    in_seconds = unit in (b"EX", b"EXAT")
    if amount <= 0 or (in_seconds and amount > MAX_MS // 1000):
        raise CommandError(invalid)
    ms = amount * 1000 if in_seconds else amount
    if unit in (b"EX", b"PX"):
        ms += now_ms()
        if ms > MAX_MS:
            raise CommandError(invalid)
    return ms


def set_(client, argv: list[bytes]):
    engine, db, key = client.engine, client.db, argv[1]
    if len(argv) == 3:  # the common case: no options
        engine.put(db, key, argv[2])
        return OK
    condition, want_get, expire_at, keep_ttl = parse_set_options(argv, "set")
    old = engine.get(db, key) if want_get else None
    stored = engine.put(db, key, argv[2], expire_at, keep_ttl=keep_ttl, only_if=condition)
    if want_get:
        return old
    return OK if stored else None
