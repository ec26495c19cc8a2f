"""Background fsync: group commit for ``always``, a once-a-second sync for ``everysec``.

The writer (the event-loop thread) calls :meth:`Syncer.submit` after every flush
with the log position it has written up to. This thread fsyncs every file written
since its last round and then reports the position that is now durable through
``on_durable``. Everything flushed while one fsync runs is covered by the next
one, so under load one fsync serves many writes (group commit), and the writer
never waits for the disk.

A failed fsync is not simply retried: Linux marks the pages of a failed
writeback clean, so a second fsync can succeed while the data never reached the
disk. The syncer therefore keeps every flushed chunk until an fsync covers it,
and after a failure writes the kept chunks again before the next fsync; only
then is anything reported durable. Those chunks are memory: under ``everysec`` a
round starts early once :data:`KEEP_LIMIT` bytes wait for one, rather than a
second's worth of writes being held.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("caskd.storage")

RETRY_INTERVAL = 1.0
EVERYSEC_INTERVAL = 1.0
KEEP_LIMIT = 16 * 1024 * 1024  # bytes of unsynced chunks that start a round at once
# Upper bounds (seconds) of the fsync duration histogram (Syncer.fsync_counts), from a
# disk cache's 0.1 ms to a struggling disk's seconds; the last count is for longer ones.
FSYNC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                 0.25, 0.5, 1.0, 2.5)
# Test-only: tests/reliability/test_power_loss.py sets it to learn what each fsync covered.
_FSYNC_LOG = os.environ.get("CASKD_FSYNC_LOG")


def _fsync_and_log(fd: int, path: str) -> None:
    """os.fsync, then a line ``<file> <bytes of data it covered>`` in ``path``.

    The power-loss test cuts each segment back to what an fsync covered, as a power
    loss would. The data ends where the file's first hole starts (the active segment
    is preallocated sparsely), less the zeros at the end of the block before it. It
    is measured before the fsync, so all of it is covered; the line is written
    after, so a crash never claims an fsync that was not done.
    """
    hole = os.lseek(fd, 0, os.SEEK_HOLE)
    start = max(0, hole - 4096)
    extent = start + len(os.pread(fd, hole - start, start).rstrip(b"\0"))
    os.fsync(fd)
    with open(path, "a") as fsync_log:
        fsync_log.write(f"{os.readlink(f'/proc/self/fd/{fd}')} {extent}\n")


class Syncer:
    """Owns the fsync thread. ``policy`` is "always", "everysec" or "no"."""

    def __init__(self, policy: str, on_durable: Callable[[int], None] | None = None) -> None:
        self.policy = policy
        self.on_durable = on_durable
        self.synced_position = 0
        self.last_sync_time = 0.0
        self.error: OSError | None = None
        self.fsync_counts = [0] * (len(FSYNC_BUCKETS) + 1)  # fsyncs by duration (written
        self.fsync_seconds = 0.0  # by this thread alone; read for metrics)
        self._cond = threading.Condition()
        self._position = 0
        self._dirty: dict[int, bool] = {}  # fd -> close it once synced
        # Flushed chunks no fsync has covered yet: (fd, file offset, data, log position
        # at their end). Written again after a failed fsync (see the module docstring).
        self._unsynced: deque[tuple[int, int, bytes | bytearray, int]] = deque()
        self._kept_bytes = 0  # of the data in _unsynced
        self._rewrite = False  # the last round failed: write the kept chunks again
        self._stopping = False
        self._now = False  # sync_now asked for a round before the second is up
        self._thread: threading.Thread | None = None
        if policy != "no":
            self._thread = threading.Thread(target=self._run, name="caskd-fsync", daemon=True)
            self._thread.start()

    def submit(self, fd: int, position: int, offset: int = -1,
               data: bytes | bytearray | None = None) -> None:
        """``fd`` has data written up to the log ``position``; sync it per policy.

        ``data``, written at ``offset`` of ``fd``, is kept until an fsync covers it
        (the caller must not change it afterwards).
        """
        if self._thread is None:
            self.synced_position = position  # "no": the OS decides; nothing to wait for
            return
        with self._cond:
            self._dirty.setdefault(fd, False)
            self._position = position
            if data is not None:
                self._unsynced.append((fd, offset, data, position))
                self._kept_bytes += len(data)
            if self.policy == "always":
                self._cond.notify()
            elif self._kept_bytes >= KEEP_LIMIT and not self._now:
                self._now = True
                self._cond.notify()

    def hand_over(self, fd: int) -> None:
        """A sealed segment's fd: sync it once more, then close it."""
        if self._thread is None:
            os.close(fd)
            return
        with self._cond:
            self._dirty[fd] = True
            self._cond.notify()

    def sync_now(self) -> None:
        """Wake the thread for an immediate round (e.g. before a BGREWRITEAOF reply)."""
        with self._cond:
            self._now = True
            self._cond.notify()

    def stop(self) -> None:
        """Run a final round and end the thread."""
        if self._thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._wait_for_work()
                dirty, self._dirty = self._dirty, {}
                position = self._position
                stopping = self._stopping
                rewrite = list(self._unsynced) if self._rewrite else []
            failed = self._write_again(rewrite, dirty) if rewrite else {}
            if not failed:
                failed = self._sync(dirty)
            if not failed:
                with self._cond:
                    while self._unsynced and self._unsynced[0][3] <= position:
                        self._kept_bytes -= len(self._unsynced.popleft()[2])
                    self._rewrite = False
                self.synced_position = position
                self.last_sync_time = time.time()
                if self.on_durable is not None:
                    try:
                        self.on_durable(position)
                    except Exception:  # the thread must live on: later writes need it
                        log.exception("on_durable callback failed")
            if stopping:
                return
            if failed:
                with self._cond:  # retry in the next round, after writing the data again
                    self._rewrite = True
                    for fd, close in failed.items():
                        self._dirty[fd] = self._dirty.get(fd, False) or close
                time.sleep(RETRY_INTERVAL)

    def _wait_for_work(self) -> None:
        if self.policy == "always":
            while not self._stopping and not self._dirty_work():
                self._cond.wait()
        else:
            deadline = time.monotonic() + EVERYSEC_INTERVAL
            while (not self._stopping and not self._now
                   and (remaining := deadline - time.monotonic()) > 0):
                self._cond.wait(remaining)
        self._now = False

    def _dirty_work(self) -> bool:
        return self._position > self.synced_position or any(self._dirty.values())

    def _write_again(self, chunks: list, dirty: dict[int, bool]) -> dict[int, bool]:
        """After a failed fsync: write every kept chunk again, so the next fsync
        really covers it. Returns ``dirty`` (all to retry) if a write fails."""
        try:
            for fd, offset, data, _ in chunks:
                view = memoryview(data)
                done = 0
                while done < len(view):
                    done += os.pwrite(fd, view[done:], offset + done)
                dirty.setdefault(fd, False)
        except OSError as exc:
            self._note_error(exc)
            return dirty
        return {}

    def _count_fsync(self, seconds: float) -> None:
        self.fsync_counts[bisect.bisect_left(FSYNC_BUCKETS, seconds)] += 1
        self.fsync_seconds += seconds

    def _note_error(self, exc: OSError) -> None:
        if self.error is None:
            log.warning("fsync failed: %s; writes are refused until it succeeds", exc)
        self.error = exc

    def _sync(self, dirty: dict[int, bool]) -> dict[int, bool]:
        """fsync each fd; returns them all if one failed (the round is redone: its
        data is written again first). Errors stay in ``self.error``. Handed-over
        fds are closed only once a round succeeds: kept chunks may need them."""
        failed = False
        for fd in dirty:
            started = time.perf_counter()
            try:
                if _FSYNC_LOG:
                    _fsync_and_log(fd, _FSYNC_LOG)
                else:
                    os.fsync(fd)
            except OSError as exc:
                self._note_error(exc)
                failed = True
            self._count_fsync(time.perf_counter() - started)
        if failed:
            return dirty
        for fd, close in dirty.items():
            if close:
                os.close(fd)
        if self.error is not None:
            log.warning("fsync succeeded again; writes are accepted")
            self.error = None
        return {}
