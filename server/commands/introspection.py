"""Watching the server at work: SLOWLOG, MONITOR, LATENCY."""

from __future__ import annotations

from protocol.reply import OK, Verbatim
from server.errors import CommandError, bad_subcommand_usage, parse_int
from server.replies import NO_REPLY, help_reply

DEFAULT_SLOWLOG_COUNT = 10


def slowlog_get(client, argv: list[bytes]):
    """SLOWLOG GET [count]: newest first, 10 by default, -1 for all."""
    count = DEFAULT_SLOWLOG_COUNT
    if len(argv) == 3:
        count = parse_int(argv[2], "ERR count should be greater than or equal to -1")
        if count < -1:
            raise CommandError("ERR count should be greater than or equal to -1")
    elif len(argv) > 3:
        raise bad_subcommand_usage("slowlog", argv[1])
    return client.server.slowlog.newest(count)


def slowlog_len(client, argv: list[bytes]):
    return len(client.server.slowlog.entries)


def slowlog_reset(client, argv: list[bytes]):
    client.server.slowlog.entries.clear()
    return OK


_SLOWLOG_HELP = (
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
)


def slowlog_help(client, argv: list[bytes]):
    return help_reply("SLOWLOG", _SLOWLOG_HELP)


def monitor(client, argv: list[bytes]):
    """Stream every command the server runs to this client, from now on."""
    if client.in_exec:  # a transaction's replies must come as one array
        raise CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if client.monitoring:
        return NO_REPLY
    client.server.set_monitoring(client, True)
    return OK


# caskd records no latency events: LATENCY answers as Redis does with none recorded.

_DOCTOR_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
    "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
    "order to enable it. If we weren't in a deep space mission I'd suggest to take a look "
    "at https://redis.io/topics/latency-monitor.\n")
_DOCTOR_NOTHING = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not "
    "in the slightest bit. I honestly think you ought to sit down calmly, take a stress "
    "pill, and think things over.\n")


def latency_latest(client, argv: list[bytes]):
    return []


def latency_history(client, argv: list[bytes]):
    return []


def latency_reset(client, argv: list[bytes]):
    return 0


def latency_graph(client, argv: list[bytes]):
    event = argv[2].decode(errors="replace")
    raise CommandError(f"ERR No samples available for event '{event}'")


def latency_doctor(client, argv: list[bytes]):
    enabled = client.server.config["latency-monitor-threshold"] > 0
    return Verbatim(_DOCTOR_NOTHING if enabled else _DOCTOR_DISABLED)
