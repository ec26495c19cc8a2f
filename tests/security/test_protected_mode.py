"""Protected mode: with no password, a server bound to a public address serves only
loopback clients; the others get Redis's DENIED explanation."""

from __future__ import annotations

import fcntl
import socket
import struct

import pytest

from server.security import DENIED, protected_mode_refuses
from tests.compat.harness import RedisServer
from tests.security.conftest import PASSWORD
from tests.support import require_tool

SIOCGIFADDR = 0x8915


def outside_address() -> str:
    """An IPv4 address of this machine's other than loopback, to connect from."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR,
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:  # no IPv4 address on this interface
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                return address
    pytest.skip("this machine has no IPv4 address but loopback (the rule itself is "
                "tested by test_the_rule)")


def first_reply(address: str, port: int) -> bytes:
    """What the server answers a PING from ``address``, and ``<closed>`` if it then
    closes the connection (a second PING tells)."""
    with socket.create_connection((address, port), timeout=5) as sock:
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
    (True, True, ("127.3.4.5", 5000), False),
    (True, True, ("::1", 5000, 0, 0), False),
    (True, True, ("::ffff:127.0.0.1", 5000, 0, 0), False),
    (True, True, "/tmp/caskd.sock", False),  # a Unix socket is local
    (True, False, ("192.0.2.7", 5000), False),  # the default user has a password
    (False, True, ("192.0.2.7", 5000), False),
])
def test_the_rule(protected, nopass, peer, refused):
    assert protected_mode_refuses(protected, nopass, peer) is refused


def test_outside_clients_are_refused_as_redis_refuses_them(caskd_factory, tmp_path):
    outside = outside_address()
    redis = RedisServer(require_tool("redis-server"), tmp_path / "redis")
    try:
        admin = socket.create_connection(("127.0.0.1", redis.port))
        admin.sendall(b"CONFIG SET bind 0.0.0.0\r\n")
        assert admin.recv(16) == b"+OK\r\n"
        assert first_reply(outside, redis.port) == DENIED + b"<closed>"
    finally:
        redis.stop()
    caskd = caskd_factory("--bind", "0.0.0.0")
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
