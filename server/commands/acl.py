"""ACL commands: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG, DRYRUN,
SAVE, LOAD, HELP. The users and the rules themselves live in :mod:`server.acl`."""

from __future__ import annotations

import time
from pathlib import Path

from protocol.reply import OK, OrderedSet, SimpleString
from server.acl import DENIED_CMD, AclFileError, RuleError, generate_password, has_spaces
from server.commands.registry import ACL_CATEGORIES
from server.errors import CommandError, bad_subcommand_usage, parse_int, wrong_arity

GENPASS_MAX_BITS = 4096
NO_ACL_FILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to "
               "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
               "(assuming you have a Redis configuration file set) in order to store users in "
               "the Redis configuration.")

ACL_HELP = (
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
)


def setuser(client, argv: list[bytes]):
    name = argv[2]
    if has_spaces(name):
        raise CommandError("ERR Usernames can't contain spaces or null characters")
    server = client.server
    try:
        user = server.acl.set_user(name, argv[3:])
    except RuleError as exc:
        raise CommandError(f"ERR {exc}") from None
    if user is server.acl.default:
        server.acl.default_changed(server.clients.values())
    for session in list(server.clients.values()):  # Redis's ACLKillPubsubClientsIfNeeded
        if session.user is user and session.pubsub and server.acl.lost_channel_access(session):
            session.close()
    return OK


def getuser(client, argv: list[bytes]):
    acl = client.server.acl
    user = acl.users.get(argv[2])
    if user is None:
        return None
    return {b"flags": OrderedSet(flag.encode() for flag in user.flags()),
            b"passwords": [digest.encode() for digest in user.passwords],
            b"commands": acl.describe_commands(user).encode(errors="surrogateescape"),
            b"keys": acl.describe_keys(user).encode(errors="surrogateescape"),
            b"channels": acl.describe_channels(user).encode(errors="surrogateescape"),
            b"selectors": []}


def deluser(client, argv: list[bytes]):
    if b"default" in argv[2:]:
        raise CommandError("ERR The 'default' user cannot be removed")
    server = client.server
    deleted = [user for name in argv[2:] if (user := server.acl.users.pop(name, None))]
    server.acl.disconnect_users(deleted, client, server.clients.values())
    return len(deleted)


def list_(client, argv: list[bytes]):
    acl = client.server.acl
    return [b"user %b %b" % (name, acl.describe(user).encode(errors="surrogateescape"))
            for name, user in sorted(acl.users.items())]


def users(client, argv: list[bytes]):
    return sorted(client.server.acl.users)


def whoami(client, argv: list[bytes]):
    return client.user.name


def cat(client, argv: list[bytes]):
    if len(argv) == 2:
        return [category.encode() for category in ACL_CATEGORIES]
    if len(argv) > 3:
        raise bad_subcommand_usage("acl", argv[1])
    category = argv[2].decode(errors="replace")
    commands = client.server.acl.categories.get(category.lower())
    if commands is None:
        raise CommandError(f"ERR Unknown category '{category[:128]}'")
    return [command.full_name.encode() for command in commands]


def genpass(client, argv: list[bytes]):
    if len(argv) > 3:
        raise bad_subcommand_usage("acl", argv[1])
    bits = parse_int(argv[2]) if len(argv) == 3 else 256
    if not 0 < bits <= GENPASS_MAX_BITS:
        raise CommandError(f"ERR ACL GENPASS argument must be the number of bits for the "
                           f"output password, a positive number up to {GENPASS_MAX_BITS}")
    return generate_password(bits).encode()


def log(client, argv: list[bytes]):
    """ACL LOG [count | RESET]: the latest denials, newest first."""
    if len(argv) > 3:
        raise bad_subcommand_usage("acl", argv[1])
    acl = client.server.acl
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            acl.log.clear()
            return OK
        count = max(parse_int(argv[2]), 0)
    now_ms = time.time_ns() // 1_000_000
    return [{b"count": entry.count, b"reason": entry.reason.encode(),
             b"context": entry.context.encode(), b"object": entry.target,
             b"username": entry.username, b"age-seconds": (now_ms - entry.created_ms) / 1000,
             b"client-info": entry.client_info.encode()}
            for entry in acl.log[:count]]


def dryrun(client, argv: list[bytes]):
    """ACL DRYRUN user command [arg ...]: would the user be allowed to run it?"""
    server = client.server
    user = server.acl.users.get(argv[2])
    if user is None:
        raise CommandError(f"ERR User '{argv[2].decode(errors='surrogateescape')}' not found")
    target = argv[3:]
    command = server.dispatcher.resolve(target)
    if command is None:
        raise CommandError(f"ERR Command '{target[0].decode(errors='surrogateescape')}' "
                           f"not found")
    if not command.arity_ok(len(target)):
        raise CommandError(wrong_arity(command.full_name))
    denied = server.acl.check(user, command, target)
    if denied is None:
        return OK
    reason, index = denied
    if reason == DENIED_CMD:
        return f"This user has no permissions to run the '{command.full_name}' command".encode()
    return b"This user has no permissions to access the '%b' key" % target[index]


def save(client, argv: list[bytes]):
    server = client.server
    path = _acl_file(server)
    try:
        server.acl.save_file(path)
    except OSError as exc:
        server.log.warning("Saving ACL file %s: %s", path, exc.strerror)
        raise CommandError("ERR There was an error trying to save the ACLs. Please check the "
                           "server logs for more information") from None
    return OK


def load(client, argv: list[bytes]):
    server = client.server
    try:
        dropped = server.acl.load_file(_acl_file(server))
    except AclFileError as exc:
        raise CommandError(f"ERR {exc}") from None
    server.acl.disconnect_users(dropped, client, server.clients.values())
    server.acl.default_changed(server.clients.values())
    return OK


def help_(client, argv: list[bytes]):
    return [SimpleString(line) for line in ACL_HELP]


def _acl_file(server) -> Path:
    if not server.config["aclfile"]:
        raise CommandError(NO_ACL_FILE)
    return Path(server.config["aclfile"])
