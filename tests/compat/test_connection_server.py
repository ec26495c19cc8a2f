"""Transactions, connection and server commands, caskd against redis-server: the same
commands on both, replies compared byte for byte in RESP2 and RESP3."""

from __future__ import annotations

import pytest

from tests.compat.differences import CONFIG_GET_ORDER


def run(pair, *commands: tuple) -> None:
    for command in commands:
        pair.check(*command)


def test_transaction_replies_and_runtime_errors(pair):
    run(pair,
        ("SET", "text", "abc"),
        ("MULTI",), ("SET", "n", "1"), ("INCR", "n"), ("INCR", "text"), ("GET", "n"),
        ("INCRBYFLOAT", "f", "1.5"), ("GET", "missing"), ("EXEC",),
        ("MULTI",), ("EXEC",),
        ("MULTI",), ("SET", "x", "1"), ("DISCARD",), ("GET", "x"))


def test_transaction_errors(pair):
    run(pair,
        ("EXEC",), ("DISCARD",), ("WATCH",), ("UNWATCH", "x"), ("MULTI", "x"),
        ("MULTI",), ("MULTI",), ("WATCH", "k"), ("SET", "k", "v"), ("EXEC",),
        ("MULTI",), ("SET", "k", "v"), ("NOSUCH",), ("EXEC",),
        ("MULTI",), ("SET", "k", "v"), ("GET",), ("EXEC",),
        ("MULTI",), ("SAVE",), ("SHUTDOWN",), ("EXEC",),
        ("MULTI",), ("SET", "a", "1"), ("EXEC", "x"), ("EXEC",), ("GET", "a"),
        ("MULTI",), ("DISCARD", "x"), ("DISCARD",))


@pytest.mark.parametrize("change", [
    ("SET", "k", "same"), ("DEL", "k"), ("EXPIRE", "k", "100"), ("RENAME", "k", "k2"),
    ("APPEND", "k", "x"), ("FLUSHDB",), ("FLUSHALL",), ("SWAPDB", "0", "1"),
    ("DEL", "other"), ("SET", "k", "v", "NX"), ("PERSIST", "k"), ("GET", "k"),
    ("SELECT", "1"), ("FLUSHDB", "ASYNC")])
def test_watch_sees_what_redis_counts_as_a_change(pair, writer, change):
    run(pair, ("SET", "k", "same"), ("WATCH", "k", "absent"))
    writer.check(*change)
    run(pair, ("MULTI",), ("PING",), ("EXEC",))


def test_client_command_errors(pair):
    run(pair,
        ("CLIENT",), ("CLIENT", "FOO"), ("CLIENT", "ID", "x"), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "ok"), ("CLIENT", "GETNAME"),
        ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID", "999999"),
        ("CLIENT", "KILL", "ID", "x"), ("CLIENT", "KILL", "TYPE", "foo"),
        ("CLIENT", "KILL", "USER", "nobody"), ("CLIENT", "KILL", "SKIPME", "maybe"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "SKIPME", "no"),
        ("CLIENT", "KILL", "MAXAGE", "1"), ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "x"),
        ("CLIENT", "PAUSE", "-1"), ("CLIENT", "PAUSE", "0", "FOO"),
        ("CLIENT", "PAUSE", "10", "write", "x"), ("CLIENT", "UNPAUSE"),
        ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "REPLY", "foo"), ("CLIENT", "REPLY", "ON"),
        ("CLIENT", "NO-EVICT", "foo"), ("CLIENT", "NO-EVICT", "on"),
        ("CLIENT", "NO-EVICT", "off"), ("CLIENT", "TRACKING", "off"),
        ("CLIENT", "TRACKING", "foo"), ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "CACHING", "yes"), ("CLIENT", "UNBLOCK", "x"),
        ("CLIENT", "UNBLOCK", "1", "foo"), ("CLIENT", "UNBLOCK", "5"),
        ("CLIENT", "LIST", "TYPE", "bad"), ("CLIENT", "LIST", "TYPE", "master"),
        ("CLIENT", "LIST", "ID", "x"), ("CLIENT", "LIST", "FOO"))


def test_client_reply_modes(pair):
    """Sent at once; of the seven commands only the last two answer."""
    commands = [("CLIENT", "REPLY", "SKIP"), ("PING", "skipped"), ("CLIENT", "REPLY", "OFF"),
                ("PING", "a"), ("NOSUCH",), ("CLIENT", "REPLY", "ON"), ("PING", "back")]
    for server in (pair.redis, pair.caskd):
        for command in commands:
            server.send(command)
    for _ in range(2):
        assert pair.caskd.reply() == pair.redis.reply()
    run(pair, ("PING",))


def test_hello_auth_and_reset(pair):
    run(pair,
        ("HELLO", "1"), ("HELLO", "x"), ("HELLO", "3", "AUTH", "default"),
        ("HELLO", "3", "foo"), ("HELLO", "3", "SETNAME", "a b"),
        ("HELLO", "3", "AUTH", "nobody", "x"), ("HELLO", "3", "SETNAME", "ok", "FOO"),
        ("CLIENT", "GETNAME"),
        ("AUTH",), ("AUTH", "x"), ("AUTH", "a", "b", "c"), ("AUTH", "default", "anything"),
        ("SELECT", "3"), ("MULTI",), ("RESET",), ("EXEC",), ("CLIENT", "GETNAME"),
        ("RESET", "x"))


def test_config_get_set(pair):
    run(pair,
        ("CONFIG", "SET", "maxmemory-policy-nosuch", "1"),
        ("CONFIG", "SET", "slowlog-max-len", "64", "slowlog-log-slower-than", "x"),
        ("CONFIG", "GET", "slowlog-max-len"),
        ("CONFIG", "SET", "slowlog-max-len", "64", "SLOWLOG-MAX-LEN", "32"),
        ("CONFIG", "SET", "slowlog-max-len", "64", "slowlog-log-slower-than", "20000"),
        ("CONFIG", "GET", "slowlog-max-len", "nosuch"),
        ("CONFIG", "SET", "appendfsync", "foo"), ("CONFIG", "SET", "protected-mode", "maybe"),
        ("CONFIG", "SET", "maxmemory", "1zz"), ("CONFIG", "SET", "daemonize", "yes"),
        ("CONFIG", "SET", "hz"), ("CONFIG", "GET"), ("CONFIG", "RESETSTAT", "x"),
        ("CONFIG", "FOO"),
        ("CONFIG", "SET", "slowlog-max-len", "128", "slowlog-log-slower-than", "10000"))
    pair.check("CONFIG", "GET", "slowlog-*", allow=CONFIG_GET_ORDER)


def test_command_introspection_errors(pair):
    run(pair,
        ("COMMAND", "INFO", "nosuch"), ("COMMAND", "DOCS", "nosuch"),
        ("COMMAND", "LIST", "FILTERBY", "aclcat", "nosuch"),
        ("COMMAND", "LIST", "FILTERBY", "module", "x"),
        ("COMMAND", "LIST", "FILTERBY", "foo", "x"), ("COMMAND", "LIST", "FOO"),
        ("COMMAND", "LIST", "FILTERBY"), ("COMMAND", "GETKEYS"),
        ("COMMAND", "GETKEYS", "get"), ("COMMAND", "GETKEYS", "get", "a", "b"),
        ("COMMAND", "GETKEYS", "nosuch", "a"), ("COMMAND", "GETKEYS", "ping"),
        ("COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"),
        ("COMMAND", "GETKEYS", "config", "get", "x"), ("COMMAND", "COUNT", "x"),
        ("COMMAND", "FOO"))


def test_command_getkeysandflags(pair):
    """Each key with its key spec's flags: one-spec commands, the multi-spec ones
    (source or destination first, then the rest) and the variable_flags ones."""
    flags = ("COMMAND", "GETKEYSANDFLAGS")
    run(pair,
        (*flags, "get", "a"), (*flags, "mset", "a", "1", "b", "2"), (*flags, "del", "a", "b"),
        (*flags, "lmove", "src", "dst", "left", "left"), (*flags, "smove", "s", "d", "m"),
        (*flags, "rename", "a", "b"), (*flags, "renamenx", "a", "b"), (*flags, "copy", "a", "b"),
        (*flags, "zunionstore", "d", "2", "a", "b"), (*flags, "sinterstore", "d", "a", "b"),
        (*flags, "bitop", "and", "d", "a", "b"), (*flags, "pfmerge", "d", "a", "b"),
        (*flags, "geosearchstore", "d", "s", "frommember", "m", "byradius", "1", "m"),
        (*flags, "georadius", "g", "0", "0", "1", "m", "store", "d"),
        (*flags, "sort", "s", "by", "w_*", "store", "d"), (*flags, "sort_ro", "s"),
        (*flags, "blmpop", "0", "2", "a", "b", "left"), (*flags, "xinfo", "stream", "x"),
        (*flags, "xreadgroup", "group", "g", "c", "streams", "a", "b", ">", ">"),
        (*flags, "eval", "return 1", "2", "a", "b"), (*flags, "object", "encoding", "k"),
        (*flags, "set", "k", "v"), (*flags, "set", "k", "v", "get"),
        (*flags, "set", "k", "v", "nx", "Get"),
        (*flags, "bitfield", "k", "get", "u8", "0"),
        (*flags, "bitfield", "k", "overflow", "sat", "get", "u8", "0"),
        (*flags, "bitfield", "k", "get", "u8", "0", "incrby", "u8", "0", "1"),
        (*flags, "bitfield", "k", "get", "u8"),
        (*flags, "migrate", "h", "1", "k", "0", "5"),
        (*flags, "migrate", "h", "1", "", "0", "5", "AUTH", "keys", "COPY", "KEYS", "a", "b"),
        (*flags, "migrate", "h", "1", "k", "0", "5", "KEYS", "a"),
        (*flags, "eval", "return 1", "0"), ("COMMAND", "GETKEYS", "eval", "return 1", "0"),
        (*flags, "ping"), (*flags, "nosuch", "a"), (*flags, "get"), (*flags,))


def test_slowlog_latency_function_and_time(pair):
    run(pair,
        ("SLOWLOG", "RESET"), ("SLOWLOG", "LEN"), ("SLOWLOG", "GET"),
        ("SLOWLOG", "GET", "x"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "1", "2"),
        ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "FOO"), ("SLOWLOG",),
        ("LATENCY", "LATEST"), ("LATENCY", "RESET"), ("LATENCY", "RESET", "command"),
        ("LATENCY", "HISTORY", "command"), ("LATENCY", "HISTORY"), ("LATENCY", "DOCTOR"),
        ("LATENCY", "GRAPH", "command"), ("LATENCY", "FOO"),
        ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "x"),
        ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
        ("FUNCTION", "FLUSH"), ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION", "FLUSH", "foo"),
        ("FUNCTION", "FLUSH", "SYNC", "x"), ("FUNCTION", "STATS"),
        ("DEBUG", "SLEEP", "0"), ("TIME", "x"), ("LASTSAVE", "x"), ("BGSAVE", "foo"))


def test_help_subcommands(pair):
    run(pair, ("CLIENT", "HELP"), ("CONFIG", "HELP"), ("SLOWLOG", "HELP"),
        ("CLIENT", "HELP", "x"))
