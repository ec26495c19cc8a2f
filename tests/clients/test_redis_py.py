"""redis-py against caskd, as applications use it: pipelines with and without
MULTI/EXEC, the transaction() helper retrying on WATCH, scan_iter, SET … GET, RESP2
and RESP3 decoding, connection pools, and the asyncio client."""

from __future__ import annotations

import threading

import pytest
import redis
import redis.asyncio


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request, caskd):
    client = caskd.client(protocol=request.param)
    yield client
    client.close()


def test_pipeline_with_and_without_a_transaction(client):
    with client.pipeline() as pipe:  # transaction=True: MULTI … EXEC
        pipe.set("a", "1").incr("a").get("a").get("missing")
        assert pipe.execute() == [True, 2, b"2", None]
    with client.pipeline(transaction=False) as pipe:
        for i in range(100):
            pipe.set(f"k{i}", i)
        pipe.mget([f"k{i}" for i in range(100)])
        results = pipe.execute()
    assert results[:100] == [True] * 100
    assert results[100] == [str(i).encode() for i in range(100)]


def test_pipeline_errors_surface_as_redis_does(client):
    client.set("text", "abc")
    with client.pipeline() as pipe:
        pipe.set("x", "1").incr("text").get("x")
        with pytest.raises(redis.ResponseError, match="not an integer"):
            pipe.execute()
    assert client.get("x") == b"1"  # a runtime error aborts nothing else
    with client.pipeline() as pipe:
        pipe.set("y", "1").execute_command("NOSUCHCOMMAND")
        with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCHCOMMAND'"):
            pipe.execute()
    assert client.get("y") is None  # a queuing error aborts everything (EXECABORT)


def test_transaction_helper_retries_when_a_watched_key_changes(caskd, client):
    """The first attempt is spoiled by another client; redis-py sees the null EXEC
    (WatchError) and runs the function again."""
    intruder = caskd.client()
    client.set("balance", 100)
    attempts = []

    def withdraw(pipe):
        balance = int(pipe.get("balance"))
        attempts.append(balance)
        if len(attempts) == 1:
            intruder.incrby("balance", 50)
        pipe.multi()
        pipe.set("balance", balance - 30)

    client.transaction(withdraw, "balance")
    assert attempts == [100, 150]
    assert client.get("balance") == b"120"


def test_transaction_helper_under_a_concurrent_writer_loses_no_update(caskd, client):
    client.set("counter", 0)
    stop = threading.Event()
    written = []

    def writer():
        other = caskd.client()
        while not stop.is_set():
            other.incr("counter")
            written.append(1)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        def double_increment(pipe):
            value = int(pipe.get("counter"))
            pipe.multi()
            pipe.set("counter", value + 2)

        for _ in range(20):
            client.transaction(double_increment, "counter")
    finally:
        stop.set()
        thread.join()
    assert int(client.get("counter")) == len(written) + 40


def test_scan_iter_and_set_get(client):
    client.mset({f"user:{i}": i for i in range(250)} | {f"order:{i}": i for i in range(50)})
    assert sorted(client.scan_iter(match="user:*", count=20)) == \
        sorted(f"user:{i}".encode() for i in range(250))
    assert client.set("user:1", "new", get=True) == b"1"
    assert client.set("fresh", "v", get=True) is None
    assert client.get("user:1") == b"new"


def test_replies_decode_to_the_right_python_types(client):
    client.set("n", 10)
    assert client.ping() is True
    assert client.incrbyfloat("n", 0.5) == 10.5
    assert client.config_get("maxclients") == {"maxclients": "10000"}
    assert client.client_info()["db"] == 0
    assert client.info("server")["redis_version"] == "7.0.15"
    assert client.exists("n", "missing") == 1
    assert client.get("missing") is None
    assert client.time()[0] > 1_600_000_000
    assert client.dbsize() == 1
    hello = client.execute_command("HELLO")
    if isinstance(hello, list):  # RESP2: the map's pairs, flat
        hello = dict(zip(hello[::2], hello[1::2], strict=True))
    assert hello[b"proto"] == client.get_connection_kwargs()["protocol"]


def test_connection_pools_share_connections_between_threads(caskd):
    pool = redis.BlockingConnectionPool(port=caskd.port, max_connections=4, timeout=10)
    client = redis.Redis(connection_pool=pool)
    errors = []

    def work(worker: int):
        try:
            for i in range(100):
                client.set(f"w{worker}:{i}", i)
                assert client.get(f"w{worker}:{i}") == str(i).encode()
        except Exception as exc:  # reported below: threads swallow exceptions
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert client.dbsize() == 800
    names = [c["id"] for c in client.client_list()]
    assert len(names) <= 4
    pool.disconnect()


async def test_asyncio_client(caskd):
    client = redis.asyncio.Redis(port=caskd.port)
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.set("a", "1").incr("a")
            assert await pipe.execute() == [True, 2]

        async def bump(pipe):
            value = int(await pipe.get("a"))
            pipe.multi()
            pipe.set("a", value * 10)

        await client.transaction(bump, "a")
        assert await client.get("a") == b"20"
        await client.mset({f"async:{i}": i for i in range(30)})
        found = [key async for key in client.scan_iter(match="async:*")]
        assert len(found) == 30
    finally:
        await client.aclose()
