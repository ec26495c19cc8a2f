"""The replication backlog: which offsets it can continue from, and what it sends."""

from __future__ import annotations

from server.replication.backlog import TRIM_SLACK, Backlog


def test_a_new_backlog_starts_after_the_current_offset():
    backlog = Backlog(100, offset=41)
    assert backlog.first_byte_offset == 42 and backlog.histlen == 0
    assert backlog.covers(42)  # a replica at 41 asks for byte 42: nothing to send, but fine
    assert not backlog.covers(41) and not backlog.covers(43)


def test_it_sends_the_stream_from_the_byte_asked_for():
    backlog = Backlog(100, offset=0)
    backlog.append(b"abc")
    backlog.append(b"defg")
    assert backlog.since(1) == b"abcdefg"
    assert backlog.since(5) == b"efg"
    assert backlog.since(8) == b""
    assert backlog.covers(8) and not backlog.covers(9)


def test_it_keeps_about_its_size_of_the_newest_bytes():
    backlog = Backlog(1000, offset=0)
    backlog.append(b"x" * (1000 + TRIM_SLACK))
    assert backlog.histlen == 1000 + TRIM_SLACK  # trimmed by blocks, as Redis's
    backlog.append(b"y")
    assert backlog.histlen == 1000
    assert backlog.first_byte_offset == TRIM_SLACK + 2
    assert backlog.since(backlog.first_byte_offset)[-1:] == b"y"
    assert not backlog.covers(1)


def test_resizing_keeps_the_newest():
    backlog = Backlog(100, offset=10)
    backlog.append(b"0123456789")
    backlog.resize(4)
    assert backlog.since(backlog.first_byte_offset) == b"6789"
    assert backlog.first_byte_offset == 17
