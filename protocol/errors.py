"""The one exception the protocol layer raises."""

from __future__ import annotations


class ProtocolError(Exception):
    """A request Redis rejects as malformed; the connection must then be closed.

    ``str()`` is Redis's whole error reply text without the leading ``-`` and the CRLF,
    e.g. ``ERR Protocol error: invalid multibulk length``. A byte of the request quoted
    in it (``expected '$', got 'X'``) is decoded as UTF-8 with ``surrogateescape``, so
    ``reply.Error(str(exc))`` writes back the very byte the client sent.
    """
