"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

While ``client.multi`` is a list the dispatcher queues commands into it (see
``Dispatcher._execute_special``); a command refused while queuing (unknown, wrong
arity, not allowed in MULTI) sets ``client.multi_failed`` and EXEC then aborts.
EXEC runs the queue inside one engine batch, so the whole block is a single
atomic unit in the log.
"""

from __future__ import annotations

from protocol.reply import OK, NullArray
from server.errors import CommandError

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


def end_transaction(client) -> None:
    """Leave MULTI and stop watching (EXEC, DISCARD, RESET, an aborted EXEC)."""
    client.multi = None
    client.multi_failed = False
    client.cas_dirty = False
    client.server.watches.unwatch_all(client)


def multi(client, argv: list[bytes]):
    if client.multi is not None:
        raise CommandError("ERR MULTI calls can not be nested")
    client.multi = []
    return OK


def exec_(client, argv: list[bytes]):
    queued = client.multi
    if queued is None:
        raise CommandError("ERR EXEC without MULTI")
    server = client.server
    if client.multi_failed:
        end_transaction(client)
        raise CommandError(EXECABORT)
    changed = client.cas_dirty or server.watches.expired(client)
    end_transaction(client)
    if changed:
        return NullArray
    replies = []
    client.in_exec = True
    try:
        with client.engine.batch():
            for command, args in queued:
                # The user's rights may have changed since the command was queued.
                denied = None if client.user.unrestricted else \
                    server.acl.deny_in_exec(client, command, args)
                replies.append(server.dispatcher.call(client, command, args)
                               if denied is None else server.error_reply(denied))
    finally:
        client.in_exec = False
    return replies


def discard(client, argv: list[bytes]):
    if client.multi is None:
        raise CommandError("ERR DISCARD without MULTI")
    end_transaction(client)
    return OK


def watch(client, argv: list[bytes]):
    if client.multi is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    if not client.cas_dirty:  # already bound to fail: nothing more to learn
        client.server.watches.watch(client, client.engine, client.db, argv[1:])
    return OK


def unwatch(client, argv: list[bytes]):
    client.server.watches.unwatch_all(client)
    client.cas_dirty = False
    return OK
