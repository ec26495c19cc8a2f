"""Better than Redis: a master restarted after ``kill -9`` keeps its replication id,
offset and backlog (server/replication/durable.py), so its replica continues with a
partial resync instead of loading everything again."""

from __future__ import annotations

import redis

from server.replication.durable import FILE_NAME
from tests.replication.support import info, redis_log, start_redis_replica, wait_caught_up
from tests.support import CaskdProcess, wait_until


def test_a_replica_continues_after_the_master_is_killed_and_restarted(tmp_path):
    master = CaskdProcess(tmp_path / "master", "--repl-diskless-sync-delay", "0").start()
    replica = start_redis_replica(tmp_path / "replica", master.port)
    try:
        client = master.client()
        client.set("before", "1")
        client.rpush("list", "a", "b")
        assert client.wait(1, 5000) == 1
        replid = info(master.port)["master_replid"]
        master.kill()
        master.start()
        fields = info(master.port)
        assert fields["master_replid"] == replid and fields["repl_backlog_active"] == 1
        wait_until(lambda: "Partial resynchronization request from" in master.log(),
                   timeout=20, what="the replica to come back")
        client = master.client()
        client.set("after", "2")
        wait_caught_up(master.port, replica.port)
        replica_client = redis.Redis(port=replica.port)
        assert replica_client.mget("before", "after") == [b"1", b"2"]
        assert replica_client.lrange("list", 0, -1) == [b"a", b"b"]
        assert redis_log(replica).count("Successful partial resynchronization with master") == 1
        assert info(master.port, "stats")["sync_full"] == 0  # none since the restart
    finally:
        replica.stop()
        master.stop()


def test_a_clean_shutdown_keeps_the_history_and_a_reboot_does_not(tmp_path):
    master = CaskdProcess(tmp_path / "master", "--repl-diskless-sync-delay", "0").start()
    replica = start_redis_replica(tmp_path / "replica", master.port)
    replica.stop()
    master.client().set("k", "v")
    fields = info(master.port)
    master.stop()
    header = (master.dir / FILE_NAME).read_bytes().split(b"\n", 1)[0].split()
    assert header[2] == b"clean" and header[3] == fields["master_replid"].encode()
    master.start()
    assert info(master.port)["master_repl_offset"] == fields["master_repl_offset"]
    master.kill()
    # As if the machine had rebooted: the file's boot id is not this boot's.
    path = master.dir / FILE_NAME
    content = path.read_bytes().split(b" ", 3)
    path.write_bytes(b" ".join([*content[:2], b"another-boot", content[3]]))
    master.start()
    try:
        fields_after = info(master.port)
        assert fields_after["master_replid"] != fields["master_replid"]
        assert fields_after["repl_backlog_active"] == 0
        assert "the machine restarted since the replication history was written" in \
            master.log()
    finally:
        master.stop()
