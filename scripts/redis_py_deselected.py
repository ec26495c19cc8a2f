"""What `make test-peers` leaves out of redis-py's own suite, each with its reason.

Node ids are relative to the root of the pinned redis-py sdist. A test is left out
for a reason its list names, one list per reason, so a later session can remove a
whole list when its reason goes away.
"""

from __future__ import annotations

# The test files the issue names (issue 17), run whole but for what is listed below.
TEST_FILES = (
    "tests/test_commands.py",
    "tests/test_pubsub.py",
    "tests/test_scripting.py",
    "tests/test_lock.py",
)

# Tests redis-py marks as needing a setup caskd (and a lone redis-server) is not.
DESELECTED_MARKERS: dict[str, str] = {
    "onlycluster": "needs a Redis Cluster (caskd is a single node, as is the control)",
    "redismod": "needs Redis Stack's modules (caskd loads no modules)",
    "replica": "needs a replica listening on localhost:6380 (not part of this setup)",
    "ssl": "needs a TLS listener on localhost:6666 (not part of this setup)",
}

# Fail against redis-server 7.0.15 too: redis-py 8.1 expects a newer Redis.
REDIS_PY_ON_REDIS_7_0: dict[str, str] = {
    "tests/test_commands.py::TestRedisCommands::test_acl_getuser_setuser":
        "expects ACL GETUSER to keep '-@geo' after '-@all', as Redis 7.2 does; "
        "7.0 drops the redundant rule",
    "tests/test_commands.py::TestRedisCommands::test_acl_log":
        "expects a third ACL LOG entry for the CLIENT SETINFO redis-py sends on connect; "
        "7.0 has no CLIENT SETINFO (an unknown subcommand is not logged)",
    "tests/test_commands.py::TestRedisCommands::test_xgroup_create_entriesread":
        "expects XINFO GROUPS' lag as Redis 7.2 computes it (7.0 answers -6, not 1)",
}


def deselected() -> dict[str, str]:
    """Every deselected node id with its reason (a test in two lists keeps the first)."""
    merged: dict[str, str] = {}
    for group in (REDIS_PY_ON_REDIS_7_0,):
        for node, reason in group.items():
            merged.setdefault(node, reason)
    return merged
