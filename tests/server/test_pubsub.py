"""Pub/sub against a real caskd process, through redis-py's own PubSub (threaded and
asyncio), and the limits Redis puts on subscribers."""

from __future__ import annotations

import asyncio
import socket
import threading

import redis
import redis.asyncio

from tests.support import wait_until


def test_redis_py_pubsub_channels_and_patterns(caskd):
    client = caskd.client()
    pubsub = client.pubsub()
    pubsub.subscribe("orders")
    pubsub.psubscribe("events.*")
    assert wait_until(lambda: pubsub.get_message(timeout=0.1))["type"] == "subscribe"
    assert wait_until(lambda: pubsub.get_message(timeout=0.1))["type"] == "psubscribe"
    assert client.publish("orders", "o-1") == 1
    assert client.publish("events.login", "alice") == 1
    assert client.publish("elsewhere", "nobody") == 0
    first = wait_until(lambda: pubsub.get_message(timeout=0.1))
    second = wait_until(lambda: pubsub.get_message(timeout=0.1))
    assert (first["type"], first["channel"], first["data"]) == ("message", b"orders", b"o-1")
    assert (second["type"], second["pattern"], second["channel"], second["data"]) == \
        ("pmessage", b"events.*", b"events.login", b"alice")
    assert client.pubsub_numsub("orders") == [(b"orders", 1)]
    assert client.pubsub_numpat() == 1
    info = client.info("stats")
    assert (info["pubsub_channels"], info["pubsub_patterns"]) == (1, 1)
    pubsub.close()
    wait_until(lambda: client.pubsub_numpat() == 0, what="the subscriber to be forgotten")


def test_run_in_thread_keeps_the_publishers_order(caskd):
    client = caskd.client()
    pubsub = client.pubsub()
    received: list[bytes] = []
    done = threading.Event()

    def handler(message) -> None:
        received.append(message["data"])
        if len(received) == 500:
            done.set()

    pubsub.subscribe(**{"feed": handler})
    worker = pubsub.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        wait_until(lambda: client.pubsub_numsub("feed") == [(b"feed", 1)])
        with client.pipeline(transaction=False) as pipe:
            for i in range(500):
                pipe.publish("feed", str(i))
            assert pipe.execute() == [1] * 500
        assert done.wait(10)
        assert received == [str(i).encode() for i in range(500)]
    finally:
        worker.stop()
        worker.join(5)
        pubsub.close()


def test_asyncio_pubsub_in_resp3(caskd):
    async def scenario() -> list:
        client = redis.asyncio.Redis(port=caskd.port, protocol=3)
        pubsub = client.pubsub()
        await pubsub.subscribe("chat")
        assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
        await client.set("key", "value")  # RESP3: normal commands between pushes
        assert await client.publish("chat", "hi") == 1
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        await pubsub.aclose()
        await client.aclose()
        return [message["channel"], message["data"]]

    assert asyncio.run(scenario()) == [b"chat", b"hi"]


def test_client_list_and_kill_know_subscribers(caskd):
    client = caskd.client()
    pubsub = client.pubsub()
    pubsub.subscribe("a", "b")
    pubsub.psubscribe("p*")
    wait_until(lambda: client.pubsub_numpat() == 1)
    [listed] = client.client_list(_type="pubsub")
    assert (listed["sub"], listed["psub"], listed["ssub"], listed["flags"]) == \
        ("2", "1", "0", "P")
    assert client.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    wait_until(lambda: client.pubsub_numsub("a") == [(b"a", 0)])
    pubsub.close()


def test_a_user_losing_channel_access_is_disconnected(caskd):
    admin = caskd.client()
    admin.acl_setuser("reader", enabled=True, nopass=True, commands=["+@all"],
                      channels=["news.*"], reset_channels=True)
    listener = redis.Redis(port=caskd.port, username="reader", password="x")
    pubsub = listener.pubsub()
    pubsub.subscribe("news.today")
    wait_until(lambda: admin.pubsub_numsub("news.today") == [(b"news.today", 1)])
    admin.acl_setuser("reader", channels=["news.*", "sport"])  # still allowed: stays
    assert admin.pubsub_numsub("news.today") == [(b"news.today", 1)]
    admin.execute_command("ACL", "SETUSER", "reader", "resetchannels", "&sport")
    wait_until(lambda: admin.pubsub_numsub("news.today") == [(b"news.today", 0)],
               what="the subscriber that lost access to be disconnected")
    pubsub.close()


def test_a_subscriber_that_does_not_read_is_disconnected_past_its_limit(caskd):
    client = caskd.client()
    client.config_set("client-output-buffer-limit", "pubsub 1mb 512kb 60")
    slow = socket.create_connection(("127.0.0.1", caskd.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nbulk\r\n")
    wait_until(lambda: client.pubsub_numsub("bulk") == [(b"bulk", 1)])
    payload = b"x" * 10_000
    published = 0
    while client.pubsub_numsub("bulk") == [(b"bulk", 1)]:
        with client.pipeline(transaction=False) as pipe:
            for _ in range(100):
                pipe.publish("bulk", payload)
            pipe.execute()
        published += 100
        assert published < 2_000, "the subscriber was never disconnected"
    assert "overcoming of output buffer limits" in caskd.log()
    assert client.ping()
    info = client.info("memory")
    assert info["used_memory_rss"] < 200 * 1024 * 1024
    slow.close()
