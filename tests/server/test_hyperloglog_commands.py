"""The HyperLogLog commands inside caskd, beyond what the differential tests show."""

from __future__ import annotations

import redis


def test_pfcount_storing_its_cache_touches_watched_keys(caskd):
    """Redis's PFCOUNT writes the cached count into the value and signals the key, so
    a transaction WATCHing it fails; a second PFCOUNT (cache valid) changes nothing."""
    client, other = caskd.client(), caskd.client()
    client.pfadd("h", "a", "b")
    for expect_abort in (True, False):
        with client.pipeline() as pipe:
            pipe.watch("h")
            assert other.pfcount("h") == 2
            pipe.multi()
            pipe.set("flag", "1")
            try:
                pipe.execute()
                aborted = False
            except redis.WatchError:
                aborted = True
        assert aborted == expect_abort
    value = client.get("h")
    assert value[15] & 0x80 == 0 and value[8] == 2  # the count is cached
