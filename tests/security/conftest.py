"""Fixtures of the security tests: one caskd and one redis-server per module, put back
to a fresh server's access rules (no password, only the default user, empty ACL log)
before each test, so that replies can be compared byte for byte."""

from __future__ import annotations

import pytest

from tests.compat.harness import Connection, RedisServer, decode
from tests.support import CaskdProcess, require_tool

PASSWORD = "s3cret"  # the password tests give the default user


def reset_access(port: int) -> None:
    """Back to a fresh server's users and password, whatever the last test left."""
    admin = Connection(port)
    try:
        for command in (("AUTH", "default", PASSWORD), ("CONFIG", "SET", "requirepass", ""),
                        ("ACL", "SETUSER", "default", "on", "nopass", "~*", "&*", "+@all"),
                        ("CONFIG", "SET", "protected-mode", "yes"), ("ACL", "LOG", "RESET")):
            admin.send(command)
            admin.reply()
        admin.send(("ACL", "USERS"))
        for name in decode(admin.reply()):
            if name != b"default":
                admin.send(("ACL", "DELUSER", name))
                admin.reply()
    finally:
        admin.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(redis port, caskd port): a real redis-server and a caskd for this module."""
    redis = RedisServer(require_tool("redis-server"), tmp_path_factory.mktemp("redis"))
    caskd = CaskdProcess(tmp_path_factory.mktemp("caskd") / "data").start()
    yield redis.port, caskd.port
    caskd.stop()
    redis.stop()


@pytest.fixture
def fresh(servers):
    """Both servers with a fresh server's access rules; compare them with
    ``Pair(*fresh)``."""
    for port in servers:
        reset_access(port)
    return servers
