"""django-redis as Django's cache backend, and Django's session store on it, used
through Django's own cache API as a Django project uses them."""

from __future__ import annotations

import django
import pytest
from django.conf import settings
from django.test.utils import override_settings

if not settings.configured:
    settings.configure(INSTALLED_APPS=["django.contrib.sessions"],
                       SESSION_ENGINE="django.contrib.sessions.backends.cache")
    django.setup()

from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import cache


@pytest.fixture
def django_cache(target):
    """Django's default cache, on database 1 of the server under test."""
    backend = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": target.url(1),
               "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"}}
    with override_settings(CACHES={"default": backend}):
        yield cache
        cache.close()


def test_get_set_values_and_timeouts(django_cache):
    django_cache.set("profile", {"name": "ada", "langs": ["en", "fr"]}, timeout=100)
    assert django_cache.get("profile") == {"name": "ada", "langs": ["en", "fr"]}
    assert django_cache.ttl("profile") == 100
    assert 0 < django_cache.pttl("profile") <= 100_000
    assert django_cache.get("missing", default="fallback") == "fallback"
    assert django_cache.add("profile", "other") is False
    assert django_cache.add("fresh", "value") is True
    assert django_cache.get_or_set("computed", lambda: 42) == 42
    django_cache.set("large", "x" * 200_000)
    assert django_cache.get("large") == "x" * 200_000
    django_cache.set("forever", 1, timeout=None)
    assert django_cache.ttl("forever") is None


def test_many_and_expiry_control(django_cache):
    django_cache.set_many({"a": 1, "b": 2, "c": 3})
    assert django_cache.get_many(["a", "b", "c", "zz"]) == {"a": 1, "b": 2, "c": 3}
    django_cache.set("session", "x", timeout=30)
    assert django_cache.persist("session") is True
    assert django_cache.ttl("session") is None
    assert django_cache.expire("session", 60) is True
    assert django_cache.ttl("session") == 60
    assert django_cache.touch("session", 5) is True
    assert django_cache.ttl("session") == 5
    assert django_cache.has_key("session")
    assert django_cache.delete("session") is True
    assert not django_cache.has_key("session")
    django_cache.delete_many(["b", "c"])
    assert django_cache.get_many(["b", "c"]) == {}


def test_patterns_keys_and_iter_keys(django_cache):
    django_cache.set_many({f"user:{i}": i for i in range(250)} | {"order:1": 1})
    assert sorted(django_cache.keys("user:1?")) == [f"user:{i}" for i in range(10, 20)]
    assert len(set(django_cache.iter_keys("user:*", itersize=30))) == 250
    assert django_cache.delete_pattern("user:*", itersize=40) == 250
    assert django_cache.keys("*") == ["order:1"]
    django_cache.clear()
    assert django_cache.keys("*") == []


def test_sets_hashes_and_sorted_sets_of_cached_values(django_cache):
    django_cache.sadd("tags:a", "red", "green", "blue")
    django_cache.sadd("tags:b", "blue", "black")
    assert django_cache.sinter("tags:a", "tags:b") == {"blue"}
    assert django_cache.sunionstore("tags:all", "tags:a", "tags:b") == 4
    assert django_cache.smismember("tags:all", "red", "pink") == [True, False]
    assert django_cache.smove("tags:a", "tags:b", "red") is True
    assert set(django_cache.sscan_iter("tags:b")) == {"blue", "black", "red"}
    assert django_cache.hset("user:1", "name", "ada") == 1
    assert django_cache.hkeys("user:1") == ["name"]
    assert django_cache.hexists("user:1", "name") and django_cache.hdel("user:1", "name") == 1
    assert django_cache.zadd("scores", {"ada": 3, "bob": 1, "cy": 2}) == 3
    assert django_cache.zincrby("scores", 5, "bob") == 6
    assert django_cache.zrange("scores", 0, -1, withscores=True) == [
        ("cy", 2.0), ("ada", 3.0), ("bob", 6.0)]
    assert django_cache.zrevrangebyscore("scores", 10, 3) == ["bob", "ada"]
    assert django_cache.zpopmin("scores") == ("cy", 2.0)


def test_session_store_on_the_cache(django_cache):
    session = SessionStore()
    session["cart"] = [1, 2, 3]
    session.set_expiry(300)
    session.save()
    loaded = SessionStore(session_key=session.session_key)
    assert loaded["cart"] == [1, 2, 3]
    assert 290 <= django_cache.ttl(f"django.contrib.sessions.cache{session.session_key}") <= 300
    loaded.flush()
    assert not SessionStore().exists(session.session_key)


def test_incr_decr(django_cache):
    django_cache.set("hits", 1)
    assert django_cache.incr("hits") == 2
    assert django_cache.incr("hits", 10) == 12
    assert django_cache.decr("hits", 2) == 10
    with pytest.raises(ValueError):
        django_cache.incr("nope")


def test_cache_lock(django_cache):
    with django_cache.lock("report", timeout=5):
        assert not django_cache.lock("report", timeout=5).acquire(blocking=False)
    assert django_cache.lock("report", timeout=5).acquire(blocking=False)
