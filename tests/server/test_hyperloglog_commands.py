"""The HyperLogLog commands inside caskd, beyond what the differential tests show."""

from __future__ import annotations

from tests.support import watch_aborts


def test_pfcount_storing_its_cache_touches_watched_keys(caskd):
    """Redis's PFCOUNT writes the cached count into the value and signals the key, so
    a transaction WATCHing it fails; a second PFCOUNT (cache valid) changes nothing."""
    client, other = caskd.client(), caskd.client()
    client.pfadd("h", "a", "b")
    assert watch_aborts(client, "h", lambda: other.pfcount("h"))
    assert not watch_aborts(client, "h", lambda: other.pfcount("h"))
    value = client.get("h")
    assert value[15] & 0x80 == 0 and value[8] == 2  # the count is cached
