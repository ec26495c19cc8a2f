"""The RESP wire format, without I/O: parse client requests, encode replies.

``RequestParser`` turns received bytes into commands exactly as Redis 7.0 does;
``encode`` / ``encode_into`` turn handler return values into RESP2 or RESP3 bytes.
"""

import compiled  # noqa: F401  (first: it applies CASKD_PURE_PYTHON to the imports below)
from protocol.errors import ProtocolError
from protocol.parser import RequestParser, split_args
from protocol.reply import (
    EMPTY_ARRAY,
    OK,
    PONG,
    QUEUED,
    Error,
    NullArray,
    Push,
    Raw,
    SimpleString,
    Verbatim,
    encode,
    encode_into,
)

__all__ = [
    "EMPTY_ARRAY",
    "OK",
    "PONG",
    "QUEUED",
    "Error",
    "NullArray",
    "ProtocolError",
    "Push",
    "Raw",
    "RequestParser",
    "SimpleString",
    "Verbatim",
    "encode",
    "encode_into",
    "split_args",
]
