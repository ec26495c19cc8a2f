"""Protected mode: with no password, a server bound to a public address serves only
loopback clients; the others get Redis's DENIED explanation."""

from __future__ import annotations

import socket

import pytest

from server.security import DENIED, protected_mode_refuses
from tests.compat.harness import RedisServer
from tests.security.conftest import PASSWORD
from tests.support import require_tool

# Redis 7.0 trusts only peers that are exactly 127.0.0.1 or ::1, so a client on
# another loopback address stands in for an outside one and no traffic leaves the host.
OUTSIDE = "127.0.0.2"


def first_reply(address: str, port: int) -> bytes:
    """What the server answers a PING sent from ``address``, and ``<closed>`` if it
    then closes the connection (a second PING tells)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(address, 0)) as sock:
        sock.sendall(b"PING\r\n")
        reply = _line(sock)
        try:
            sock.sendall(b"PING\r\n")
            return reply + (b"" if _line(sock) else b"<closed>")
        except ConnectionError:
            return reply + b"<closed>"


def _line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize(("protected", "nopass", "peer", "refused"), [
    (True, True, ("192.0.2.7", 5000), True),
    (True, True, ("10.1.2.3", 5000), True),
    (True, True, ("2001:db8::1", 5000, 0, 0), True),
    (True, True, ("127.0.0.1", 5000), False),
    (True, True, ("127.3.4.5", 5000), True),  # Redis 7.0 trusts only 127.0.0.1 and ::1
    (True, True, ("::1", 5000, 0, 0), False),
    (True, True, ("::ffff:127.0.0.1", 5000, 0, 0), True),
    (True, True, "/tmp/caskd.sock", False),  # a Unix socket is local
    (True, False, ("192.0.2.7", 5000), False),  # the default user has a password
    (False, True, ("192.0.2.7", 5000), False),
])
def test_the_rule(protected, nopass, peer, refused):
    assert protected_mode_refuses(protected, nopass, peer) is refused


def test_outside_clients_are_refused_as_redis_refuses_them(caskd_factory, tmp_path):
    outside = OUTSIDE
    redis = RedisServer(require_tool("redis-server"), tmp_path / "redis")
    try:  # both listen on loopback only: the peer's address is what counts
        assert first_reply(outside, redis.port) == DENIED + b"<closed>"
    finally:
        redis.stop()
    caskd = caskd_factory()
    assert first_reply(outside, caskd.port) == DENIED + b"<closed>"
    assert first_reply("127.0.0.1", caskd.port) == b"+PONG\r\n"
    client = caskd.client()
    assert client.info("stats")["rejected_connections"] == 1
    client.config_set("requirepass", PASSWORD)  # a password lets them in, to AUTH
    assert first_reply(outside, caskd.port) == b"-NOAUTH Authentication required.\r\n"
    client = caskd.client(password=PASSWORD)
    client.config_set("requirepass", "")
    client.config_set("protected-mode", "no")
    assert first_reply(outside, caskd.port) == b"+PONG\r\n"
