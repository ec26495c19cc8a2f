"""Function libraries are persisted in the log, as Redis keeps them in its RDB/AOF:
FUNCTION LOAD, DELETE, FLUSH and RESTORE survive a restart, kill -9 (under
appendfsync always), BGREWRITEAOF and DEBUG RELOAD; the script cache does not."""

from __future__ import annotations

import pytest
import redis

from tests.support import wait_until

LIBRARY = """#!lua name=counters
redis.register_function('bump', function(keys, args)
    return redis.call('INCRBY', keys[1], args[1])
end)
redis.register_function{function_name='peek', flags={'no-writes'},
                        callback=function(keys) return redis.call('GET', keys[1]) end}
"""
OTHER = "#!lua name=other\nredis.register_function('hello', function() return 'hello' end)"


def connect(server) -> redis.Redis:
    return server.client(protocol=3)  # FUNCTION LIST entries as maps


def library_names(client: redis.Redis) -> list[bytes]:
    return sorted(entry[b"library_name"] for entry in client.function_list())


def library_code(client: redis.Redis, name: str) -> bytes:
    return client.function_list(library=name, withcode=True)[0][b"library_code"]


def test_libraries_survive_a_restart(caskd):
    client = connect(caskd)
    assert client.function_load(LIBRARY) == b"counters"
    assert client.function_load(OTHER) == b"other"
    assert client.function_load(OTHER.replace("'hello' end", "'hello again' end"),
                                replace=True) == b"other"
    code = library_code(client, "counters")
    caskd.restart()
    client = connect(caskd)
    assert library_names(client) == [b"counters", b"other"]
    assert library_code(client, "counters") == code
    assert client.fcall("bump", 1, "n", 5) == 5
    assert client.fcall_ro("peek", 1, "n") == b"5"  # its flags came back too
    assert client.fcall("hello", 0) == b"hello again"  # the replacement, not the first


def test_delete_and_flush_survive_a_restart(caskd):
    client = connect(caskd)
    client.function_load(LIBRARY)
    client.function_load(OTHER)
    assert client.function_delete("counters") is True
    caskd.restart()
    client = connect(caskd)
    assert library_names(client) == [b"other"]
    with pytest.raises(redis.ResponseError, match="Function not found"):
        client.fcall("bump", 1, "n", 1)
    assert client.function_flush() is True
    caskd.restart()
    assert connect(caskd).function_list() == []


def test_restore_survives_a_restart(caskd):
    client = connect(caskd)
    client.function_load(LIBRARY)
    payload = client.function_dump()
    client.function_flush()
    client.function_load(OTHER)
    assert client.function_restore(payload, "FLUSH") is True  # other is gone
    caskd.restart()
    client = connect(caskd)
    assert library_names(client) == [b"counters"]
    client.function_load(OTHER)
    client.function_delete("counters")
    assert client.function_restore(payload, "APPEND") is True
    caskd.restart()
    assert library_names(connect(caskd)) == [b"counters", b"other"]


def test_a_loaded_library_survives_kill_9_under_appendfsync_always(caskd_factory):
    server = caskd_factory("--appendfsync", "always")
    client = connect(server)
    client.function_load(LIBRARY)
    client.function_load(OTHER)
    client.function_delete("other")
    server.kill()
    server.start()
    client = connect(server)
    assert library_names(client) == [b"counters"]
    assert client.fcall("bump", 1, "n", 2) == 2


def test_libraries_survive_bgrewriteaof(caskd):
    client = connect(caskd)
    for version in range(50):  # history the rewrite drops: only the last load is live
        client.function_load(OTHER.replace("return 'hello'", f"return 'v{version}'"),
                             replace=True)
        client.set(f"key{version}", "x" * 1000)
    client.function_load(LIBRARY)
    client.flushall()  # the keys only
    assert client.bgrewriteaof()
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0,
               timeout=30, what="the rewrite to finish")
    assert client.info("persistence")["aof_current_size"] < 5_000  # was over 50,000
    caskd.restart()
    client = connect(caskd)
    assert library_names(client) == [b"counters", b"other"]
    assert client.fcall("hello", 0) == b"v49"
    assert client.dbsize() == 0


def test_libraries_survive_debug_reload(caskd_factory):
    server = caskd_factory("--enable-debug-command", "yes")
    client = connect(server)
    client.function_load(LIBRARY)
    client.script_load("return 1")
    assert client.execute_command("DEBUG", "RELOAD")
    assert library_names(client) == [b"counters"]
    assert client.fcall("bump", 1, "n", 3) == 3


def test_the_script_cache_is_not_persisted(caskd):
    """Redis 7.0: EVALSHA after a restart gets NOSCRIPT (clients load it again)."""
    client = connect(caskd)
    sha = client.script_load("return 1")
    caskd.restart()
    with pytest.raises(redis.exceptions.NoScriptError):
        connect(caskd).evalsha(sha, 0)
