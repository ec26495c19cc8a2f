"""What the server shows about the commands it runs: SLOWLOG entries and MONITOR lines.

Both show the arguments as Redis does, with secrets replaced by "(redacted)".
Neither costs anything on the dispatch path until a command is slow enough to log
or a client MONITORs.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from server.config import SENSITIVE

if TYPE_CHECKING:
    from server.session import Session

MAX_ARGS = 32  # Redis's SLOWLOG_ENTRY_MAX_ARGC
MAX_ARG_BYTES = 128  # SLOWLOG_ENTRY_MAX_STRING
NEVER = 1 << 63  # a slowlog threshold no duration reaches: logging disabled
REDACTED = b"(redacted)"


def redacted(name: str, argv: list[bytes]) -> list[bytes]:
    """``argv`` with passwords hidden, as Redis 7.0 hides them from MONITOR and SLOWLOG."""
    if name == "auth":
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if name == "hello":  # HELLO protover [AUTH user pass] [SETNAME name]
        shown = list(argv)
        i = 2
        while i < len(argv) - 2:
            if argv[i].upper() == b"AUTH":
                shown[i + 1] = shown[i + 2] = REDACTED
                i += 3
            else:
                i += 2
        return shown
    if name == "acl|setuser":  # the user name and every rule: passwords are rules
        return argv[:2] + [REDACTED] * (len(argv) - 2)
    if name == "config|set":
        return [REDACTED if i > 2 and i % 2
                and argv[i - 1].lower().decode(errors="replace") in SENSITIVE
                else arg for i, arg in enumerate(argv)]
    return argv


# ------------------------------------------------------------------ SLOWLOG


def slowlog_threshold(setting: int) -> int:
    """The duration (µs) from which a command is logged; a negative setting disables."""
    return NEVER if setting < 0 else setting


class SlowLog:
    """The newest entries first, at most ``max_len`` of them."""

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len
        self.entries: deque[list] = deque()
        self.next_id = 0

    def record(self, client: Session, name: str, argv: list[bytes], usec: int) -> None:
        self.entries.appendleft([self.next_id, int(time.time()), usec,
                                 _trimmed(redacted(name, argv)), client.address.encode(),
                                 client.name])
        self.next_id += 1
        self.trim()

    def trim(self) -> None:
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def newest(self, count: int) -> list[list]:
        """SLOWLOG GET: up to ``count`` entries, newest first; -1 for all."""
        if count < 0:
            return list(self.entries)
        return [entry for _, entry in zip(range(count), self.entries, strict=False)]


def _trimmed(argv: list[bytes]) -> list[bytes]:
    """At most 32 arguments of at most 128 bytes, saying how much was left out."""
    kept = argv if len(argv) <= MAX_ARGS else argv[:MAX_ARGS - 1]
    args = [arg if len(arg) <= MAX_ARG_BYTES
            else arg[:MAX_ARG_BYTES] + b"... (%d more bytes)" % (len(arg) - MAX_ARG_BYTES)
            for arg in kept]
    if len(argv) > MAX_ARGS:
        args.append(b"... (%d more arguments)" % (len(argv) - MAX_ARGS + 1))
    return args


# ------------------------------------------------------------------ MONITOR

# sdscatrepr: printable ASCII as is, C escapes for a few, \xHH for the rest.
_REPR = [bytes([b]) if 0x20 <= b <= 0x7E else b"\\x%02x" % b for b in range(256)]
for _byte, _escaped in ((0x5C, b"\\\\"), (0x22, b'\\"'), (0x0A, b"\\n"), (0x0D, b"\\r"),
                        (0x09, b"\\t"), (0x07, b"\\a"), (0x08, b"\\b")):
    _REPR[_byte] = _escaped


def _quoted(arg: bytes) -> bytes:
    return b'"' + b"".join([_REPR[b] for b in arg]) + b'"'


def monitor_line(client: Session, name: str, argv: list[bytes]) -> bytes:
    """``+1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"``, a status reply."""
    now = time.time_ns() // 1000
    args = b" ".join([_quoted(arg) for arg in redacted(name, argv)])
    return b"+%d.%06d [%d %s] %s\r\n" % (now // 1_000_000, now % 1_000_000, client.db,
                                        client.address.encode(), args)
