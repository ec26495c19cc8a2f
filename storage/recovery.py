"""Recovery: rebuild the keyspace from a data directory's hint files and
segments when the engine opens it, cutting a crash's torn tail.

A damaged record costs that record only: recovery steps over it (see
:mod:`storage.damage`), logs it, counts it (INFO's ``caskd_damaged_records``)
and points the keys it names at it, so they answer a checksum error rather
than an older value; the rest of the log is served.

Records are replayed in log order (see :mod:`storage.replay`) without judging
expiry; keys whose time has passed are dropped once at the end. (Judging each
record as it is replayed would drop a key whose TTL a later record removed.)
Recovery reports no change events: it restores what was, it changes nothing.
"""

from __future__ import annotations

import logging
import mmap
import os
import zlib
from collections.abc import Callable, Iterable

from storage import record
from storage.damage import Damage, damage_at, damage_of_hinted, ends_the_records
from storage.errors import StorageError
from storage.hinter import HintWriter
from storage.hints import PUTS, Step, locations_of, offsets_of, read_hint
from storage.keyspace import Keyspace
from storage.log import Log
from storage.record import HEADER_SIZE, RecordType, iter_records
from storage.replay import Replay
from storage.segment import (
    NUMBER_SHIFT,
    Segment,
    hint_path,
    list_segments,
    map_file,
    pack_location,
    segment_name,
)

logger = logging.getLogger("caskd.storage")


def too_few_databases(log: Log, databases: int) -> StorageError:
    return StorageError(f"The data in {log.directory} uses more databases than the "
                        f"{databases} configured; start with a larger 'databases' setting")


def load(log: Log, keyspace: Keyspace, hints: HintWriter, stats: dict,
         clock: Callable[[], int]) -> None:
    """Map every segment into ``segments`` and replay it into ``keyspace``, from
    its hint file if it has a valid one; a segment without one is queued on
    ``hints``. ``stats["torn_bytes_dropped"]`` counts what a torn tail lost, and
    ``stats["damaged_records"]`` the damaged records stepped over."""
    directory = log.directory
    for leftover in directory.glob("*.tmp"):  # an interrupted compaction
        leftover.unlink()
    names = list_segments(directory)
    for hint in directory.glob("*.hint"):
        if not hint.with_suffix(".log").exists():
            hint.unlink()
    replay = Replay(keyspace, log.superseded_all)
    keyspace.loading = True
    try:
        for index, (major, minor) in enumerate(names):
            path = directory / segment_name(major, minor)
            view = map_file(path)
            segment = log.add_segment(major, minor, len(view) if view else 0, view)
            steps = read_hint(hint_path(path), view) if view is not None else None
            if steps is not None:
                _load_hints(log, keyspace, replay, segment, steps, stats)
            elif view is not None:
                replay_segment(log, keyspace, replay, segment, stats,
                               is_last=index == len(names) - 1)
                hints.sealed(path)
    except IndexError:  # a database number past the last one
        raise too_few_databases(log, keyspace.databases) from None
    finally:
        keyspace.loading = False
    log.drop_empty_segments()
    for db, key in keyspace.expired_keys(clock()):
        keyspace.remove(db, key)
    keyspace.rebuild_expiry_heap()


def _load_hints(log: Log, keyspace: Keyspace, replay: Replay, segment: Segment,
                steps: Iterable[Step], stats: dict) -> None:
    """Index a segment from its hint file (see :mod:`storage.hints`): a run of
    PUTs with a few bulk dict operations, any other record read from the
    segment and replayed."""
    number = segment.number
    for step in steps:
        if step[0] == PUTS:
            _, db, keys, offsets, expires, dead = step
            keyspace.put_run(db, keys, locations_of(number, offsets), expires)
            if dead:  # records the run superseded itself
                log.dead_bytes[number] = log.dead_bytes.get(number, 0) + dead
        else:
            for offset in offsets_of(step[1]):
                _replay_hinted(log, keyspace, replay, segment, offset, stats)


def _replay_hinted(log: Log, keyspace: Keyspace, replay: Replay, segment: Segment,
                   offset: int, stats: dict) -> None:
    """Replay the record a hint names at ``offset``, verified: a PUT's value is
    verified when it is read, but an operation is applied now. It may be a part
    of a batch (verified by its own checksum; one an old log left 0 is replayed
    unverified: the hint vouches that its batch was whole)."""
    view = segment.view
    try:
        rec = record.decode_at(view, offset, len(view), may_be_part=True)
    except record.CorruptRecord:
        with memoryview(view) as buf:
            damage = damage_of_hinted(buf, offset, len(buf))
        if damage is not None:
            _step_over(log, keyspace, segment, damage, stats)
        return
    replay(rec, segment.number, view)


def replay_segment(log: Log, keyspace: Keyspace, replay: Replay, segment: Segment,
                   stats: dict, is_last: bool) -> None:
    """Replay every record of ``segment``, stepping over damaged ones (see
    :mod:`storage.damage`); cut a torn tail (or unused space) at its end."""
    buf = memoryview(segment.view)
    end = len(buf)
    number = segment.number
    base = number << NUMBER_SHIFT
    index_put = keyspace.put
    unpack, crc32, put = record.HEADER.unpack_from, zlib.crc32, RecordType.PUT
    pos = 0
    unknown_database = False
    try:
        while pos < end:
            # Fast path for the common record, a plain PUT: no Record object (what
            # Replay does for a PUT, with pack_location inlined).
            if end - pos >= HEADER_SIZE:
                crc, rtype, db, expire_at, key_len, value_len = unpack(buf, pos)
                key_end = pos + HEADER_SIZE + key_len
                record_end = key_end + value_len
                if (rtype == put and record_end <= end
                        and crc32(buf[pos + 4:record_end]) == crc):
                    index_put(db, bytes(buf[pos + HEADER_SIZE:key_end]), base | pos, expire_at)
                    pos = record_end
                    continue
            # Everything else (and every kind of damage) takes the general path.
            try:
                rec = record.decode_at(buf, pos, end)
            except record.CorruptRecord:
                rec = None
            if rec is None:  # unused space, a torn tail, or damage to step over
                damage = damage_at(buf, pos, end)
                if ends_the_records(damage, is_last):
                    break  # cut below
                _step_over(log, keyspace, segment, damage, stats)
                pos = damage.end
                continue
            if rec.type == RecordType.BATCH:
                for inner in iter_records(buf, rec.value_offset, rec.end, verify=False):
                    replay(inner, number, buf)
            else:
                replay(rec, number, buf)
            pos = rec.end
    except IndexError:  # a database number past the last one; raised below,
        unknown_database = True  # once buf can be released
    finally:
        buf.release()
    if unknown_database:
        raise too_few_databases(log, keyspace.databases)
    if pos < end:
        _cut_tail(log, segment, pos, stats)


def _step_over(log: Log, keyspace: Keyspace, segment: Segment, damage: Damage,
               stats: dict) -> None:
    """Skip a damaged record (or byte range): report it, and point each key it
    names at it, so that reading the key fails its checksum (as a value damaged
    after start-up does) until the key is written again or deleted. The mark
    replaces an older value of the key: serving that silently would be wrong;
    ``caskd-check --fix`` removes the damaged record and so brings it back."""
    location = pack_location(segment.number, damage.start)
    marked = [(db, key) for db, key in damage.keys if db < keyspace.databases]
    for db, key in marked:
        keyspace.put(db, key, location, 0)
        log.damage.hold(location)  # until the key is written again or deleted
    if marked:
        keyspace.damaged.add(location)
    else:  # nothing a write could accept: only caskd-check --fix clears it
        log.damage.needs_fix(location)
    stats["damaged_records"] += 1
    logger.error("Damaged record in %s: %s. Skipped; %s; run 'caskd-check --fix %s' "
                 "with caskd stopped to remove it", segment.path, damage.describe(),
                 "those keys answer a checksum error until written again or deleted"
                 if marked else "everything else is served", segment.path.parent)


def _cut_tail(log: Log, segment: Segment, valid_end: int, stats: dict) -> None:
    """Truncate a segment after its last whole record (a crash's torn tail, or
    preallocated space never written)."""
    dropped = _last_nonzero(segment.view, valid_end) - valid_end
    if dropped:
        logger.warning("Torn tail in %s: dropped %d bytes after offset %d (an interrupted "
                       "write)", segment.path, dropped, valid_end)
    stats["torn_bytes_dropped"] += dropped
    segment.view.close()
    os.truncate(segment.path, valid_end)
    segment.view = map_file(segment.path)
    segment.size = valid_end
    log.views[segment.number] = segment.view


def _last_nonzero(view: mmap.mmap, start: int) -> int:
    """One past the last non-zero byte of ``view`` at or after ``start`` (``start``
    if none), read backwards in chunks so a mostly empty 64 MB tail costs little."""
    end = len(view)
    chunk = 1 << 20
    while end > start:
        begin = max(start, end - chunk)
        rest = view[begin:end].rstrip(b"\0")
        if rest:
            return begin + len(rest)
        end = begin
    return start
