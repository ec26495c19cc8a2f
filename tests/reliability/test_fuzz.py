"""Protocol fuzzing against a live caskd, with a real redis-server as the oracle.

Every input (malformed and mutated RESP, inline commands, truncated frames, huge,
negative and non-numeric lengths, wrong type bytes, binary garbage) goes to both
servers on a fresh connection, split into random pieces, followed by a half-close;
both answer and close, and caskd's bytes must be Redis's: the same protocol errors,
and nothing after them where Redis closes the connection. Meanwhile caskd must not
crash or log a traceback, a second client must keep getting PONGs quickly, and the
stored data must not change (the seed commands only read).

CI runs a few seconds; ``FUZZ_SECONDS=600`` runs ten minutes. Each run prints how
many inputs it tried (``pytest -s``) and the seed that replays it (``FUZZ_SEED``).
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compat.harness import RedisServer, encode_command, frame_end
from tests.support import CaskdProcess, require_tool

FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", "6"))
WORKERS = 8
KNOWN_KEYS = 100
EXCHANGE_TIMEOUT = 10.0  # both servers close at once after the half-close
MAX_PING_SECONDS = 0.5  # the worst PING round trip allowed while the fuzzers run

# Read-only commands no single-byte change turns into a write (MGET -> MSET and
# GETRANGE -> SETRANGE would): the stored data must come through unchanged.
SEEDS: list[list[bytes]] = [
    [b"PING"], [b"PING", b"msg"], [b"ECHO", b"a\r\nb\0c"], [b"GET", b"known:1"],
    [b"EXISTS", b"known:2", b"nosuchkey"], [b"STRLEN", b"known:3"], [b"TYPE", b"known:4"],
    [b"TTL", b"known:5"], [b"DBSIZE"], [b"SELECT", b"1"], [b"GET", b"nosuchkey"],
]
INTERESTING_NUMBERS = [
    b"0", b"1", b"2", b"3", b"-1", b"-2", b"-1000", b"1024", b"1048577", b"2147483647",
    b"2147483648", b"-2147483649", b"9223372036854775807", b"9223372036854775808",
    b"536870912", b"536870913", b"", b"abc", b"+1", b"01", b" 1", b"1 ", b"0x10", b"1.5",
]
TYPE_BYTES = b"*$+-:_,#!=(%~>|?@\0\xff 1a\r\n"


# ----------------------------------------------------------------------- inputs

def inline(argv: list[bytes], rng: random.Random) -> bytes:
    """An inline command, arguments plain, double- or single-quoted."""
    words = []
    for arg in argv:
        style = rng.randrange(4)
        if style == 0 and arg and not any(c in arg for c in b" \t\r\n\"'\0"):
            words.append(arg)
        elif style <= 2:
            words.append(b'"' + "".join(f"\\x{c:02x}" for c in arg).encode() + b'"')
        else:
            words.append(b"'" + arg.replace(b"'", b"\\'") + b"'")
    return b" ".join(words) + rng.choice([b"\r\n", b"\n"])


def seed_commands(rng: random.Random) -> bytes:
    frames = []
    for _ in range(rng.randint(1, 5)):
        argv = list(rng.choice(SEEDS))
        frames.append(encode_command(tuple(argv)) if rng.random() < 0.7 else inline(argv, rng))
    return b"".join(frames)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random change: truncate, replace, insert, delete, duplicate, a new number
    in a header, a wrong type byte, an inserted NUL or line end."""
    if not data:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randint(1, 12))
    kind = rng.randrange(9)
    if kind == 0:
        return data[:i]
    if kind == 1:
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
    if kind == 2:
        return data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + data[i:]
    if kind == 3:
        return data[:i] + data[j:]
    if kind == 4:
        return data[:j] + data[i:]
    if kind == 5:  # a header's number
        starts = [k for k in range(len(data) - 1) if data[k] in b"*$" and
                  (k == 0 or data[k - 1] == 10)]
        if starts:
            k = rng.choice(starts) + 1
            end = data.find(b"\r", k)
            end = len(data) if end < 0 else end
            return data[:k] + rng.choice(INTERESTING_NUMBERS) + data[end:]
        return data
    if kind == 6:
        return data[:i] + bytes([rng.choice(TYPE_BYTES)]) + data[i + 1:]
    if kind == 7:
        return data[:i] + rng.choice([b"\0", b"\r", b"\n", b"\r\n", b'"', b"'"]) + data[i:]
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]


def fuzz_input(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.05:  # binary garbage
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    if roll < 0.07:  # a line at Redis's 64 KiB limit, inline or in a header
        head = rng.choice([b"", b"*", b"*1\r\n$", b"*1\r\n$4\r\nPING\r\n"])
        return head + b"1" * rng.choice([65535, 65536]) + rng.choice([b"", b"\r\n"])
    if roll < 0.08:  # past it, never ending. (Whether Redis takes a 64-200 KiB line
        # that does end depends on how much its reads get at once: not compared.)
        head = rng.choice([b"", b"*", b"*1\r\n$", b"*1\r\n$4\r\nPING\r\n"])
        return head + b"1" * rng.randint(65537, 100_000)
    data = seed_commands(rng)
    for _ in range(rng.choice([0, 1, 1, 2, 3, 5])):
        data = mutate(data, rng)
    return data


def split_points(data: bytes, rng: random.Random) -> list[int]:
    """Where to cut the input into separate sends: nowhere, once, at every byte
    (short inputs), or at a few random places."""
    roll = rng.random()
    if roll < 0.25 or len(data) < 2:
        return []
    if roll < 0.5:
        return [rng.randrange(1, len(data))]
    if roll < 0.6 and len(data) <= 200:
        return list(range(1, len(data)))
    return sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(2, 6))))


# ------------------------------------------------------------------ exchanges

class Stalled(AssertionError):
    pass


def exchange(port: int, data: bytes, cuts: list[int]) -> bytes:
    """Send ``data`` in pieces, half-close, and read every reply until the server
    closes; Stalled if it does not."""
    with socket.create_connection(("127.0.0.1", port), timeout=EXCHANGE_TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = 0
        replies = []
        try:
            try:
                for cut in [*cuts, len(data)]:
                    sock.sendall(data[start:cut])
                    start = cut
                sock.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError, OSError) as exc:
                if isinstance(exc, TimeoutError):
                    raise
                # Closed on a protocol error before all was sent: the replies tell.
            while chunk := sock.recv(1 << 16):
                replies.append(chunk)
        except TimeoutError:
            raise Stalled(f"no close {EXCHANGE_TIMEOUT} s after the half-close of "
                          f"{data[:200]!r}") from None
        except ConnectionResetError:
            pass  # unread input at the close: the replies before it still count
        return b"".join(replies)


def frames(replies: bytes) -> list[bytes]:
    """The replies one by one."""
    found, pos = [], 0
    while pos < len(replies) and (end := frame_end(replies, pos)) is not None:
        found.append(replies[pos:end])
        pos = end
    return found


def lacks_command(redis_replies: bytes, caskd_replies: bytes) -> bool:
    """Whether the first reply that differs is caskd not knowing a command Redis
    has: a mutation can make one (STRLEN -> XLEN). Not a protocol matter."""
    for want, got in zip(frames(redis_replies), frames(caskd_replies), strict=False):
        if want != got:
            return got.startswith(b"-ERR unknown command") and \
                not want.startswith(b"-ERR unknown command")
    return False


@dataclass
class Servers:
    redis: RedisServer
    caskd: CaskdProcess
    checksums: dict[str, str] = field(default_factory=dict)
    unknown_to_caskd: int = 0  # inputs that became a command only Redis has

    def compare(self, data: bytes, cuts: list[int]) -> None:
        want = exchange(self.redis.port, data, cuts)
        got = exchange(self.caskd.port, data, cuts)
        if got != want and lacks_command(want, got):
            self.unknown_to_caskd += 1
            return
        assert got == want, f"input {data[:500]!r} cut at {cuts}\n  redis: {want[:500]!r}\n" \
                            f"  caskd: {got[:500]!r}"


def checksum(port: int) -> str:
    """A digest of every key and value in every database."""
    digest = hashlib.sha256()
    for db in range(16):
        with redis.Redis(port=port, db=db) as client:
            keys = sorted(client.keys())
            digest.update(repr((db, keys, client.mget(keys) if keys else [])).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    oracle = RedisServer(require_tool("redis-server"), root / "redis")
    caskd = CaskdProcess(root / "caskd").start()
    rng = random.Random(7)
    load = b"".join(encode_command(("SET", f"known:{i}", rng.randbytes(rng.randint(0, 300))))
                    for i in range(KNOWN_KEYS))
    for port in (oracle.port, caskd.port):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(load)
            got = b""
            while got.count(b"+OK\r\n") < KNOWN_KEYS:
                got += sock.recv(1 << 16)
    pair = Servers(oracle, caskd)
    pair.checksums = {"redis": checksum(oracle.port), "caskd": checksum(caskd.port)}
    assert pair.checksums["redis"] == pair.checksums["caskd"]
    yield pair
    try:
        assert caskd.proc.poll() is None, f"caskd died:\n{caskd.log()}"
        assert "Traceback" not in caskd.log(), caskd.log()
        assert checksum(caskd.port) == pair.checksums["caskd"], "the fuzzing changed data"
    finally:
        caskd.stop()
        oracle.stop()


# ---------------------------------------------------------------------- tests

class Pinger(threading.Thread):
    """A well-behaved client: PING round trips, timed, until stopped."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.latencies: list[float] = []

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            while not self.stop.wait(0.005):
                started = time.monotonic()
                sock.sendall(b"PING\r\n")
                assert sock.recv(16) == b"+PONG\r\n"
                self.latencies.append(time.monotonic() - started)


def test_random_inputs_on_many_connections_get_redis_replies(servers):
    seed = int(os.environ.get("FUZZ_SEED", random.randrange(1 << 32)))
    deadline = time.monotonic() + FUZZ_SECONDS
    tried = [0] * WORKERS
    failures: list[BaseException] = []

    def work(n: int) -> None:
        rng = random.Random(seed + n)
        while time.monotonic() < deadline and not failures:
            data = fuzz_input(rng)
            try:
                servers.compare(data, split_points(data, rng))
            except (AssertionError, OSError) as exc:
                failures.append(exc)
            tried[n] += 1

    pinger = Pinger(servers.caskd.port)
    pinger.start()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    pinger.stop.set()
    pinger.join()
    print(f"\nfuzz: {sum(tried)} inputs on {WORKERS} connections at a time in "
          f"{FUZZ_SECONDS:.0f} s (seed {seed}; {servers.unknown_to_caskd} became commands "
          f"caskd lacks); worst PING {max(pinger.latencies):.3f} s")
    assert not failures, f"seed {seed}: {failures[0]}"
    assert sum(tried) > 100
    assert len(pinger.latencies) > 10
    assert max(pinger.latencies) < MAX_PING_SECONDS


def until_closed(port: int, data: bytes) -> bytes:
    """Send ``data`` (no half-close) and read until the server closes by itself."""
    with socket.create_connection(("127.0.0.1", port), timeout=EXCHANGE_TIMEOUT) as sock:
        sock.sendall(data)
        replies = b""
        try:
            while chunk := sock.recv(1 << 16):
                replies += chunk
        except TimeoutError:
            raise Stalled(f"still open {EXCHANGE_TIMEOUT} s after {data[:100]!r}") from None
        return replies


@pytest.mark.parametrize("data", [
    b"*1\r\n$x\r\n", b"*abc\r\n", b"*2147483648\r\n", b"*1\r\n+PING\r\n",
    b'SET "unbalanced\r\n', b"PING\r\n*1\r\n$-1\r\nPING\r\n", b"1" * 65537,
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n", b"*1\r\n\xff\r\n",
])
def test_protocol_errors_close_the_connection_as_redis_does(servers, data):
    assert until_closed(servers.caskd.port, data) == until_closed(servers.redis.port, data)


@pytest.mark.parametrize("argv", [
    (b"\xb6\xfe\xc1?c",), (b"F\x00OO", b"\xff\xfe", b"x\x00y"), (b"nope", b"a\r\nb"),
    (b"n" * 200, b"\xe9" * 100, b"b" * 100, b"c"), (b"CLIENT", b"\xff\x00x"),
])
def test_unknown_commands_quote_their_bytes_as_redis_does(servers, argv):
    servers.compare(encode_command(argv), [])


# Hypothesis builds inputs from RESP's pieces and shrinks a failure to a minimal one.
_numbers = st.sampled_from(INTERESTING_NUMBERS) | st.integers(-3, 40).map(b"%d".__mod__)
_ends = st.sampled_from([b"\r\n", b"\n", b"\r", b"", b"\r\r\n", b"\0\r\n", b" \r\n"])
_words = st.sampled_from([seed[0] for seed in SEEDS] + [b"known:1", b"a b", b"\"x\"", b"'"])
_tokens = st.one_of(
    st.tuples(st.sampled_from([bytes([b]) for b in TYPE_BYTES]), _numbers, _ends),
    st.tuples(_words | st.binary(max_size=12), _ends),
    st.lists(st.sampled_from(SEEDS)).map(lambda cmds: tuple(map(encode_command, map(tuple,
                                                                                        cmds)))),
).map(b"".join)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tokens=st.lists(_tokens, min_size=1, max_size=10), cut=st.integers(0, 1000))
def test_inputs_built_from_resp_pieces_get_redis_replies(servers, tokens, cut):
    data = b"".join(tokens)
    servers.compare(data, [cut] if 0 < cut < len(data) else [])
