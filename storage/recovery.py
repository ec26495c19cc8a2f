"""Recovery: rebuild the keyspace from a data directory's hint files and
segments when the engine opens it, cutting a crash's torn tail.

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
from storage.errors import CorruptLog, StorageError
from storage.hinter import HintWriter
from storage.hints import PUTS, Step, locations_of, offsets_of, read_hint
from storage.keyspace import Keyspace
from storage.log import Log
from storage.record import HEADER_SIZE, RecordType, iter_records
from storage.replay import Replay
from storage.segment import NUMBER_SHIFT, Segment, hint_path, list_segments, map_file, segment_name

logger = logging.getLogger("caskd.storage")


def too_few_databases(log: Log, databases: int) -> StorageError:
    return StorageError(f"The data in {log.directory} uses more databases than the "
                        f"{databases} configured; start with a larger 'databases' setting")


def load(log: Log, keyspace: Keyspace, hints: HintWriter, stats: dict,
         clock: Callable[[], int]) -> None:
    """Map every segment into ``segments`` and replay it into ``keyspace``, from
    its hint file if it has a valid one; a segment without one is queued on
    ``hints``. ``stats["torn_bytes_dropped"]`` counts what a torn tail lost."""
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
                _load_hints(log, keyspace, replay, segment, steps)
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
                steps: Iterable[Step]) -> None:
    """Index a segment from its hint file (see :mod:`storage.hints`): a run of
    PUTs with a few bulk dict operations, any other record read from the
    segment and replayed."""
    number, view = segment.number, segment.view
    for step in steps:
        if step[0] == PUTS:
            _, db, keys, offsets, expires, dead = step
            keyspace.put_run(db, keys, locations_of(number, offsets), expires)
            if dead:  # records the run superseded itself
                log.dead_bytes[number] = log.dead_bytes.get(number, 0) + dead
        else:
            for offset in offsets_of(step[1]):
                replay(record.decode_at(view, offset, len(view), verify=False), number, view)


def replay_segment(log: Log, keyspace: Keyspace, replay: Replay, segment: Segment,
                   stats: dict, is_last: bool) -> None:
    """Replay every record of ``segment``; cut a torn tail if it is the last one,
    raise CorruptLog for damage anywhere else."""
    buf = memoryview(segment.view)
    end = len(buf)
    number = segment.number
    base = number << NUMBER_SHIFT
    index_put = keyspace.put
    unpack, crc32, put = record.HEADER.unpack_from, zlib.crc32, RecordType.PUT
    pos = 0
    damage = None
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
            rec = record.decode_at(buf, pos, end)
            if rec is None:
                break
            if rec.type == RecordType.BATCH:
                for inner in iter_records(buf, rec.value_offset, rec.end, verify=False):
                    replay(inner, number, buf)
            else:
                replay(rec, number, buf)
            pos = rec.end
    except record.CorruptRecord as exc:
        damage = exc.reason
    except IndexError:  # a database number past the last one; raised below,
        unknown_database = True  # once buf can be released
    try:
        if unknown_database:
            raise too_few_databases(log, keyspace.databases)
        # Past the last whole record: zeros (preallocation) are fine anywhere; a
        # partial record is a crash's torn tail if nothing valid follows it and
        # it is in the last segment. Anything else is corruption.
        if pos < end and (record.find_next_record(buf, pos, end) is not None
                          or (damage and not is_last)):
            raise CorruptLog(segment.path, pos, damage or "data after unused space")
    finally:
        buf.release()
    if pos < end:
        _cut_tail(log, segment, pos, stats)


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
