"""RequestParser: exact raw bytes in, exact commands or exact Redis error text out.

Expected behaviour was checked against redis-server 7.0 (test_redis_compat.py replays
much of it against a live server).
"""

from __future__ import annotations

import itertools
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import ProtocolError, RequestParser, split_args

MiB = 1024 * 1024


def run(chunks: list[bytes], **limits) -> tuple[list[list[bytes]], str | None]:
    """Feed ``chunks`` one by one, collecting commands after each; stop at an error."""
    parser = RequestParser(**limits)
    commands: list[list[bytes]] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while batch := parser.get_commands():
                commands += batch
    except ProtocolError as exc:
        return commands, str(exc)
    return commands, None


def whole(data: bytes, **limits) -> tuple[list[list[bytes]], str | None]:
    return run([data], **limits)


def bytewise(data: bytes, **limits) -> tuple[list[list[bytes]], str | None]:
    return run([data[i : i + 1] for i in range(len(data))], **limits)


def error(detail: str) -> str:
    return f"ERR Protocol error: {detail}"


def bulk(arg: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(arg), arg)


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(map(bulk, args))


SET = command(b"SET", b"key:000123", b"x" * 100)

# Inputs whose outcome is the same however they are cut into reads.
CASES = {
    "set": (SET, [[b"SET", b"key:000123", b"x" * 100]], None),
    "pipeline": (command(b"GET", b"a") + command(b"PING") + command(b"DEL", b"a", b"b"),
                 [[b"GET", b"a"], [b"PING"], [b"DEL", b"a", b"b"]], None),
    "binary-safe": (command(b"SET", b"k\r\n", b"\r\n\0\xff$*\r\n"),
                    [[b"SET", b"k\r\n", b"\r\n\0\xff$*\r\n"]], None),
    "empty-arg": (command(b"SET", b"", b""), [[b"SET", b"", b""]], None),
    "inline": (b"PING\r\nSET a \"b c\"\r\n", [[b"PING"], [b"SET", b"a", b"b c"]], None),
    "inline-lf": (b"PING\nECHO x\n", [[b"PING"], [b"ECHO", b"x"]], None),
    "blank-lines": (b"\r\n\n   \r\n\t\r\nPING\n", [[b"PING"]], None),
    "zero-count": (b"*0\r\n*-1\r\n*-9223372036854775808\r\n" + command(b"PING"),
                   [[b"PING"]], None),
    "mixed": (b"PING\r\n" + SET + b"ECHO 'a b'\r\n" + command(b"GET", b"a"),
              [[b"PING"], [b"SET", b"key:000123", b"x" * 100], [b"ECHO", b"a b"],
               [b"GET", b"a"]], None),
    "lenient-terminators": (b"*1\rX$4\rXPINGxx*1\r\n$4\r\nPING\r\n", [[b"PING"], [b"PING"]],
                            None),
    "big-count-header": (command(*[b"x"] * 2000), [[b"x"] * 2000], None),
    "big-arg": (command(b"SET", b"k", b"v" * 5000), [[b"SET", b"k", b"v" * 5000]], None),
    "error-after-good": (command(b"PING") + b"*1\r\n:1\r\n", [[b"PING"]],
                         error("expected '$', got ':'")),
    "unbalanced": (b"PING\r\nSET a \"b\r\n", [[b"PING"]],
                   error("unbalanced quotes in request")),
    "waits": (command(b"PING") + b"*2\r\n$3\r\nGET\r\n$1\r\n", [[b"PING"]], None),
}


@pytest.mark.parametrize("name", CASES)
def test_cases_fed_whole(name):
    data, commands, err = CASES[name]
    assert whole(data) == (commands, err)


@pytest.mark.parametrize("name", CASES)
def test_cases_fed_byte_by_byte(name):
    data, commands, err = CASES[name]
    assert bytewise(data) == (commands, err)


@pytest.mark.parametrize("name", ["set", "pipeline", "binary-safe", "mixed", "unbalanced"])
def test_cases_split_at_every_byte(name):
    data, commands, err = CASES[name]
    for cut in range(len(data) + 1):
        assert run([data[:cut], data[cut:]]) == (commands, err), cut


# ---------------------------------------------------------------------- inline


SPLIT_CASES = [
    (b"SET a b", [b"SET", b"a", b"b"]),
    (b"  SET   a\tb  ", [b"SET", b"a", b"b"]),
    (b'SET a "b c"', [b"SET", b"a", b"b c"]),
    (b'ECHO "a\\x41\\x4g"', [b"ECHO", b"aAx4g"]),
    (b'ECHO "\\xff\\x00"', [b"ECHO", b"\xff\x00"]),
    (b'ECHO "a\\x4"', [b"ECHO", b"ax4"]),
    (b'ECHO "\\"\\n\\q\\\\"', [b"ECHO", b'"\nq\\']),
    (b'ECHO "\\r\\t\\b\\a"', [b"ECHO", b"\r\t\b\a"]),
    (b"ECHO 'a\\'b'", [b"ECHO", b"a'b"]),
    (b"ECHO 'a\\n'", [b"ECHO", b"a\\n"]),
    (b'ECHO ""', [b"ECHO", b""]),
    (b"ECHO ''", [b"ECHO", b""]),
    (b'ECHO a"b c"', [b"ECHO", b"ab c"]),
    (b'ECHO "a"\x0b', [b"ECHO", b"a"]),
    (b'ECHO \x0b"a"\x0bb', [b"ECHO", b"a", b"b"]),
    (b"ECHO a\x0bb", [b"ECHO", b"a\x0bb"]),
    (b"\x0bPING\x0b", [b"PING\x0b"]),
    (b"ECHO a\rb", [b"ECHO", b"a", b"b"]),
    (b"ECHO \xff", [b"ECHO", b"\xff"]),
    (b"", []),
    (b" \t\x0b\x0c", []),
    (b"a\0b c", [b"a"]),  # C strings end at NUL
]


@pytest.mark.parametrize(("line", "args"), SPLIT_CASES)
def test_split_args(line, args):
    assert split_args(line) == args


UNBALANCED_LINES = [
    b'ECHO "a"b', b"ECHO 'a'b", b'ECHO "a', b"ECHO 'a", b'ECHO "a\\"', b'ECHO "a\\', b"'",
    b'ECHO a"b c"d',
]


@pytest.mark.parametrize("line", UNBALANCED_LINES)
def test_split_args_unbalanced(line):
    assert split_args(line) is None


def test_inline_takes_crlf_or_lf_and_keeps_an_extra_cr_as_blank():
    assert whole(b'ECHO "a"\r\r\n') == ([[b"ECHO", b"a"]], None)
    assert whole(b"ECHO a\n") == ([[b"ECHO", b"a"]], None)


def test_inline_waits_for_newline():
    parser = RequestParser()
    parser.feed(b'ECHO "a\\')
    assert parser.get_commands() == []
    parser.feed(b'\\"\n')
    assert parser.get_commands() == [[b"ECHO", b"a\\"]]


def test_dollar_line_is_an_inline_command():
    # Only '*' starts a multibulk request; Redis runs "$4" as an unknown command.
    assert whole(b"$4\r\nPING\r\n") == ([[b"$4"], [b"PING"]], None)


# ---------------------------------------------------------------------- errors


ERROR_CASES = [
    (b"*a\r\n", "invalid multibulk length"),
    (b"*\r\n", "invalid multibulk length"),
    (b"*-0\r\n", "invalid multibulk length"),
    (b"*01\r\n", "invalid multibulk length"),
    (b"*+1\r\n", "invalid multibulk length"),
    (b"* 1\r\n", "invalid multibulk length"),
    (b"*1 \r\n", "invalid multibulk length"),
    (b"*2147483648\r\n", "invalid multibulk length"),
    (b"*3000000000\r\n", "invalid multibulk length"),
    (b"*99999999999999999999\r\n", "invalid multibulk length"),
    (b"*-9223372036854775809\r\n", "invalid multibulk length"),
    (b"*1\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$-0\r\n", "invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$\r\n", "invalid bulk length"),
    (b"*1\r\n$x\r\n", "invalid bulk length"),
    (b"*1\r\n$4\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "invalid bulk length"),
    (b"*1\r\n$3000000000\r\n", "invalid bulk length"),
    (b"*1\r\n$99999999999999999999\r\n", "invalid bulk length"),
    (b"*1\r\n$999999999999999999999\r\n", "invalid bulk length"),
    (b"*1\r\nPING\r\n", "expected '$', got 'P'"),
    (b"*1\r\n:1\r\n", "expected '$', got ':'"),
    (b"*2\r\n$1\r\na\r\n*1\r\n", "expected '$', got '*'"),
    (b"*1\r\n\r\r\n", "expected '$', got ' '"),  # CR and LF are shown as spaces
    (b"*1\r\n\n\r\n", "expected '$', got ' '"),
    (b"*1\r\n\x80\r\n", "expected '$', got '\udc80'"),  # the byte, surrogate-escaped
    (b'SET a "b', None),  # waits for the end of the line
    (b'SET a "b\r\n', "unbalanced quotes in request"),
    (b"SET a 'b'c\n", "unbalanced quotes in request"),
]


@pytest.mark.parametrize(("data", "detail"), ERROR_CASES)
def test_protocol_errors(data, detail):
    expected = ([], None if detail is None else error(detail))
    assert whole(data) == expected
    assert bytewise(data) == expected


def test_error_is_raised_at_once_for_a_hostile_count():
    parser = RequestParser()
    parser.feed(b"*3000000000\r\n")
    with pytest.raises(ProtocolError, match="invalid multibulk length"):
        parser.get_commands()


def test_error_is_raised_at_once_for_a_hostile_bulk_length():
    parser = RequestParser()
    parser.feed(b"*1\r\n$3000000000\r\n")
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parser.get_command()


def test_huge_count_without_data_allocates_nothing():
    parser = RequestParser()
    tracemalloc.start()
    try:
        parser.feed(b"*100000000\r\n")
        assert parser.get_commands() == []
        parser.feed(b"*2147483647\r\n"[:0] + bulk(b"x"))
        assert parser.get_commands() == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000


def test_largest_count_and_bulk_length_are_accepted_and_wait():
    assert whole(b"*2147483647\r\n") == ([], None)
    assert whole(b"*1\r\n$536870912\r\n") == ([], None)


def test_error_is_sticky_and_follows_the_good_commands():
    parser = RequestParser()
    parser.feed(command(b"PING") + command(b"ECHO", b"a") + b"*1\r\n:1\r\n")
    assert parser.get_commands() == [[b"PING"], [b"ECHO", b"a"]]
    for _ in range(2):
        with pytest.raises(ProtocolError, match=r"expected '\$', got ':'"):
            parser.get_commands()


def test_get_command_delivers_good_commands_then_raises():
    parser = RequestParser()
    parser.feed(command(b"PING") + b"PING\r\n" + b"*x\r\n")
    assert parser.get_command() == [b"PING"]
    assert parser.get_command() == [b"PING"]
    with pytest.raises(ProtocolError, match="invalid multibulk length"):
        parser.get_command()
    with pytest.raises(ProtocolError):
        parser.get_command()


# ---------------------------------------------------------------- line limits


@pytest.mark.parametrize(("before", "line", "detail"), [
    (b"", b"A", "too big inline request"),
    (b"", b"*", "too big mbulk count string"),
    (b"*1\r\n", b"$", "too big bulk count string"),
])
def test_line_without_end_is_limited(before, line, detail):
    parser = RequestParser(max_inline_size=100)
    parser.feed(before + line.ljust(100, b"1"))
    assert parser.get_commands() == []
    parser.feed(b"1")
    with pytest.raises(ProtocolError) as caught:
        parser.get_commands()
    assert str(caught.value) == error(detail)


def test_default_line_limit_is_64k():
    assert whole(b"A" * 65536) == ([], None)
    assert whole(b"A" * 65537) == ([], error("too big inline request"))


def test_long_line_with_its_end_is_accepted_as_redis_does():
    # Redis checks the limit only while the line has no end yet.
    assert whole(b"A" * 70000 + b"\r\n") == ([[b"A" * 70000]], None)


NUL_CASES = [
    b"*1\x00\r\n$4\r\nPING\r\n", b"*1\r\n$4\x00\r\nPING\r\n", b"*1\r\n\x00$4\r\nPING\r\n",
    b"PI\x00NG\r\nPING\r\n",
]


@pytest.mark.parametrize("data", NUL_CASES)
def test_nul_before_line_end_makes_redis_wait(data):
    # Redis finds line ends with strchr(), which stops at NUL: it waits for more input...
    assert whole(data, max_inline_size=100) == ([], None)
    # ... until the line limit trips.
    commands, err = whole(data + b"\r\n" * 50, max_inline_size=100)
    assert commands == []
    assert err is not None and err.startswith("ERR Protocol error: too big")


# ------------------------------------------------------------ configured limits


def test_proto_max_bulk_len():
    assert whole(command(b"x" * 2000), proto_max_bulk_len=2000) == ([[b"x" * 2000]], None)
    assert whole(command(b"x" * 2001), proto_max_bulk_len=2000) == (
        [], error("invalid bulk length"))
    assert whole(command(b"abc"), proto_max_bulk_len=2) == ([], error("invalid bulk length"))
    assert whole(command(b"ab"), proto_max_bulk_len=2) == ([[b"ab"]], None)


def test_unauthenticated_limits():
    assert whole(b"*11\r\n", authenticated=False) == (
        [], error("unauthenticated multibulk length"))
    assert whole(b"*10\r\n", authenticated=False) == ([], None)
    assert whole(b"*-5\r\nPING\r\n", authenticated=False) == ([[b"PING"]], None)
    assert whole(b"*2\r\n$4\r\nECHO\r\n$16385\r\n", authenticated=False) == (
        [], error("unauthenticated bulk length"))
    assert whole(b"*2\r\n$4\r\nECHO\r\n$16384\r\n", authenticated=False) == ([], None)
    assert whole(b"A" * 20000 + b"\r\n", authenticated=False) == ([[b"A" * 20000]], None)


def test_unauthenticated_commands_come_one_at_a_time_so_auth_applies_to_the_next():
    big = command(*[b"x"] * 11)
    parser = RequestParser(authenticated=False)
    parser.feed(command(b"AUTH", b"pw") + big)
    assert parser.get_commands() == [[b"AUTH", b"pw"]]
    parser.authenticated = True  # what a successful AUTH does
    assert parser.get_commands() == [[b"x"] * 11]


def test_limits_change_between_calls():
    parser = RequestParser(authenticated=False)
    parser.feed(command(b"AUTH", b"pw") + b"*11\r\n")
    assert parser.get_command() == [b"AUTH", b"pw"]
    with pytest.raises(ProtocolError, match="unauthenticated multibulk length"):
        parser.get_command()


# ------------------------------------------------------------ buffered_bytes


def test_buffered_bytes_counts_partial_commands():
    parser = RequestParser()
    partial = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n01234"
    parser.feed(command(b"PING") + partial)
    assert parser.get_commands() == [[b"PING"]]
    assert parser.buffered_bytes == len(partial)
    parser.feed(b"56789\r\n")
    assert parser.get_commands() == [[b"SET", b"k", b"0123456789"]]
    assert parser.buffered_bytes == 0


def test_buffered_bytes_counts_commands_not_yet_taken():
    parser = RequestParser()
    parser.feed(command(b"PING") * 3)
    assert parser.get_command() == [b"PING"]
    assert parser.buffered_bytes == 3 * len(command(b"PING"))  # until the batch is taken
    assert parser.get_command() == [b"PING"]
    assert parser.get_command() == [b"PING"]
    assert parser.get_command() is None
    assert parser.buffered_bytes == 0


def test_buffered_bytes_of_a_large_argument_in_flight():
    parser = RequestParser()
    header = b"*2\r\n$3\r\nSET\r\n$100000\r\n"
    parser.feed(header)
    assert parser.get_commands() == []
    for _ in range(9):
        parser.feed(b"v" * 10000)
        assert parser.get_commands() == []
    assert parser.buffered_bytes == len(header) + 90000
    parser.feed(b"v" * 10000 + b"\r")
    assert parser.get_commands() == []
    parser.feed(b"\n")
    assert parser.get_commands() == [[b"SET", b"v" * 100000]]
    assert parser.buffered_bytes == 0


# ----------------------------------------------------------- large arguments


def test_large_argument_across_reads_with_split_terminator():
    value = bytes(range(256)) * 4000
    data = command(b"SET", b"k", value) + command(b"PING")
    for size in (1, 7, 4096, 65536):
        cuts = [data[i : i + size] for i in range(0, len(data), size)] if size > 1 else [
            data[:30], *[data[i : i + 1000] for i in range(30, len(data), 1000)]]
        assert run(cuts) == ([[b"SET", b"k", value], [b"PING"]], None)


def test_feed_accepts_bytes_like():
    parser = RequestParser()
    parser.feed(bytearray(b"*1\r\n$4\r\n"))
    parser.feed(memoryview(b"PING\r\n"))
    commands = parser.get_commands()
    assert commands == [[b"PING"]]
    assert type(commands[0][0]) is bytes


# ------------------------------------------------------------------- fuzzing

FRAGMENTS = [b"*", b"$", b"\r\n", b"\r", b"\n", b"\0", b" ", b"\t", b'"', b"'", b"\\", b"\\x4",
             b"1", b"2", b"0", b"-", b"10", b"3000000000", b"PING", b"x", b"\xff", b":",
             SET, command(b"GET", b"a"), b"*2\r\n$3\r\nGET\r\n$1\r\n"]
requests = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=8)),
                    max_size=40).map(b"".join)


@settings(max_examples=1500, deadline=None)
@given(requests, st.booleans())
def test_fuzz_only_protocol_errors(data, authenticated):
    whole(data, authenticated=authenticated)  # anything but ProtocolError fails the test


@settings(max_examples=1500, deadline=None)
@given(requests, st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_fuzz_reads_do_not_change_the_outcome(data, cuts):
    """Fed whole (fast path) or cut anywhere (mostly the exact path): same result."""
    bounds = [0, *sorted(cuts), len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    assert run(chunks) == whole(data)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=20), min_size=1, max_size=5), max_size=10))
def test_fuzz_canonical_commands_round_trip(commands):
    data = b"".join(command(*args) for args in commands)
    assert whole(data) == (commands, None)
    assert bytewise(data) == (commands, None)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_split_args_never_fails(line):
    args = split_args(line)
    assert args is None or all(type(arg) is bytes for arg in args)
