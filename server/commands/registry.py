"""The shape of a command-table row, and the lookup built from the table.

Dispatch, arity errors, COMMAND / COMMAND INFO / COMMAND DOCS, INFO commandstats
and anything that must know which arguments are keys read these rows; nothing
else describes a command.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

Handler = Callable[[Any, list[bytes]], Any]

# Redis's command flags that decide how the dispatcher treats a command.
WRITE = "write"
READONLY = "readonly"
ADMIN = "admin"
FAST = "fast"
NO_AUTH = "no_auth"  # allowed before AUTH
NO_MULTI = "no_multi"  # refused inside MULTI
ALLOW_IN_MULTI = "allow_in_multi"  # caskd's: executed at once inside MULTI, not queued
DENYOOM = "denyoom"
LOADING = "loading"
STALE = "stale"
NOSCRIPT = "noscript"
BLOCKING = "blocking"
PUBSUB = "pubsub"
SKIP_SLOWLOG = "skip_slowlog"
MAY_REPLICATE = "may_replicate"  # may write (EVAL, FCALL): CLIENT PAUSE WRITE holds it
ALLOW_BUSY = "allow_busy"  # runs while a script is busy (server/scripting/busy.py)
SKIP_MONITOR = "skip_monitor"  # MONITOR is fed by the handler itself (EVAL, FCALL)
CASKD_ONLY_FLAGS = frozenset({ALLOW_IN_MULTI})  # not Redis's: COMMAND INFO leaves them out

# Redis's ACL categories, in its order (ACL CAT, COMMAND INFO).
ACL_CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
                  "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
                  "blocking", "dangerous", "connection", "transaction", "scripting")

# Group -> the category Redis declares for most commands of the group; a row's ``acl``
# replaces it where Redis declares something else.
_GROUP_CATEGORY = {"string": "string", "generic": "keyspace", "connection": "connection",
                   "transactions": "transaction", "hash": "hash", "list": "list", "set": "set",
                   "sorted-set": "sortedset", "bitmap": "bitmap", "hyperloglog": "hyperloglog",
                   "geo": "geo", "stream": "stream", "pubsub": "pubsub",
                   "scripting": "scripting"}


class Command:
    """One row of the command table. ``arity`` counts the name: N exact, -N at least N.

    A plain class with its ``__init__`` written out, not a dataclass: compiled (see
    server/compiled.py) it is a C type whose hot attributes, declared in registry.pxd,
    are struct fields that dispatch reads and counts in C."""

    def __init__(self, name: str, arity: int, flags: str, first_key: int, last_key: int,
                 step: int, handler: Handler | None, summary: str, group: str,
                 since: str = "1.0.0", subcommands: dict[bytes, Command] | None = None,
                 acl: str | None = None,
                 movable_keys: Callable[[list[bytes]], list[int]] | None = None,
                 channels: str = "") -> None:
        self.name = name
        self.arity = arity
        self.flags = flags
        self.first_key = first_key
        self.last_key = last_key
        self.step = step
        self.handler = handler
        self.summary = summary
        self.group = group
        self.since = since
        self.subcommands = {} if subcommands is None else subcommands
        # The ACL categories Redis declares for the command ("@keyspace @dangerous"); None:
        # the group's (a container: none). Its flags add the implied ones (acl_categories).
        self.acl = acl
        # For "movablekeys" commands (ZUNIONSTORE …): where their keys are, from argv.
        self.movable_keys = movable_keys
        # The pub/sub commands: how their arguments from argv[1] name channels, for ACL
        # (PUBLISH's one channel; SUBSCRIBE's channels; PSUBSCRIBE's patterns). The shard
        # commands' channels stand where keys would (cluster slots) but are not keys.
        self.channels = channels  # "", "publish", "subscribe", "pattern" or "unsubscribe"
        # Counted at run time, read by INFO commandstats.
        self.calls = 0
        self.usec = 0
        self.rejected_calls = 0
        self.failed_calls = 0
        self.flag_set = frozenset(flags.split())
        self.is_write = WRITE in self.flag_set
        self.queued_in_multi = ALLOW_IN_MULTI not in self.flag_set
        self.needs_auth = NO_AUTH not in self.flag_set
        self.full_name = name

    def __repr__(self) -> str:
        return f"Command({self.full_name!r})"

    def arity_ok(self, argc: int) -> bool:
        return argc == self.arity if self.arity > 0 else argc >= -self.arity

    @cached_property
    def acl_categories(self) -> tuple[str, ...]:
        """``@category`` names in Redis's order: the declared ones plus those the flags
        imply, as Redis's setImplicitACLCategories adds them."""
        if self.acl is not None:
            declared = {name.lstrip("@") for name in self.acl.split()}
        elif self.subcommands:
            declared = set()
        else:
            declared = {_GROUP_CATEGORY.get(self.group, "")}
        flags = self.flag_set
        implied = {"write": WRITE in flags, "read": READONLY in flags and "scripting" not in
                   declared, "admin": ADMIN in flags, "dangerous": ADMIN in flags,
                   "pubsub": PUBSUB in flags, "fast": FAST in flags,
                   "blocking": BLOCKING in flags}
        declared |= {name for name, on in implied.items() if on}
        if "fast" not in declared:
            declared.add("slow")
        return tuple(f"@{name}" for name in ACL_CATEGORIES if name in declared)

    def key_positions(self, argv: list[bytes]) -> list[int]:
        """Indexes of the key arguments in ``argv`` (COMMAND GETKEYS, ACL)."""
        if self.movable_keys is not None:
            return self.movable_keys(argv)
        if self.first_key == 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return list(range(self.first_key, last + 1, self.step))


def numkeys_at(index: int, destination: bool = False) -> Callable[[list[bytes]], list[int]]:
    """The keys of a command whose ``argv[index]`` counts the keys that follow it
    (SINTERCARD, ZUNION …), after a destination key at 1 for the STORE forms."""

    def positions(argv: list[bytes]) -> list[int]:
        try:
            count = int(argv[index])
        except ValueError:
            count = 0
        keys = list(range(index + 1, min(index + 1 + max(count, 0), len(argv))))
        return [1, *keys] if destination else keys

    return positions


def container(name: str, arity: int, flags: str, summary: str, group: str, since: str,
              subcommands: list[Command], handler: Handler | None = None,
              acl: str | None = None) -> Command:
    """A command like CONFIG or CLIENT whose first argument picks a subcommand;
    ``handler`` answers the bare command (COMMAND with no arguments)."""
    parent = Command(name, arity, flags, 0, 0, 0, handler, summary, group, since, acl=acl)
    for sub in subcommands:
        sub.full_name = f"{name}|{sub.name}"
        parent.subcommands[sub.name.encode()] = sub
    return parent


def build_lookup(table: list[Command]) -> dict[bytes, Command]:
    """Name -> row, with lower- and upper-case keys so most lookups need no .lower()."""
    lookup: dict[bytes, Command] = {}
    for command in table:
        lookup[command.name.encode()] = command
        lookup[command.name.upper().encode()] = command
    return lookup


def renamed(lookup: dict[bytes, Command], renames: list[tuple[str, str]]) -> dict[bytes, Command]:
    """A copy of ``lookup`` after redis.conf's ``rename-command`` lines: the old name is
    unknown from then on, the new one (unless "") finds the command. The rows keep their
    names (COMMAND INFO, ACL rules), as in Redis. ValueError: Redis's reason."""
    lookup = dict(lookup)
    for old, new in renames:
        command = lookup.pop(old.lower().encode(), None)
        if command is None:
            raise ValueError("No such command in rename-command")
        lookup.pop(old.upper().encode(), None)
        if new:
            if new.lower().encode() in lookup:
                raise ValueError("Target command name already exists")
            lookup[new.lower().encode()] = lookup[new.upper().encode()] = command
    return lookup
