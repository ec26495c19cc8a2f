"""DUMP and RESTORE: a value as Redis's serialized payload (see storage.rdb), so keys
move between caskd and redis-server in either direction.

RESTORE's IDLETIME and FREQ set the key's LRU or LFU data (storage.access), whichever
the maxmemory policy keeps, as Redis's objectSetLRUOrLFU does.
"""

from __future__ import annotations

from protocol.reply import OK
from server.commands.objects import encoding
from server.errors import SYNTAX, CommandError, parse_int
from storage import rdb
from storage.engine import now_ms
from storage.streams import Stream

BUSYKEY = "BUSYKEY Target key name already exists."
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"


def dump(client, argv: list[bytes]):
    """DUMP key: nil for no key (a counted lookup, as Redis's lookupKeyRead)."""
    engine, db, key = client.engine, client.db, argv[1]
    value = engine.get_object(db, key)
    client.server.count_lookup(value is not None)
    if value is None:
        return None
    if type(value) is int:  # a string: the index holds where it is on disk
        return rdb.dump_payload(engine.get(db, key), "raw")
    if type(value) is Stream:  # storage.rdb has no stream encoding yet
        raise CommandError("ERR DUMP of a stream is not supported by caskd yet")
    return rdb.dump_payload(value, encoding(value))


def _parse_restore_options(argv: list[bytes]
                           ) -> tuple[bool, bool, int | None, int | None]:
    """REPLACE, ABSTTL, IDLETIME seconds, FREQ frequency, as Redis's restoreCommand
    reads them: IDLETIME and FREQ exclude each other. Returns (replace, absttl,
    idletime, freq), None for those not given."""
    replace = absttl = False
    idletime = freq = None
    i = 4
    while i < len(argv):
        option, has_arg = argv[i].upper(), i + 1 < len(argv)
        if option == b"REPLACE":
            replace = True
        elif option == b"ABSTTL":
            absttl = True
        elif option == b"IDLETIME" and has_arg and freq is None:
            i += 1
            idletime = parse_int(argv[i])
            if idletime < 0:
                raise CommandError("ERR Invalid IDLETIME value, must be >= 0")
        elif option == b"FREQ" and has_arg and idletime is None:
            i += 1
            freq = parse_int(argv[i])
            if not 0 <= freq <= 255:
                raise CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
        else:
            raise CommandError(SYNTAX)
        i += 1
    return replace, absttl, idletime, freq


def restore(client, argv: list[bytes]):
    """RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]:
    checked in Redis's order, and nothing changes unless the payload loads."""
    engine, db, key = client.engine, client.db, argv[1]
    replace, absttl, idletime, freq = _parse_restore_options(argv)
    if not replace and engine.exists(db, key):
        raise CommandError(BUSYKEY)
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise CommandError("ERR Invalid TTL value, must be >= 0")
    payload = argv[3]
    if not rdb.payload_is_valid(payload):
        raise CommandError(BAD_PAYLOAD)
    try:
        value = rdb.load_payload(payload)
    except rdb.RdbError:
        raise CommandError(BAD_FORMAT) from None
    expire_at = ttl if absttl or not ttl else ttl + now_ms()
    if expire_at and expire_at <= now_ms():  # already expired: only the REPLACE's delete
        if replace:
            engine.delete(db, key)
        return OK
    if type(value) is bytes:
        engine.put(db, key, value, expire_at, event="restore")
    else:
        engine.put_object(db, key, value, expire_at, event="restore")
    engine.access.set(db, key, idletime, freq)
    return OK
