"""MIGRATE between real processes: caskd to another caskd (and, in
tests/compat/test_migrate.py, to a real redis-server), and to a scripted target that
answers when the test says, to show what happens during the round trip."""

from __future__ import annotations

import socket
import threading

import pytest
import redis

from tests.support import wait_until


@pytest.fixture
def pair_of_caskds(caskd_factory):
    """(source, target): the target wants a password."""
    return caskd_factory(), caskd_factory("--requirepass", "pw")


def test_every_type_moves_to_another_caskd_and_stays_moved(pair_of_caskds):
    source_server, target_server = pair_of_caskds
    source = source_server.client()
    source.set("s", "v", px=100_000)
    source.rpush("l", "a", "b")
    source.hset("h", "f", "v")
    source.sadd("set", "1", "2")
    source.zadd("z", {"m": 1.5})
    source.xadd("x", {"f": "v"}, id="1-1")
    source.xgroup_create("x", "g", id="0")
    dumps = {key: source.dump(key) for key in ("s", "l", "h", "set", "z", "x")}
    assert source.migrate("127.0.0.1", target_server.port, "s", 3, 5000,
                          auth="pw") == b"OK"
    assert source.execute_command("MIGRATE", "127.0.0.1", target_server.port, "", 3, 5000,
                                  "AUTH2", "default", "pw", "KEYS", "l", "h", "set", "z",
                                  "x") == b"OK"
    target = target_server.client(password="pw", db=3)
    assert {key: target.dump(key) for key in dumps} == dumps
    assert 0 < target.pttl("s") <= 100_000
    assert source.dbsize() == 0
    source = source_server.restart().client()  # the deletes were logged
    assert source.dbsize() == 0
    assert target_server.restart().client(password="pw", db=3).xinfo_groups("x")[0]["name"] \
        == b"g"


def test_a_migration_inside_multi_waits_for_the_target(pair_of_caskds):
    source_server, target_server = pair_of_caskds
    source = source_server.client()
    source.set("k", "v")
    pipe = source.pipeline(transaction=True)
    pipe.migrate("127.0.0.1", target_server.port, "k", 0, 5000, copy=True, auth="pw")
    pipe.exists("k")
    assert pipe.execute() == [b"OK", 1]
    assert target_server.client(password="pw").get("k") == b"v"


def test_the_cached_connection_is_reused_and_replaced_when_closed(pair_of_caskds):
    source_server, target_server = pair_of_caskds
    source = source_server.client()
    target = target_server.client(password="pw")
    for number in range(3):
        source.set(f"k{number}", "v")
        assert source.migrate("127.0.0.1", target_server.port, f"k{number}", 0, 5000,
                              auth="pw") == b"OK"
    migrating = [c for c in target.client_list() if c["cmd"] == "restore"]
    assert len(migrating) == 1  # one connection for the three
    target.client_kill_filter(_id=migrating[0]["id"])
    source.set("again", "v")  # the cached connection is dead: a new one is made
    assert source.migrate("127.0.0.1", target_server.port, "again", 0, 5000,
                          auth="pw") == b"OK"
    assert target.exists("k0", "k1", "k2", "again") == 4


class ScriptedTarget:
    """A target that reads one MIGRATE's commands, then answers only when released."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = threading.Event()
        self.release = threading.Event()
        self.reply = b"+OK\r\n"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            while b"RESTORE" not in data or not data.endswith(b"\r\n"):
                data += conn.recv(65536)
            self.received.set()
            self.release.wait(10)
            conn.sendall(self.reply)
            conn.recv(1)  # until the source closes it

    def close(self) -> None:
        self.release.set()
        self.listener.close()


@pytest.fixture
def scripted():
    target = ScriptedTarget()
    yield target
    target.close()


def _migrate_in_background(server, port: int, timeout: int = 5000) -> dict:
    result: dict = {}

    def run() -> None:
        try:
            result["reply"] = server.client().execute_command(
                "MIGRATE", "127.0.0.1", port, "k", 1, timeout)  # db 1: so a SELECT too
        except redis.ResponseError as exc:
            result["reply"] = exc
    thread = threading.Thread(target=run)
    thread.start()
    result["thread"] = thread
    return result


def test_other_clients_are_served_during_the_round_trip(caskd, scripted):
    client = caskd.client()
    client.set("k", "v")
    scripted.reply = b"+OK\r\n+OK\r\n"  # SELECT's, RESTORE's
    migration = _migrate_in_background(caskd, scripted.port)
    scripted.received.wait(10)
    assert client.ping() and client.get("k") == b"v"  # not stalled, key still here
    assert client.info("clients")["blocked_clients"] == 1
    scripted.release.set()
    migration["thread"].join(10)
    assert migration["reply"] == b"OK"
    assert client.exists("k") == 0


def test_a_key_written_during_the_round_trip_is_kept(caskd, scripted):
    client = caskd.client()
    client.set("k", "old")
    scripted.reply = b"+OK\r\n+OK\r\n"
    migration = _migrate_in_background(caskd, scripted.port)
    scripted.received.wait(10)
    client.set("k", "new")  # after the payload was made: the target gets "old"
    scripted.release.set()
    migration["thread"].join(10)
    assert migration["reply"] == b"OK"
    assert client.get("k") == b"new"


def test_a_silent_target_times_out_and_the_key_stays(caskd, scripted):
    client = caskd.client()
    client.set("k", "v")
    migration = _migrate_in_background(caskd, scripted.port, timeout=300)
    wait_until(lambda: "reply" in migration, timeout=10, what="MIGRATE to time out")
    assert str(migration["reply"]) == "IOERR error or timeout reading to target instance"
    assert client.get("k") == b"v"


def test_a_target_error_after_select_is_relayed(caskd, scripted):
    client = caskd.client()
    client.set("k", "v")
    scripted.reply = b"+OK\r\n-ERR Bad data format\r\n"
    scripted.release.set()
    with pytest.raises(redis.ResponseError,
                       match=r"^Target instance replied with error: ERR Bad data format$"):
        client.migrate("127.0.0.1", scripted.port, "k", 1, 5000)
    assert client.get("k") == b"v"


def test_migrations_are_counted_in_commandstats(pair_of_caskds):
    source_server, target_server = pair_of_caskds
    source = source_server.client()
    source.set("k", "v")
    source.migrate("127.0.0.1", target_server.port, "k", 0, 5000, auth="pw")
    source.set("k", "v")  # the target has it now: BUSYKEY
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        source.migrate("127.0.0.1", target_server.port, "k", 0, 5000)
    stats = source.info("commandstats")["cmdstat_migrate"]
    assert (stats["calls"], stats["failed_calls"]) == (2, 1)
