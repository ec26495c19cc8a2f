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


# LATENCY: the latency monitor (server/latency.py), as Redis's latencyCommand.


def latency_latest(client, argv: list[bytes]):
    return client.server.latency.latest()


def latency_history(client, argv: list[bytes]):
    series = client.server.latency.events.get(argv[2].decode("utf-8", "surrogateescape"))
    return [] if series is None else [list(sample) for sample in series.samples]


def latency_reset(client, argv: list[bytes]):
    names = [arg.decode("utf-8", "surrogateescape") for arg in argv[2:]] or None
    return client.server.latency.reset(names)


def latency_graph(client, argv: list[bytes]):
    event = argv[2].decode("utf-8", "surrogateescape")
    if event not in client.server.latency.events:
        raise CommandError(f"ERR No samples available for event '{event}'")
    return Verbatim(client.server.latency.graph(event))


def latency_doctor(client, argv: list[bytes]):
    config = client.server.config
    return Verbatim(client.server.latency.doctor(
        slowlog_slower_than=config["slowlog-log-slower-than"],
        fsync_always=config["appendfsync"] == "always", hz=config["hz"]))


def latency_histogram(client, argv: list[bytes]):
    """caskd keeps no per-command latency histograms (latency-tracking has no effect):
    no command has data, as in Redis before any command ran."""
    return {}


_LATENCY_HELP = (  # Redis's latencyCommand
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the "
    "specified command names.",
    "    If no commands are specified then all histograms are replied.",
)


def latency_help(client, argv: list[bytes]):
    return help_reply("LATENCY", _LATENCY_HELP)
