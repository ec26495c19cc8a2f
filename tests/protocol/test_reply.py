"""Reply encoding: every value type, RESP2 and RESP3, compared byte for byte."""

from __future__ import annotations

import pytest

from protocol import (
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

LONG = b"v" * 300  # takes the large-value path

# value, RESP2 bytes, RESP3 bytes
CASES = [
    (b"abc", b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"a\r\nb\0", b"$5\r\na\r\nb\0\r\n", b"$5\r\na\r\nb\0\r\n"),
    (LONG, b"$300\r\n" + LONG + b"\r\n", b"$300\r\n" + LONG + b"\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-1, b":-1\r\n", b":-1\r\n"),
    (-2, b":-2\r\n", b":-2\r\n"),
    (1023, b":1023\r\n", b":1023\r\n"),
    (1024, b":1024\r\n", b":1024\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
    (-(2**63), b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NullArray, b"*-1\r\n", b"_\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (3.0, b"$1\r\n3\r\n", b",3\r\n"),
    (-0.0, b"$2\r\n-0\r\n", b",-0\r\n"),
    (1e300, b"$23\r\n1.0000000000000001e+300\r\n", b",1.0000000000000001e+300\r\n"),
    (1e-05, b"$22\r\n1.0000000000000001e-05\r\n", b",1.0000000000000001e-05\r\n"),
    (float("inf"), b"$3\r\ninf\r\n", b",inf\r\n"),
    (float("-inf"), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (float("nan"), b"$3\r\nnan\r\n", b",nan\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    ((b"a", LONG), b"*2\r\n$1\r\na\r\n$300\r\n" + LONG + b"\r\n",
     b"*2\r\n$1\r\na\r\n$300\r\n" + LONG + b"\r\n"),
    ({}, b"*0\r\n", b"%0\r\n"),
    ({b"k": b"v", b"n": 2}, b"*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:2\r\n",
     b"%2\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:2\r\n"),
    ({b"m"}, b"*1\r\n$1\r\nm\r\n", b"~1\r\n$1\r\nm\r\n"),
    (frozenset(), b"*0\r\n", b"~0\r\n"),
    (SimpleString("OK"), b"+OK\r\n", b"+OK\r\n"),
    (Error("ERR bad"), b"-ERR bad\r\n", b"-ERR bad\r\n"),
    (Verbatim("hi\n"), b"$3\r\nhi\n\r\n", b"=7\r\ntxt:hi\n\r\n"),
    (Verbatim(b"# x", "mkd"), b"$3\r\n# x\r\n", b"=7\r\nmkd:# x\r\n"),
    (Push([b"message", b"ch", b"hi"]), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
     b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
    (Raw(b"+anything\r\n"), b"+anything\r\n", b"+anything\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (PONG, b"+PONG\r\n", b"+PONG\r\n"),
    (QUEUED, b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (EMPTY_ARRAY, b"*0\r\n", b"*0\r\n"),
]


@pytest.mark.parametrize(("value", "resp2", "resp3"), CASES, ids=repr)
def test_encoding(value, resp2, resp3):
    assert encode(value) == resp2
    assert encode(value, resp3=False) == resp2
    assert encode(value, resp3=True) == resp3


def test_nested_every_type():
    reply = [
        {b"map": [1.5, None, NullArray], b"set": {SimpleString("s")}},
        Push([Error("ERR e"), Verbatim("v")]),
        (OK, [[b"deep", []]]),
    ]
    assert encode(reply) == (
        b"*3\r\n"
        b"*4\r\n$3\r\nmap\r\n*3\r\n$3\r\n1.5\r\n$-1\r\n*-1\r\n$3\r\nset\r\n*1\r\n+s\r\n"
        b"*2\r\n-ERR e\r\n$1\r\nv\r\n"
        b"*2\r\n+OK\r\n*1\r\n*2\r\n$4\r\ndeep\r\n*0\r\n"
    )
    assert encode(reply, resp3=True) == (
        b"*3\r\n"
        b"%2\r\n$3\r\nmap\r\n*3\r\n,1.5\r\n_\r\n_\r\n$3\r\nset\r\n~1\r\n+s\r\n"
        b">2\r\n-ERR e\r\n=5\r\ntxt:v\r\n"
        b"*2\r\n+OK\r\n*1\r\n*2\r\n$4\r\ndeep\r\n*0\r\n"
    )


def test_encode_into_appends_replies_for_one_write():
    out: list[bytes] = []
    for reply in (OK, b"v", 7, None, [b"a"]):
        encode_into(out, reply, False)
    encode_into(out, None, True)
    assert b"".join(out) == b"+OK\r\n$1\r\nv\r\n:7\r\n$-1\r\n*1\r\n$1\r\na\r\n_\r\n"


@pytest.mark.parametrize("value", [True, "text", 1j, object(), [b"ok", False], {b"k": "v"}])
def test_unknown_types_are_refused_and_leave_the_buffer_alone(value):
    out = [b"+OK\r\n"]
    with pytest.raises(TypeError, match="cannot encode"):
        encode_into(out, value)
    with pytest.raises(TypeError, match="cannot encode"):
        encode_into(out, value, True)
    assert out == [b"+OK\r\n"]


def test_error_text_stays_on_one_line():
    error = Error("ERR a\r\nb\nc\r\n")
    assert error.text == "ERR a  b c"  # trimmed at the ends, spaces inside (as Redis does)
    assert encode(error) == b"-ERR a  b c\r\n"


def test_error_round_trips_raw_bytes():
    text = b"ERR Protocol error: expected '$', got '\x80'".decode("utf-8", "surrogateescape")
    assert encode(Error(text)) == b"-ERR Protocol error: expected '$', got '\x80'\r\n"
    assert encode(Error("ERR é")) == "-ERR é\r\n".encode()


def test_simple_string_stays_on_one_line_and_is_a_str():
    status = SimpleString("a\nb")
    assert encode(status) == b"+a b\r\n"
    assert status == "a b"
    assert {SimpleString("x"), SimpleString("x")} == {"x"}


def test_verbatim_format_must_be_three_bytes():
    with pytest.raises(ValueError, match="3 bytes"):
        Verbatim("x", "text")


def test_reprs():
    assert repr(Error("ERR x")) == "Error('ERR x')"
    assert repr(Verbatim("x")) == "Verbatim(b'x', 'txt')"
    assert repr(NullArray) == "NullArray"
