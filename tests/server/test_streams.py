"""Streams through a real caskd: entries, groups, pending entries and consumers
survive restart, DEBUG RELOAD, BGREWRITEAOF and kill -9 (acknowledged XADDs and
XACKs included); consumers of a group share work and recover a dead one's."""

from __future__ import annotations

import threading

import redis

from tests.support import kill_under_load, wait_until


def dump(client: redis.Redis, key: str = "s") -> tuple:
    """Everything a client can see of a stream, idle times left out."""
    info = client.xinfo_stream(key, full=True)
    for group in info["groups"]:
        for consumer in group["consumers"]:
            consumer.pop(b"seen-time")
    return (client.xrange(key), info, client.xinfo_groups(key), client.object("encoding", key),
            client.type(key), client.execute_command("XTRIM", key, "MAXLEN", "~", "1000000"))


def fill(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(1, 600):
        pipe.xadd("s", {"n": i, "payload": "x" * (i % 70)}, id=f"{1000 + i // 4}-*")
    pipe.xdel("s", "1010-1", "1020-0")
    pipe.xtrim("s", maxlen=500, approximate=True)
    pipe.xtrim("s", maxlen=450, approximate=False)
    pipe.xgroup_create("s", "workers", id="0")
    pipe.xgroup_create("s", "audit", id="0")
    pipe.xgroup_create("empty", "g", id="$", mkstream=True)
    pipe.execute()
    client.xreadgroup("workers", "alice", {"s": ">"}, count=30)
    client.xreadgroup("workers", "bob", {"s": ">"}, count=20)
    pending = client.xpending_range("s", "workers", "-", "+", 100)
    client.xack("s", "workers", *[entry["message_id"] for entry in pending[:10]])
    client.xclaim("s", "workers", "carol", 0, [pending[20]["message_id"]], retrycount=5)
    client.xreadgroup("workers", "alice", {"s": "0"}, count=3)  # history: delivery counts
    client.xgroup_createconsumer("s", "audit", "idle-one")
    client.xreadgroup("audit", "dave", {"s": ">"}, count=5, noack=True)
    client.execute_command("XSETID", "s", "99999-0", "ENTRIESADDED", "10000")


def test_restart_and_debug_reload_give_back_the_same_streams(caskd_factory):
    caskd = caskd_factory("--enable-debug-command", "local")
    client = caskd.client()
    fill(client)
    before = dump(client), dump(client, "empty")
    groups = {group["name"]: group for group in before[0][2]}
    assert len(before[0][0]) == 450 and groups[b"workers"]["pending"] == 40
    assert groups[b"audit"]["consumers"] == 2 and groups[b"audit"]["pending"] == 0
    assert client.execute_command("DEBUG", "RELOAD") == b"OK"
    assert (dump(client), dump(client, "empty")) == before
    assert client.execute_command("DEBUG", "LOADAOF") == b"OK"  # the log is the AOF
    assert (dump(client), dump(client, "empty")) == before
    caskd.restart()
    client = caskd.client()
    assert (dump(client), dump(client, "empty")) == before


def _start_rewrite(client: redis.Redis) -> bool:
    try:
        return client.bgrewriteaof() is not None
    except redis.ResponseError as error:  # an automatic compaction runs
        assert "already in progress" in str(error)
        return False


def test_bgrewriteaof_writes_a_stream_as_its_contents(caskd):
    """A capped stream written 20,000 times compacts to its last entries and its
    groups; what is written during the rewrite is kept too."""
    client = caskd.client()
    pipe = client.pipeline(transaction=False)
    for i in range(20_000):
        pipe.xadd("capped", {"n": i}, id=f"{i + 1}-0", maxlen=10, approximate=False)
    pipe.execute()
    fill(client)
    wait_until(lambda: _start_rewrite(client), timeout=30,
               what="a rewrite to start (after any automatic compaction)")
    client.xadd("s", {"during": "the rewrite"})
    client.xack("s", "workers", client.xpending_range("s", "workers", "-", "+", 1)[0]["message_id"])
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0,
               timeout=30, what="the rewrite to finish")
    before = dump(client), dump(client, "capped")
    assert len(before[1][0]) == 10
    assert client.info("persistence")["aof_current_size"] < 200_000
    caskd.restart()
    client = caskd.client()
    assert (dump(client), dump(client, "capped")) == before


def test_kill_9_with_always_loses_no_acknowledged_xadd_or_xack(caskd_factory):
    """Each writer adds an entry, reads it through the group and acknowledges every
    second one; after kill -9 every acknowledged XADD is there, every acknowledged
    XACK too, and each entry a reply delivered is pending or acknowledged."""
    server = caskd_factory("--appendfsync", "always")
    setup = server.client()
    for worker in range(4):
        setup.xgroup_create(f"s{worker}", "g", id="$", mkstream=True)

    def write(client, worker: int, i: int) -> None:
        key = f"s{worker}"
        stream_id = client.xadd(key, {"i": i}, id=f"{i + 1}-0")
        assert client.xreadgroup("g", "c", {key: ">"}, count=1)[0][1][0][0] == stream_id
        if i % 2:
            assert client.xack(key, "g", stream_id) == 1

    acknowledged = kill_under_load(server, write, acknowledged_at_least=400)
    client = server.client()
    for worker in range(4):
        done = sorted(i for w, i in acknowledged if w == worker)
        key = f"s{worker}"
        ids = [entry_id for entry_id, _ in client.xrange(key)]
        assert ids[:len(done)] == [b"%d-0" % (i + 1) for i in done]  # all, in order
        assert len(ids) <= len(done) + 1  # at most the one in flight
        pending = {entry["message_id"] for entry in
                   client.xpending_range(key, "g", "-", "+", 100_000)}
        for i in done:
            assert (b"%d-0" % (i + 1) in pending) == (i % 2 == 0)
        group = client.xinfo_groups(key)[0]
        assert int(group["last-delivered-id"].split(b"-")[0]) >= done[-1] + 1


def test_a_dead_consumers_entries_are_claimed_by_the_others(caskd):
    """Three consumers share a group's work; one dies with entries pending, and
    XAUTOCLAIM hands them to the survivors, who acknowledge everything."""
    client = caskd.client()
    client.xgroup_create("jobs", "workers", id="0", mkstream=True)
    for i in range(60):
        client.xadd("jobs", {"job": i})
    done: dict[str, list[bytes]] = {"ann": [], "ben": []}

    def work(name: str) -> None:
        worker = caskd.client()
        while entries := worker.xreadgroup("workers", name, {"jobs": ">"}, count=5):
            for entry_id, _ in entries[0][1]:
                done[name].append(entry_id)
                worker.xack("jobs", "workers", entry_id)

    dead = caskd.client()
    lost = [entry_id for entry_id, _ in dead.xreadgroup("workers", "cid", {"jobs": ">"},
                                                        count=12)[0][1]]
    dead.close()  # it dies without acknowledging
    threads = [threading.Thread(target=work, args=(name,)) for name in done]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert client.xpending("jobs", "workers")["consumers"] == [{"name": b"cid", "pending": 12}]
    cursor, claimed, deleted = client.xautoclaim("jobs", "workers", "ann", min_idle_time=0,
                                                 start_id="0-0", count=5)
    assert [entry_id for entry_id, _ in claimed] == lost[:5] and deleted == []
    assert cursor == lost[5]
    cursor, claimed, _ = client.xautoclaim("jobs", "workers", "ben", 0, cursor, count=100)
    assert cursor == b"0-0" and [entry_id for entry_id, _ in claimed] == lost[5:]
    client.xack("jobs", "workers", *lost)
    assert client.xpending("jobs", "workers")["pending"] == 0
    # Ids in stream order, not as bytes: "5-10" comes after "5-2".
    in_stream_order = sorted(done["ann"] + done["ben"] + lost,
                             key=lambda entry_id: tuple(map(int, entry_id.split(b"-"))))
    assert in_stream_order == [e for e, _ in client.xrange("jobs")]
    consumers = {c["name"]: c["pending"] for c in client.xinfo_consumers("jobs", "workers")}
    assert consumers == {b"ann": 0, b"ben": 0, b"cid": 0}


def test_a_restored_stream_survives_a_restart(caskd):
    """RESTORE logs the stream whole: its entries, groups and pending entries are
    there after a restart, and consumers go on where they were."""
    client = caskd.client()
    client.xadd("s", {"f": "v"}, id="1-0")
    client.xadd("s", {"f": "w"}, id="2-0")
    client.xgroup_create("s", "g", id="0")
    client.xreadgroup("g", "c", {"s": ">"}, count=1)
    client.restore("copy", 0, client.dump("s"))
    client = caskd.restart().client()
    assert client.xrange("copy") == client.xrange("s")
    assert client.xpending("copy", "g")["pending"] == 1
    assert client.xreadgroup("g", "c", {"copy": ">"}) == [[b"copy", [(b"2-0", {b"f": b"w"})]]]
