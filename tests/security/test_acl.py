"""ACL users and their rules, compared byte for byte with a real redis-server where the
reply does not depend on which commands the server has."""

from __future__ import annotations

import pytest

from tests.compat.differences import ACL_RULE_ORDER
from tests.compat.harness import Connection, Pair, decode
from tests.security.conftest import PASSWORD
from tests.security.test_auth import _log_fields

ALICE = ("ACL", "SETUSER", "alice", "on", ">pw", "~user:*", "-@all", "+get", "+set", "+mget",
         "+config|get", "+select|0")



def ask(connection: Connection, *args) -> bytes:
    """One server's raw reply (where the two servers are not compared)."""
    connection.send(args)
    return connection.reply()


@pytest.mark.parametrize("rule", [
    "+nosuch", "+@nosuch", "-nosuch", "foo", "#abc", "#" + "A" * 64, "<never-set",
    "!" + "0" * 64, "+config|get|x", "+config|nosuch", "-select|0", "+select|", "~a b",
])
def test_bad_rules_are_refused_with_redis_messages(fresh, rule):
    pair = Pair(*fresh)
    pair.check("ACL", "SETUSER", "bob", rule)
    pair.check("ACL", "GETUSER", "bob")  # nothing was created


def test_bad_usage_matches_redis(fresh):
    pair = Pair(*fresh)
    for command in (("ACL",), ("ACL", "nosuch"), ("ACL", "WHOAMI", "x"), ("ACL", "CAT", "a", "b"),
                    ("ACL", "CAT", "nosuch"), ("ACL", "SETUSER", "a b"),
                    ("ACL", "SETUSER", "u", "~x", "allkeys", "~y"),
                    ("ACL", "DELUSER", "default"), ("ACL", "GETUSER", "nobody"),
                    ("ACL", "GENPASS", "0"), ("ACL", "GENPASS", "4097"), ("ACL", "GENPASS", "x"),
                    ("ACL", "GENPASS", "1", "2"), ("ACL", "LOG", "x"), ("ACL", "LOG", "1", "2"),
                    ("ACL", "SAVE"), ("ACL", "LOAD"), ("ACL", "DRYRUN", "nobody", "get", "x"),
                    ("ACL", "DRYRUN", "default", "nosuch"), ("ACL", "DRYRUN", "default", "get"),
                    ("ACL", "HELP")):
        pair.check(*command)


@pytest.mark.parametrize("protocol", [2, 3])
def test_users_are_listed_as_redis_lists_them(fresh, protocol):
    pair = Pair(*fresh, protocol=protocol)
    for command in (ALICE, ("ACL", "SETUSER", "bob"),
                    ("ACL", "SETUSER", "carol", "on", "nopass", "allkeys", "allcommands",
                     "-@dangerous"),
                    ("ACL", "SETUSER", "dave", "on", "#" + "ab" * 32, ">x", ">x", "<x", "~a",
                     "~b", "~a", b"~bin\xff*", "&news.*", "+@all", "-config", "+config|get",
                     "-flushall"),
                    ("ACL", "SETUSER", "erin", "reset", "on", "nopass", "skip-sanitize-payload"),
                    ("ACL", "SETUSER", "default", ">pw"),
                    ("CONFIG", "SET", "requirepass", PASSWORD)):  # replaces the default's passwords
        pair.check(*command)
    pair.check("ACL", "LIST", allow=ACL_RULE_ORDER)
    pair.check("ACL", "USERS")
    for name in ("default", "alice", "bob", "carol", "dave", "erin"):
        pair.check("ACL", "GETUSER", name, allow=ACL_RULE_ORDER)
    pair.check("ACL", "DELUSER", "bob", "nobody", "carol")
    pair.check("ACL", "USERS")


def test_permissions_are_checked_as_redis_checks_them(fresh):
    admin = Pair(*fresh)
    admin.check(*ALICE)
    alice = Pair(*fresh)
    alice.check("AUTH", "alice", "pw")
    for command in (("ACL", "WHOAMI"), ("GET", "user:1"), ("SET", "user:1", "v"), ("GET", "x"),
                    ("SET", "x", "v"), ("MGET", "user:1", "user:2"), ("MGET", "user:1", "x"),
                    ("DEL", "user:1"), ("PING",), ("CONFIG", "GET", "hz"),
                    ("CONFIG", "SET", "hz", "10"), ("SELECT", "0"), ("SELECT", "1"),
                    ("ECHO", "x"), ("AUTH", "alice", "pw"), ("CLIENT", "ID")):
        alice.check(*command)
    redis, caskd = alice.both("HELLO", "2")  # no_auth commands need no permission
    assert redis.startswith(b"*14\r\n") and caskd.startswith(b"*14\r\n")
    # A change of rules applies at once to the connected client.
    admin.check("ACL", "SETUSER", "alice", "+del", "+@keyspace", "allkeys")
    for command in (("DEL", "user:1"), ("GET", "x"), ("EXISTS", "x"), ("FLUSHALL",)):
        alice.check(*command)
    admin.check("ACL", "SETUSER", "alice", "off")  # a logged-in client is not logged out
    alice.check("GET", "x")
    redis, caskd = (decode(raw) for raw in admin.both("ACL", "LOG"))
    assert _log_fields(caskd) == _log_fields(redis)
    assert len(redis) == 8


def test_denied_command_fails_the_transaction_and_exec_checks_again(fresh):
    admin = Pair(*fresh)
    admin.check("ACL", "SETUSER", "m", "on", "nopass", "~*", "+@all")
    user = Pair(*fresh)
    user.check("AUTH", "m", "x")
    for command in (("MULTI",), ("SET", "k", "v"), ("GET", "k"), ("DEL", "k")):
        user.check(*command)
    admin.check("ACL", "SETUSER", "m", "-set", "resetkeys", "~k")
    user.check("EXEC")  # SET is refused now, the rest runs
    for command in (("MULTI",), ("SET", "k", "v"), ("GET", "k"), ("EXEC",)):
        user.check(*command)
    redis, caskd = (decode(raw) for raw in admin.both("ACL", "LOG"))
    assert _log_fields(caskd) == _log_fields(redis)
    assert _log_fields(redis)[0][b"context"] == b"multi"


def test_deleting_a_user_disconnects_its_clients(fresh):
    admin = Pair(*fresh)
    admin.check("ACL", "SETUSER", "temp", "on", "nopass", "~*", "+@all")
    other, itself = Pair(*fresh), Pair(*fresh)
    other.check("AUTH", "temp", "x")
    itself.check("AUTH", "temp", "x")
    itself.check("ACL", "DELUSER", "temp")  # the reply still comes, then the close
    for pair in (other, itself):
        for connection in (pair.redis, pair.caskd):
            assert connection.sock.recv(16) == b""
    admin.check("ACL", "USERS")


def test_dryrun(fresh):
    pair = Pair(*fresh)
    pair.check(*ALICE)
    for command in (("get", "user:1"), ("get", "x"), ("del", "user:1"), ("mget", "user:1", "y"),
                    ("config", "get", "port"), ("config", "set", "hz", "10"),
                    ("select", "0"), ("select", "1"), ("config", "get"), ("config",),
                    ("config", "nosuch")):
        pair.check("ACL", "DRYRUN", "alice", *command)


def test_categories(fresh):
    """Each category holds the same commands, among those both servers have
    (differences.ACL_CAT_COMMANDS)."""
    pair = Pair(*fresh)
    pair.check("ACL", "CAT")
    redis_has, caskd_has = (set(decode(raw)) for raw in pair.both("COMMAND", "LIST"))
    for category in decode(pair.both("ACL", "CAT")[0]):
        redis, caskd = (set(decode(raw)) for raw in pair.both("ACL", "CAT", category))
        assert caskd & redis_has == redis & caskd_has, category
    assert ask(pair.caskd, "ACL", "CAT", "READ") == ask(pair.caskd, "ACL", "CAT", "read")


def test_every_command_is_in_redis_categories(fresh):
    """The table's flags and declared categories give each command Redis's categories."""
    pair = Pair(*fresh)
    caskd_rows = decode(ask(pair.caskd, "COMMAND"))
    for row in caskd_rows:
        redis_rows = decode(ask(pair.redis, "COMMAND", "INFO", row[0]))[0]
        if redis_rows is None:
            continue  # a command Redis 7.0 does not have
        _same_categories(row, redis_rows)


def _same_categories(caskd_row: list, redis_row: list) -> None:
    assert set(caskd_row[6]) == set(redis_row[6]), caskd_row[0]
    redis_subs = {sub[0]: sub for sub in redis_row[9]}
    for sub in caskd_row[9]:
        if sub[0] in redis_subs:
            _same_categories(sub, redis_subs[sub[0]])


def test_genpass(fresh):
    pair = Pair(*fresh)
    for bits, length in ((None, 64), (1, 1), (5, 2), (128, 32), (4096, 1024)):
        password = decode(ask(pair.caskd, "ACL", "GENPASS", *([bits] if bits else [])))
        assert len(password) == length
        int(password, 16)
    assert ask(pair.caskd, "ACL", "GENPASS") != ask(pair.caskd, "ACL", "GENPASS")


def test_setuser_arguments_are_redacted_in_the_slow_log(fresh):
    pair = Pair(*fresh)
    pair.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        pair.check("SLOWLOG", "RESET")
        pair.check("ACL", "SETUSER", "zz", "on", ">secret")
    finally:
        pair.check("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    redis, caskd = (decode(raw) for raw in pair.both("SLOWLOG", "GET"))
    assert [entry[3] for entry in caskd] == [entry[3] for entry in redis]
    assert [b"ACL", b"SETUSER", b"(redacted)", b"(redacted)", b"(redacted)"] in \
        [entry[3] for entry in redis]


def test_client_kill_by_user(fresh):
    admin = Pair(*fresh)
    admin.check("ACL", "SETUSER", "k", "on", "nopass", "~*", "+@all")
    victim = Pair(*fresh)
    victim.check("AUTH", "k", "x")
    admin.check("CLIENT", "KILL", "USER", "nobody")
    assert admin.check("CLIENT", "KILL", "USER", "k") == 1
    for connection in (victim.redis, victim.caskd):
        assert connection.sock.recv(16) == b""
