"""Replies the server adds to protocol's constants."""

from protocol.reply import Raw, SimpleString

NO_REPLY = Raw(b"")  # nothing is sent (SHUTDOWN: the connection just closes)


def help_reply(command: str, lines: tuple[str, ...]) -> list[SimpleString]:
    """A ``<COMMAND> HELP`` reply as Redis's addReplyHelp builds it around ``lines``."""
    return [SimpleString(f"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
            *map(SimpleString, lines), SimpleString("HELP"), SimpleString("    Prints this help.")]
