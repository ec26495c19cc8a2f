"""Data survives restarts, kill -9 and compaction (BGREWRITEAOF)."""

from __future__ import annotations

import threading

from tests.support import kill_under_load, wait_until


def test_restart_keeps_data_and_ttls(caskd):
    client = caskd.client()
    pipe = client.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"k{i}", f"v{i}")
    pipe.execute()
    client.set("ttl", "x", ex=1000)
    client.delete("k5")
    client.execute_command("SELECT", 3)
    caskd.restart()
    client = caskd.client()
    assert client.dbsize() == 1000  # 999 + ttl
    assert client.get("k999") == b"v999"
    assert client.get("k5") is None
    assert 990 < client.ttl("ttl") <= 1000


def test_kill_9_with_always_loses_no_acknowledged_write(caskd_factory):
    server = caskd_factory("--appendfsync", "always")
    acknowledged = kill_under_load(
        server, lambda client, worker, i: client.set(f"w{worker}:{i}", i))
    client = server.client()
    values = _get_all(client, [f"w{worker}:{i}" for worker, i in acknowledged])
    missing = [key for key, value in zip(acknowledged, values, strict=True)
               if value != str(key[1]).encode()]
    assert missing == []


def test_kill_9_with_everysec_loses_nothing_flushed(caskd):
    client = caskd.client()
    for i in range(500):
        client.set(f"k{i}", i)  # each acknowledged after its flush to the OS
    caskd.kill()
    caskd.start()
    assert caskd.client().dbsize() == 500


def _get_all(client, keys: list[str]) -> list[bytes | None]:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
    return pipe.execute()


def _dir_size(path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.suffix in (".log", ".hint"))


def test_bgrewriteaof_under_concurrent_writes(caskd_factory):
    server = caskd_factory("--caskd-segment-size", "1mb")
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for round_ in range(5):  # lots of overwritten (dead) data
        for i in range(5000):
            pipe.set(f"key:{i}", f"{round_}:{i}" + "x" * 100)
        pipe.execute()
    before = _dir_size(server.dir)
    latest: dict[str, str] = {}
    written = [0]  # log bytes the writer added (record header 22 B + key + value)
    stop = threading.Event()

    def writer() -> None:
        other = server.client()
        n = 0
        while not stop.is_set():
            key, value = f"key:{n % 5000}", f"late:{n}"
            other.set(key, value)
            latest[key] = value
            written[0] += 22 + len(key) + len(value)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert client.bgrewriteaof() in (True, b"Background append only file rewriting started")
        wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0
                   and client.info("persistence")["aof_rewrites"] >= 1,
                   timeout=60, what="the rewrite to finish")
    finally:
        stop.set()
        thread.join()
    assert client.info("persistence")["aof_last_bgrewrite_status"] == "ok"
    expected = {f"key:{i}": latest.get(f"key:{i}", f"4:{i}" + "x" * 100) for i in range(5000)}
    values = _get_all(client, list(expected))
    assert [v.decode() for v in values] == list(expected.values())
    # What was written while the rewrite ran stays as written: the rewrite shrank the rest.
    assert _dir_size(server.dir) < before / 2 + written[0]
    server.restart()
    assert _get_all(server.client(), list(expected)) == values


def test_bgrewriteaof_while_one_runs_reports_in_progress(caskd_factory):
    server = caskd_factory()
    pipe = server.client().pipeline(transaction=False)
    for i in range(50000):
        pipe.set(f"k{i}", "v" * 1000)
    pipe.execute()
    started = b"+Background append only file rewriting started\r\n"
    busy = b"-ERR Background append only file rewriting already in progress\r\n"
    raw = server.raw()
    raw.send(b"*1\r\n$12\r\nBGREWRITEAOF\r\n" * 2)  # both in one read: the merge is running
    raw.expect(started + busy)


def test_a_value_damaged_on_disk_gets_an_error_not_wrong_data(caskd_factory):
    server = caskd_factory("--caskd-segment-size", "1mb")
    client = server.client()
    client.set("victim", "v" * 100)
    client.set("neighbour", "n" * 100)
    segment = next(server.dir.glob("*.log"))
    data = bytearray(segment.read_bytes())
    at = data.index(b"v" * 100)
    with open(segment, "r+b") as file:  # bit rot in the value, under the running server
        file.seek(at)
        file.write(b"w")
    raw = server.raw()
    raw.send(b"*2\r\n$3\r\nGET\r\n$6\r\nvictim\r\n")
    reply = raw.read_line()
    assert reply.startswith(b"-ERR the value's record in ") and b"checksum" in reply
    assert client.get("neighbour") == b"n" * 100  # the server goes on serving the rest
    wait_until(lambda: "failed its checksum" in server.log(), timeout=10, what="the log line")
