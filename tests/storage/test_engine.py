"""The engine's API: index, expiry, batches, cursors, persistence, fsync policies."""

from __future__ import annotations

import os
import threading
import time

import pytest

import storage.syncer
from storage.engine import DirectoryLocked, Engine, StorageError

from .conftest import crash_image, segment_files


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.005)


# ------------------------------------------------------------------ basics


def test_put_get_delete_exists(open_engine):
    engine = open_engine()
    assert engine.get(0, b"k") is None and not engine.exists(0, b"k")
    assert engine.put(0, b"k", b"v1")
    assert engine.get(0, b"k") == b"v1" and engine.exists(0, b"k")
    assert engine.put(0, b"k", b"v2")
    assert engine.get(0, b"k") == b"v2"
    assert engine.value_length(0, b"k") == 2
    assert engine.dbsize(0) == 1 and engine.dbsize(1) == 0
    assert engine.get(1, b"k") is None  # databases are separate
    assert engine.delete(0, b"k")
    assert not engine.delete(0, b"k")
    assert engine.get(0, b"k") is None and engine.value_length(0, b"k") is None


def test_conditional_puts(open_engine):
    engine = open_engine()
    assert not engine.put(0, b"k", b"x", only_if="present")
    assert engine.get(0, b"k") is None
    assert engine.put(0, b"k", b"1", only_if="absent")
    assert not engine.put(0, b"k", b"2", only_if="absent")
    assert engine.get(0, b"k") == b"1"
    assert engine.put(0, b"k", b"3", only_if="present")
    assert engine.get(0, b"k") == b"3"


def test_values_are_readable_before_and_after_flush(open_engine):
    engine = open_engine()
    engine.put(0, b"a", b"first")
    engine.put(0, b"b", b"second")
    assert engine.pending_bytes > 0
    assert engine.get(0, b"a") == b"first"  # served from the write buffer
    engine.put(0, b"a", b"again")  # overwritten within the same iteration
    assert engine.get(0, b"a") == b"again" and engine.value_length(0, b"a") == 5
    position = engine.flush()
    assert position > 0 and engine.pending_bytes == 0
    assert engine.get(0, b"a") == b"again" and engine.get(0, b"b") == b"second"
    engine.put(0, b"c", b"third")
    assert engine.get(0, b"c") == b"third" and engine.get(0, b"b") == b"second"


def test_binary_keys_and_values_survive_reopen(open_engine, data_dir):
    engine = open_engine()
    pairs = {bytes([i]) * i: os.urandom(i * 7) for i in range(256)}
    pairs[b""] = b""
    for key, value in pairs.items():
        engine.put(3, key, value)
    engine.close()
    engine = open_engine()
    assert {key: engine.get(3, key) for key in pairs} == pairs
    assert set(engine.keys(3)) == set(pairs)


def test_big_values_within_and_beyond_the_segment_size(open_engine):
    engine = open_engine(segment_size=1 << 20)
    small, medium, huge = b"s" * 10, os.urandom(3 << 20), os.urandom(5 << 20)
    engine.put(0, b"small", small)
    engine.put(0, b"medium", medium)
    assert engine.get(0, b"medium") == medium  # unflushed, bigger than a segment
    engine.flush()
    with engine.batch():
        engine.put(0, b"huge", huge)
        engine.put(0, b"after", b"a")
    engine.flush()
    engine.put(0, b"last", b"l")
    engine.flush()
    assert engine.get(0, b"huge") == huge and engine.get(0, b"medium") == medium
    engine.close()
    engine = open_engine(segment_size=1 << 20)
    for key, value in [(b"small", small), (b"medium", medium), (b"huge", huge),
                       (b"after", b"a"), (b"last", b"l")]:
        assert engine.get(0, key) == value


def test_too_large_value_is_refused(open_engine, monkeypatch):
    from storage import record
    monkeypatch.setattr(record, "MAX_VALUE_SIZE", 1000)
    engine = open_engine()
    with pytest.raises(ValueError):
        engine.put(0, b"k", b"x" * 1001)
    assert engine.get(0, b"k") is None and engine.pending_bytes == 0


# ------------------------------------------------------------------ expiry


def test_lazy_expiry_is_logged(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"k", b"v", clock.now + 100)
    engine.put(0, b"other", b"v")
    assert engine.get_expire(0, b"k") == clock.now + 100
    clock.advance(99)
    assert engine.get(0, b"k") == b"v"
    clock.advance(1)
    assert engine.get(0, b"k") is None and not engine.exists(0, b"k")
    assert engine.get_expire(0, b"k") is None
    assert engine.dbsize(0) == 1 and engine.stats["expired_keys"] == 1
    engine.close()
    clock.advance(-1000)  # even if the clock went back, the delete was logged
    engine = open_engine()
    assert engine.get(0, b"k") is None and engine.get(0, b"other") == b"v"


def test_active_expiry_in_bounded_steps(open_engine, clock):
    engine = open_engine()
    for i in range(50):
        engine.put(0, b"t%d" % i, b"v", clock.now + 10 + i)
    engine.put(0, b"forever", b"v")
    assert engine.expire_cycle() == 0
    clock.advance(10 + 29)
    assert engine.expire_cycle(max_keys=20) == 20
    assert engine.expire_cycle(max_keys=20) == 10
    assert engine.expire_cycle() == 0
    assert engine.dbsize(0) == 21  # removed without any access
    clock.advance(100)
    engine.tick()
    assert engine.dbsize(0) == 1 and engine.expires_count(0) == 0


def test_ttl_changes_survive_reopen(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"ttl", b"v", clock.now + 5000)
    engine.put(0, b"persisted", b"v", clock.now + 5000)
    engine.put(0, b"later", b"v")
    assert engine.set_expire(0, b"persisted", 0)
    assert engine.set_expire(0, b"later", clock.now + 7000)
    assert not engine.set_expire(0, b"missing", clock.now + 7000)
    engine.close()
    engine = open_engine()
    assert engine.get_expire(0, b"ttl") == clock.now + 5000
    assert engine.get_expire(0, b"persisted") == 0
    assert engine.get_expire(0, b"later") == clock.now + 7000
    assert engine.expires_count(0) == 2


def test_key_expired_while_closed_is_gone_at_open(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"short", b"v", clock.now + 1000)
    engine.put(0, b"long", b"v", clock.now + 10_000)
    engine.close()
    clock.advance(5000)
    engine = open_engine()
    assert engine.dbsize(0) == 1 and engine.expires_count(0) == 1
    assert list(engine.keys(0)) == [b"long"]


def test_persisted_key_survives_reopen_after_its_old_ttl(open_engine, clock):
    """A PUT with a TTL followed by a PERSIST: the key must not be judged by the
    PUT's TTL while replaying (it was once dropped that way)."""
    engine = open_engine()
    engine.put(0, b"k", b"v", clock.now + 1000)
    engine.set_expire(0, b"k", 0)
    engine.put(0, b"m", b"v", clock.now + 1000)
    engine.set_expire(0, b"m", clock.now + 50_000)
    engine.close()
    clock.advance(10_000)
    engine = open_engine()
    assert engine.get(0, b"k") == b"v" and engine.get_expire(0, b"k") == 0
    assert engine.get(0, b"m") == b"v"


def test_set_expire_in_the_past_deletes(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"k", b"v")
    assert engine.set_expire(0, b"k", clock.now - 1)
    assert engine.get(0, b"k") is None and engine.dbsize(0) == 0


def test_overwrite_clears_ttl_unless_kept(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"k", b"v", clock.now + 1000)
    engine.put(0, b"k", b"w", keep_ttl=True)
    assert engine.get_expire(0, b"k") == clock.now + 1000
    engine.put(0, b"k", b"x")
    assert engine.get_expire(0, b"k") == 0


def test_keep_ttl_on_an_expired_key_gives_no_ttl(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"k", b"old", clock.now + 10)
    clock.advance(20)
    assert engine.put(0, b"k", b"new", keep_ttl=True)
    assert engine.get(0, b"k") == b"new" and engine.get_expire(0, b"k") == 0


# ------------------------------------------------------------------ dbs


def test_flushdb_flushall_swapdb_persist(open_engine):
    engine = open_engine()
    for db in range(4):
        engine.put(db, b"k", b"db%d" % db)
    engine.flushdb(1)
    engine.swapdb(2, 3)
    assert engine.get(2, b"k") == b"db3" and engine.get(3, b"k") == b"db2"
    assert engine.get(1, b"k") is None
    engine.close()
    engine = open_engine()
    assert [engine.get(db, b"k") for db in range(4)] == [b"db0", None, b"db3", b"db2"]
    engine.flushall()
    engine.put(5, b"after", b"v")
    engine.close()
    engine = open_engine()
    assert [engine.dbsize(db) for db in range(16)] == [0] * 5 + [1] + [0] * 10


def test_swapdb_keeps_expiry_working(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"k", b"v", clock.now + 100)
    engine.swapdb(0, 1)
    clock.advance(200)
    assert engine.expire_cycle() == 1
    assert engine.dbsize(1) == 0


# ------------------------------------------------------------------ batches


def test_batch_is_atomic_at_every_cut(open_engine, data_dir, tmp_path):
    engine = open_engine(segment_size=1 << 16)
    engine.put(0, b"a", b"1")
    engine.put(0, b"gone", b"x")
    engine.flush()
    start = engine.segment_stats()[-1]["size"]
    with engine.batch():
        engine.put(0, b"b", b"2")
        with engine.batch():  # nested: still one unit
            engine.put(1, b"c", b"3", 10**15)
        engine.delete(0, b"gone")
        engine.put(0, b"a", b"4")
    engine.flush()
    end = engine.segment_stats()[-1]["size"]
    image = crash_image(data_dir, tmp_path / "image")
    active = segment_files(image)[-1]
    full = active.read_bytes()
    before = {(0, b"a"): b"1", (0, b"gone"): b"x"}
    after = {(0, b"a"): b"4", (0, b"b"): b"2", (1, b"c"): b"3"}
    for cut in range(start, end + 1):
        for style in ("truncate", "zero"):
            if style == "truncate":
                active.write_bytes(full[:cut])
            else:  # what a preallocated file shows when the write did not finish
                active.write_bytes(full[:cut] + bytes(len(full) - cut))
            opened = Engine(image, fsync="no")
            state = {(db, key): opened.get(db, key) for db in range(2) for key in
                     (b"a", b"b", b"c", b"gone")}
            opened.close()
            state = {k: v for k, v in state.items() if v is not None}
            assert state == (after if cut == end else before), (cut, style)
            for path in image.glob("*.log"):  # reset the image for the next cut
                if path != active:
                    path.unlink()


def test_empty_batch_writes_nothing(open_engine):
    engine = open_engine()
    with engine.batch():
        pass
    assert engine.pending_bytes == 0 and engine.flush() == 0


def test_flush_inside_a_batch_waits_for_its_end(open_engine):
    engine = open_engine()
    with engine.batch():
        engine.put(0, b"k", b"v")
        assert engine.flush() == 0  # half a batch never reaches the file
    assert engine.flush() > 0


# ------------------------------------------------------------------ cursors


def full_scan(engine, db, count, between=lambda: None):
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, keys = engine.scan(db, cursor, count)
        seen.extend(keys)
        calls += 1
        assert calls < 100_000
        if cursor == 0:
            return seen
        between()


def test_scan_returns_every_key_once_when_nothing_changes(open_engine):
    engine = open_engine()
    keys = {b"k%d" % i for i in range(1000)}
    for key in keys:
        engine.put(0, key, b"v")
    seen = full_scan(engine, 0, 7)
    assert len(seen) == len(keys) and set(seen) == keys
    assert full_scan(engine, 1, 10) == []


def test_scan_returns_keys_present_throughout_despite_changes(open_engine):
    engine = open_engine()
    stable = {b"stable%d" % i for i in range(500)}
    doomed = [b"doomed%d" % i for i in range(500)]
    for key in [*stable, *doomed]:
        engine.put(0, key, b"v")
    counter = iter(range(10**6))

    def churn():
        n = next(counter)
        engine.put(0, b"new%d" % n, b"v")
        for _ in range(6):
            if doomed:
                engine.delete(0, doomed.pop())

    seen = set(full_scan(engine, 0, 10, churn))
    assert stable <= seen
    assert not doomed  # the churn really happened during the scan


def test_scan_guarantee_holds_with_many_concurrent_scans(open_engine):
    """More scans than the engine keeps snapshots for: evicted cursors restart
    (duplicates are allowed) instead of skipping keys."""
    engine = open_engine()
    stable = {b"s%d" % i for i in range(200)}
    for key in stable:
        engine.put(0, key, b"v")
    cursors = [0] * 50
    seen = [set() for _ in cursors]
    done = [False] * len(cursors)
    step = 0
    while not all(done):
        for i, cursor in enumerate(cursors):
            if done[i]:
                continue
            cursor, keys = engine.scan(0, cursor, 5)
            seen[i].update(keys)
            cursors[i] = cursor
            done[i] = cursor == 0
        engine.put(0, b"churn%d" % step, b"v")
        engine.delete(0, b"churn%d" % (step - 1))
        if step == 10:
            engine.swapdb(0, 1)  # every key leaves db 0 and comes back
            engine.swapdb(0, 1)
        step += 1
        assert step < 1000
    assert all(stable <= s for s in seen)


def test_unknown_cursor_starts_over(open_engine):
    engine = open_engine()
    for i in range(10):
        engine.put(0, b"k%d" % i, b"v")
    cursor, keys = engine.scan(0, 123456789, 100)
    assert cursor == 0 and len(keys) == 10


def test_keys_and_random_key(open_engine, clock):
    engine = open_engine()
    assert engine.random_key(0) is None
    for i in range(20):
        engine.put(0, b"k%d" % i, b"v")
    assert sorted(engine.keys(0)) == sorted(b"k%d" % i for i in range(20))
    assert {engine.random_key(0) for _ in range(200)} <= set(engine.keys(0))
    engine.flushdb(0)
    for i in range(5):
        engine.put(0, b"e%d" % i, b"v", clock.now + 1)
    clock.advance(2)
    assert engine.random_key(0) is None


def test_random_key_terminates_when_expired_keys_cannot_be_deleted(open_engine, clock):
    engine = open_engine()
    engine.put(0, b"e", b"v", clock.now + 1)
    clock.advance(2)
    engine.write_error = OSError(28, "No space left on device")  # deletes are refused
    assert engine.random_key(0) is None
    engine.write_error = None


# ------------------------------------------------------------------ lock file


def test_second_opener_is_refused_and_touches_nothing(open_engine, data_dir):
    engine = open_engine()
    engine.put(0, b"k", b"v")
    engine.flush()
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    with pytest.raises(DirectoryLocked) as excinfo:
        Engine(data_dir)
    message = str(excinfo.value)
    assert str(data_dir) in message and str(os.getpid()) in message
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == before
    engine.put(0, b"k2", b"v2")  # the first engine is unaffected
    engine.close()
    engine = open_engine()  # and once it is closed, the directory opens
    assert engine.get(0, b"k") == b"v" and engine.get(0, b"k2") == b"v2"


# ------------------------------------------------------------------ fsync policies


def test_always_reports_durability_from_the_fsync_thread(open_engine):
    reports: list[tuple[int, str]] = []
    engine = open_engine(fsync="always",
                         on_durable=lambda p: reports.append((p, threading.current_thread().name)))
    positions = []
    for i in range(20):
        engine.put(0, b"k%d" % i, b"v" * 100)
        positions.append(engine.flush())
    assert positions == sorted(positions) and positions[0] > 0
    wait_for(lambda: reports and reports[-1][0] >= positions[-1])
    assert engine.durable_position >= positions[-1]
    assert all(name != threading.current_thread().name for _, name in reports)
    assert [p for p, _ in reports] == sorted(p for p, _ in reports)


def test_always_groups_commits(open_engine, monkeypatch):
    calls = []
    real_fsync = os.fsync
    gate = threading.Event()

    def slow_fsync(fd):
        if threading.current_thread().name == "caskd-fsync":
            calls.append(fd)
            gate.wait(5)  # the first fsync lasts until every write has been flushed
        real_fsync(fd)

    monkeypatch.setattr(storage.syncer.os, "fsync", slow_fsync)
    reports = []
    engine = open_engine(fsync="always", on_durable=reports.append)
    positions = []
    for i in range(50):
        engine.put(0, b"k%d" % i, b"v")
        positions.append(engine.flush())
    gate.set()
    wait_for(lambda: reports and reports[-1] >= positions[-1])
    assert len(calls) <= 3  # one fsync for the first write, one for the other 49
    assert len(reports) <= 3


def test_everysec_syncs_within_about_a_second(open_engine):
    reports = []
    engine = open_engine(fsync="everysec", on_durable=reports.append)
    engine.put(0, b"k", b"v")
    position = engine.flush()
    started = time.monotonic()
    wait_for(lambda: engine.durable_position >= position, timeout=3)
    assert time.monotonic() - started < 2.5
    assert reports[-1] >= position


def test_everysec_syncs_at_once_when_much_waits_for_an_fsync(open_engine, monkeypatch):
    """The syncer keeps every unsynced write in memory: a large backlog is synced
    (and let go) without waiting for the second to be up."""
    monkeypatch.setattr(storage.syncer, "EVERYSEC_INTERVAL", 3600.0)
    monkeypatch.setattr(storage.syncer, "KEEP_LIMIT", 64 * 1024)
    engine = open_engine(fsync="everysec")
    for i in range(20):  # 80 KB
        engine.put(0, b"key%d" % i, b"v" * 4096)
    position = engine.flush()
    wait_for(lambda: engine.durable_position >= position)


def test_policy_no_counts_flushed_as_done(open_engine):
    engine = open_engine(fsync="no")
    engine.put(0, b"k", b"v")
    position = engine.flush()
    assert engine.durable_position == position > 0


def test_a_failing_callback_does_not_stop_durability_reports(open_engine):
    reports = []

    def callback(position):
        reports.append(position)
        if len(reports) == 1:
            raise RuntimeError("boom")

    engine = open_engine(fsync="always", on_durable=callback)
    engine.put(0, b"a", b"v")
    first = engine.flush()
    wait_for(lambda: reports and reports[-1] >= first)
    engine.put(0, b"b", b"v")
    second = engine.flush()
    wait_for(lambda: reports[-1] >= second)


def test_set_fsync_policy_at_run_time(open_engine):
    reports = []
    engine = open_engine(fsync="no", on_durable=reports.append)
    engine.set_fsync_policy("always")
    engine.put(0, b"k", b"v")
    position = engine.flush()
    wait_for(lambda: reports and reports[-1] >= position)
    with pytest.raises(ValueError):
        engine.set_fsync_policy("sometimes")


# ------------------------------------------------------------------ misc


def test_info_and_segment_stats(open_engine):
    engine = open_engine(segment_size=4096)
    for _i in range(100):
        engine.put(0, b"k", b"v" * 100)
    engine.flush()
    info = engine.info()
    assert info["disk_size"] > 100 * 100 and info["dead_size"] >= 99 * 100
    stats = engine.segment_stats()
    assert sum(s["size"] for s in stats) == info["disk_size"]
    assert sum(s["dead"] for s in stats) == info["dead_size"]
    assert info["write_error"] is None and engine.writable and engine.last_error is None


def test_close_is_idempotent_and_leaves_no_empty_segment(open_engine, data_dir):
    engine = open_engine()
    engine.close()
    engine.close()
    assert segment_files(data_dir) == []
    for _ in range(3):
        open_engine().close()
    assert segment_files(data_dir) == []


def test_sync_covers_segments_sealed_since_the_last_sync(open_engine, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    engine = open_engine(fsync="no", segment_size=1024)
    for i in range(30):
        engine.put(0, b"k%d" % i, b"v" * 100)
    monkeypatch.setattr(os, "fsync", recording_fsync)
    engine.sync()
    segments = [str(engine.directory / s["name"]) for s in engine.segment_stats()]
    assert len(segments) > 2 and set(segments) <= set(synced)


def test_flushall_counts_everything_before_it_as_dead(open_engine):
    engine = open_engine(segment_size=2048)
    for i in range(100):
        engine.put(i % 4, b"k%d" % i, b"v" * 50)
    engine.flush()
    engine.flushall()
    engine.flush()
    info = engine.info()
    assert info["disk_size"] - info["dead_size"] <= 22  # just the FLUSHALL record
    engine.close()
    engine = open_engine(segment_size=2048)
    info = engine.info()
    assert info["disk_size"] - info["dead_size"] <= 22 and engine.dbsize(0) == 0


def test_failed_fsync_rewrites_the_data_before_reporting_it_durable(open_engine, monkeypatch):
    """Linux marks pages whose writeback failed clean: a retried fsync can succeed
    without the data on disk. The data must be written again before the retry."""
    events: list[tuple] = []
    failures = [1]  # fail the fsync thread's first fsync
    real_fsync, real_pwrite = os.fsync, os.pwrite

    def fsync(fd):
        if threading.current_thread().name == "caskd-fsync":
            if failures[0]:
                failures[0] -= 1
                events.append(("fsync failed",))
                raise OSError(5, "Input/output error")
            events.append(("fsync",))
        real_fsync(fd)

    def pwrite(fd, data, offset):
        if threading.current_thread().name == "caskd-fsync":
            events.append(("pwrite", offset, bytes(data)))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "pwrite", pwrite)
    monkeypatch.setattr(storage.syncer, "RETRY_INTERVAL", 0.05)
    reports = []
    engine = open_engine(fsync="always", on_durable=reports.append)
    engine.put(0, b"key", b"precious")
    position = engine.flush()
    wait_for(lambda: events)
    assert events[0] == ("fsync failed",)
    wait_for(lambda: reports and reports[-1] >= position)
    assert events[1][0] == "pwrite" and events[1][1] == 0 and b"precious" in events[1][2]
    assert events[2] == ("fsync",)
    assert engine.writable
    engine.put(0, b"more", b"v")
    second = engine.flush()
    wait_for(lambda: reports[-1] >= second)
    assert [e for e in events[3:] if e[0] == "pwrite"] == []  # no failure: nothing re-written


def test_writes_are_refused_while_fsync_fails(open_engine, monkeypatch):
    failing = threading.Event()
    failing.set()
    real_fsync = os.fsync

    def fsync(fd):
        if threading.current_thread().name == "caskd-fsync" and failing.is_set():
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(storage.syncer, "RETRY_INTERVAL", 0.05)
    reports = []
    engine = open_engine(fsync="always", on_durable=reports.append)
    engine.put(0, b"k", b"v")
    position = engine.flush()
    wait_for(lambda: not engine.writable)
    assert engine.last_error.errno == 28 and engine.get(0, b"k") == b"v"
    assert not reports or reports[-1] < position  # nothing claimed durable
    failing.clear()
    wait_for(lambda: engine.writable and reports and reports[-1] >= position)


def test_segment_that_cannot_rotate_keeps_growing_then_rotates(open_engine, data_dir,
                                                              monkeypatch):
    engine = open_engine(segment_size=1024)
    real_open = os.open
    refusing = [True]

    def open_(path, flags, *args):
        if refusing[0] and flags & os.O_EXCL:  # only new segments are created with O_EXCL
            raise OSError(24, "Too many open files")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", open_)
    for i in range(40):
        engine.put(0, b"k%d" % i, b"v" * 100)
        engine.flush()
    assert len(engine.segment_stats()) == 1 and engine.segment_stats()[0]["size"] > 4000
    assert engine.writable  # the data is safe: only the rotation waits
    refusing[0] = False
    engine.put(0, b"after", b"v")
    engine.flush()
    assert len(engine.segment_stats()) == 2
    engine.close()
    engine = open_engine(segment_size=1024)
    assert all(engine.get(0, b"k%d" % i) == b"v" * 100 for i in range(40))
    assert engine.get(0, b"after") == b"v"


def test_opening_with_fewer_databases_than_the_data_uses_is_refused(tmp_path):
    engine = Engine(tmp_path, databases=16)
    engine.put(9, b"k", b"v")
    engine.close()
    with pytest.raises(StorageError, match="more databases than the 4 configured"):
        Engine(tmp_path, databases=4)
    reopened = Engine(tmp_path, databases=16)  # nothing was touched
    assert reopened.get(9, b"k") == b"v"
    reopened.close()
