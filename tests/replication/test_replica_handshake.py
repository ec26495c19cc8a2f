"""The replica's side of the protocol byte by byte, against a scripted master on a
socket: the handshake Redis 7.0's syncWithMaster sends, INFO and ROLE while the RDB
arrives, the first ACK, and REPLCONF GETACK answered with the applied offset."""

from __future__ import annotations

import socket

import hiredis
import pytest

from storage import rdb
from tests.support import CaskdProcess, wait_until

REPLID = "a" * 40
START = 1000  # the master's offset at the snapshot


class ScriptedMaster:
    """A listening socket that plays the master's part, one step at a time."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.reader = hiredis.Reader()
        self.conn: socket.socket | None = None

    def accept(self) -> None:
        self.listener.settimeout(10)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(10)

    def command(self) -> list[bytes]:
        """The next command the replica sends."""
        while (command := self.reader.gets()) is False:
            self.reader.feed(self.conn.recv(65536))
        return command

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


def snapshot() -> bytes:
    writer = rdb.FileWriter()
    return b"".join((writer.header({b"repl-id": REPLID.encode(), b"repl-offset": b"%d" % START}),
                     writer.select_db(0, 1, 0), writer.entry(b"k", b"from the rdb", "embstr"),
                     writer.end()))


@pytest.fixture
def master():
    scripted = ScriptedMaster()
    yield scripted
    scripted.close()


def test_handshake_transfer_and_acks(tmp_path, master):
    caskd = CaskdProcess(tmp_path / "data", "--replicaof", "127.0.0.1", str(master.port),
                         "--replica-announce-ip", "10.0.0.7").start()
    try:
        master.accept()
        assert master.command() == [b"PING"]
        master.send(b"+PONG\r\n")
        for expected in ([b"REPLCONF", b"listening-port", b"%d" % caskd.port],
                         [b"REPLCONF", b"ip-address", b"10.0.0.7"],
                         [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]):
            assert master.command() == expected
            master.send(b"+OK\r\n")
        assert master.command() == [b"PSYNC", b"?", b"-1"]  # nothing to continue from
        payload = snapshot()
        half = len(payload) // 2
        master.send(b"+FULLRESYNC %s %d\r\n\n\n$%d\r\n%s" % (
            REPLID.encode(), START, len(payload), payload[:half]))

        replica = caskd.client()
        info = wait_until(lambda: (i := replica.info("replication"))["master_sync_in_progress"]
                          and i["master_sync_read_bytes"] == half and i, what="the transfer")
        assert (info["master_link_status"], info["master_sync_total_bytes"],
                info["master_sync_left_bytes"]) == ("down", len(payload), len(payload) - half)
        assert replica.role() == [b"slave", b"127.0.0.1", master.port, b"sync", -1]

        master.send(payload[half:])
        assert master.command() == [b"REPLCONF", b"ACK", b"%d" % START]  # at once
        assert replica.get("k") == b"from the rdb"
        assert replica.info("replication")["master_replid"] == REPLID

        stream = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nlive\r\n*1\r\n$4\r\nPING\r\n"
        master.send(stream + b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
        while (command := master.command())[2] == b"%d" % START:  # a periodic ACK first
            pass
        assert command == [b"REPLCONF", b"ACK", b"%d" % (START + len(stream))]
        assert replica.get("k") == b"live"
        assert replica.role() == [b"slave", b"127.0.0.1", master.port, b"connected",
                                  START + len(stream) + 37]  # the GETACK counts too
    finally:
        caskd.stop()
