"""The replication handshake on a raw socket, byte for byte: what caskd answers a
replica's REPLCONF and PSYNC / SYNC (+FULLRESYNC and the RDB in both transfer
formats, +CONTINUE and the backlog), the stream after it, and how it treats a
replica that does not keep up."""

from __future__ import annotations

import re

import pytest
import redis

from storage.rdb import FileReader
from tests.replication.support import info
from tests.support import CaskdProcess, RawClient, wait_until

FULLRESYNC = re.compile(rb"\+FULLRESYNC ([0-9a-f]{40}) (\d+)\r\n")


@pytest.fixture
def master(tmp_path):
    server = CaskdProcess(tmp_path / "master", "--repl-diskless-sync-delay", "0").start()
    yield server
    server.stop()


def handshake(master: CaskdProcess, *capas: str, port: str = "7777") -> RawClient:
    replica = master.raw()
    replica.roundtrip("REPLCONF", "listening-port", port, reply=b"+OK\r\n")
    for capa in capas:
        replica.roundtrip("REPLCONF", "capa", capa, reply=b"+OK\r\n")
    return replica


def psync_reply(replica: RawClient) -> bytes:
    """PSYNC's reply line, past the keep-alive newlines that may come before it."""
    return replica.read_line().lstrip(b"\n")


def full_resync(replica: RawClient) -> tuple[str, int]:
    """Ask for a full resync; (replid, offset) of the +FULLRESYNC line."""
    replica.command("PSYNC", "?", "-1")
    line = psync_reply(replica)
    match = FULLRESYNC.fullmatch(line)
    assert match, line
    return match[1].decode(), int(match[2])


def read_payload_header(replica: RawClient) -> bytes:
    """The RDB transfer's first line, past the keep-alive newlines."""
    while replica.read_exact(1) == b"\n":
        pass
    return b"$" + replica.read_line()


def read_rdb(replica: RawClient) -> bytes:
    """The RDB sent as a $<length> bulk (no CRLF after it: the stream follows)."""
    header = read_payload_header(replica)
    assert re.fullmatch(rb"\$\d+\r\n", header), header
    return replica.read_exact(int(header[1:-2]))


def test_a_replica_without_capa_eof_gets_the_rdb_as_a_sized_bulk(master):
    client = master.client()
    client.set("k", "v", ex=100)
    client.hset("h", "f", "v")
    replica = handshake(master, "psync2")
    replid, offset = full_resync(replica)
    assert (replid, offset) == (info(master.port)["master_replid"], 0)
    rdb = FileReader(read_rdb(replica))
    entries = {(entry.db, entry.key): entry for entry in rdb.entries()}
    assert entries[(0, b"k")].value == b"v" and entries[(0, b"k")].expire_at > 0
    assert entries[(0, b"h")].value == {b"f": b"v"}
    assert rdb.aux[b"repl-id"] == replid.encode()
    # Then the stream, from the snapshot's offset: a SELECT first.
    client.set("after", "1")
    replica.expect(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n")
    assert info(master.port)["slave0"]["state"] == "online"


def test_a_diskless_replica_gets_the_eof_format_and_the_stream_after_its_ack(master):
    replica = handshake(master, "eof", "psync2")
    full_resync(replica)
    header = read_payload_header(replica)
    match = re.fullmatch(rb"\$EOF:([0-9a-f]{40})\r\n", header)
    assert match, header
    mark = match[1]
    payload = b""
    while not payload.endswith(mark):
        payload += replica.read_exact(1)
    assert payload.startswith(b"REDIS0010")
    list(FileReader(payload[:-len(mark)]).entries())  # a whole, valid file
    master.client().set("k", "v")
    wait_until(lambda: info(master.port)["master_repl_offset"] > 0, what="the write")
    replica.sock.settimeout(0.3)
    with pytest.raises(TimeoutError):  # nothing follows the mark until the replica ACKs
        replica.sock.recv(1)
    replica.sock.settimeout(10)
    replica.command("REPLCONF", "ACK", "0")
    replica.expect(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")


def test_a_replica_that_comes_back_continues_from_its_offset(master):
    first = handshake(master, "psync2")
    replid, _ = full_resync(first)
    read_rdb(first)
    client = master.client()
    client.set("a", "1")
    stream = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
    first.expect(stream)
    first.close()
    client.set("b", "2")
    wait_until(lambda: info(master.port)["connected_slaves"] == 0, what="the replica to go")
    again = handshake(master, "psync2")
    again.command("PSYNC", replid, str(len(stream) + 1))
    again.expect(b"+CONTINUE %s\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n" % replid.encode())
    assert info(master.port, "stats")["sync_partial_ok"] == 1
    # An offset the backlog does not hold, or another history, gets a full resync.
    for asked in ((replid, "999999"), ("f" * 40, "1")):
        other = handshake(master, "psync2")
        other.command("PSYNC", *asked)
        assert FULLRESYNC.fullmatch(psync_reply(other))
        other.close()
    assert info(master.port, "stats")["sync_partial_err"] == 2


def test_sync_gets_the_rdb_without_a_fullresync_line(master):
    master.client().set("k", "v")
    replica = master.raw()
    replica.command("SYNC")
    entries = list(FileReader(read_rdb(replica)).entries())
    assert [(entry.key, entry.value) for entry in entries] == [(b"k", b"v")]


def test_acks_are_counted_and_unanswered(master):
    replica = handshake(master, "psync2")
    full_resync(replica)
    read_rdb(replica)
    replica.command("REPLCONF", "ACK", "0", "FACK", "0")
    client = master.client()
    client.set("k", "v")
    offset = info(master.port)["master_repl_offset"]
    replica.command("REPLCONF", "ACK", str(offset))
    wait_until(lambda: info(master.port)["slave0"]["offset"] == offset, what="the ack")
    assert client.wait(1, 0) == 1
    flags = [line for line in client.execute_command("CLIENT", "LIST").decode().splitlines()
             if "cmd=replconf" in line]
    assert len(flags) == 1 and " flags=S " in flags[0]
    assert client.execute_command("ROLE") == [b"master", offset,
                                              [[b"127.0.0.1", b"7777", str(offset).encode()]]]
    assert client.client_kill_filter(_type="replica") == 1
    wait_until(lambda: info(master.port)["connected_slaves"] == 0, what="the replica to go")


def test_wait_asks_the_replicas_for_an_ack(master):
    replica = handshake(master, "psync2")
    full_resync(replica)
    read_rdb(replica)
    client = master.client()
    client.set("k", "v")
    replica.read_exact(len(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
                           b"$1\r\nv\r\n"))
    waiter = master.raw()
    waiter.command("WAIT", "1", "0")
    replica.expect(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
    replica.command("REPLCONF", "ACK", str(info(master.port)["master_repl_offset"]))
    waiter.expect(b":1\r\n")


def test_min_replicas_to_write_refuses_writes_without_enough_replicas(master):
    client = master.client()
    client.config_set("min-replicas-to-write", 1)
    with pytest.raises(redis.ResponseError, match="Not enough good replicas to write"):
        client.set("k", "v")
    assert "min_slaves_good_slaves" in info(master.port)
    replica = handshake(master, "psync2")
    full_resync(replica)
    read_rdb(replica)
    wait_until(lambda: info(master.port)["min_slaves_good_slaves"] == 1, what="a good replica")
    assert client.set("k", "v")
    client.config_set("min-replicas-to-write", 0)


def test_a_replica_past_its_output_buffer_limit_is_disconnected(master):
    client = master.client()
    client.config_set("client-output-buffer-limit", "slave 1mb 0 0")
    replica = handshake(master, "psync2")
    full_resync(replica)
    read_rdb(replica)
    value = "x" * 100_000
    for _ in range(300):  # 30 MB the replica never reads
        client.set("big", value)
        if info(master.port)["connected_slaves"] == 0:
            break
    wait_until(lambda: info(master.port)["connected_slaves"] == 0, what="the replica to go")
    assert "overcoming of output buffer limits" in master.log()


def test_replicas_that_come_together_share_one_snapshot(tmp_path):
    """repl-diskless-sync-delay: the first diskless replica's snapshot waits that long,
    and those that come meanwhile get the same one, at the same offset."""
    master = CaskdProcess(tmp_path / "master", "--repl-diskless-sync-delay", "1").start()
    try:
        master.client().set("k", "v")
        replicas = [handshake(master, "eof", "psync2", port=str(port)) for port in (1, 2)]
        for replica in replicas:
            replica.command("PSYNC", "?", "-1")
        lines = [psync_reply(replica) for replica in replicas]
        assert lines[0] == lines[1] and FULLRESYNC.fullmatch(lines[0])
        for replica in replicas:
            assert read_payload_header(replica).startswith(b"$EOF:")
        assert master.log().count("Starting BGSAVE for SYNC") == 1
        assert info(master.port, "stats")["sync_full"] == 2
    finally:
        master.stop()


def test_a_replica_that_comes_during_a_snapshot_gets_the_next(master):
    client = master.client()
    client.mset({f"k{i}": "v" * 100 for i in range(20_000)})
    first = handshake(master, "eof", "psync2", port="1")
    first.command("PSYNC", "?", "-1")
    second = handshake(master, "eof", "psync2", port="2")
    second.command("PSYNC", "?", "-1")
    for replica in (first, second):
        assert FULLRESYNC.fullmatch(psync_reply(replica))
        assert read_payload_header(replica).startswith(b"$EOF:")
    assert master.log().count("Starting BGSAVE for SYNC") in (1, 2)  # 1 if it came in time
    wait_until(lambda: all(fields["state"] in ("send_bulk", "online") for name, fields in
                           info(master.port).items() if name.startswith("slave")),
               what="both replicas to get a snapshot")
