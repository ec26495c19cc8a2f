"""The shared state's contract with the replica side, in-process: while following a
master nothing of its own is propagated and the master's stream, fed in, is its
stream; promoted (shift_replid), it propagates again and its old history stays valid
for the replicas it served."""

from __future__ import annotations

from protocol.reply import encode
from server.session import Session


class Following:
    """What the replica side's MasterLink is to the dispatcher while the master's
    stream is applied: it refuses nothing (the applying session is the master's)."""

    @staticmethod
    def refusal(session, command) -> None:
        return None


def test_a_replica_passes_its_masters_stream_on_and_is_promoted(server):
    replication = server.replication
    server.master_link = Following()  # as the replica side sets it while following
    replication.replid, replication.offset = "a" * 40, 100
    stream = encode([b"SET", b"k", b"v"])
    server.dispatcher.execute(Session(server), [b"SET", b"k", b"v"])  # applied ...
    replication.feed(stream)  # ... and passed on, as the replica side does
    assert replication.offset == 100 + len(stream)
    assert replication.backlog.since(101) == stream  # its own SET was not propagated
    assert not replication.propagating
    server.master_link = None
    replication.shift_replid()
    assert (replication.replid2, replication.second_replid_offset) == \
        ("a" * 40, 101 + len(stream))
    assert replication.replid != "a" * 40 and replication.propagating and server.observed
    server.dispatcher.execute(Session(server), [b"DEL", b"k"])
    assert replication.backlog.since(101 + len(stream)) == \
        encode([b"SELECT", b"0"]) + encode([b"DEL", b"k"])
    # A replica of the old master, at the promotion's offset, can continue here.
    assert replication.backlog.covers(101 + len(stream))


def test_an_offset_set_anew_starts_the_backlog_afresh(server):
    """A replica's +FULLRESYNC sets replid and offset: the bytes kept before belong
    to another history and must never be sent as this one's."""
    replication = server.replication
    server.master_link = Following()
    replication.feed(b"old bytes")
    replication.replid, replication.offset = "b" * 40, 5000
    replication.feed(b"new")
    backlog = replication.backlog
    assert (backlog.first_byte_offset, backlog.histlen) == (5001, 3)
    assert not backlog.covers(10)
    replication.persist()
    header = replication.file.path.read_bytes().split(b"\n", 1)[0].split()
    assert header[3] == b"b" * 40 and header[6] == b"5001"


def test_nothing_is_propagated_without_a_backlog(server):
    assert not server.observed  # the dispatcher's hot path stays as it was
    server.dispatcher.execute(Session(server), [b"SET", b"k", b"v"])
    assert server.replication.offset == 0 and server.replication.backlog is None
