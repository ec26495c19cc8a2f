"""Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, (S)PUBLISH, PUBSUB (pubsub.c).

The confirmations of the subscribe commands are pushed, one per channel, ahead of
the (empty) reply, as Redis sends them; the registry is server/pubsub.py.
"""

from __future__ import annotations

from server.errors import bad_subcommand_usage
from server.replies import NO_REPLY, help_reply


def subscribe(client, argv: list[bytes]):
    for channel in argv[1:]:
        client.server.pubsub.subscribe(client, channel)
    return NO_REPLY


def ssubscribe(client, argv: list[bytes]):
    for channel in argv[1:]:
        client.server.pubsub.subscribe(client, channel, shard=True)
    return NO_REPLY


def psubscribe(client, argv: list[bytes]):
    for pattern in argv[1:]:
        client.server.pubsub.psubscribe(client, pattern)
    return NO_REPLY


def unsubscribe(client, argv: list[bytes]):
    client.server.pubsub.unsubscribe(client, argv[1:])
    return NO_REPLY


def sunsubscribe(client, argv: list[bytes]):
    client.server.pubsub.unsubscribe(client, argv[1:], shard=True)
    return NO_REPLY


def punsubscribe(client, argv: list[bytes]):
    client.server.pubsub.punsubscribe(client, argv[1:])
    return NO_REPLY


def publish(client, argv: list[bytes]):
    return client.server.pubsub.publish(argv[1], argv[2])


def spublish(client, argv: list[bytes]):
    return client.server.pubsub.publish(argv[1], argv[2], shard=True)


def pubsub_channels(client, argv: list[bytes]):
    return client.server.pubsub.channel_list(_pattern(argv))


def pubsub_shardchannels(client, argv: list[bytes]):
    return client.server.pubsub.channel_list(_pattern(argv), shard=True)


def _pattern(argv: list[bytes]) -> bytes | None:
    """PUBSUB (SHARD)CHANNELS' optional pattern: one argument at most."""
    if len(argv) > 3:
        raise bad_subcommand_usage("pubsub", argv[1])
    return argv[2] if len(argv) == 3 else None


def pubsub_numsub(client, argv: list[bytes]):
    registry = client.server.pubsub
    return [item for channel in argv[2:]
            for item in (channel, registry.subscriber_count(channel))]


def pubsub_shardnumsub(client, argv: list[bytes]):
    registry = client.server.pubsub
    return [item for channel in argv[2:]
            for item in (channel, registry.subscriber_count(channel, shard=True))]


def pubsub_numpat(client, argv: list[bytes]):
    return len(client.server.pubsub.patterns)


_PUBSUB_HELP = (
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
)


def pubsub_help(client, argv: list[bytes]):
    return help_reply("PUBSUB", _PUBSUB_HELP)
