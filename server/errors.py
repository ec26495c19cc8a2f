"""Redis's error replies, by name, so every command words them the same way."""

from __future__ import annotations

from protocol.numbers import string2ll


class CommandError(Exception):
    """Raised by a handler (or a helper it calls) to answer with an error reply.

    ``str(error)`` is the whole reply text, prefix included (``ERR …``, ``WRONGTYPE …``).
    """


SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NO_SUCH_KEY = "ERR no such key"
SAME_OBJECT = "ERR source and destination objects are the same"
DB_INDEX = "ERR DB index is out of range"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def wrong_arity(name: str) -> str:
    return f"ERR wrong number of arguments for '{name}' command"


def _printed(arg: bytes, limit: int) -> bytes:
    """What C's ``%.*s`` prints of an argument: up to its first NUL, at most ``limit``
    bytes."""
    return arg.split(b"\0", 1)[0][:limit]


def _text(raw: bytes) -> str:
    """Any bytes as reply text: the reply encoder writes them back unchanged."""
    return raw.decode("utf-8", "surrogateescape")


def c_text(raw: bytes) -> str:
    """An argument as C's ``%s`` prints it into an error: up to its first NUL."""
    return _text(raw.split(b"\0", 1)[0])


def unknown_command(argv: list[bytes]) -> str:
    """Redis quotes the first arguments, up to about 128 bytes of them."""
    args = b""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'%b' " % _printed(arg, 128 - len(args))
    return (f"ERR unknown command '{_text(_printed(argv[0], 128))}', "
            f"with args beginning with: {_text(args)}")


def unknown_subcommand(command: str, sub: bytes) -> str:
    return f"ERR unknown subcommand '{_text(_printed(sub, 128))}'. Try {command.upper()} HELP."


def bad_subcommand_usage(command: str, sub: bytes) -> CommandError:
    """Redis's addReplySubcommandSyntaxError: a subcommand given the wrong arguments."""
    return CommandError(f"ERR unknown subcommand or wrong number of arguments for "
                        f"'{sub.decode('utf-8', 'replace')[:128]}'. Try {command.upper()} HELP.")


def parse_int(arg: bytes, error: str = NOT_INTEGER) -> int:
    """A signed 64-bit integer in Redis's strict syntax (string2ll: no spaces, no '+',
    no leading zeros)."""
    value = string2ll(arg)
    if value is None:
        raise CommandError(error)
    return value


def parse_int32(arg: bytes, error: str | None = None) -> int:
    """A C int as Redis's getIntFromObjectOrReply reads it; ``error`` (when given)
    replaces both of its messages."""
    value = parse_int(arg, error or NOT_INTEGER)
    if not -(2**31) <= value < 2**31:
        raise CommandError(error or "ERR value is out of range, value must between "
                                    "-2147483648 and 2147483647")
    return value
