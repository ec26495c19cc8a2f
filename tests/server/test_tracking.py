"""Client-side caching against a real caskd process: a RESP3 client that tracks the
keys it reads is told, by a push frame, when another client changes one of them.
(redis-py's own client-side cache refuses servers older than Redis 7.4, and caskd
answers HELLO as 7.0.15 does, so the frames are read raw.)"""

from __future__ import annotations

import redis

from tests.compat.harness import Connection
from tests.support import wait_until


def test_a_tracking_client_hears_of_other_clients_writes(caskd):
    admin = caskd.client()
    admin.set("greeting", "hello")
    cached = Connection(caskd.port)
    for command in (("HELLO", "3"), ("CLIENT", "TRACKING", "ON"), ("GET", "greeting")):
        cached.send(command)
        cached.reply()
    assert admin.info("clients")["tracking_clients"] == 1
    assert admin.info("stats")["tracking_total_keys"] == 1
    admin.set("greeting", "bonjour")
    assert cached.reply() == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$8\r\ngreeting\r\n"
    admin.expire("greeting", 100)  # not read again since: nothing more to say
    cached.send(("GET", "greeting"))
    assert cached.reply() == b"$7\r\nbonjour\r\n"
    admin.flushall()
    assert cached.reply() == b">2\r\n$10\r\ninvalidate\r\n_\r\n"
    cached.close()


def test_tracking_clients_are_listed_and_forgotten(caskd):
    admin = caskd.client()
    tracker = redis.Redis(port=caskd.port, protocol=3, single_connection_client=True)
    tracker.execute_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:")
    listed = [c for c in admin.client_list() if "t" in c["flags"]]
    assert [c["flags"] for c in listed] == ["tB"]
    assert admin.info("stats")["tracking_total_prefixes"] == 1
    tracker.close()
    wait_until(lambda: admin.info("clients")["tracking_clients"] == 0)
    assert admin.info("stats")["tracking_total_prefixes"] == 0
