"""Per-command cost of parsing and encoding: ``python -m tests.protocol.bench``.

Parsing is measured as redis-benchmark loads a server: 16 pipelined commands per read.
Raw hiredis.Reader is shown as a floor only: it is neither safe nor exact on hostile
input (see protocol/parser.py), and every way of making it so measured slower than
the pure-Python parser.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import hiredis

from protocol import OK, RequestParser, encode_into

PIPELINE = 16
VALUE = b"x" * 100
SETS = b"".join(b"*3\r\n$3\r\nSET\r\n$10\r\nkey:%06d\r\n$100\r\n%b\r\n" % (i, VALUE)
                for i in range(PIPELINE))
GETS = b"".join(b"*2\r\n$3\r\nGET\r\n$10\r\nkey:%06d\r\n" % i for i in range(PIPELINE))


def best(run: Callable[[], object], number: int = 20000) -> float:
    """Seconds per call: the best of several rounds, the least disturbed by noise."""
    return min(timeit.repeat(run, number=number, repeat=7)) / number


def parse_batch(data: bytes) -> Callable[[], object]:
    parser = RequestParser()

    def run() -> object:
        parser.feed(data)
        return parser.get_commands()
    return run


def parse_one_by_one(data: bytes) -> Callable[[], object]:
    parser = RequestParser()

    def run() -> None:
        parser.feed(data)
        while parser.get_command() is not None:
            pass
    return run


def parse_hiredis(data: bytes) -> Callable[[], object]:
    reader = hiredis.Reader()

    def run() -> None:
        reader.feed(data)
        while reader.gets() is not False:
            pass
    return run


def encode_cost(reply: object, resp3: bool = False) -> float:
    """Seconds per encode_into(), net of emptying the output list as a write would."""
    names = {"encode_into": encode_into, "reply": reply, "resp3": resp3}

    def timed(statement: str) -> float:
        rounds = timeit.repeat(statement, setup="out = []", number=100000, repeat=7,
                               globals=names)
        return min(rounds) / 100000
    return timed("encode_into(out, reply, resp3); out.clear()") - timed("out.clear()")


def write_cost(replies: list[object]) -> float:
    """Seconds per reply to encode one read's replies and join them for the write."""
    out: list[bytes] = []

    def run() -> bytes:
        for reply in replies:
            encode_into(out, reply, False)
        data = b"".join(out)
        out.clear()
        return data
    return best(run) / len(replies)


def main() -> None:
    print(f"parse, ns per command ({PIPELINE} pipelined per read)")
    for name, make in [("get_commands()", parse_batch), ("get_command() loop", parse_one_by_one),
                       ("raw hiredis (unsafe floor)", parse_hiredis)]:
        costs = [best(make(data)) / PIPELINE * 1e9 for data in (SETS, GETS)]
        print(f"  {name:28} SET key:000123 <100 B>: {costs[0]:4.0f}   GET key:000123: "
              f"{costs[1]:4.0f}")
    print("encode_into, ns per reply")
    for name, reply, resp3 in [
        ("OK (Raw)", OK, False), ("100-byte bulk", VALUE, False), ("int 42", 42, False),
        ("int 10**6", 10**6, False), ("None, RESP2", None, False), ("None, RESP3", None, True),
        ("1.5, RESP3", 1.5, True), ("10 x 100-byte bulks", [VALUE] * 10, False),
        ("{5 bulk: bulk}, RESP3", {b"k%d" % i: VALUE for i in range(5)}, True),
    ]:
        print(f"  {name:28} {encode_cost(reply, resp3) * 1e9:5.0f}")
    print(f"encode_into + join for one write, ns per reply ({PIPELINE} per write)")
    for name, reply in [("OK (SET)", OK), ("100-byte bulk (GET)", VALUE)]:
        print(f"  {name:28} {write_cost([reply] * PIPELINE) * 1e9:5.0f}")


if __name__ == "__main__":
    main()
