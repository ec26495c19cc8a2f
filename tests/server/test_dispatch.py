"""The dispatcher in-process: a session with no socket, commands in, reply bytes out.

As websockets tests its protocol with bytes only, these run commands through
``Dispatcher.execute`` for a :class:`Session` that has no peer and check the exact
RESP the transport would send for each reply.
"""

from __future__ import annotations

import pytest

from protocol.reply import encode
from server.app import Server
from server.config import parse_command_line
from server.session import Session


@pytest.fixture
def server(tmp_path):
    server = Server(parse_command_line(["--dir", str(tmp_path), "--port", "0"]))
    server.open_storage()
    yield server
    server.engine.close()
    server.release()


def run(server: Server, session: Session, *args: bytes | str) -> bytes:
    argv = [arg.encode() if isinstance(arg, str) else arg for arg in args]
    return encode(server.dispatcher.execute(session, argv), session.resp3)


def test_a_session_without_a_socket_runs_commands(server):
    session = Session(server)
    assert run(server, session, "SET", "k", "v") == b"+OK\r\n"
    assert run(server, session, "GET", "k") == b"$1\r\nv\r\n"
    assert run(server, session, "get", "missing") == b"$-1\r\n"
    assert server.engine.get(0, b"k") == b"v"


def test_each_session_keeps_its_own_database_and_protocol(server):
    first, second = Session(server), Session(server)
    run(server, first, "SELECT", "3")
    run(server, first, "SET", "k", "in-3")
    assert run(server, second, "GET", "k") == b"$-1\r\n"
    assert run(server, first, "GET", "k") == b"$4\r\nin-3\r\n"
    run(server, second, "HELLO", "3")
    assert run(server, second, "HGETALL", "nothing") == b"%0\r\n"
    assert run(server, first, "HGETALL", "nothing") == b"*0\r\n"


def test_refusals_use_redis_wording(server):
    session = Session(server)
    assert run(server, session, "NOPE", "a") == \
        b"-ERR unknown command 'NOPE', with args beginning with: 'a' \r\n"
    assert run(server, session, "CONFIG", "NOPE") == \
        b"-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n"
    assert run(server, session, "CONFIG") == \
        b"-ERR wrong number of arguments for 'config' command\r\n"
    assert run(server, session, "GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert run(server, session, "CONFIG", "GET") == \
        b"-ERR wrong number of arguments for 'config|get' command\r\n"


def test_resolve_finds_commands_and_subcommands_in_any_case(server):
    resolve = server.dispatcher.resolve
    assert resolve([b"get", b"k"]).full_name == "get"
    assert resolve([b"GeT"]).full_name == "get"
    assert resolve([b"config", b"GET", b"x"]).full_name == "config|get"
    assert resolve([b"config"]).full_name == "config"  # the container: arity decides
    assert resolve([b"config", b"nope"]) is None
    assert resolve([b"nope"]) is None


def test_multi_queues_and_exec_runs_the_block(server):
    session = Session(server)
    assert not session.slow_path
    assert run(server, session, "MULTI") == b"+OK\r\n"
    assert session.slow_path
    assert run(server, session, "INCR", "n") == b"+QUEUED\r\n"
    assert run(server, session, "INCR", "n") == b"+QUEUED\r\n"
    assert run(server, session, "EXEC") == b"*2\r\n:1\r\n:2\r\n"
    assert not session.slow_path


def test_a_refused_command_dooms_the_transaction(server):
    session = Session(server)
    run(server, session, "MULTI")
    assert run(server, session, "SET", "k") == \
        b"-ERR wrong number of arguments for 'set' command\r\n"
    assert run(server, session, "EXEC") == \
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert run(server, session, "EXISTS", "k") == b":0\r\n"


def test_watch_sees_another_session_write(server):
    watcher, writer = Session(server), Session(server)
    run(server, watcher, "WATCH", "k")
    run(server, watcher, "MULTI")
    run(server, watcher, "SET", "k", "mine")
    run(server, writer, "SET", "k", "theirs")
    assert run(server, watcher, "EXEC") == b"*-1\r\n"
    assert server.engine.get(0, b"k") == b"theirs"


def test_client_reply_off_and_skip_drop_replies(server):
    session = Session(server)
    assert run(server, session, "CLIENT", "REPLY", "SKIP") == b""
    assert run(server, session, "PING") == b""
    assert run(server, session, "PING") == b"+PONG\r\n"
    assert run(server, session, "CLIENT", "REPLY", "OFF") == b""
    assert run(server, session, "SET", "k", "v") == b""
    assert run(server, session, "CLIENT", "REPLY", "ON") == b"+OK\r\n"
    assert not session.slow_path


def test_auth_is_required_before_other_commands(tmp_path):
    server = Server(parse_command_line(["--dir", str(tmp_path), "--port", "0",
                                        "--requirepass", "secret"]))
    server.open_storage()
    try:
        session = Session(server)
        assert run(server, session, "GET", "k") == b"-NOAUTH Authentication required.\r\n"
        assert run(server, session, "AUTH", "wrong") == \
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert run(server, session, "AUTH", "secret") == b"+OK\r\n"
        assert run(server, session, "GET", "k") == b"$-1\r\n"
    finally:
        server.engine.close()


def test_commandstats_count_calls_and_rejections(server):
    session = Session(server)
    set_row, incr_row = (server.dispatcher.resolve([name]) for name in (b"set", b"incr"))
    before = (set_row.calls, set_row.rejected_calls, incr_row.calls, incr_row.failed_calls)
    run(server, session, "SET", "k", "v")
    run(server, session, "SET", "k")
    run(server, session, "INCR", "k")
    after = (set_row.calls, set_row.rejected_calls, incr_row.calls, incr_row.failed_calls)
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1]


def test_watch_is_told_what_changed_not_which_command_wrote(server):
    """Change events, not the command's key positions: reading a key for a STORE does
    not touch it, a write elsewhere (MOVE into the watched db) does."""
    watcher, writer = Session(server), Session(server)
    run(server, writer, "SADD", "source", "a")
    run(server, watcher, "WATCH", "source")
    run(server, writer, "SUNIONSTORE", "destination", "source")
    run(server, writer, "DEL", "never-there")
    run(server, watcher, "MULTI")
    run(server, watcher, "PING")
    assert run(server, watcher, "EXEC") == b"*1\r\n+PONG\r\n"
    run(server, watcher, "SELECT", "1")
    run(server, watcher, "WATCH", "moved")
    run(server, writer, "SET", "moved", "v")
    run(server, writer, "MOVE", "moved", "1")
    run(server, watcher, "MULTI")
    run(server, watcher, "PING")
    assert run(server, watcher, "EXEC") == b"*-1\r\n"
