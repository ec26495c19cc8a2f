"""kombu's Redis transport: a fanout exchange (carried by PUBLISH/PSUBSCRIBE)
delivers each message to every bound queue's consumer; a direct queue (a list)
to one."""

from __future__ import annotations

import contextlib

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from tests.support import wait_until


class Listener:
    """One consumer process's view: a connection, a queue bound to ``exchange``."""

    def __init__(self, url: str, exchange: Exchange, name: str) -> None:
        self.connection = Connection(url)
        self.received: list[dict] = []
        queue = Queue(name, exchange, channel=self.connection.default_channel)
        self.consumer = Consumer(self.connection.default_channel, [queue],
                                 callbacks=[self._on_message], accept=["json"])
        self.consumer.consume()

    def _on_message(self, body, message) -> None:
        self.received.append(body)
        message.ack()

    def drain(self, timeout: float = 0.05) -> None:
        with contextlib.suppress(TimeoutError):
            self.connection.drain_events(timeout=timeout)

    def close(self) -> None:
        self.connection.release()


def test_fanout_reaches_every_bound_queue(target):
    news = Exchange("news", type="fanout", durable=False)
    listeners = [Listener(target.url(), news, f"reader-{i}") for i in range(2)]
    try:
        with target.client() as client:
            def subscribed() -> bool:
                for listener in listeners:
                    listener.drain()
                listening = [entry for entry in client.client_list()
                             if int(entry["psub"]) + int(entry["sub"]) > 0]
                return len(listening) >= 2
            wait_until(subscribed, timeout=20, what="both consumers to subscribe")
        with Connection(target.url()) as connection:
            producer = Producer(connection.default_channel, exchange=news,
                                serializer="json")
            for n in range(3):
                producer.publish({"n": n})

        def everyone_has_all() -> bool:
            for listener in listeners:
                listener.drain()
            return all(len(listener.received) == 3 for listener in listeners)
        wait_until(everyone_has_all, timeout=20, what="every consumer to get every message")
        assert [listener.received for listener in listeners] == [[{"n": 0}, {"n": 1},
                                                                  {"n": 2}]] * 2
    finally:
        for listener in listeners:
            listener.close()


def test_direct_queue_delivers_each_message_once(target):
    with Connection(target.url()) as connection, connection.SimpleQueue("work") as simple:
        simple.put({"job": 1}, serializer="json")
        with Connection(target.url()) as worker, worker.SimpleQueue("work") as taken:
            message = taken.get(timeout=10)
            assert message.payload == {"job": 1}
            message.ack()
            with pytest.raises(taken.Empty):
                taken.get(timeout=0.2)
