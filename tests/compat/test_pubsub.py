"""Pub/sub, caskd against redis-server: subscriber-mode exchanges as raw byte streams
in RESP2 and RESP3 (a subscribe command answers one frame per channel), messages
as subscribers receive them, PUBSUB introspection and the channel ACL rules."""

from __future__ import annotations

from tests.compat.differences import PUBSUB_CHANNEL_ORDER
from tests.compat.harness import Pair


def exchange(pair: Pair, *args, frames: int = 1) -> list[bytes]:
    """Send one command to both servers and compare the next ``frames`` frames."""
    pair.redis.send(args)
    pair.caskd.send(args)
    expected = [pair.redis.reply() for _ in range(frames)]
    actual = [pair.caskd.reply() for _ in range(frames)]
    assert actual == expected, f"{args}\n  redis: {expected}\n  caskd: {actual}"
    return expected


def test_subscribe_confirms_each_channel_and_counts_subscriptions(pair):
    exchange(pair, "SUBSCRIBE", "a", "b", "a", frames=3)
    exchange(pair, "PSUBSCRIBE", "news.*", "x?", frames=2)
    exchange(pair, "SSUBSCRIBE", "s1", frames=1)
    exchange(pair, "UNSUBSCRIBE", "b", "never", frames=2)
    exchange(pair, "PUNSUBSCRIBE", "x?", frames=1)
    exchange(pair, "SUNSUBSCRIBE", frames=1)
    exchange(pair, "UNSUBSCRIBE", frames=1)
    exchange(pair, "PUNSUBSCRIBE", frames=1)
    exchange(pair, "UNSUBSCRIBE", frames=1)  # none left: one frame with a null channel
    exchange(pair, "PUNSUBSCRIBE", frames=1)
    exchange(pair, "SUNSUBSCRIBE", frames=1)


def test_resp2_subscriber_mode_allows_only_the_pubsub_commands(pair2):
    exchange(pair2, "SUBSCRIBE", "a", frames=1)
    exchange(pair2, "PING")
    exchange(pair2, "PING", "hello")
    exchange(pair2, "GET", "k")
    exchange(pair2, "CLIENT", "ID")
    exchange(pair2, "MULTI")
    exchange(pair2, "UNSUBSCRIBE", frames=1)
    exchange(pair2, "PING")
    exchange(pair2, "GET", "k")


def test_resp3_subscribers_run_any_command_between_pushes(servers):
    pair = Pair(*servers, protocol=3)
    try:
        exchange(pair, "SUBSCRIBE", "a", frames=1)
        exchange(pair, "SET", "k", "v")
        exchange(pair, "GET", "k")
        exchange(pair, "PING")
        exchange(pair, "PUBLISH", "a", "to myself", frames=2)  # the push, then the count
    finally:
        pair.close()


def test_messages_reach_channel_and_pattern_subscribers(pair, writer):
    exchange(pair, "SUBSCRIBE", "news.tech", frames=1)
    exchange(pair, "PSUBSCRIBE", "news.*", "*tech", frames=2)
    writer.check("PUBLISH", "news.tech", "hello")  # three deliveries
    expected, actual = ([side.reply() for _ in range(3)] for side in (pair.redis, pair.caskd))
    assert actual[0] == expected[0]  # the channel's subscribers first, then the patterns'
    assert sorted(actual[1:]) == sorted(expected[1:]), PUBSUB_CHANNEL_ORDER.why
    writer.check("PUBLISH", "news.sport", b"\x00binary\xff")
    assert [pair.caskd.reply()] == [pair.redis.reply()]
    writer.check("PUBLISH", "nobody", "x")
    writer.check("SPUBLISH", "news.tech", "shard channels are apart")


def test_shard_messages_go_to_shard_subscribers_only(pair, writer):
    exchange(pair, "SSUBSCRIBE", "orders", frames=1)
    exchange(pair, "PSUBSCRIBE", "*", frames=1)
    writer.check("SPUBLISH", "orders", "o1")
    assert pair.caskd.reply() == pair.redis.reply()
    writer.check("PUBLISH", "orders", "o2")  # the pattern only
    assert pair.caskd.reply() == pair.redis.reply()


def test_pubsub_introspection(pair, writer):
    exchange(pair, "SUBSCRIBE", "c1", "c2", frames=2)
    exchange(pair, "PSUBSCRIBE", "p*", frames=1)
    exchange(pair, "SSUBSCRIBE", "s1", frames=1)
    writer.check("PUBSUB", "NUMSUB", "c1", "c2", "none")
    writer.check("PUBSUB", "NUMSUB")
    writer.check("PUBSUB", "NUMPAT")
    writer.check("PUBSUB", "SHARDNUMSUB", "s1", "c1")
    writer.check("PUBSUB", "CHANNELS", "c1*")
    writer.check("PUBSUB", "CHANNELS", allow=PUBSUB_CHANNEL_ORDER)
    writer.check("PUBSUB", "SHARDCHANNELS")
    writer.check("PUBSUB", "HELP")
    writer.check("PUBSUB", "NOPE")
    writer.check("PUBSUB", "CHANNELS", "a", "b")
    writer.check("SUBSCRIBE")
    writer.check("PUBLISH", "only-channel")


def test_channel_acl_rules(pair2):
    pair = pair2
    pair.check("ACL", "SETUSER", "sub", "on", "nopass", "+@all", "resetchannels",
               "&news.*", "&exact")
    pair.check("AUTH", "sub", "any")
    pair.check("PUBLISH", "news.1", "ok")
    pair.check("PUBLISH", "other", "no")
    pair.check("SUBSCRIBE", "other")
    pair.check("PSUBSCRIBE", "news.1*")  # a pattern must be one of the rules, literally
    exchange(pair, "PSUBSCRIBE", "news.*", frames=1)
    exchange(pair, "SUBSCRIBE", "exact", frames=1)
    exchange(pair, "UNSUBSCRIBE", frames=1)
    exchange(pair, "PUNSUBSCRIBE", frames=1)
    pair.check("SPUBLISH", "other", "no")
    pair.check("AUTH", "default", "")
    pair.check("ACL", "LOG", "RESET")
    pair.check("ACL", "DELUSER", "sub")
