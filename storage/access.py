"""When each key was last used (LRU) or how often (LFU): the 24 bits Redis keeps in
every object's ``lru`` field (object.c, evict.c), its *access data*.

The field is exactly Redis's: under an LRU policy the LRU clock (seconds, 24 bits)
of the key's last access; under an LFU policy the minute (16 bits) of its counter's
last decrement and the logarithmic counter (8 bits). Where it is kept:

- a string's index entry is an int, its location, which holds the field in 24 bits
  of its own (see :mod:`storage.segment`): a key costs no other memory for it, and
  a lookup that finds the field already at the current clock stores nothing;
- any other key (a collection, a chain of extents: objects, no room in them) and a
  key about to be created keeps it in ``others[db]``, a dict key -> field. The
  fields there are shared ints: every key touched within one clock tick points at
  the same LRU int, and the LFU values of the current minute are interned (256).

A field of 0 means the key was not used since the data set was loaded (so loading
stores nothing): it counts as used at load time with LFU_INIT_VAL (Redis gives
every loaded object the clock of the load, and resets its counters: access data
does not survive a restart there either). A use at LRU clock 0 therefore stores
LRU_CLOCK_MAX, and an LFU field of minute 0 and counter 0 stores minute
LFU_MINUTES_MASK: estimateObjectIdleTime's and LFUDecrAndReturn's wrap arithmetic
read both exactly as the zero they stand for (only DEBUG OBJECT's ``lru:`` shows
the difference). Only lookups touch (reads and writes, as Redis's lookupKey does);
the keyspace moves a key's field when its entry changes kind, and drops it when
the key goes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

from storage.segment import ACCESS_SHIFT, WITHOUT_ACCESS

LRU_CLOCK_MAX = (1 << 24) - 1  # Redis's LRU_CLOCK_MAX: 24 bits of seconds
LRU_CLOCK_RESOLUTION_MS = 1000
LFU_INIT_VAL = 5
LFU_MINUTES_MASK = 65535
FIELD_MASK = LRU_CLOCK_MAX  # the 24 bits, LRU or LFU
NOT_USED = 0  # the field of a key not used since the load
LFU_ZERO = LFU_MINUTES_MASK << 8  # minute 0 counter 0, as stored (NOT_USED is taken)


def lru_clock(now: float | None = None) -> int:
    """Redis's getLRUClock: the time in seconds, 24 bits."""
    return int(time.time() if now is None else now) & LRU_CLOCK_MAX


def lfu_minutes(now: float | None = None) -> int:
    """Redis's LFUGetTimeInMinutes: 16 bits of minutes."""
    return (int(time.time() if now is None else now) // 60) & LFU_MINUTES_MASK


def field_of(entry: int) -> int:
    """The access data in a string's index entry."""
    return (entry >> ACCESS_SHIFT) & FIELD_MASK


class Access:
    """Every database's access data, and the clock it is kept by (advanced by
    :meth:`tick`, as Redis's serverCron advances ``server.lruclock``).
    ``keydirs`` is the keyspace's list of indexes (an Access of its own: empty)."""

    def __init__(self, databases: int, rng: random.Random | None = None,
                 keydirs: list[dict[bytes, object]] | None = None) -> None:
        self.keydirs = [{} for _ in range(databases)] if keydirs is None else keydirs
        self.others: list[dict[bytes, int]] = [{} for _ in range(databases)]
        self.log_factor = 10  # lfu-log-factor
        self.decay_time = 1  # lfu-decay-time, minutes
        self._random = (rng or random.Random()).random
        self.clock = lru_clock()
        self.lfu = False  # the policy is an LFU one: counters instead of times
        self._set_lru_field()
        self.minutes = lfu_minutes()
        self.loaded_clock = self.clock
        self.loaded_minutes = self.minutes
        self._lfu_values = self._intern_lfu()

    def tick(self, now: float | None = None) -> None:
        """Advance the clocks (the server's cron, ``hz`` times a second)."""
        clock = lru_clock(now)
        if clock != self.clock:
            self.clock = clock
            self._set_lru_field()
            minutes = lfu_minutes(now)
            if minutes != self.minutes:
                self.minutes = minutes
                self._lfu_values = self._intern_lfu()

    def _set_lru_field(self) -> None:
        #: What a use stores under LRU now (one int, shared by the keys it goes to).
        self.lru_field_now = self.clock or LRU_CLOCK_MAX
        #: The same where a string's index entry holds it, for the engine's inlined
        #: touch; 0 under an LFU policy (then only touch() knows the field): one
        #: attribute tells the engine both.
        self.clock_field = 0 if self.lfu else self.lru_field_now << ACCESS_SHIFT

    def _intern_lfu(self) -> list[int]:
        base = self.minutes << 8
        return [(base | counter) or LFU_ZERO for counter in range(256)]

    def set_policy(self, lfu: bool) -> None:
        """Switch between LRU and LFU data. As in Redis, the values already kept are
        then read the other way until keys are used again ("LRU and LFU data will take
        some time to adjust")."""
        self.lfu = lfu
        self._set_lru_field()

    # ------------------------------------------------------------ the field

    def field(self, db: int, key: bytes) -> int:
        """``key``'s access data as kept (NOT_USED: not used since the load)."""
        entry = self.keydirs[db].get(key)
        if type(entry) is int:
            return field_of(entry)
        return self.others[db].get(key, NOT_USED)

    def store(self, db: int, key: bytes, field: int) -> None:
        """Make ``field`` ``key``'s access data (an index entry is written only if
        it changes: most lookups find the field they would store)."""
        keydir = self.keydirs[db]
        entry = keydir.get(key)
        if type(entry) is int:
            if field_of(entry) != field:
                keydir[key] = entry & WITHOUT_ACCESS | field << ACCESS_SHIFT
        elif field != NOT_USED:
            self.others[db][key] = field
        else:
            self.others[db].pop(key, None)

    # ------------------------------------------------------------ touching

    def touch(self, db: int, key: bytes, new: bool = False) -> None:
        """``key`` was looked up (read or written); ``new``: it was just created."""
        if self.lfu:
            self.store(db, key, self._lfu_values[
                LFU_INIT_VAL if new else self._log_incr(self.counter(db, key))])
        else:
            self.store(db, key, self.lru_field_now)

    def _log_incr(self, counter: int) -> int:
        """LFULogIncr: the greater the counter, the less likely it grows; 255 at most."""
        if counter == 255:
            return 255
        baseval = max(counter - LFU_INIT_VAL, 0)
        if self._random() < 1.0 / (baseval * self.log_factor + 1):
            counter += 1
        return counter

    def set(self, db: int, key: bytes, idle_seconds: int | None = None,
            freq: int | None = None) -> None:
        """RESTORE's IDLETIME or FREQ (objectSetLRUOrLFU), for the current policy."""
        if self.lfu and freq is not None:
            self.store(db, key, self._lfu_values[min(freq, 255)])
        elif not self.lfu and idle_seconds is not None:
            lru = self.clock - idle_seconds  # wrapped once, then cut to 24 bits, as Redis's
            lru = (lru if lru >= 0 else lru + LRU_CLOCK_MAX) & LRU_CLOCK_MAX
            self.store(db, key, lru or LRU_CLOCK_MAX)

    @contextmanager
    def notouch(self, db: int, key: bytes) -> Iterator[None]:
        """Lookups inside leave ``key``'s access data as it was (Redis's
        LOOKUP_NOTOUCH: TYPE, OBJECT, TTL look without using the key)."""
        saved, existed = self.field(db, key), key in self.keydirs[db]
        try:
            yield
        finally:
            if existed and key not in self.keydirs[db]:  # gone meanwhile (expired)
                self.others[db].pop(key, None)
            else:
                self.store(db, key, saved)

    # ------------------------------------------------------------ reading

    def idle_ms(self, db: int, key: bytes) -> int:
        """estimateObjectIdleTime: ms since the key was last used (LRU data)."""
        lru = self.field(db, key) or self.loaded_clock
        clock = self.clock
        if clock >= lru:
            return (clock - lru) * LRU_CLOCK_RESOLUTION_MS
        return (clock + (LRU_CLOCK_MAX - lru)) * LRU_CLOCK_RESOLUTION_MS

    def counter(self, db: int, key: bytes) -> int:
        """LFUDecrAndReturn: the key's counter, less one per ``lfu-decay-time``
        minutes since it was last decremented (not stored: only a use stores)."""
        value = self.field(db, key)
        if value == NOT_USED:
            ldt, counter = self.loaded_minutes, LFU_INIT_VAL
        else:
            ldt, counter = value >> 8, value & 255
        if self.decay_time:
            now = self.minutes
            elapsed = now - ldt if now >= ldt else LFU_MINUTES_MASK - ldt + now
            periods = elapsed // self.decay_time
            if periods:
                counter = 0 if periods > counter else counter - periods
        return counter

    def lru_field(self, db: int, key: bytes) -> int:
        """The 24 bits as Redis's robj.lru holds them (DEBUG OBJECT's ``lru:``)."""
        default = (self.loaded_minutes << 8 | LFU_INIT_VAL) if self.lfu else self.loaded_clock
        return self.field(db, key) or default

    # ------------------------------------------------------------ keys going

    def forget(self, db: int, key: bytes) -> None:
        """``key`` is gone (a string's field went with its entry)."""
        self.others[db].pop(key, None)

    def move(self, db: int, key: bytes, target_db: int, target: bytes) -> None:
        """RENAME and MOVE keep the object, so its access data goes along."""
        field = self.field(db, key)
        self.others[db].pop(key, None)
        self.store(target_db, target, field)

    def flushdb(self, db: int) -> None:
        self.others[db] = {}

    def swapdb(self, db: int, other: int) -> None:
        self.others[db], self.others[other] = self.others[other], self.others[db]
