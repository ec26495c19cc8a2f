"""Core commands over a raw socket: exact reply bytes, as Redis 7.0 sends them."""

from __future__ import annotations

import time

import pytest


def test_ping_echo_and_inline(raw):
    raw.roundtrip("PING", reply=b"+PONG\r\n")
    raw.roundtrip("PING", "hi", reply=b"$2\r\nhi\r\n")
    raw.roundtrip("ECHO", "a\r\nb", reply=b"$4\r\na\r\nb\r\n")
    raw.send(b"PING\r\n")  # inline, as telnet sends it
    raw.expect(b"+PONG\r\n")


def test_set_get_del_exists(raw):
    raw.roundtrip("SET", "k", "v", reply=b"+OK\r\n")
    raw.roundtrip("GET", "k", reply=b"$1\r\nv\r\n")
    raw.roundtrip("GET", "missing", reply=b"$-1\r\n")
    raw.roundtrip("EXISTS", "k", "k", "missing", reply=b":2\r\n")
    raw.roundtrip("DEL", "k", "missing", reply=b":1\r\n")
    raw.roundtrip("GET", "k", reply=b"$-1\r\n")


def test_set_options(raw):
    raw.roundtrip("SET", "k", "1", "NX", reply=b"+OK\r\n")
    raw.roundtrip("SET", "k", "2", "NX", reply=b"$-1\r\n")
    raw.roundtrip("SET", "k", "3", "XX", "GET", reply=b"$1\r\n1\r\n")
    raw.roundtrip("SET", "nope", "3", "XX", reply=b"$-1\r\n")
    raw.roundtrip("SET", "k", "4", "EX", "100", reply=b"+OK\r\n")
    raw.roundtrip("TTL", "k", reply=b":100\r\n")
    raw.roundtrip("SET", "k", "5", "KEEPTTL", reply=b"+OK\r\n")
    raw.roundtrip("TTL", "k", reply=b":100\r\n")
    raw.roundtrip("SET", "k", "6", reply=b"+OK\r\n")
    raw.roundtrip("TTL", "k", reply=b":-1\r\n")
    raw.roundtrip("SET", "k", "v", "NX", "XX", reply=b"-ERR syntax error\r\n")
    raw.roundtrip("SET", "k", "v", "EX", "10", "PX", "5", reply=b"-ERR syntax error\r\n")
    raw.roundtrip("SET", "k", "v", "EX", "0",
                  reply=b"-ERR invalid expire time in 'set' command\r\n")
    raw.roundtrip("SET", "k", "v", "EX", "x",
                  reply=b"-ERR value is not an integer or out of range\r\n")


def test_expiry_commands(raw):
    raw.roundtrip("TTL", "none", reply=b":-2\r\n")
    raw.roundtrip("SET", "k", "v", reply=b"+OK\r\n")
    raw.roundtrip("EXPIRE", "k", "50", reply=b":1\r\n")
    raw.roundtrip("TTL", "k", reply=b":50\r\n")
    raw.roundtrip("PERSIST", "k", reply=b":1\r\n")
    raw.roundtrip("PERSIST", "k", reply=b":0\r\n")
    raw.roundtrip("EXPIRE", "k", "10", "NX", reply=b":1\r\n")
    raw.roundtrip("EXPIRE", "k", "20", "NX", reply=b":0\r\n")
    raw.roundtrip("EXPIRE", "k", "5", "GT", reply=b":0\r\n")
    raw.roundtrip("EXPIRE", "k", "10", "NX", "XX",
                  reply=b"-ERR NX and XX, GT or LT options at the same time are not "
                        b"compatible\r\n")
    raw.roundtrip("PEXPIRE", "k", "1", reply=b":1\r\n")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        raw.command("EXISTS", "k")
        if raw.read_exact(4) == b":0\r\n":
            break
    else:
        pytest.fail("key did not expire")


def test_errors(raw):
    raw.roundtrip("NOSUCH", "a", "b",
                  reply=b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n")
    raw.roundtrip("GET", reply=b"-ERR wrong number of arguments for 'get' command\r\n")
    raw.roundtrip("CONFIG", "NOPE",
                  reply=b"-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n")
    raw.roundtrip("SELECT", "99", reply=b"-ERR DB index is out of range\r\n")


def test_select_isolates_databases(raw):
    raw.roundtrip("SET", "k", "db0", reply=b"+OK\r\n")
    raw.roundtrip("SELECT", "1", reply=b"+OK\r\n")
    raw.roundtrip("GET", "k", reply=b"$-1\r\n")
    raw.roundtrip("DBSIZE", reply=b":0\r\n")
    raw.roundtrip("SELECT", "0", reply=b"+OK\r\n")
    raw.roundtrip("DBSIZE", reply=b":1\r\n")
    raw.roundtrip("FLUSHALL", reply=b"+OK\r\n")
    raw.roundtrip("DBSIZE", reply=b":0\r\n")


def test_protocol_error_closes_connection(raw):
    raw.send(b"*3000000000\r\n")
    assert raw.read_until_closed() == b"-ERR Protocol error: invalid multibulk length\r\n"


def test_pipeline_replies_in_order(raw):
    raw.send(b"".join(b"*3\r\n$3\r\nSET\r\n$2\r\nk%d\r\n$1\r\n%d\r\n" % (i, i % 10)
                      for i in range(10)) + b"*2\r\n$3\r\nGET\r\n$2\r\nk7\r\n")
    raw.expect(b"+OK\r\n" * 10 + b"$1\r\n7\r\n")


def test_quit_replies_then_closes(raw):
    raw.command("QUIT")
    assert raw.read_until_closed() == b"+OK\r\n"
