"""requirepass, AUTH and HELLO ... AUTH, compared byte for byte with a real redis-server."""

from __future__ import annotations

import pytest

from tests.compat.harness import Pair, decode
from tests.security.conftest import PASSWORD

NOAUTH = b"-NOAUTH Authentication required.\r\n"


def require_password(fresh) -> Pair:
    """Set requirepass on both servers through an already connected admin pair."""
    admin = Pair(*fresh)
    assert admin.check("CONFIG", "SET", "requirepass", PASSWORD) == b"OK"
    return admin


def test_before_auth_only_auth_hello_quit_and_reset_run(fresh):
    require_password(fresh)
    pair = Pair(*fresh)
    for command in (("PING",), ("GET", "k"), ("SET", "k", "v"), ("ACL", "WHOAMI"),
                    ("SELECT", "1"), ("CLIENT", "SETNAME", "x"), ("CONFIG", "GET", "port"),
                    ("HELLO", "3"), ("HELLO",), ("AUTH", "wrong"), ("AUTH", "default", "wrong"),
                    ("AUTH", "nobody", "x"), ("AUTH", "a", "b", "c"),
                    ("HELLO", "2", "AUTH", "default", "wrong"), ("RESET",), ("PING",),
                    ("AUTH", PASSWORD), ("PING",), ("ACL", "WHOAMI"),
                    ("RESET",), ("GET", "k"),  # RESET logs the client out again
                    ("AUTH", "default", PASSWORD), ("GET", "k")):
        pair.check(*command)
    redis, caskd = pair.both("QUIT")
    assert redis == caskd == b"+OK\r\n"
    for connection in (pair.redis, pair.caskd):
        assert connection.sock.recv(16) == b""  # closed


def test_auth_without_a_password_configured(fresh):
    pair = Pair(*fresh)
    error = pair.check("AUTH", "anything")
    assert "called without any password configured" in error[1]
    assert pair.check("AUTH", "default", "anything") == b"OK"  # nopass: any password


def test_hello_auth_and_setname_apply_in_order(fresh):
    require_password(fresh)
    pair = Pair(*fresh)
    pair.check("HELLO", "3", "SETNAME", "a b", "AUTH", "default", PASSWORD)
    assert pair.both("PING") == (NOAUTH, NOAUTH)  # the bad name came first
    pair.check("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "a b")
    pair.check("PING")  # authenticated, though the command failed afterwards
    pair.check("CLIENT", "GETNAME")
    redis, caskd = pair.both("HELLO", "2", "AUTH", "default", PASSWORD)
    assert redis.startswith(b"*14\r\n") and caskd.startswith(b"*14\r\n")


def test_setting_a_password_leaves_connected_clients_authenticated(fresh):
    admin = Pair(*fresh)
    before = Pair(*fresh)  # connected while no password was needed
    require_password(fresh)
    before.check("SET", "k", "v")
    after = Pair(*fresh)
    after.check("GET", "k")
    assert admin.check("CONFIG", "SET", "requirepass", "") == b"OK"
    after.check("GET", "k")  # no password needed any more ...
    after.check("HELLO", "2")  # ... but HELLO still wants an authenticated client


def test_default_user_off_refuses_everyone(fresh):
    admin = require_password(fresh)
    admin.check("ACL", "SETUSER", "default", "off")
    pair = Pair(*fresh)
    pair.check("PING")
    pair.check("AUTH", PASSWORD)
    pair.check("AUTH", "default", PASSWORD)
    admin.check("ACL", "SETUSER", "default", "on")
    pair.check("AUTH", PASSWORD)


@pytest.mark.parametrize("request_bytes", [
    b"*11\r\n",  # more than 10 arguments
    b"*2\r\n$4\r\nAUTH\r\n$16385\r\n",  # an argument over 16 KiB
], ids=["arguments", "bulk"])
def test_unauthenticated_requests_are_capped(fresh, request_bytes):
    require_password(fresh)
    pair = Pair(*fresh)
    replies = []
    for connection in (pair.redis, pair.caskd):
        connection.sock.sendall(request_bytes)
        replies.append((connection.reply(), connection.sock.recv(16)))
    assert replies[0] == replies[1]
    assert replies[1][0].startswith(b"-ERR Protocol error: unauthenticated")
    assert replies[1][1] == b""  # and the connection is closed


@pytest.mark.parametrize("login", [("AUTH", PASSWORD), ("HELLO", "2", "AUTH", "default", PASSWORD)],
                         ids=["auth", "hello"])
def test_authenticated_clients_may_send_large_requests(fresh, login):
    require_password(fresh)
    pair = Pair(*fresh)
    assert not any(reply.startswith(b"-") for reply in pair.both(*login))
    pair.check("SET", "big", "x" * 20000)
    pair.check("MSET", *[f"k{i}" for i in range(12)])


def test_failed_logins_are_in_the_acl_log(fresh):
    admin = require_password(fresh)
    pair = Pair(*fresh)
    pair.check("AUTH", "wrong")
    pair.check("AUTH", "wrong")
    pair.check("HELLO", "3", "AUTH", "mallory", "x")
    admin.check("AUTH", PASSWORD)
    redis, caskd = (decode(raw) for raw in admin.both("ACL", "LOG"))
    assert _log_fields(caskd) == _log_fields(redis) == [
        {b"count": 1, b"reason": b"auth", b"context": b"toplevel", b"object": b"HELLO",
         b"username": b"mallory"},
        {b"count": 2, b"reason": b"auth", b"context": b"toplevel", b"object": b"AUTH",
         b"username": b"default"}]


def _log_fields(entries: list) -> list[dict]:
    """ACL LOG entries without the fields that differ between any two servers (age,
    client description)."""
    kept = (b"count", b"reason", b"context", b"object", b"username")
    return [{k: v for k, v in zip(e[::2], e[1::2], strict=True) if k in kept} for e in entries]
