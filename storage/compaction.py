"""Compaction: merge sealed segments into new ones holding only live records.

:func:`merge` is a pure function of files: it never touches the live index. It
replays its input segments in order, keeps for each key the latest value and
TTL, writes them to new segments with a hint file beside each, and returns, for
every key, where its value was and where it is now. The engine then moves an
index entry to the new place only if it still points at the old one: anything
written since the merge started wins.

The engine runs it in a child process (:func:`merge_in_child`), so the copying
does not compete with the event loop for the GIL; the relocations come back
through a file that the engine reads in bounded slices. The child dies with
its parent, so it can never publish outputs behind the back of a later opener.

Inputs are always the oldest segments (a prefix of the log), so nothing older
can hold a key they delete: their tombstones are dropped. So it is for function
libraries and metadata: the outputs hold one record for each live at the inputs' end.

A collection (see :mod:`storage.datatypes`) is rebuilt by replaying its
operations and written as a snapshot of its contents. The live index holds the
object itself, which the snapshot replays to, so a kept collection needs no
relocation; one dropped as expired is reported with ``old`` = COLLECTION.

:class:`Compactor` is the engine's side: it starts the merge (in a thread that
waits for the child) and, once it is done, applies the relocations to the live
keyspace in bounded slices on the owner's thread (the *fix-up*), then retires
the inputs. The fix-up reports no change events: the data stays the same.

A merge never copies a damaged record under a fresh checksum. It starts only
while no known damage is unresolved (:attr:`Compactor.paused`), and then steps
over the damage the engine knows of, which nothing depends on any more; damage
it meets that nobody knew of makes it copy nothing, and is recorded.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import mmap
import os
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from storage import datatypes, extents, record
from storage.child import become_child, spawn
from storage.damage import damage_at
from storage.hints import HintBuilder, write_hint
from storage.keyspace import Keyspace
from storage.record import RecordType, iter_records
from storage.replay import Replay
from storage.segment import (
    FILE_MODE,
    fsync_directory,
    hint_path,
    location_of,
    map_file,
    pack_location,
    segment_name,
    unpack_location,
)

if TYPE_CHECKING:
    from storage.hinter import HintWriter
    from storage.log import Log
    from storage.segment import Segment

logger = logging.getLogger("caskd.storage")
RELOCATIONS_PER_STEP = 20000

# A relocation: (db, key, old location, output index or -1 if dropped, new record offset)
Relocation = tuple[int, bytes, int, int, int]
COLLECTION = (1 << 64) - 1  # "old" of a dropped collection: it has no location


@dataclass
class MergeInput:
    number: int  # runtime segment number, as packed into locations
    path: Path


class DamagedInput(Exception):
    """A merge input holds damage the engine did not know of (start-up did not
    see it: the segment was loaded from its hint file), from ``offset`` to
    ``end``, naming ``keys`` ((db, key) pairs; none if its header is damaged).
    The merge copies nothing; the engine records the damage (see
    :meth:`Compactor._failed`), which pauses compaction until it is accepted or
    repaired."""

    def __init__(self, path: Path, offset: int, reason: str, end: int | None = None,
                 keys: Sequence[tuple[int, bytes]] = (), rtype: int = 0) -> None:
        super().__init__(f"{reason} in {path} at offset {offset}")
        self.path, self.offset, self.reason = Path(path), offset, reason
        self.end = offset + 1 if end is None else end
        self.keys = tuple(keys)
        self.rtype = rtype  # the damaged record's type, 0 if unknown

    def as_json(self) -> str:
        """How the merge's child process reports it (see :func:`from_json`)."""
        return json.dumps({"damaged": [str(self.path), self.offset, self.reason, self.end,
                                       [[db, key.hex()] for db, key in self.keys],
                                       self.rtype]})

    @classmethod
    def from_json(cls, fields: list) -> DamagedInput:
        path, offset, reason, end, keys, rtype = fields
        return cls(path, offset, reason, end, [(db, bytes.fromhex(key)) for db, key in keys],
                   rtype)


@dataclass
class MergeResult:
    outputs: list[tuple[int, int]] = field(default_factory=list)  # (major, minor)
    relocations: Sequence[Relocation] = field(default_factory=list)
    bytes_written: int = 0


def merge(
    inputs: list[MergeInput],
    directory: Path,
    major: int,
    first_minor: int,
    segment_size: int,
    now_ms: int,
    databases: int,
    progress: Callable[[float], None] = lambda fraction: None,
    before_publish: Callable[[MergeResult], None] = lambda result: None,
    skippable: frozenset[int] = frozenset(),
) -> MergeResult:
    """Write the live contents of ``inputs`` as segments ``major-first_minor…``.

    ``inputs`` must be the oldest segments of the log, in log order: replaying
    them in another order would let an older value win. ``before_publish`` sees
    the result after the outputs are written and synced, before they are
    renamed into place. ``skippable`` holds the locations of damaged records
    nothing depends on any more, which the merge steps over; any other damage
    raises DamagedInput.
    """
    views = {item.number: map_file(item.path) for item in inputs}
    try:
        live, expires, libraries, metadata = _latest_records(inputs, views, databases,
                                                             skippable)
        writer = _OutputWriter(directory, major, first_minor, segment_size)
        try:
            for name, code in libraries.items():  # one record per live library
                writer.add_library(name, code)
            for name, value in metadata.items():
                writer.add_metadata(name, value)
            _write_live(writer, live, expires, views,
                        {item.number: item.path for item in inputs}, now_ms, progress)
            return writer.finish(before_publish)
        except BaseException:
            writer.abort()
            raise
    finally:
        for view in views.values():
            if view is not None:
                # After an error, the traceback's frames may still hold slices of a
                # map; closing it then raises BufferError, which would hide the
                # error itself. The map is freed with the frames instead.
                with suppress(BufferError):
                    view.close()


def _write_live(writer: _OutputWriter, live: list[dict[bytes, object]],
                expires: list[dict[bytes, int]], views: dict, paths: dict[int, Path],
                now_ms: int, progress: Callable[[float], None]) -> None:
    """Copy every live value to the output; keys expired by ``now_ms`` are dropped."""
    total = sum(len(keys) for keys in live) or 1
    done = 0
    for db, keys in enumerate(live):
        db_expires = expires[db]
        for key, old in keys.items():
            expire_at = db_expires.get(key, 0)
            if type(old) is extents.Chain:  # a string with patches: written joined
                if expire_at and expire_at <= now_ms:
                    writer.result.relocations.append((db, key, old.newest, -1, 0))
                else:
                    value = extents.assemble(old, partial(_read, views, paths, db=db, key=key))
                    writer.add(db, key, old.newest, value, expire_at)
            elif type(old) is not int:  # a collection
                if expire_at and expire_at <= now_ms:
                    writer.result.relocations.append((db, key, COLLECTION, -1, 0))
                else:
                    writer.add_collection(db, key, old, expire_at)
            elif expire_at and expire_at <= now_ms:
                writer.result.relocations.append((db, key, old, -1, 0))
            else:
                writer.add(db, key, old, _read(views, paths, old, db=db, key=key), expire_at)
            done += 1
            if done % 10000 == 0:
                progress(done / total)


def _read(views: dict, paths: dict[int, Path], location: int, *, db: int, key: bytes) -> bytes:
    """The value of an input's record (``key``'s, or a part of its chain), verified."""
    number, offset = unpack_location(location)
    try:
        return record.value_at(views[number], offset)
    except record.CorruptRecord as exc:  # damaged since the replay read it
        raise DamagedInput(paths[number], offset, exc.reason,
                           keys=[(db, key)], rtype=RecordType.PUT) from None


def _latest_records(inputs: list[MergeInput], views: dict, databases: int,
                    skippable: frozenset[int] = frozenset()
                    ) -> tuple[list[dict[bytes, object]], list[dict[bytes, int]],
                               dict[bytes, bytes], dict[bytes, bytes]]:
    """Replay the inputs (as recovery does, see :mod:`storage.replay`): per db,
    key -> latest record location (a string) or the collection as its operations
    rebuild it, and key -> TTL; the function libraries, name -> code; and the
    metadata, name -> value."""
    keyspace = Keyspace(databases)
    keyspace.loading = True  # no expiry heap: nothing here expires keys
    replay = Replay(keyspace)
    for item in inputs:
        view = views[item.number]
        if view is None:
            continue
        for rec in _input_records(memoryview(view), item, skippable):
            replay(rec, item.number, view)
    return keyspace.keydirs, keyspace.expires, keyspace.libraries, keyspace.metadata


def _input_records(buf: memoryview, item: MergeInput, skippable: frozenset[int]
                   ) -> Iterator[record.Record]:
    """The records of a merge input in order, batches unpacked, stepping over the
    damage in ``skippable``; other damage raises DamagedInput."""
    pos, end = 0, len(buf)
    while pos < end:
        try:
            rec = record.decode_at(buf, pos, end)
        except record.CorruptRecord:
            rec = None
        if rec is None:  # unused space to the end, or damage
            pos = yield from _past_damage(buf, pos, item, skippable)
        elif rec.type == RecordType.BATCH:
            yield from iter_records(buf, rec.value_offset, rec.end, verify=False)
            pos = rec.end
        else:
            yield rec
            pos = rec.end


def _past_damage(buf: memoryview, pos: int, item: MergeInput, skippable: frozenset[int]
                 ) -> Iterator[record.Record]:
    """Step over the damage at ``pos`` (yielding what is kept of it); returns where
    the records resume. A damaged record is skipped if it is known and nothing
    depends on it (``skippable``); of a damaged batch, the parts that pass their
    own checksums are kept and each other part must be skippable itself: a hint
    file loaded the batch whole, so its intact parts are live."""
    damage = damage_at(buf, pos, len(buf))
    if damage is None:
        return len(buf)
    number = item.number
    if damage.framed and pack_location(number, pos) in skippable:
        return damage.end
    if damage.rtype != RecordType.BATCH:
        raise DamagedInput(item.path, pos, damage.reason, damage.end, damage.keys,
                           damage.rtype)
    batch = record.decode_at(buf, pos, damage.end, verify=False)
    kept = []
    try:
        for part in iter_records(buf, batch.value_offset, batch.end, verify=False):
            if record.CRC.unpack_from(buf, part.offset)[0] == 0:  # an old log's: unverifiable
                raise record.CorruptRecord(part.offset, damage.reason)
            try:
                kept.append(record.decode_at(buf, part.offset, part.end, may_be_part=True))
            except record.CorruptRecord as exc:
                if pack_location(number, part.offset) not in skippable:
                    raise DamagedInput(item.path, part.offset, exc.reason, part.end,
                                       [(part.db, part.key)], part.type) from None
    except record.CorruptRecord:  # a part's framing, or a part that cannot be checked
        raise DamagedInput(item.path, pos, damage.reason, damage.end, damage.keys,
                           damage.rtype) from None
    yield from kept
    return damage.end


class _OutputWriter:
    """Writes merged records into temp files, renamed into place by :meth:`finish`."""

    def __init__(self, directory: Path, major: int, first_minor: int, segment_size: int) -> None:
        self.directory = directory
        self.major = major
        self.minor = first_minor - 1
        self.segment_size = segment_size
        self.result = MergeResult()
        self.fd = -1
        self.temps: list[tuple[int, Path, Path, Path, Path]] = []
        self._start_segment()

    def _start_segment(self) -> None:
        self.minor += 1
        final = self.directory / segment_name(self.major, self.minor)
        temp = final.with_suffix(".log.tmp")
        hint_temp = final.with_suffix(".hint.tmp")
        self.temps.append((self.minor, temp, final, hint_temp, hint_path(final)))
        self.fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        self.size = 0
        self.buffer = bytearray()
        self.hints = HintBuilder()

    def add(self, db: int, key: bytes, old: int, value: bytes, expire_at: int) -> None:
        self._rotate_if_full()
        position = self._add_record(RecordType.PUT, db, key, value, expire_at)
        self.result.relocations.append((db, key, old, len(self.temps) - 1, position))

    def add_collection(self, db: int, key: bytes, value: object, expire_at: int) -> None:
        """A collection's snapshot, all in one output segment: a segment published
        without the next (a crash while renaming) then never holds part of one."""
        self._rotate_if_full()
        rtype, record_expire = RecordType.SNAPSHOT, expire_at
        for chunk in datatypes.snapshot(value):
            self._add_record(rtype, db, key, chunk, record_expire)
            rtype, record_expire = RecordType.OP, 0

    def add_library(self, name: bytes, code: bytes) -> None:
        self._rotate_if_full()
        self._add_record(RecordType.LIBRARY, 0, name, code, 0)

    def add_metadata(self, name: bytes, value: bytes) -> None:
        self._rotate_if_full()
        self._add_record(RecordType.METADATA, 0, name, value, 0)

    def _rotate_if_full(self) -> None:
        if self.size and self.size + len(self.buffer) >= self.segment_size:
            self._end_segment()
            self._start_segment()

    def _add_record(self, rtype: RecordType, db: int, key: bytes, value: bytes,
                    expire_at: int) -> int:
        """Append a record and its hint entry; returns its offset in the segment."""
        position = self.size + len(self.buffer)
        encoded = record.encode(rtype, db, key, value, expire_at)
        self.buffer += encoded
        self.hints.add(rtype, db, key, position, len(encoded), expire_at)
        if len(self.buffer) >= 1 << 20:
            self._write_buffer()
        return position

    def _write_buffer(self) -> None:
        view = memoryview(self.buffer)
        while view:
            view = view[os.write(self.fd, view):]
        self.size += len(self.buffer)
        self.result.bytes_written += len(self.buffer)
        self.buffer = bytearray()

    def _end_segment(self) -> None:
        self._write_buffer()
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        _, temp, _, hint_temp, _ = self.temps[-1]
        view = map_file(temp)
        try:
            write_hint(hint_temp, view, self.hints.encode())
        finally:
            view.close()

    def finish(self, before_publish: Callable[[MergeResult], None]) -> MergeResult:
        """fsync, then rename hints and segments into place and fsync the directory."""
        if self.hints.records == 0 and len(self.temps) == 1:
            self.abort()  # nothing live: no output at all
            before_publish(self.result)
            return self.result
        self._end_segment()
        before_publish(self.result)
        try:
            for minor, temp, final, hint_temp, hint_final in self.temps:
                os.rename(hint_temp, hint_final)
                os.rename(temp, final)
                self.result.outputs.append((self.major, minor))
            fsync_directory(self.directory)
        except BaseException:
            # The engine will not use these outputs; left behind, they would sort
            # before a later merge's outputs and replay stale contents at the next
            # open. Inputs are still all there, so removing them loses nothing.
            for _, _, final, _, hint_final in self.temps:
                hint_final.unlink(missing_ok=True)
                final.unlink(missing_ok=True)
            raise
        return self.result

    def abort(self) -> None:
        """Remove every temp file (after a failure), so no space is left behind."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for _, temp, _, hint_temp, _ in self.temps:
            for path in (temp, hint_temp):
                path.unlink(missing_ok=True)


# ------------------------------------------------------------ the engine's side


@dataclass
class CompactionState:
    """A merge in progress (thread), then the index fix-up (owner, in slices)."""

    inputs: list[Segment]
    thread: threading.Thread
    started: float
    now: int  # the clock the merge judges expiry by
    db_of: list[int] = field(default_factory=list)  # merge's db -> db holding it now
    progress: float = 0.0
    result: MergeResult | None = None
    error: BaseException | None = None
    applied: int = 0
    output_numbers: list[int] | None = None
    pending: Iterator | None = None  # the relocations not yet applied
    process: object = None  # the merge's child process, while it runs


class Compactor:
    """Runs compactions of ``log``'s sealed segments and applies their results to
    ``keyspace``. :attr:`state` is the compaction under way, if any."""

    def __init__(self, log: Log, keyspace: Keyspace, hints: HintWriter) -> None:
        self.log = log
        self.keyspace = keyspace
        self.hints = hints
        self.state: CompactionState | None = None
        self.status = "ok"  # of the last compaction
        self.count = 0
        self.retry_at = 0.0
        self._failures = 0
        self.base_size = log.disk_size()  # log size after the last compaction (or at open)
        self._paused_reported: str | None = None  # what due() last logged of paused

    @property
    def progress(self) -> float:
        return 0.0 if self.state is None else self.state.progress

    def start(self, now: int, in_child: bool) -> bool:
        """Start merging the sealed segments in the background; False if one runs.
        ``now`` is the time the merge judges expiry by."""
        if self.state is not None:
            return False
        if self.paused is not None:
            return True  # nothing starts: see paused
        log = self.log
        if log.active.size or log.pending:
            log.rotate()  # so the merge covers everything written until now
        inputs = log.sealed_segments()
        if not inputs:
            self._finished()
            return True
        # Outputs sort after every input and before the active segment (whose
        # major is larger), so replay order stays right even if a crash leaves
        # inputs and outputs side by side.
        self.hints.stop()  # the merge writes hints for its outputs
        major = inputs[-1].major
        first_minor = 1 + max(s.minor for s in log.segments.values() if s.major == major)
        databases = self.keyspace.databases
        state = CompactionState(inputs, threading.Thread(), time.time(), now,
                                db_of=list(range(databases)))
        arguments = ([MergeInput(s.number, s.path) for s in inputs], log.directory,
                     major, first_minor, log.segment_size, now, databases)
        skippable = frozenset(log.damage.seen)  # nothing holds them: see paused

        def progress(fraction: float) -> None:
            state.progress = fraction

        def run() -> None:
            try:
                if in_child:
                    try:
                        state.result = merge_in_child(
                            *arguments, progress=progress, skippable=skippable,
                            started=lambda process: setattr(state, "process", process))
                        return
                    except OSError as exc:  # no process: merge here instead
                        logger.warning("Cannot run compaction in a child process (%s); "
                                    "merging in a thread", exc)
                state.result = merge(*arguments, progress=progress, skippable=skippable)
            except BaseException as exc:  # reported by step() on the owner
                state.error = exc

        state.thread = threading.Thread(target=run, name="caskd-compact", daemon=True)
        self.state = state
        state.thread.start()
        logger.info("Background compaction started (%d segments)", len(inputs))
        return True

    def swapped(self, db: int, other: int) -> None:
        """SWAPDB while a merge runs: its view of ``db`` and ``other`` now lives swapped."""
        state = self.state
        if state is not None:
            state.db_of = [other if d == db else db if d == other else d
                           for d in state.db_of]

    def step(self, budget: int = RELOCATIONS_PER_STEP) -> None:
        """Apply up to ``budget`` index moves of a finished merge; retire its inputs."""
        state = self.state
        if state is None or state.thread.is_alive():
            return
        if state.error is not None or state.result is None:
            self._failed(state.error)
            return
        result = state.result
        log = self.log
        if state.output_numbers is None:
            state.output_numbers = [log.map_output(major, minor)
                                    for major, minor in result.outputs]
            log.sort_segments()
            state.pending = iter(result.relocations)
        numbers = state.output_numbers
        keydirs = self.keyspace.keydirs
        count = 0
        for merged_db, key, old, output, offset in islice(state.pending, budget):
            count += 1
            db = state.db_of[merged_db]
            keydir = keydirs[db]
            if old == COLLECTION:  # an expired collection the merge dropped
                self._collection_dropped(state, db, key)
            elif not extents.descends(keydir.get(key), old):
                # Written again since the merge started: the newer write wins, and
                # the copy just made is dead weight for the next compaction.
                if output >= 0:
                    log.superseded(pack_location(numbers[output], offset))
            elif output >= 0:  # (a chain keeps the patches written since)
                self.keyspace.set_entry(db, key, extents.rebased(
                    keydir[key], old, pack_location(numbers[output], offset)))
            else:
                self._relocate_dropped(state, db, key)
        state.applied += count
        if state.applied < len(result.relocations):
            return
        if isinstance(result.relocations, RelocationFile):
            result.relocations.close()
        log.retire(state.inputs)
        self.state = None
        self._finished()
        logger.info("Background compaction finished in %.2f s (%d keys moved)",
                 time.time() - state.started, state.applied)

    def finish(self) -> None:
        """Wait for a running merge and apply all of it (closing)."""
        if self.state is not None:
            self.state.thread.join()
            while self.state is not None:
                self.step(budget=1 << 30)

    def _relocate_dropped(self, state: CompactionState, db: int, key: bytes) -> None:
        """The merge dropped ``key`` as expired, and the index still points at the
        record it saw. Usually the key has expired here too; but if its TTL was
        changed (or removed) after the merge looked, its value exists only in an
        input about to be deleted, so it is written again."""
        expire_at = self.keyspace.expires[db].get(key, 0)
        if expire_at and expire_at <= state.now:
            self.keyspace.remove(db, key)  # its records leave with the inputs
            return
        log = self.log  # the value as it is now (a chain: with the patches since)
        location = log.append(RecordType.PUT, db, key, log.read(self.keyspace.keydirs[db][key]),
                              expire_at)
        self.keyspace.put(db, key, location, expire_at)

    def _collection_dropped(self, state: CompactionState, db: int, key: bytes) -> None:
        """The merge dropped the collection at ``key`` as expired (a collection it
        keeps needs no index change: the index holds the object, and the merge's
        snapshot replays to the same contents). If the key still holds a
        collection that has not expired (its TTL changed after the merge looked,
        or it is a new one), it is written again whole, so that nothing of it
        depends on the inputs about to be deleted."""
        value = self.keyspace.keydirs[db].get(key)
        if value is None or extents.is_string(value):
            return
        expire_at = self.keyspace.expires[db].get(key, 0)
        if expire_at and expire_at <= state.now:
            self.keyspace.remove(db, key)  # its records leave with the inputs
            return
        self.log.append_snapshot(db, key, value, expire_at)

    def _finished(self) -> None:
        self.status = "ok"
        self.count += 1
        self._failures = 0
        self.base_size = self.log.disk_size()

    def _failed(self, error: BaseException | None) -> None:
        self.state = None
        self.status = "err"
        self._failures += 1
        delay = min(2 ** self._failures, 300)
        self.retry_at = time.monotonic() + delay
        if isinstance(error, DamagedInput):
            logger.warning("Background compaction found a damaged record (%s): it copied "
                           "nothing", error)
            self._record_damage(error)
            return
        logger.warning("Background compaction failed: %s; automatic retry in %d s", error, delay)

    def _record_damage(self, error: DamagedInput) -> None:
        """Note damage a merge found (in one of its inputs, all still there). A
        damaged PUT holds the keys that still read it (their reads fail too), and
        is skipped once they are written again or deleted: a superseded value
        matters to nobody. Skipping any other record (a delete, a TTL, a
        collection's operation...) would change what the log means, so only
        ``caskd-check --fix`` clears that."""
        number = next(s.number for s in self.log.segments.values() if s.path == error.path)
        start, end = pack_location(number, error.offset), pack_location(number, error.end)
        damage = self.log.damage
        self.log.damaged.add(start)  # counted in INFO, as what a read finds
        if error.rtype != RecordType.PUT:
            damage.needs_fix(start)
            return
        damage.seen.add(start)
        keyspace = self.keyspace
        for db, key in error.keys:
            entry = keyspace.keydirs[db].get(key) if db < keyspace.databases else None
            if type(entry) is int and start <= location_of(entry) < end:
                damage.hold(location_of(entry))

    @property
    def paused(self) -> str | None:
        """Why compaction waits, if it does: damage is known in the log and not
        yet repaired or accepted (see :class:`storage.damage.KnownDamage`), and a
        merge would drop it for good. The reason says how to resume."""
        damage, directory = self.log.damage, self.log.directory
        if damage.fix_only:
            return (f"the log holds {len(damage.fix_only)} damaged record(s) whose keys are "
                    f"unknown or that no write replaces; stop caskd and run 'caskd-check "
                    f"--fix {directory}' to remove them")
        if damage.held:
            return (f"{sum(damage.held.values())} key(s) read a damaged record (the server "
                    f"log names them); write or delete them to accept the loss, or stop "
                    f"caskd and run 'caskd-check --fix {directory}' to remove the damage "
                    f"(they then read as the log's older records leave them)")
        return None

    def due(self, percentage: int, min_size: int, dead_ratio: float) -> bool:
        """Whether automatic compaction should start: the log has grown by
        ``percentage`` since the last one (Redis's auto-aof-rewrite-percentage), or
        ``dead_ratio`` of it is dead (Bitcask's), and it is at least ``min_size``;
        never while it is :attr:`paused`."""
        if self.state is not None or time.monotonic() < self.retry_at:
            return False
        size = self.log.disk_size()
        if size < min_size:
            return False
        grown = percentage > 0 and size >= self.base_size * (100 + percentage) / 100
        if not grown and self.log.dead_size() < size * dead_ratio:
            return False
        reason = self.paused
        if reason != self._paused_reported:  # said once, when it changes
            if reason is not None:
                logger.warning("Automatic compaction is paused: %s", reason)
            else:
                logger.warning("Automatic compaction resumes: the damage is accepted")
            self._paused_reported = reason
        return reason is None


# ---------------------------------------------------------------- in a child process

# The relocation file: magic, count; then per relocation
# db, old location, output index (-1: dropped), record offset, key length, key.
RELOCATION_MAGIC = b"CASKREL1"
RELOCATION_HEADER = struct.Struct("<8sQ")
RELOCATION_ENTRY = struct.Struct("<BQiII")


def write_relocations(path: Path, relocations: Sequence[Relocation]) -> None:
    with open(path, "wb") as f:
        f.write(RELOCATION_HEADER.pack(RELOCATION_MAGIC, len(relocations)))
        pack = RELOCATION_ENTRY.pack
        chunk = bytearray()
        for db, key, old, output, offset in relocations:
            chunk += pack(db, old, output, offset, len(key))
            chunk += key
            if len(chunk) >= 1 << 20:
                f.write(chunk)
                chunk = bytearray()
        f.write(chunk)


class RelocationFile(Sequence):
    """The relocations a child merge wrote, read lazily in log order.

    Only iteration is supported (the engine applies them in slices, in order);
    the file is mapped, not loaded, so a million relocations cost the parent
    no memory until they are applied.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as f:
            self._view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        magic, self._count = RELOCATION_HEADER.unpack_from(self._view)
        if magic != RELOCATION_MAGIC:
            raise ValueError(f"{path} is not a relocation file")

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):  # Sequence's abstract method; not used
        raise TypeError("relocations are read in order: iterate")

    def __iter__(self) -> Iterator[Relocation]:
        view, unpack, size = self._view, RELOCATION_ENTRY.unpack_from, RELOCATION_ENTRY.size
        pos = RELOCATION_HEADER.size
        for _ in range(self._count):
            db, old, output, offset, key_len = unpack(view, pos)
            pos += size
            yield db, view[pos:pos + key_len], old, output, offset
            pos += key_len

    def close(self) -> None:
        """Unmap and delete the file (the merge is applied or abandoned)."""
        self._view.close()
        self.path.unlink(missing_ok=True)


def merge_in_child(inputs: list[MergeInput], directory: Path, major: int, first_minor: int,
                   segment_size: int, now_ms: int, databases: int,
                   progress: Callable[[float], None] = lambda fraction: None,
                   started: Callable[[subprocess.Popen], None] = lambda process: None,
                   skippable: frozenset[int] = frozenset()) -> MergeResult:
    """:func:`merge` in a child process. Blocks (without holding the GIL) until
    it is done, so call it from a thread. On any failure, removes whatever the
    child left (temp files, and outputs it may have published) and raises."""
    relocations = directory / f"{major:010d}-{first_minor:04d}.reloc.tmp"
    spec = {"inputs": [[item.number, str(item.path)] for item in inputs],
            "directory": str(directory), "major": major, "first_minor": first_minor,
            "segment_size": segment_size, "now_ms": now_ms, "databases": databases,
            "relocations": str(relocations), "skippable": sorted(skippable),
            # The child rebuilds collections: with the server's encoding thresholds.
            "encoding": dataclasses.asdict(datatypes.ENCODING)}
    # One pipe for both streams: a child that filled an unread stderr would hang.
    process = spawn("storage.compaction", spec, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True)
    started(process)
    summary = None
    other: list[str] = []  # anything else it printed: a traceback, say
    try:
        for line in process.stdout:
            if line.startswith("progress "):
                progress(float(line.split()[1]))
            elif line.startswith("{"):
                summary = json.loads(line)
                if "damaged" in summary:
                    raise DamagedInput.from_json(summary["damaged"])
            else:
                other.append(line)
        code = process.wait()
        if code != 0 or summary is None:
            raise RuntimeError(f"compaction process failed (exit status {code}): "
                               f"{''.join(other).strip()[-500:]}")
        return MergeResult([tuple(output) for output in summary["outputs"]],
                           RelocationFile(relocations), summary["bytes_written"])
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        _remove_outputs(directory, major, first_minor)
        relocations.unlink(missing_ok=True)
        raise


def _remove_outputs(directory: Path, major: int, first_minor: int) -> None:
    """Delete every file a failed merge into ``major-first_minor…`` may have left:
    temp files, and outputs it renamed into place (unknown to the engine, they
    would sort before a later merge's outputs and replay stale contents)."""
    prefix = f"{major:010d}-"
    for path in directory.glob(prefix + "*"):
        minor = path.name[len(prefix):len(prefix) + 4]
        if minor.isdigit() and int(minor) >= first_minor:
            path.unlink(missing_ok=True)


def _child_main(argument: str) -> None:
    spec = become_child(argument)
    for limit, value in spec["encoding"].items():  # in place: every module sees them
        setattr(datatypes.ENCODING, limit, value)
    inputs = [MergeInput(number, Path(path)) for number, path in spec["inputs"]]
    relocations = Path(spec["relocations"])

    def report(fraction: float) -> None:
        print(f"progress {fraction:.4f}", flush=True)

    try:
        result = merge(inputs, Path(spec["directory"]), spec["major"], spec["first_minor"],
                       spec["segment_size"], spec["now_ms"], spec["databases"],
                       progress=report, before_publish=lambda result: write_relocations(
                           relocations, result.relocations),
                       skippable=frozenset(spec["skippable"]))
    except DamagedInput as exc:  # told to the parent as a fact, not a traceback
        print(exc.as_json(), flush=True)
        sys.exit(1)
    print(json.dumps({"outputs": result.outputs, "bytes_written": result.bytes_written}),
          flush=True)


if __name__ == "__main__":
    _child_main(sys.argv[1])
