"""Client-side caching (CLIENT TRACKING), caskd against redis-server: the replies and
the invalidation messages each client receives, byte for byte, in order."""

from __future__ import annotations

import pytest

from tests.compat.harness import Pair
from tests.compat.test_pubsub import exchange


@pytest.fixture
def resp3(servers):
    pair = Pair(*servers, protocol=3)
    pair.both("FLUSHALL")
    yield pair
    pair.close()


@pytest.fixture
def writer(servers):
    pair = Pair(*servers, protocol=2)
    yield pair
    pair.close()


def test_a_read_key_is_invalidated_once_when_another_client_changes_it(resp3, writer):
    exchange(resp3, "CLIENT", "TRACKING", "ON")
    exchange(resp3, "SET", "k", "v")
    exchange(resp3, "GET", "k")
    exchange(resp3, "MGET", "k", "other")
    writer.check("SET", "k", "changed")
    assert resp3.caskd.reply() == resp3.redis.reply()  # >2 invalidate [k]
    writer.check("SET", "k", "again")  # not read since: no second message
    writer.check("SET", "other", "x")
    assert resp3.caskd.reply() == resp3.redis.reply()
    exchange(resp3, "CLIENT", "TRACKINGINFO")
    exchange(resp3, "CLIENT", "GETREDIR")


def test_own_changes_come_after_the_reply_and_not_at_all_with_noloop(resp3):
    exchange(resp3, "CLIENT", "TRACKING", "ON")
    exchange(resp3, "GET", "mine")
    exchange(resp3, "SET", "mine", "v", frames=2)  # +OK, then the invalidation
    exchange(resp3, "CLIENT", "TRACKING", "ON", "NOLOOP")
    exchange(resp3, "GET", "mine")
    exchange(resp3, "SET", "mine", "w")
    exchange(resp3, "MULTI")
    exchange(resp3, "GET", "mine")
    exchange(resp3, "EXEC")
    exchange(resp3, "CLIENT", "TRACKING", "OFF")
    exchange(resp3, "CLIENT", "TRACKINGINFO")


def test_flushes_invalidate_everything_with_a_null(resp3, writer):
    exchange(resp3, "CLIENT", "TRACKING", "ON")
    exchange(resp3, "GET", "a")
    writer.check("FLUSHALL")
    assert resp3.caskd.reply() == resp3.redis.reply()
    exchange(resp3, "FLUSHDB", frames=2)


def test_optin_optout_and_caching(resp3, writer):
    exchange(resp3, "CLIENT", "CACHING", "YES")
    exchange(resp3, "CLIENT", "TRACKING", "ON", "OPTIN")
    exchange(resp3, "CLIENT", "CACHING", "NO")
    exchange(resp3, "GET", "not-cached")
    exchange(resp3, "CLIENT", "CACHING", "YES")
    exchange(resp3, "CLIENT", "TRACKINGINFO")
    exchange(resp3, "GET", "cached")
    exchange(resp3, "CLIENT", "TRACKINGINFO")
    writer.check("MSET", "not-cached", "1", "cached", "2")
    assert resp3.caskd.reply() == resp3.redis.reply()
    exchange(resp3, "CLIENT", "TRACKING", "ON", "OPTOUT")
    exchange(resp3, "CLIENT", "TRACKING", "OFF")
    exchange(resp3, "CLIENT", "TRACKING", "ON", "OPTOUT")
    exchange(resp3, "CLIENT", "CACHING", "NO")
    exchange(resp3, "GET", "skipped")
    exchange(resp3, "GET", "kept")
    writer.check("MSET", "skipped", "1", "kept", "2")
    assert resp3.caskd.reply() == resp3.redis.reply()


def test_bcast_prefixes_collect_the_changes_of_an_iteration(resp3, writer):
    exchange(resp3, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "job:")
    exchange(resp3, "CLIENT", "TRACKINGINFO")
    writer.check("SET", "user:1", "a")
    assert resp3.caskd.reply() == resp3.redis.reply()
    writer.check("SET", "other", "x")
    writer.check("SET", "job:7", "b")
    assert resp3.caskd.reply() == resp3.redis.reply()
    exchange(resp3, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:1")
    exchange(resp3, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab")
    exchange(resp3, "CLIENT", "TRACKING", "ON")


def test_resp2_clients_redirect_to_a_subscriber(servers, writer):
    listener, cached = Pair(*servers, protocol=2), Pair(*servers, protocol=2)
    try:
        ids = listener.both("CLIENT", "ID")
        exchange(listener, "SUBSCRIBE", "__redis__:invalidate")
        redis_id, caskd_id = (raw.split(b"\r\n")[0][1:] for raw in ids)
        cached.redis.send(("CLIENT", "TRACKING", "ON", "REDIRECT", redis_id))
        cached.caskd.send(("CLIENT", "TRACKING", "ON", "REDIRECT", caskd_id))
        assert cached.caskd.reply() == cached.redis.reply() == b"+OK\r\n"
        exchange(cached, "GET", "k")
        writer.check("SET", "k", "v")
        assert listener.caskd.reply() == listener.redis.reply()
        writer.check("FLUSHALL")
        assert listener.caskd.reply() == listener.redis.reply()
    finally:
        listener.close()
        cached.close()


def test_tracking_errors(resp3):
    for args in (("CLIENT", "TRACKING", "ON", "REDIRECT", "999999"),
                 ("CLIENT", "TRACKING", "ON", "PREFIX", "x"),
                 ("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"),
                 ("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"),
                 ("CLIENT", "TRACKING", "ON", "NOPE"),
                 ("CLIENT", "TRACKING", "MAYBE"),
                 ("CLIENT", "TRACKING", "ON", "REDIRECT", "x"),
                 ("CLIENT", "CACHING", "YES"),
                 ("CLIENT", "TRACKING", "ON", "OPTIN"),
                 ("CLIENT", "TRACKING", "ON", "OPTOUT"),
                 ("CLIENT", "TRACKING", "ON", "BCAST"),
                 ("CLIENT", "CACHING", "NO"),
                 ("CLIENT", "CACHING", "MAYBE"),
                 ("CLIENT", "TRACKING", "OFF")):
        exchange(resp3, *args)
