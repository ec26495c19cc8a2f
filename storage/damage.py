"""Damage in a segment: how much a record that fails its checksum covers, and
where the intact records after it resume.

Recovery (:mod:`storage.recovery`) steps over what :func:`damage_at` finds and
marks the keys it names; ``caskd-check --fix`` (scripts/caskd_check.py) cuts
exactly those byte ranges out of the segment. One function decides both, so
what the server skips is what the repair removes.

Two kinds of damage:

- *framed*: the header's type is known and its lengths lead exactly to the
  next intact record (the first one after it whose checksum verifies, found by
  scanning: :func:`find_next_record`), or to the end of the records, perhaps
  through a few more damaged records side by side: only that record is
  damaged, and its key (read unverified: the flipped bit may be in the key
  itself) names what it changed. A batch names every part's key.
- *unframed*: the header itself is damaged (its lengths do not lead there). The
  damage runs to that next intact record; the keys of the bytes in between are
  unknown, so the damage is a byte range.

A length is trusted only if it lands exactly on the next intact record: a
damaged length that reached past it would swallow intact records.

A torn tail (a crash's half-written last record) looks like damage after which
nothing valid follows, and only the last segment can have one (the caller says
which segment that is). Of damage there, :attr:`Damage.torn` tells what a
crash can leave from what it cannot:

- a record whose header is damaged, or that runs past the end of the data, or
  whose last byte is zero (a write that stopped short leaves the zeros of the
  preallocated tail, or of a file extended but not yet written, in its place):
  torn, cut;
- a whole record (its lengths lead to the clean tail: zeros to the end, or the
  end of the file) whose last byte was written, yet whose checksum fails:
  damaged, and kept as damage like any other, not silently cut.

(A value that ends in zero bytes, damaged elsewhere, is taken for torn: the two
cannot be told apart.)
"""

from __future__ import annotations

import re
from typing import NamedTuple

from storage import record
from storage.record import HEADER, HEADER_SIZE, VALID_TYPES, RecordType

#: The record types whose key (and, for a rename, target) a damaged record names.
KEYED_TYPES = frozenset({RecordType.PUT, RecordType.DELETE, RecordType.EXPIRE, RecordType.OP,
                         RecordType.SNAPSHOT, RecordType.RENAME,
                         RecordType.PATCH})


class Damage(NamedTuple):
    """Bytes ``start`` (a record boundary) to ``end`` (the next intact record, or
    the end of the segment) of a segment are damaged."""

    start: int
    end: int
    reason: str
    rtype: int  # the damaged record's type if framed, else 0
    keys: tuple[tuple[int, bytes], ...]  # (db, key) a framed record names
    torn: bool  # what a crash's torn write leaves, if in the last segment (see above)

    @property
    def framed(self) -> bool:
        return self.rtype != 0

    def describe(self) -> str:
        """What is lost, for a log line or a repair plan."""
        size = self.end - self.start
        if not self.framed:
            return (f"{size} bytes from offset {self.start} to {self.end} ({self.reason}; "
                    f"the record header is damaged, the keys there are unknown)")
        kind = RecordType(self.rtype).name
        keys = ", ".join(f"db {db} key {key!r}" for db, key in self.keys) or "no key"
        return f"a {kind} record of {size} bytes at offset {self.start} ({self.reason}): {keys}"


def damage_at(buf: memoryview, pos: int, end: int) -> Damage | None:
    """The damage at ``pos``, where decoding a record failed or found unused (zero)
    space; None if nothing but zeros lies from ``pos`` to ``end`` (unused
    preallocated space, harmless)."""
    try:
        if record.decode_at(buf, pos, end) is None and not has_data(buf, pos, end):
            return None  # (the common case, checked first: a preallocated tail)
        reason = "data after unused space"  # it decoded as unused (zero) space
    except record.CorruptRecord as exc:
        reason = exc.reason
    resume = find_next_record(buf, pos, end)
    framed = _framed_end(buf, pos, end if resume is None else resume, end)
    if framed is not None:
        rtype = buf[pos + 4]
        return Damage(pos, framed, reason, rtype, _keys_of(buf, pos, framed, rtype),
                      resume is None and buf[framed - 1] == 0)
    return Damage(pos, end if resume is None else resume, reason, 0, (), resume is None)


def damage_of_hinted(buf: memoryview, pos: int, end: int) -> Damage | None:
    """The damage of the record a hint file names at ``pos``, which failed its
    checksum. It may be a part of a batch, which no scan for the next intact
    record can frame (a part never passes for a whole record): so its own header
    frames it, if that fits; else it is damage as :func:`damage_at` finds it."""
    try:
        rec = record.decode_at(buf, pos, end, verify=False)
    except record.CorruptRecord:
        rec = None
    if rec is None:
        return damage_at(buf, pos, end)
    return Damage(pos, rec.end, "checksum mismatch", rec.type, _named(buf, rec), False)


def ends_the_records(damage: Damage | None, is_last: bool) -> bool:
    """Whether what :func:`damage_at` found is where a segment's records end:
    unused space (None), or, in the last segment, a crash's torn tail, cut rather
    than stepped over."""
    return damage is None or (is_last and damage.torn)


#: How many damaged records side by side framing may chain through (each
#: believable header leading to the next) before the intact record comes.
FRAMED_CHAIN = 16


def _framed_end(buf: memoryview, pos: int, limit: int, end: int) -> int | None:
    """Where the record at ``pos`` ends if its header is believable: a known type,
    and lengths that lead, through at most FRAMED_CHAIN more believable headers,
    exactly to ``limit`` (the next intact record, else ``end``), or to unused
    space that lasts to ``end``."""
    record_end = _plausible_end(buf, pos, limit)
    if record_end is None:
        return None
    at, chain = record_end, FRAMED_CHAIN
    while at != limit:
        if limit == end and not has_data(buf, at, end):
            break  # the records end in unused space
        following = _plausible_end(buf, at, limit)
        if following is None or chain == 0:
            return None
        at, chain = following, chain - 1
    return record_end


def _plausible_end(buf: memoryview, pos: int, limit: int) -> int | None:
    """The end of the record at ``pos`` by its header, if the header could be
    right (a known type, lengths within ``limit``); its checksum is not checked."""
    if limit - pos < HEADER_SIZE:
        return None
    _, rtype, _, _, key_len, value_len = HEADER.unpack_from(buf, pos)
    record_end = pos + HEADER_SIZE + key_len + value_len
    return record_end if rtype in VALID_TYPES and record_end <= limit else None


# A record can start only 4 bytes before a valid type byte: the scan lets the
# regex engine find those bytes, at C speed, through values and zeros, and
# checks each place.
_TYPE_BYTE = re.compile(b"[%s]" % b"".join(re.escape(bytes((rtype,)))
                                           for rtype in sorted(VALID_TYPES)))


def find_next_record(buf: memoryview, start: int, end: int) -> int | None:
    """Offset of the first valid (checksummed) record after ``start``, or None.

    Tells a torn tail (nothing valid follows) from damage in the middle of a
    log (valid records follow it)."""
    for match in _TYPE_BYTE.finditer(buf, start + 5, end):
        pos = match.start() - 4
        if pos + HEADER_SIZE > end:
            return None
        if record.is_record_at(buf, pos, end):
            return pos
    return None


def _keys_of(buf: memoryview, pos: int, record_end: int, rtype: int
             ) -> tuple[tuple[int, bytes], ...]:
    """The (db, key) pairs a framed damaged record names, as far as they can be
    read: a batch's parts until one's framing fails."""
    rec = record.decode_at(buf, pos, record_end, verify=False)
    if rtype != RecordType.BATCH:
        return _named(buf, rec)
    keys: list[tuple[int, bytes]] = []
    try:
        for part in record.iter_records(buf, rec.value_offset, rec.end, verify=False):
            keys.extend(_named(buf, part))
    except record.CorruptRecord:
        pass  # the rest of the batch is unreadable: report what could be read
    return tuple(dict.fromkeys(keys))


def _named(buf: memoryview, rec: record.Record) -> tuple[tuple[int, bytes], ...]:
    if rec.type not in KEYED_TYPES:
        return ()
    if rec.type == RecordType.RENAME and rec.value_len:  # the target changed too
        target = bytes(buf[rec.value_offset:rec.end])
        return (rec.db, rec.key), (target[0], target[1:])
    return ((rec.db, rec.key),)


def has_data(buf: memoryview, start: int, end: int) -> bool:
    """True if any byte from ``start`` to ``end`` is not zero (read in 1 MB chunks:
    a preallocated tail is large)."""
    chunk = 1 << 20
    return any(bytes(buf[pos:min(end, pos + chunk)]).strip(b"\0")
               for pos in range(start, end, chunk))


class KnownDamage:
    """The damage an engine knows of in its log, and what still depends on it.

    Compaction drops what it does not copy, so a damaged record it skipped would
    be gone for good: the error its keys answer, and the older values that
    ``caskd-check --fix`` would bring back. So compaction waits (see
    :attr:`storage.compaction.Compactor.paused`) while an index entry still points
    at a damaged record (a key answering the checksum error: *held*), or while
    damage whose keys are unknown exists (only ``caskd-check --fix`` clears that).
    Writing or deleting a key releases its hold: the user has accepted the loss,
    and a merge may then step over the record (locations in :attr:`seen`).
    """

    def __init__(self) -> None:
        self.seen: set[int] = set()  # locations of every damaged record (or part) known
        self.held: dict[int, int] = {}  # location -> index entries pointing at it
        self.fix_only: set[int] = set()  # damage no write can accept (its keys are unknown)

    def hold(self, location: int) -> None:
        """One more index entry points at the damaged record at ``location``."""
        self.seen.add(location)
        self.held[location] = self.held.get(location, 0) + 1

    def release(self, location: int) -> None:
        """An index entry pointing at ``location`` was replaced or removed."""
        count = self.held.pop(location, 0) - 1
        if count > 0:
            self.held[location] = count

    def release_all(self) -> None:
        """Every index entry is gone (FLUSHALL)."""
        self.held.clear()

    def needs_fix(self, location: int) -> None:
        """Damage at ``location`` that no write can accept: its keys are unknown, or
        skipping it would change what the log means (a delete, a TTL change...)."""
        self.seen.add(location)
        self.fix_only.add(location)
