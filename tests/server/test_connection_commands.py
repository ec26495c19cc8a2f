"""Connection commands over raw sockets, with the exact replies of Redis 7.0.15: HELLO,
AUTH, RESET, CLIENT (ID, SETNAME, GETNAME, INFO, LIST, KILL, PAUSE, UNPAUSE, REPLY,
NO-EVICT, TRACKING …) and MONITOR."""

from __future__ import annotations

import re
import time

import pytest

from tests.support import hello_reply, wait_until

OK = b"+OK\r\n"
# CLIENT INFO / CLIENT LIST fields, in Redis 7.0's order (lib-name and lib-ver: 7.2's,
# set by CLIENT SETINFO).
CLIENT_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub",
                 "psub", "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs",
                 "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd", "user", "redir",
                 "resp", "lib-name", "lib-ver"]




def client_info(raw) -> dict[str, str]:
    raw.command("CLIENT", "INFO")
    line = raw.read_bulk().decode()
    assert line.endswith("\n")
    return dict(field.split("=", 1) for field in line.split())


# ------------------------------------------------------------------- HELLO / AUTH


def test_hello_switches_protocol_and_answers_in_it(raw):
    client_id = raw.client_id()
    raw.roundtrip("HELLO", reply=hello_reply(client_id, 2))
    raw.roundtrip("HELLO", "3", reply=hello_reply(client_id, 3))
    raw.roundtrip("GET", "missing", reply=b"_\r\n")
    raw.roundtrip("HELLO", reply=hello_reply(client_id, 3))  # no argument: stays
    raw.roundtrip("HELLO", "2", "SETNAME", "named", reply=hello_reply(client_id, 2))
    raw.roundtrip("CLIENT", "GETNAME", reply=b"$5\r\nnamed\r\n")
    raw.roundtrip("GET", "missing", reply=b"$-1\r\n")


@pytest.mark.parametrize(("args", "error"), [
    (("HELLO", "1"), b"-NOPROTO unsupported protocol version\r\n"),
    (("HELLO", "x"), b"-ERR Protocol version is not an integer or out of range\r\n"),
    (("HELLO", "3", "AUTH", "default"), b"-ERR Syntax error in HELLO option 'AUTH'\r\n"),
    (("HELLO", "3", "foo"), b"-ERR Syntax error in HELLO option 'foo'\r\n"),
    (("HELLO", "3", "SETNAME", "a b"),
     b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"),
    (("HELLO", "3", "AUTH", "nobody", "x"),
     b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
])
def test_hello_errors_leave_the_protocol_alone(raw, args, error):
    raw.roundtrip(*args, reply=error)
    raw.roundtrip("GET", "missing", reply=b"$-1\r\n")


def test_auth_without_a_password_configured(raw):
    raw.roundtrip("AUTH", "x", reply=b"-ERR AUTH <password> called without any password "
                  b"configured for the default user. Are you sure your configuration is "
                  b"correct?\r\n")
    raw.roundtrip("AUTH", "default", "anything", reply=OK)  # default user: nopass
    raw.roundtrip("AUTH", "a", "b", "c", reply=b"-ERR syntax error\r\n")


def test_requirepass_auth_hello_and_reset(caskd_factory):
    server = caskd_factory("--requirepass", "s3cret")
    raw = server.raw()
    raw.roundtrip("GET", "k", reply=b"-NOAUTH Authentication required.\r\n")
    raw.roundtrip("HELLO", "3", reply=b"-NOAUTH HELLO must be called with the client already "
                  b"authenticated, otherwise the HELLO AUTH <user> <pass> option can be used "
                  b"to authenticate the client and select the RESP protocol version at the "
                  b"same time\r\n")
    raw.roundtrip("AUTH", "wrong", reply=b"-WRONGPASS invalid username-password pair or user "
                                         b"is disabled.\r\n")
    raw.roundtrip("AUTH", "s3cret", reply=OK)
    client_id = raw.client_id()
    raw.roundtrip("RESET", reply=b"+RESET\r\n")  # back to unauthenticated
    raw.roundtrip("GET", "k", reply=b"-NOAUTH Authentication required.\r\n")
    raw.roundtrip("HELLO", "3", "AUTH", "default", "s3cret", reply=hello_reply(client_id, 3))
    raw.roundtrip("GET", "k", reply=b"_\r\n")
    raw.roundtrip("RESET", reply=b"+RESET\r\n")  # and RESP2
    raw.roundtrip("AUTH", "default", "s3cret", reply=OK)
    raw.roundtrip("GET", "k", reply=b"$-1\r\n")
    raw.close()


# ------------------------------------------------------------------------ RESET


def test_reset_returns_the_connection_to_its_first_state(raw, other):
    raw.roundtrip("HELLO", "3", "SETNAME", "before", reply=hello_reply(raw.client_id(), 3))
    raw.roundtrip("SELECT", "5", reply=OK)
    raw.roundtrip("CLIENT", "NO-EVICT", "on", reply=OK)
    raw.roundtrip("WATCH", "w", reply=OK)
    raw.roundtrip("MULTI", reply=OK)
    raw.roundtrip("SET", "k", "v", reply=b"+QUEUED\r\n")
    raw.roundtrip("RESET", reply=b"+RESET\r\n")
    info = client_info(raw)
    assert (info["name"], info["db"], info["resp"], info["multi"]) == ("", "0", "2", "-1")
    assert info["flags"] == "e"  # RESET keeps no-evict, as Redis does
    raw.roundtrip("EXEC", reply=b"-ERR EXEC without MULTI\r\n")
    other.roundtrip("SELECT", "5", reply=OK)
    other.roundtrip("EXISTS", "k", reply=b":0\r\n")  # the queued SET never ran
    raw.roundtrip("RESET", "x", reply=b"-ERR wrong number of arguments for 'reset' command\r\n")


# ---------------------------------------------------------------- CLIENT basics


def test_client_id_name_and_info_format(raw):
    client_id = raw.client_id()
    raw.roundtrip("CLIENT", "GETNAME", reply=b"$-1\r\n")
    raw.roundtrip("CLIENT", "SETNAME", "my-app", reply=OK)
    raw.roundtrip("CLIENT", "GETNAME", reply=b"$6\r\nmy-app\r\n")
    raw.roundtrip("CLIENT", "SETNAME", "bad name", reply=b"-ERR Client names cannot contain "
                  b"spaces, newlines or special characters.\r\n")
    info = client_info(raw)
    assert list(info) == CLIENT_FIELDS
    assert info["id"] == str(client_id)
    assert info["name"] == "my-app"
    assert (info["flags"], info["db"], info["multi"], info["cmd"], info["user"]) == \
        ("N", "0", "-1", "client|info", "default")
    host, port = info["addr"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) == raw.sock.getsockname()[1]
    assert info["laddr"] == f"127.0.0.1:{raw.sock.getpeername()[1]}"
    raw.roundtrip("CLIENT", "ID", "x",
                  reply=b"-ERR wrong number of arguments for 'client|id' command\r\n")


def test_client_info_is_verbatim_in_resp3(raw):
    raw.roundtrip("HELLO", "3", reply=hello_reply(raw.client_id(), 3))
    raw.command("CLIENT", "INFO")
    header = raw.read_line()
    assert header.startswith(b"=")
    assert raw.read_exact(4) == b"txt:"


def test_client_list_filters(raw, other):
    mine, theirs = raw.client_id(), other.client_id()
    raw.command("CLIENT", "LIST", "ID", str(theirs), "999999", str(mine))
    lines = raw.read_bulk().decode().splitlines()
    assert [line.split()[0] for line in lines] == [f"id={theirs}", f"id={mine}"]
    raw.command("CLIENT", "LIST", "TYPE", "normal")
    assert len(raw.read_bulk().decode().splitlines()) == 2
    raw.roundtrip("CLIENT", "LIST", "TYPE", "master", reply=b"$0\r\n\r\n")
    raw.roundtrip("CLIENT", "LIST", "TYPE", "bad", reply=b"-ERR Unknown client type 'bad'\r\n")
    raw.roundtrip("CLIENT", "LIST", "ID", "x", reply=b"-ERR Invalid client ID\r\n")
    raw.roundtrip("CLIENT", "LIST", "FOO", reply=b"-ERR syntax error\r\n")


# ------------------------------------------------------------------ CLIENT KILL


def test_client_kill_old_form_closes_the_other_connection(raw, other):
    other.roundtrip("PING", reply=b"+PONG\r\n")  # the server has accepted it
    address = f"127.0.0.1:{other.sock.getsockname()[1]}"
    raw.roundtrip("CLIENT", "KILL", address, reply=OK)
    assert other.read_until_closed() == b""
    raw.roundtrip("CLIENT", "KILL", address, reply=b"-ERR No such client\r\n")


def test_client_kill_filters_count_and_skipme(raw, other):
    theirs = other.client_id()
    raw.roundtrip("CLIENT", "KILL", "ID", "999999", reply=b":0\r\n")
    raw.roundtrip("CLIENT", "KILL", "ID", str(theirs), "USER", "default", reply=b":1\r\n")
    assert other.read_until_closed() == b""
    raw.roundtrip("CLIENT", "KILL", "ID", str(raw.client_id()), reply=b":0\r\n")  # SKIPME yes
    raw.roundtrip("CLIENT", "KILL", "ID", str(raw.client_id()), "SKIPME", "no",
                  reply=b":1\r\n")
    assert raw.read_until_closed() == b""  # the reply came first, then the close


@pytest.mark.parametrize(("args", "error"), [
    (("ID", "x"), b"-ERR client-id should be greater than 0\r\n"),
    (("ID", "0"), b"-ERR client-id should be greater than 0\r\n"),
    (("TYPE", "foo"), b"-ERR Unknown client type 'foo'\r\n"),
    (("USER", "nobody"), b"-ERR No such user 'nobody'\r\n"),
    (("SKIPME", "maybe"), b"-ERR syntax error\r\n"),
    (("MAXAGE", "10"), b"-ERR syntax error\r\n"),
    (("ID", "1", "SKIPME"), b"-ERR syntax error\r\n"),
])
def test_client_kill_errors(raw, args, error):
    raw.roundtrip("CLIENT", "KILL", *args, reply=error)


# ----------------------------------------------------------------- CLIENT PAUSE


def test_pause_write_holds_writes_but_not_reads(caskd, raw, other):
    raw.roundtrip("CLIENT", "PAUSE", "100000", "WRITE", reply=OK)
    other.send(b"SET k v\r\nGET k\r\n")  # the GET waits behind the held SET
    raw.roundtrip("GET", "k", reply=b"$-1\r\n")
    raw.roundtrip("EXISTS", "k", reply=b":0\r\n")
    raw.roundtrip("CLIENT", "UNPAUSE", reply=OK)
    other.expect(b"+OK\r\n$1\r\nv\r\n")


def test_pause_all_holds_everything_until_it_ends(caskd, raw, other):
    started = time.monotonic()
    raw.roundtrip("CLIENT", "PAUSE", "300", reply=OK)
    other.roundtrip("PING", reply=b"+PONG\r\n")
    assert time.monotonic() - started >= 0.29


def test_pause_holds_a_transaction_that_writes(raw, other):
    other.roundtrip("MULTI", reply=OK)
    other.roundtrip("GET", "k", reply=b"+QUEUED\r\n")
    raw.roundtrip("CLIENT", "PAUSE", "100000", "WRITE", reply=OK)
    other.roundtrip("EXEC", reply=b"*1\r\n$-1\r\n")  # read-only: runs
    other.roundtrip("MULTI", reply=OK)
    other.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")  # queuing a write waits
    raw.roundtrip("CLIENT", "UNPAUSE", reply=OK)
    other.expect(b"+QUEUED\r\n")
    other.roundtrip("EXEC", reply=b"*1\r\n+OK\r\n")


@pytest.mark.parametrize(("args", "error"), [
    (("x",), b"-ERR timeout is not an integer or out of range\r\n"),
    (("-1",), b"-ERR timeout is negative\r\n"),
    (("0", "FOO"), b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"),
    (("10", "write", "x"), b"-ERR unknown subcommand or wrong number of arguments for "
                           b"'PAUSE'. Try CLIENT HELP.\r\n"),
])
def test_client_pause_errors(raw, args, error):
    raw.roundtrip("CLIENT", "PAUSE", *args, reply=error)


# ------------------------------------------------------- CLIENT REPLY and others


def test_client_reply_skip_off_and_on(raw):
    raw.send(b"CLIENT REPLY SKIP\r\nPING one\r\nPING two\r\n")
    raw.expect(b"$3\r\ntwo\r\n")
    raw.send(b"CLIENT REPLY OFF\r\nPING three\r\nNOSUCH\r\nGET\r\nCLIENT REPLY SKIP\r\n"
             b"CLIENT REPLY ON\r\nPING four\r\n")
    raw.expect(b"+OK\r\n$4\r\nfour\r\n")
    raw.roundtrip("CLIENT", "REPLY", "maybe", reply=b"-ERR syntax error\r\n")


def test_client_no_evict_tracking_and_friends(raw):
    raw.roundtrip("CLIENT", "NO-EVICT", "on", reply=OK)
    assert client_info(raw)["flags"] == "e"
    raw.roundtrip("CLIENT", "NO-EVICT", "off", reply=OK)
    raw.roundtrip("CLIENT", "NO-EVICT", "maybe", reply=b"-ERR syntax error\r\n")
    raw.roundtrip("CLIENT", "TRACKING", "off", reply=OK)
    raw.roundtrip("CLIENT", "TRACKING", "on", reply=OK)
    raw.roundtrip("CLIENT", "TRACKING", "off", reply=OK)
    raw.roundtrip("CLIENT", "TRACKING", "foo", reply=b"-ERR syntax error\r\n")
    raw.roundtrip("CLIENT", "GETREDIR", reply=b":-1\r\n")
    raw.roundtrip("CLIENT", "TRACKINGINFO", reply=b"*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n"
                  b"$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n")
    raw.roundtrip("CLIENT", "CACHING", "yes", reply=b"-ERR CLIENT CACHING can be called only "
                  b"when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n")
    raw.roundtrip("CLIENT", "UNBLOCK", "5", reply=b":0\r\n")
    raw.roundtrip("CLIENT", "UNBLOCK", "1", "foo",
                  reply=b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n")
    raw.roundtrip("HELLO", "3", reply=hello_reply(raw.client_id(), 3))
    raw.roundtrip("CLIENT", "TRACKINGINFO", reply=b"%3\r\n$5\r\nflags\r\n~1\r\n$3\r\noff\r\n"
                  b"$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n")


# ---------------------------------------------------------------------- MONITOR

LINE = re.compile(rb'\+(\d{10})\.(\d{6}) \[(\d+) 127\.0\.0\.1:(\d+)\] (.*)\r\n')


def monitor_lines(raw, count: int) -> list[tuple[int, bytes]]:
    """The next ``count`` MONITOR lines as (db, arguments)."""
    lines = []
    for _ in range(count):
        match = LINE.fullmatch(raw.read_line())
        assert match, "not a MONITOR line"
        assert abs(int(match[1]) - time.time()) < 60
        lines.append((int(match[3]), match[5]))
    return lines


def test_monitor_streams_commands_in_redis_format(raw, other):
    raw.roundtrip("MONITOR", reply=OK)
    other.roundtrip("SET", "k", b'a b"\\\n\x01\xff', reply=OK)
    other.roundtrip("SELECT", "3", reply=OK)
    other.roundtrip("AUTH", "default", "pw", reply=OK)
    other.roundtrip("CONFIG", "GET", "hz", reply=b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n")  # admin
    other.roundtrip("NOSUCH", reply=b"-ERR unknown command 'NOSUCH', with args beginning "
                                   b"with: \r\n")  # never ran
    other.send(b"MULTI\r\nGET k\r\nEXEC\r\n")
    other.expect(b"+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n")
    assert monitor_lines(raw, 6) == [
        (0, b'"SET" "k" "a b\\"\\\\\\n\\x01\\xff"'),
        (3, b'"SELECT" "3"'),
        (3, b'"AUTH" "(redacted)" "(redacted)"'),
        (3, b'"MULTI"'),
        (3, b'"GET" "k"'),  # queued commands show when EXEC runs them
        (3, b'"EXEC"')]


def test_a_monitor_may_not_touch_the_keyspace_and_reset_ends_it(raw, other):
    raw.roundtrip("MONITOR", reply=OK)
    raw.roundtrip("GET", "k", reply=b"-ERR Replica can't interact with the keyspace\r\n")
    raw.roundtrip("PING", reply=b"+PONG\r\n")  # its own commands: the reply, then the line
    assert monitor_lines(raw, 1) == [(0, b'"PING"')]
    raw.send(b"MONITOR\r\n")  # already monitoring: no reply at all
    raw.roundtrip("RESET", reply=b"+RESET\r\n")
    other.roundtrip("PING", reply=b"+PONG\r\n")
    raw.roundtrip("GET", "k", reply=b"$-1\r\n")  # nothing of other's PING arrived
    assert client_info(raw)["flags"] == "N"


def test_monitor_inside_a_transaction_is_refused(raw):
    raw.roundtrip("MULTI", reply=OK)
    raw.roundtrip("MONITOR", reply=b"+QUEUED\r\n")
    raw.roundtrip("EXEC", reply=b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING "
                                b"client\r\n")


def test_a_closed_monitor_is_forgotten(caskd, other):
    watcher = caskd.raw()
    watcher.roundtrip("MONITOR", reply=OK)
    watcher.close()
    observer = caskd.client()
    wait_until(lambda: observer.info("clients")["connected_clients"] == 2,
               what="the monitor to be gone")
    other.roundtrip("SET", "k", "v", reply=OK)
