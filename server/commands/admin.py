"""Server commands: INFO, CONFIG, BGREWRITEAOF, SHUTDOWN, COMMAND, TIME …"""

from __future__ import annotations

import time

from protocol.reply import OK, OrderedSet, SimpleString, Verbatim
from server.algorithms.glob import compile_pattern
from server.commands.debug import protected_action_allowed
from server.commands.keyflags import KEY_SPEC_FLAGS
from server.commands.registry import CASKD_ONLY_FLAGS, Command
from server.config import ConfigError
from server.errors import SYNTAX, CommandError
from server.replies import NO_REPLY, help_reply


def info(client, argv: list[bytes]):
    sections = [arg.decode(errors="replace").lower() for arg in argv[1:]]
    return Verbatim(client.server.info_text(sections))


def config_get(client, argv: list[bytes]):
    found: dict[bytes, bytes] = {}
    for pattern in argv[2:]:
        for name, value in client.server.config.matching(
                pattern.decode("utf-8", "surrogateescape")).items():
            found.setdefault(name.encode("utf-8", "surrogateescape"), value.encode())
    return found


def config_set(client, argv: list[bytes]):
    """CONFIG SET name value [name value ...]: all of them, or (on any error) none."""
    if len(argv) % 2:
        raise CommandError("ERR wrong number of arguments for 'config|set' command")
    config = client.server.config
    texts = [arg.decode("utf-8", "surrogateescape") for arg in argv[2:]]
    try:
        config.set_many(list(zip(texts[::2], texts[1::2], strict=True)),
                        protected_action_allowed(config["enable-protected-configs"], client))
    except ConfigError as exc:
        raise CommandError(f"ERR {exc}") from None
    client.server.apply_config()
    return OK


_CONFIG_HELP = (
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
)


def config_help(client, argv: list[bytes]):
    return help_reply("CONFIG", _CONFIG_HELP)


def config_resetstat(client, argv: list[bytes]):
    client.server.reset_stats()
    return OK


def config_rewrite(client, argv: list[bytes]):
    path = client.server.config.config_file
    if path is None:
        raise CommandError("ERR The server is running without a config file")
    try:
        client.server.config.rewrite()
    except OSError as exc:
        raise CommandError(f"ERR Rewriting config file: {exc.strerror}") from None
    return OK


def bgrewriteaof(client, argv: list[bytes]):
    paused = client.server.engine.compaction_paused
    if paused is not None:  # bgrewriteaofCommand's words when a rewrite cannot start, and why
        raise CommandError(f"ERR Can't execute an AOF background rewriting: compaction is "
                           f"paused while {paused}")
    if not client.server.engine.start_compaction():
        raise CommandError("ERR Background append only file rewriting already in progress")
    return SimpleString("Background append only file rewriting started")


def save(client, argv: list[bytes]):
    """caskd's log is its save file: SAVE makes it durable and compacts it (blocking,
    as Redis's SAVE blocks), waiting for a compaction already running instead."""
    server = client.server
    engine = server.engine
    engine.sync()
    if not engine.compacting:
        engine.start_compaction()
    while engine.compacting:
        engine.compaction_step(budget=1 << 62)  # returns at once while the merge runs
        if engine.compacting:
            time.sleep(0.001)
    server.last_save = int(time.time())
    return OK


def bgsave(client, argv: list[bytes]):
    """Durable now, compacted in the background; SCHEDULE waits for a running compaction."""
    schedule = len(argv) == 2 and argv[1].upper() == b"SCHEDULE"
    if len(argv) > 2 or (len(argv) == 2 and not schedule):
        raise CommandError(SYNTAX)
    server = client.server
    server.engine.sync()
    server.last_save = int(time.time())
    if server.engine.compacting:
        if not schedule:  # INFO shows a compaction as aof_rewrite_in_progress
            raise CommandError("ERR An AOF log rewriting in progress: can't BGSAVE right now. "
                               "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever "
                               "possible.")
        server.bgsave_scheduled = True
        return SimpleString("Background saving scheduled")
    server.engine.start_compaction()
    return SimpleString("Background saving started")


def lastsave(client, argv: list[bytes]):
    return client.server.last_save


def time_(client, argv: list[bytes]):
    now = time.time_ns() // 1000
    return [str(now // 1_000_000).encode(), str(now % 1_000_000).encode()]


def shutdown(client, argv: list[bytes]):
    options = {arg.upper() for arg in argv[1:]}
    if not options <= {b"NOSAVE", b"SAVE", b"NOW", b"FORCE", b"ABORT"} or \
            {b"SAVE", b"NOSAVE"} <= options:
        raise CommandError(SYNTAX)
    if b"ABORT" in options:
        raise CommandError("ERR No shutdown in progress.")
    client.server.request_shutdown()
    client.close_after_reply = True
    return NO_REPLY  # Redis sends nothing: the connection closes with the server


# ----------------------------------------------------------------- COMMAND


def _command_info(command: Command) -> list:
    """One entry of COMMAND / COMMAND INFO, in Redis 7.0's layout (tips, key specs and
    an empty subcommand list are RESP3 sets there)."""
    subcommands = [_command_info(sub) for sub in command.subcommands.values()]
    return [command.full_name.encode(), command.arity,
            {SimpleString(flag) for flag in command.flag_set - CASKD_ONLY_FLAGS},
            command.first_key, command.last_key, command.step,
            {SimpleString(category) for category in command.acl_categories},
            set(), set(), subcommands or set()]


def _command_docs(command: Command) -> dict:
    docs: dict = {b"summary": command.summary.encode(), b"since": command.since.encode(),
                  b"group": command.group.encode()}
    if command.subcommands:
        docs[b"subcommands"] = {sub.full_name.encode(): _command_docs(sub)
                                for sub in command.subcommands.values()}
    return docs


def command(client, argv: list[bytes]):
    return [_command_info(c) for c in client.server.command_table]


def command_count(client, argv: list[bytes]):
    return len(client.server.command_table)


def command_list(client, argv: list[bytes]):
    """COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: every
    command and subcommand (``config|get``)."""
    rows = client.server.all_commands()
    if len(argv) == 2:
        return [c.full_name.encode() for c in rows]
    if len(argv) != 5 or argv[2].upper() != b"FILTERBY":
        raise CommandError(SYNTAX)
    kind, value = argv[3].upper(), argv[4]
    if kind == b"MODULE":
        return []
    if kind == b"ACLCAT":
        category = "@" + value.decode(errors="replace").lower()
        return [c.full_name.encode() for c in rows if category in c.acl_categories]
    if kind == b"PATTERN":
        matches = compile_pattern(value.lower())
        return [c.full_name.encode() for c in rows if matches(c.full_name.encode())]
    raise CommandError(SYNTAX)


def command_info(client, argv: list[bytes]):
    lookup = client.server.commands
    names = argv[2:] or [c.name.encode() for c in client.server.command_table]
    return [_command_info(lookup[n.lower()]) if n.lower() in lookup else None for n in names]


def command_docs(client, argv: list[bytes]):
    lookup = client.server.commands
    names = argv[2:] or [c.name.encode() for c in client.server.command_table]
    return {n.lower(): _command_docs(lookup[n.lower()]) for n in names if n.lower() in lookup}


def _keys_of(client, target: list[bytes]) -> tuple[Command, list[int]]:
    """The command ``target`` runs and its key positions (COMMAND GETKEYS and
    GETKEYSANDFLAGS, as Redis's getKeysSubcommandImpl)."""
    found = client.server.dispatcher.resolve(target)
    if found is None:
        raise CommandError("ERR Invalid command specified")
    if not found.arity_ok(len(target)):
        raise CommandError("ERR Invalid number of arguments specified for command")
    positions = found.key_positions(target)
    if not positions:
        raise CommandError("ERR The command has no key arguments")
    return found, positions


def command_getkeys(client, argv: list[bytes]):
    _, positions = _keys_of(client, argv[2:])
    return [argv[2 + i] for i in positions]


def command_getkeysandflags(client, argv: list[bytes]):
    target = argv[2:]
    found, positions = _keys_of(client, target)
    specs = KEY_SPEC_FLAGS.get(found.full_name, ("",))
    # Redis sends each key's flags as a set (RESP3 ``~``), in addReplyFlagsForKeyArgs's order.
    return [[target[position], OrderedSet(SimpleString(flag) for flag in
                                          _key_flags(found.full_name, target,
                                                     specs[0 if n == 0 else -1]))]
            for n, position in enumerate(positions)]


def _key_flags(name: str, target: list[bytes], spec: str) -> list[str]:
    """A key's flags: its key spec's, or for the specs Redis marks variable_flags what
    its getkeys procs decide from the arguments (setGetKeys, bitfieldGetKeys; caskd
    has no MIGRATE)."""
    if name == "set":
        has_get = any(arg.lower() == b"get" for arg in target[3:])
        return ["RW", "access", "update"] if has_get else ["OW", "update"]
    if name == "bitfield":
        return ["RO", "access"] if _bitfield_reads_only(target) else ["RW", "access", "update"]
    return spec.split()


def _bitfield_reads_only(target: list[bytes]) -> bool:
    """Whether BITFIELD's subcommands are all GET (OVERFLOW aside), walked as Redis's
    bitfieldGetKeys does: a malformed one counts as a write."""
    index = 2
    while index < len(target):
        remaining = len(target) - index - 1
        word = target[index].lower()
        if word == b"get" and remaining >= 2:
            index += 3
        elif word == b"overflow" and remaining >= 1:
            index += 2
        else:
            return False
    return True
