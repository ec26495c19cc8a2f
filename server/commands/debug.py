"""DEBUG SLEEP, DEBUG RELOAD, DEBUG LOADAOF and DEBUG OBJECT, allowed as Redis 7.0 allows
DEBUG: only when ``enable-debug-command`` is ``yes``, or ``local`` and the client is on
loopback."""

from __future__ import annotations

import math
import time

from protocol.reply import OK, SimpleString
from server.algorithms.doubles import strtod
from server.commands.keys import EMBSTR_LIMIT, string_encoding
from server.commands.objects import encoding
from server.errors import NO_SUCH_KEY, CommandError, bad_subcommand_usage
from server.security import LOCAL_HOSTS
from storage import rdb
from storage.engine import StorageError

_NOT_ALLOWED = ("ERR DEBUG command not allowed. If the enable-debug-command option is set "
                "to \"local\", you can run it from a local connection, otherwise you need to "
                "set this option in the configuration file, and then restart the server.")
_RELOAD_OPTIONS = (b"MERGE", b"NOFLUSH", b"NOSAVE")


def protected_action_allowed(setting: str, client) -> bool:
    """enable-debug-command, enable-protected-configs: ``yes``, or ``local`` and the
    client is on loopback (Redis's allowProtectedAction)."""
    return setting == "yes" or (setting == "local"
                                and client.address.rsplit(":", 1)[0] in LOCAL_HOSTS)


def debug(client, argv: list[bytes]):
    if not protected_action_allowed(client.server.config["enable-debug-command"], client):
        raise CommandError(_NOT_ALLOWED)
    sub = argv[1].lower()
    if sub == b"sleep" and len(argv) == 3:
        seconds = strtod(argv[2])[0]  # the longest numeric prefix, or 0
        time.sleep(seconds if 0 < seconds < math.inf else 0)  # blocks the server: the point
        return OK
    if sub == b"reload":
        return _reload(client, argv[2:])
    if sub == b"loadaof" and len(argv) == 2:  # caskd's log is its AOF: the same reload
        return _reload(client, [])
    if sub == b"object" and len(argv) == 3:
        return _object(client, argv[2])
    raise bad_subcommand_usage("debug", argv[1])


def _object(client, key: bytes) -> SimpleString:
    """DEBUG OBJECT key, as Redis's debugCommand words it: the key is looked at, not
    used (its LRU/LFU data stays). A list's quicklist figures (``ql_nodes``...) are
    left out."""
    engine, db = client.engine, client.db
    with engine.access.notouch(db, key):
        value = engine.get_object(db, key)
        if value is None:
            raise CommandError(NO_SUCH_KEY)
        if type(value) is int:
            data = engine.get(db, key)
            kind = string_encoding(data if len(data) <= EMBSTR_LIMIT else None)
            serialized = rdb.encode_value(data, kind)
        else:
            kind = encoding(value)
            serialized = rdb.encode_value(value, kind)
    access = engine.access
    return SimpleString(
        f"Value at:{id(value):#x} refcount:1 encoding:{kind} "
        f"serializedlength:{len(serialized) - 1} lru:{access.lru_field(db, key)} "
        f"lru_seconds_idle:{access.idle_ms(db, key) // 1000}")


def _reload(client, options: list[bytes]):
    """Close the engine (everything flushed and fsynced) and load the data set from
    disk again: every key must come back exactly as it was."""
    if any(option.upper() not in _RELOAD_OPTIONS for option in options):
        raise CommandError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                           "options.")
    if client.in_exec:  # the transaction's batch is still open on the engine
        raise CommandError("ERR DEBUG RELOAD is not allowed inside MULTI/EXEC")
    server = client.server
    try:
        server.reopen_storage()
    except (StorageError, OSError) as exc:
        server.log.warning("DEBUG RELOAD could not load the data set: %s", exc)
        server.request_shutdown()
        raise CommandError("ERR Error trying to load the RDB dump, check server logs.") from None
    return OK
