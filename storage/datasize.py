"""The size of the data set, as ``maxmemory`` counts it.

Redis limits the memory its allocator hands out (used_memory), most of which is the
data set. caskd's process memory (RSS) is no such measure: a string's value is on
disk, and memory Python frees is kept for reuse rather than given back, so RSS does
not fall when keys are deleted and a limit on it would evict everything once reached.
So caskd counts its data set itself, key by key, kept up to date on every change:

- every key: ``KEY_OVERHEAD`` (its index entry, access data and TTL slot in RAM,
  measured: see the README) plus the key's bytes;
- a string: its value's bytes (on disk), unless ``values`` is off (then only what
  RAM holds counts);
- a hash, list, set, sorted set or stream: ``MEMBER_OVERHEAD`` per member (fields,
  items, entries: the measured RAM a member costs, see the README), in RAM.

With values counted (the default) ``maxmemory 100mb`` keeps about 100 MB of keys and
values, as Redis would; without, it bounds the RAM caskd's index and collections take
while the log on disk holds as much as the values add up to.

The count starts at the first :meth:`DataSize.total` (one pass over the keys, at
start or when ``maxmemory`` is set); until then changes cost one attribute test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.extents import Chain
from storage.record import LENGTHS, LENGTHS_OFFSET
from storage.segment import location_of

if TYPE_CHECKING:
    from storage.keyspace import Keyspace
    from storage.log import Log

KEY_OVERHEAD = 120  # RAM per key besides its name: index entry, location with access data (README)
MEMBER_OVERHEAD = 120  # bytes of RAM per collection member (README, "Where each type lives")

_unpack_lengths = LENGTHS.unpack_from


class DataSize:
    """The running total, kept up to date by the keyspace (its ``sized``) while counting."""

    def __init__(self, log: Log, keyspace: Keyspace) -> None:
        self.log = log
        self.keyspace = keyspace
        self.values = True
        self._total: int | None = None  # None: not counting yet

    def total(self) -> int:
        if self._total is None:
            size = self.size
            self._total = sum(size(key, value) for keydir in self.keyspace.keydirs
                              for key, value in keydir.items())
            self.keyspace.sized = self
        return self._total

    def set_values(self, values: bool) -> None:
        """Whether strings' values (on disk) count; a change counts again."""
        if values != self.values:
            self.values = values
            self.reset()

    def reset(self) -> None:
        """Stop counting until the next :meth:`total` (the keyspace changed wholesale:
        FLUSHDB, FLUSHALL)."""
        self._total = None
        self.keyspace.sized = None

    def size(self, key: bytes, value: object) -> int:
        """What ``key`` holding ``value`` counts for."""
        if type(value) is Chain:  # a large string with patches (storage.extents)
            return KEY_OVERHEAD + len(key) + (value.length if self.values else 0)
        if type(value) is not int:
            return KEY_OVERHEAD + len(key) + MEMBER_OVERHEAD * len(value)
        if not self.values or location_of(value) in self.keyspace.damaged:
            return KEY_OVERHEAD + len(key)
        buf, offset = self.log.record_buffer(value)
        return KEY_OVERHEAD + len(key) + _unpack_lengths(buf, offset + LENGTHS_OFFSET)[1]

    def changed(self, key: bytes, old: object, new: object) -> None:
        """``key`` held ``old`` and holds ``new`` (None: nothing)."""
        self._total += (0 if new is None else self.size(key, new)) - \
            (0 if old is None else self.size(key, old))

    def cleared(self) -> None:
        """Every db was emptied (FLUSHALL)."""
        self._total = 0

    def grown(self, size: int) -> None:
        """A string's value grew by ``size`` bytes in place (a patch: storage.extents)."""
        if self._total is not None and self.values:
            self._total += size

    def resized(self, members: int) -> None:
        """A collection gained (or lost, < 0) ``members`` in place."""
        if self._total is not None:
            self._total += MEMBER_OVERHEAD * members
