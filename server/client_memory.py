"""The buffer and memory figures of CLIENT LIST / CLIENT INFO, as far as caskd has
what Redis measures (networking.c's catClientInfoString, getClientMemoryUsage):

- ``qbuf``: request bytes received and not yet run: the unparsed rest, the commands
  parsed and queued behind a blocked one or a full output, and the command running
  (as Redis's query buffer still holds it while it runs), counted as RESP bytes;
- ``argv-mem``: the running or waiting (blocked) command's argument bytes;
- ``multi-mem``: a transaction's queued arguments, its queued commands and watched
  keys at Redis's per-entry sizes (multiStateMemOverhead);
- ``obl``: replies made in this event-loop iteration, not yet handed to the socket;
  ``oll``: reply batches held until the log is durable (appendfsync always);
  ``omem``: reply bytes the client has not taken (the socket's buffer and the held);
- ``tot-mem``: all of these plus the connection's own objects.

``qbuf-free``, ``rbs`` and ``rbp`` are 0: caskd has no preallocated query buffer or
fixed reply buffer to report.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.session import Session

_POINTER = 8  # sizeof(robj*)
_MULTI_COMMAND = 24  # sizeof(multiCmd)
_WATCHED_KEY = 48  # sizeof(listNode) + sizeof(watchedKey)


def resp_size(argv: list[bytes]) -> int:
    """The bytes of ``argv`` sent as a RESP multibulk request."""
    return (len(b"*%d\r\n" % len(argv)) + sum(len(b"$%d\r\n" % len(arg)) + len(arg) + 2
                                              for arg in argv))


def figures(client: Session, running: list[bytes] | None) -> dict[str, int]:
    """The client's figures; ``running`` is the command it is running now (the caller
    of CLIENT LIST / INFO), if any."""
    peer = client.peer
    if running is None and client.blocked is not None:
        running = client.blocked.argv  # Redis keeps a blocked command's argv
    argv = running or []
    argv_mem = sum(map(len, argv))
    qbuf = resp_size(argv) if running else 0
    obl = omem = oll = 0
    if peer is not None:
        qbuf += peer.query_buffer_size() + sum(map(resp_size, peer.queued))
        obl = sum(map(len, peer.out))
        oll = peer.held_replies()
        omem = peer.output_size()
    multi = client.multi or []
    multi_mem = (sum(len(arg) for _, queued in multi for arg in queued)
                 + len(multi) * _MULTI_COMMAND + len(client.watched) * _WATCHED_KEY)
    own = sys.getsizeof(client) + (sys.getsizeof(peer) if peer is not None else 0)
    return {"qbuf": qbuf, "qbuf-free": 0, "argv-mem": argv_mem, "multi-mem": multi_mem,
            "rbs": 0, "rbp": 0, "obl": obl, "oll": oll, "omem": omem,
            "tot-mem": own + qbuf + argv_mem + _POINTER * len(argv) + multi_mem + obl + omem}
