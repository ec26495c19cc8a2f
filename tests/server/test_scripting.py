"""Scripts against a real caskd process, as applications run them: redis-py's Lock
and register_script, ACL inside scripts, MONITOR, WATCH, commandstats, and a
script's writes across kill -9 (all of them, or none of them)."""

from __future__ import annotations

import contextlib
import threading

import pytest
import redis
from redis.exceptions import LockNotOwnedError

from tests.support import wait_until


@pytest.fixture
def client(caskd):
    client = caskd.client()
    yield client
    client.close()


def test_redis_py_lock_two_clients_contend(caskd, client):
    other = caskd.client()
    first = client.lock("resource", timeout=10, blocking=False)
    second = other.lock("resource", timeout=10, blocking=False)
    assert first.acquire()
    assert not second.acquire()  # held by the first client's token
    assert first.owned() and not second.owned()
    assert first.extend(20)  # LUA_EXTEND_SCRIPT
    assert 10_000 < client.pttl("resource") <= 30_000
    assert first.reacquire()  # LUA_REACQUIRE_SCRIPT: back to the full timeout
    assert 9_000 < client.pttl("resource") <= 10_000
    second.local.token = b"not-the-owner"
    with pytest.raises(LockNotOwnedError):
        second.release()  # LUA_RELEASE_SCRIPT refuses another token
    assert client.get("resource") == first.local.token
    first.release()
    assert client.get("resource") is None
    assert second.acquire()
    second.release()
    other.close()


def test_redis_py_lock_blocks_until_released(caskd, client):
    holder = client.lock("job", timeout=5)
    assert holder.acquire()
    acquired = threading.Event()

    def wait_for_lock():
        waiter = caskd.client().lock("job", timeout=5, blocking_timeout=10, sleep=0.01)
        if waiter.acquire():
            acquired.set()
            waiter.release()

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    assert not acquired.wait(0.2)
    holder.release()
    thread.join(10)
    assert acquired.is_set()


def test_register_script_survives_script_flush(client):
    """redis-py sends EVALSHA and falls back to SCRIPT LOAD on NOSCRIPT."""
    incr_by = client.register_script(
        "local value = redis.call('INCRBY', KEYS[1], ARGV[1]) return {value, #KEYS}")
    assert incr_by(keys=["counter"], args=[5]) == [5, 1]
    client.script_flush()
    assert client.script_exists(incr_by.sha) == [False]
    assert incr_by(keys=["counter"], args=[2]) == [7, 1]
    assert client.script_exists(incr_by.sha) == [True]
    with client.pipeline() as pipe:  # in a transaction: the script is loaded first
        incr_by(keys=["counter"], args=[1], client=pipe)
        pipe.get("counter")
        assert pipe.execute() == [[8, 1], b"8"]


def test_errors_reach_redis_py(client):
    client.set("text", "abc")
    with pytest.raises(redis.ResponseError, match=r"^WRONGTYPE Operation against a key"):
        client.eval("return redis.call('LPUSH', KEYS[1], 'x')", 1, "text")
    with pytest.raises(redis.ResponseError, match="user_script:1: boom"):
        client.eval("error('boom')", 0)
    with pytest.raises(redis.exceptions.NoScriptError):
        client.evalsha("0" * 40, 0)


def test_acl_applies_inside_scripts(caskd, client):
    client.acl_setuser("scripter", enabled=True, nopass=True,
                       commands=["+eval", "+get", "+set"], keys=["allowed*"])
    scripter = caskd.client(username="scripter", password="x")
    assert scripter.eval("return redis.call('SET', 'allowed1', 'v')", 0) == b"OK"
    with pytest.raises(redis.ResponseError) as denied:
        scripter.eval("return redis.call('DEL', 'allowed1')", 0)
    assert str(denied.value).startswith(
        "The user executing the script can't run this command or subcommand script: ")
    with pytest.raises(redis.ResponseError) as denied:
        scripter.eval("return redis.call('SET', 'other', 'v')", 0)
    assert "can't access at least one of the keys mentioned in the command arguments" in \
        str(denied.value)
    entry = client.acl_log(count=1)[0]
    assert (entry["context"], entry["reason"], entry["object"]) == ("lua", "key", "other")
    assert entry["client-info"]["cmd"] == "eval"  # the caller, as Redis logs it
    scripter.close()


def test_monitor_shows_the_script_then_its_commands(caskd, client):
    client.ping()  # connected (its HELLO sent) before MONITOR starts
    monitor = caskd.raw()
    monitor.send(b"MONITOR\r\n")
    assert monitor.read_line() == b"+OK\r\n"
    client.eval("redis.call('SET', 'k', 'v') return redis.call('GET', 'k')", 0)
    first, second, third = (monitor.read_line() for _ in range(3))
    assert b'"EVAL" "redis.call(' in first and b"[0 127.0.0.1:" in first
    assert second.endswith(b'[0 lua] "SET" "k" "v"\r\n')
    assert third.endswith(b'[0 lua] "GET" "k"\r\n')
    monitor.close()


def test_watch_sees_a_script_write(caskd, client):
    client.set("watched", "1")
    with client.pipeline() as pipe:
        pipe.watch("watched")
        caskd.client().eval("return redis.call('INCR', 'watched')", 0)
        pipe.multi()
        pipe.set("watched", "overwritten")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get("watched") == b"2"


def test_commandstats_count_the_script_and_its_commands(client):
    client.config_resetstat()
    client.eval("redis.call('SET', 'a', '1') redis.call('SET', 'b', '2') "
                "redis.pcall('INCR', 'nope', 'extra') return 1", 0)
    stats = client.info("commandstats")
    assert stats["cmdstat_eval"]["calls"] == 1
    assert stats["cmdstat_set"]["calls"] == 2
    assert stats["cmdstat_incr"]["rejected_calls"] == 1  # refused for its arity
    assert client.info("errorstats")["errorstat_ERR"]["count"] == 1


def test_script_writes_survive_kill_9_under_appendfsync_always(caskd_factory):
    server = caskd_factory("--appendfsync", "always")
    client = server.client()
    assert client.eval("for i = 1, 1000 do redis.call('SET', 'key:' .. i, i) end "
                       "return redis.call('DBSIZE')", 0) == 1000
    server.kill()
    server.start()
    client = server.client()
    assert client.dbsize() == 1000
    assert client.mget([f"key:{i}" for i in (1, 500, 1000)]) == [b"1", b"500", b"1000"]


def test_a_script_killed_mid_way_leaves_none_of_its_writes(caskd_factory):
    """The script's writes are one batch, written when it ends: kill -9 while it runs
    (it has logged that its writes are done and is still looping) loses all of them."""
    server = caskd_factory("--appendfsync", "always")
    server.client().set("before", "1")
    script = ("for i = 1, 1000 do redis.call('SET', 'partial:' .. i, i) end "
              "redis.log(redis.LOG_WARNING, 'writes done') "
              "local x = 0 while true do x = x + 1 end")
    runner = threading.Thread(target=_eval_ignoring_disconnect, args=(server, script))
    runner.start()
    wait_until(lambda: "writes done" in server.log(), timeout=30, what="the script's writes")
    server.kill()
    runner.join(10)
    server.start()
    client = server.client()
    assert client.get("before") == b"1"
    assert client.keys("partial:*") == []


def _eval_ignoring_disconnect(server, script: str) -> None:
    with contextlib.suppress(redis.ConnectionError):  # the server is killed under it
        server.client().eval(script, 0)


def test_info_counts_scripts_and_functions(client):
    client.script_load("return 1")
    client.function_load("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
    memory = client.info("memory")
    assert memory["number_of_cached_scripts"] == 1
    assert (memory["number_of_libraries"], memory["number_of_functions"]) == (1, 1)
    assert memory["used_memory_lua"] > 0 and memory["used_memory_vm_functions"] > 0
    assert memory["used_memory_vm_total"] == \
        memory["used_memory_lua"] + memory["used_memory_vm_functions"]


def _run_in_thread(server, script: str) -> tuple[threading.Thread, list]:
    """EVAL ``script`` from another thread; the list gets its reply or exception."""
    outcome: list = []

    def run():
        try:
            outcome.append(server.client().eval(script, 0))
        except redis.RedisError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _busy_reply(client, *command) -> str | None:
    try:
        client.execute_command(*command)
    except redis.ResponseError as exc:
        return str(exc)
    return None


def test_a_busy_script_answers_others_busy_until_killed(caskd, client):
    client.config_set("busy-reply-threshold", 100)
    thread, outcome = _run_in_thread(caskd, "local i = 0 while true do i = i + 1 end")
    wait_until(lambda: (_busy_reply(client, "PING") or "").startswith("BUSY"), timeout=20,
               what="-BUSY from a busy script")
    assert _busy_reply(client, "GET", "k") == \
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    assert _busy_reply(client, "FUNCTION", "KILL").startswith(
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL")
    assert client.script_kill() is True
    thread.join(20)
    assert str(outcome[0]).startswith("Script killed by user with SCRIPT KILL... script: ")
    assert client.ping() is True


def test_the_busy_hook_outlives_a_killed_script_and_a_threshold_turned_off(caskd, client):
    """The count hook stays set between runs: after SCRIPT KILL (which turned it into a
    line hook), and after busy-reply-threshold was off for a while, the next busy
    script is seen and killed again, and plain scripts run as before in between."""
    for threshold in ("100", "0", "100"):
        client.config_set("busy-reply-threshold", threshold)
        assert client.eval("local n = 0 for i = 1, 300000 do n = n + 1 end return n", 0) \
            == 300000
        if threshold == "0":
            continue
        thread, outcome = _run_in_thread(caskd, "while true do end")
        wait_until(lambda: (_busy_reply(client, "PING") or "").startswith("BUSY"),
                   timeout=20, what="-BUSY from a busy script")
        assert client.script_kill() is True
        thread.join(20)
        assert str(outcome[0]).startswith("Script killed by user with SCRIPT KILL... ")
        assert client.eval("return pcall(function() return 1 end)", 0) == 1


def test_a_busy_script_that_wrote_is_unkillable_but_shutdown_nosave_works(caskd_factory):
    server = caskd_factory("--busy-reply-threshold", "100", "--appendfsync", "always")
    client = server.client()
    client.set("before", "1")
    thread, _ = _run_in_thread(server, "redis.call('SET', 'written', '1') while true do end")
    wait_until(lambda: (_busy_reply(client, "SCRIPT", "KILL") or "").startswith(
        "UNKILLABLE"), timeout=20, what="-UNKILLABLE from a busy script that wrote")
    with contextlib.suppress(redis.ConnectionError):  # a connection made before it
        client.execute_command("SHUTDOWN", "NOSAVE")  # (new ones wait to be accepted)
    assert server.proc.wait(20) == 0
    thread.join(20)
    server.start()
    client = server.client()
    assert client.get("before") == b"1"
    assert client.get("written") is None  # its writes were never logged


def test_a_busy_function_shows_in_function_stats_and_function_kill_stops_it(caskd, client):
    client.config_set("lua-time-limit", 100)  # Redis's older name for the setting
    assert client.config_get("busy-reply-threshold") == {"busy-reply-threshold": "100"}
    client.function_load("#!lua name=spin\n"
                         "redis.register_function('spin', function() while true do end end)")
    resp3 = caskd.client(protocol=3)
    resp3.ping()  # connected now: new connections wait while a script is busy
    outcome: list = []

    def run():
        try:
            outcome.append(caskd.client().fcall("spin", 0, "arg"))
        except redis.RedisError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: (_busy_reply(client, "PING") or "").startswith(
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL"), timeout=20,
        what="-BUSY from a busy function")
    running = resp3.function_stats()[b"running_script"]
    assert running[b"name"] == b"spin"
    assert running[b"command"] == [b"FCALL", b"spin", b"0", b"arg"]
    assert running[b"duration_ms"] >= 100
    assert _busy_reply(client, "SCRIPT", "KILL").startswith(
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL")
    assert client.function_kill() == b"OK"
    thread.join(20)
    assert str(outcome[0]).startswith("Script killed by user with SCRIPT KILL... script: spin")


def test_client_pause_write_holds_scripts_but_not_read_only_ones(raw, other):
    raw.roundtrip("CLIENT", "PAUSE", "100000", "WRITE", reply=b"+OK\r\n")
    other.send(b"EVAL \"return redis.call('SET', 'k', 'v')\" 0\r\nGET k\r\n")  # held
    raw.roundtrip("EVAL_RO", "return redis.call('GET', 'k')", "0", reply=b"$-1\r\n")
    raw.roundtrip("EXISTS", "k", reply=b":0\r\n")
    raw.roundtrip("CLIENT", "UNPAUSE", reply=b"+OK\r\n")
    other.expect(b"+OK\r\n$1\r\nv\r\n")
