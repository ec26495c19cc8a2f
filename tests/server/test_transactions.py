"""MULTI / EXEC / DISCARD / WATCH / UNWATCH over raw sockets: the exact bytes Redis 7.0
sends (checked against redis-server 7.0.15), several clients at once, and EXEC's
atomic unit in the log."""

from __future__ import annotations

import mmap

import pytest

from storage.record import RecordType, decode_at, iter_records
from storage.segment import list_segments, segment_name
from tests.support import hello_reply, wait_until

EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"
RAN = b"*1\r\n+PONG\r\n"
ABORTED = b"*-1\r\n"




def hello3(raw) -> None:
    raw.roundtrip("HELLO", "3", reply=hello_reply(raw.client_id(), 3))


def exec_ping(raw, reply: bytes) -> None:
    """A transaction of one PING; ``reply`` is what EXEC must answer."""
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("PING", reply=b"+QUEUED\r\n")
    raw.roundtrip("EXEC", reply=reply)


def test_exec_runs_the_queue_in_order_with_runtime_errors_in_place(raw):
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("SET", "a", "1", reply=b"+QUEUED\r\n")
    raw.roundtrip("SET", "b", "2", "EX", "0", reply=b"+QUEUED\r\n")  # fails when it runs
    raw.roundtrip("SET", "a", "3", "NX", reply=b"+QUEUED\r\n")
    raw.roundtrip("GET", "a", reply=b"+QUEUED\r\n")
    raw.roundtrip("GET", "b", reply=b"+QUEUED\r\n")
    raw.roundtrip("EXEC", reply=b"*5\r\n+OK\r\n-ERR invalid expire time in 'set' command\r\n"
                  b"$-1\r\n$1\r\n1\r\n$-1\r\n")
    raw.roundtrip("GET", "a", reply=b"$1\r\n1\r\n")


def test_exec_reply_in_resp3(raw):
    hello3(raw)
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("SET", "k", "v", reply=b"+QUEUED\r\n")
    raw.roundtrip("GET", "missing", reply=b"+QUEUED\r\n")
    raw.roundtrip("EXEC", reply=b"*2\r\n+OK\r\n_\r\n")
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("EXEC", reply=b"*0\r\n")


def test_errors_while_queuing_abort_the_whole_transaction(raw):
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("SET", "a", "1", reply=b"+QUEUED\r\n")
    raw.roundtrip("NOSUCH", "x", reply=b"-ERR unknown command 'NOSUCH', with args beginning "
                                         b"with: 'x' \r\n")
    raw.roundtrip("EXEC", reply=EXECABORT)
    raw.roundtrip("GET", "a", reply=b"$-1\r\n")  # nothing of it ran

    for refused, error in [
            (("GET",), b"-ERR wrong number of arguments for 'get' command\r\n"),
            (("SAVE",), b"-ERR Command not allowed inside a transaction\r\n"),
            (("CLIENT", "NOSUCH"), b"-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.\r\n")]:
        raw.roundtrip("MULTI", reply=b"+OK\r\n")
        raw.roundtrip("SET", "a", "1", reply=b"+QUEUED\r\n")
        raw.roundtrip(*refused, reply=error)
        raw.roundtrip("EXEC", reply=EXECABORT)
    raw.roundtrip("GET", "a", reply=b"$-1\r\n")


def test_misuse_errors(raw):
    raw.roundtrip("EXEC", reply=b"-ERR EXEC without MULTI\r\n")
    raw.roundtrip("DISCARD", reply=b"-ERR DISCARD without MULTI\r\n")
    raw.roundtrip("WATCH", reply=b"-ERR wrong number of arguments for 'watch' command\r\n")
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("MULTI", reply=b"-ERR MULTI calls can not be nested\r\n")
    raw.roundtrip("WATCH", "k", reply=b"-ERR WATCH inside MULTI is not allowed\r\n")
    raw.roundtrip("SET", "k", "v", reply=b"+QUEUED\r\n")
    # Neither error above dooms the transaction: they are answers, not refusals.
    raw.roundtrip("EXEC", reply=b"*1\r\n+OK\r\n")


def test_refused_exec_discards_the_transaction(raw):
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("SET", "a", "1", reply=b"+QUEUED\r\n")
    raw.roundtrip("EXEC", "extra", reply=b"-EXECABORT Transaction discarded because of: wrong "
                                          b"number of arguments for 'exec' command\r\n")
    raw.roundtrip("EXEC", reply=b"-ERR EXEC without MULTI\r\n")
    raw.roundtrip("GET", "a", reply=b"$-1\r\n")


def test_discard_drops_the_queue_and_the_watches(raw, other):
    raw.roundtrip("WATCH", "w", reply=b"+OK\r\n")
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("SET", "a", "1", reply=b"+QUEUED\r\n")
    raw.roundtrip("DISCARD", reply=b"+OK\r\n")
    raw.roundtrip("GET", "a", reply=b"$-1\r\n")
    other.roundtrip("SET", "w", "changed", reply=b"+OK\r\n")  # no longer watched
    exec_ping(raw, RAN)


def test_multi_and_exec_pipelined_in_one_write(raw):
    raw.send(b"MULTI\r\nSET p 1\r\nDEL p q\r\nEXEC\r\nEXISTS p\r\n")
    raw.expect(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n:0\r\n")


def test_watched_key_written_by_another_client_fails_exec(raw, other):
    raw.roundtrip("SET", "k", "1", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", "other", reply=b"+OK\r\n")
    other.roundtrip("SET", "k", "1", reply=b"+OK\r\n")  # the same value still counts
    exec_ping(raw, ABORTED)
    exec_ping(raw, RAN)  # EXEC forgot the watches


def test_failed_exec_is_a_null_in_resp3(raw, other):
    hello3(raw)
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    other.roundtrip("SET", "k", "v", reply=b"+OK\r\n")
    exec_ping(raw, b"_\r\n")


@pytest.mark.parametrize(("noop", "reply"), [
    (("DEL", "k"), b":0\r\n"), (("EXPIRE", "k", "10"), b":0\r\n"),
    (("SET", "k", "v", "XX"), b"$-1\r\n"), (("GET", "k"), b"$-1\r\n"),
    (("SET", "k2", "v"), b"+OK\r\n"), (("FLUSHDB",), b"+OK\r\n")])
def test_commands_that_change_nothing_leave_a_missing_key_unchanged(raw, other, noop, reply):
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    other.roundtrip(*noop, reply=reply)
    exec_ping(raw, RAN)


@pytest.mark.parametrize("flush", ["FLUSHDB", "FLUSHALL"])
def test_flushing_a_watched_key_that_exists_fails_exec(raw, other, flush):
    raw.roundtrip("SET", "k", "1", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    other.roundtrip(flush, reply=b"+OK\r\n")
    exec_ping(raw, ABORTED)


def test_flushdb_of_another_db_leaves_the_watch_alone(raw, other):
    raw.roundtrip("SET", "k", "1", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    other.roundtrip("SELECT", "1", reply=b"+OK\r\n")
    other.roundtrip("FLUSHDB", reply=b"+OK\r\n")
    exec_ping(raw, RAN)


def test_swapdb_bringing_in_a_watched_name_fails_exec(raw, other):
    other.roundtrip("SELECT", "1", reply=b"+OK\r\n")
    other.roundtrip("SET", "k", "in db 1", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", "absent", reply=b"+OK\r\n")
    other.roundtrip("SWAPDB", "0", "1", reply=b"+OK\r\n")
    exec_ping(raw, ABORTED)
    raw.roundtrip("WATCH", "absent", reply=b"+OK\r\n")  # in neither db: unchanged
    other.roundtrip("SWAPDB", "0", "1", reply=b"+OK\r\n")
    exec_ping(raw, RAN)


def test_move_into_the_watched_db_touches_the_key(raw, other):
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    other.roundtrip("SELECT", "1", reply=b"+OK\r\n")
    other.roundtrip("SET", "k", "v", reply=b"+OK\r\n")
    other.roundtrip("MOVE", "k", "0", reply=b":1\r\n")
    exec_ping(raw, ABORTED)


def test_watch_is_per_database(raw, other):
    raw.roundtrip("SELECT", "2", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    other.roundtrip("SET", "k", "in db 0", reply=b"+OK\r\n")
    exec_ping(raw, RAN)


def test_a_watched_key_that_expires_fails_exec(caskd, raw):
    raw.roundtrip("SET", "k", "v", "PX", "150", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    observer = caskd.client()
    wait_until(lambda: observer.pttl("k") == -2, timeout=5, what="the key to expire")
    exec_ping(raw, ABORTED)


def test_a_ttl_that_has_not_passed_changes_nothing(raw):
    raw.roundtrip("SET", "k", "v", "EX", "100", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    exec_ping(raw, RAN)


def test_own_writes_count_and_unwatch_forgets(raw):
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    raw.roundtrip("SET", "k", "mine", reply=b"+OK\r\n")
    exec_ping(raw, ABORTED)
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    raw.roundtrip("SET", "k", "again", reply=b"+OK\r\n")
    raw.roundtrip("UNWATCH", reply=b"+OK\r\n")
    exec_ping(raw, RAN)


def test_client_list_shows_multi_and_dirty_flags(caskd, raw, other):
    raw.roundtrip("CLIENT", "SETNAME", "watcher", reply=b"+OK\r\n")
    raw.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    other.roundtrip("SET", "k", "v", reply=b"+OK\r\n")
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    raw.roundtrip("PING", reply=b"+QUEUED\r\n")
    listed = {c["name"]: c for c in caskd.client().client_list()}
    assert listed["watcher"]["flags"] == "xd"
    assert listed["watcher"]["multi"] == "1"


def test_a_watching_client_that_disconnects_is_forgotten(caskd, other):
    watcher = caskd.raw()
    watcher.roundtrip("WATCH", "k", reply=b"+OK\r\n")
    watcher.close()
    observer = caskd.client()
    wait_until(lambda: observer.info("clients")["connected_clients"] == 2,
               what="the watcher to be gone")
    other.roundtrip("SET", "k", "v", reply=b"+OK\r\n")
    other.roundtrip("GET", "k", reply=b"$1\r\nv\r\n")


def test_exec_is_one_atomic_unit_in_the_log(caskd, raw):
    raw.roundtrip("MULTI", reply=b"+OK\r\n")
    for key in ("a", "b", "c"):
        raw.roundtrip("SET", key, key * 3, reply=b"+QUEUED\r\n")
    raw.roundtrip("DEL", "nothing", reply=b"+QUEUED\r\n")
    raw.roundtrip("EXEC", reply=b"*4\r\n+OK\r\n+OK\r\n+OK\r\n:0\r\n")
    raw.close()
    caskd.stop()
    batches = [inner for segment in list_segments(caskd.dir)
               for inner in _batches(caskd.dir / segment_name(*segment))]
    assert [(r.type, r.key) for r in batches[-1]] == \
        [(RecordType.PUT, b"a"), (RecordType.PUT, b"b"), (RecordType.PUT, b"c")]


def _batches(path) -> list[list]:
    """The records inside each BATCH record of a segment file."""
    found = []
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        buf = memoryview(view)
        pos = 0
        while pos < len(buf) and (rec := decode_at(buf, pos, len(buf))) is not None:
            if rec.type == RecordType.BATCH:
                found.append(list(iter_records(buf, rec.value_offset, rec.end, verify=False)))
            pos = rec.end
        buf.release()
    return found
