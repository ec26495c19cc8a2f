"""Damage in a segment: how much a record that fails its checksum covers, and
where the intact records after it resume.

Recovery (:mod:`storage.recovery`) steps over what :func:`damage_at` finds and
marks the keys it names; ``caskd-check --fix`` (scripts/caskd_check.py) cuts
exactly those byte ranges out of the segment. One function decides both, so
what the server skips is what the repair removes.

Two kinds of damage:

- *framed*: the header's type is known and its lengths lead exactly to an
  intact record (or to the end of the records): only that one record is
  damaged, and its key (read unverified: the flipped bit may be in the key
  itself) names what it changed. A batch names every part's key.
- *unframed*: the header itself is damaged. The next record whose checksum
  verifies is found by scanning (:func:`storage.record.find_next_record`); the
  keys of the bytes in between are unknown, so the damage is a byte range.

A torn tail (a crash's half-written last record) looks like damage after which
nothing valid follows; telling the two apart is the caller's business (only
the last segment can have a torn tail).
"""

from __future__ import annotations

from typing import NamedTuple

from storage import record
from storage.record import HEADER, HEADER_SIZE, VALID_TYPES, RecordType

#: The record types whose key (and, for a rename, target) a damaged record names.
KEYED_TYPES = frozenset({RecordType.PUT, RecordType.DELETE, RecordType.EXPIRE, RecordType.OP,
                         RecordType.SNAPSHOT, RecordType.RENAME})


class Damage(NamedTuple):
    """Bytes ``start`` (a record boundary) to ``end`` (the next intact record, or
    the end of the segment) of a segment are damaged."""

    start: int
    end: int
    reason: str
    rtype: int  # the damaged record's type if framed, else 0
    keys: tuple[tuple[int, bytes], ...]  # (db, key) a framed record names
    followed: bool  # an intact record lies somewhere after it (else: a torn tail?)

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
        record.decode_at(buf, pos, end)
        reason = "data after unused space"  # it decoded as unused (zero) space
    except record.CorruptRecord as exc:
        reason = exc.reason
    framed = _framed_end(buf, pos, end)
    if framed is not None:
        rtype = buf[pos + 4]
        followed = record.find_next_record(buf, framed - 1, end) is not None
        return Damage(pos, framed, reason, rtype, _keys_of(buf, pos, framed, rtype), followed)
    resume = record.find_next_record(buf, pos, end)
    if resume is not None:
        return Damage(pos, resume, reason, 0, (), True)
    if has_data(buf, pos, end):
        return Damage(pos, end, reason, 0, (), False)
    return None


def ends_the_records(damage: Damage | None, is_last: bool) -> bool:
    """Whether what :func:`damage_at` found is where a segment's records end:
    unused space (None), or, in the last segment, damage that nothing valid
    follows: a crash's torn tail, cut rather than stepped over."""
    return damage is None or (is_last and not damage.followed)


def _framed_end(buf: memoryview, pos: int, end: int) -> int | None:
    """Where the record at ``pos`` ends if its header is believable: a known type,
    lengths that fit, and what follows is well formed (see :func:`_leads_on`)."""
    record_end = _plausible_end(buf, pos, end)
    if record_end is None or not _leads_on(buf, record_end, end, FRAMED_CHAIN):
        return None
    return record_end


#: How many damaged records in a row framing may chain through (each believable
#: header leading to the next) before an intact record must come.
FRAMED_CHAIN = 16


def _plausible_end(buf: memoryview, pos: int, end: int) -> int | None:
    """The end of the record at ``pos`` by its header, if the header could be
    right (a known type, lengths that fit); its checksum is not checked."""
    if end - pos < HEADER_SIZE:
        return None
    _, rtype, _, _, key_len, value_len = HEADER.unpack_from(buf, pos)
    record_end = pos + HEADER_SIZE + key_len + value_len
    return record_end if rtype in VALID_TYPES and record_end <= end else None


def _leads_on(buf: memoryview, pos: int, end: int, chain: int) -> bool:
    """True if ``pos`` is the end, unused space, an intact record, or (up to
    ``chain`` times) a believable header leading on in turn: so two damaged
    records side by side are each still one record."""
    if pos == end or record.is_record_at(buf, pos, end):
        return True
    try:
        if record.decode_at(buf, pos, end) is None:
            return True  # unused (zero) space
    except record.CorruptRecord:
        pass
    following = _plausible_end(buf, pos, end)
    return chain > 0 and following is not None and _leads_on(buf, following, end, chain - 1)


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
