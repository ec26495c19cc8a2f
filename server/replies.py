"""Replies the server adds to protocol's constants."""

from protocol.reply import Raw

NO_REPLY = Raw(b"")  # nothing is sent (SHUTDOWN: the connection just closes)
