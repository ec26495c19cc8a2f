"""When each key was last used (LRU) or how often (LFU): the 24 bits Redis keeps in
every object's ``lru`` field (object.c, evict.c), here one dict per database.

``maps[db]`` maps a key to one int, exactly Redis's field: under an LRU policy the
LRU clock (seconds, 24 bits) of its last access; under an LFU policy the minute
(16 bits) of its counter's last decrement and the logarithmic counter (8 bits). The
ints are shared: every key touched within one clock tick points at the same LRU
int, and the LFU values of the current minute are interned (256 of them), so a key
costs one dict entry and no int object of its own.

A key with no entry was not used since the data set was loaded: it counts as used
at load time with LFU_INIT_VAL (Redis gives every loaded object the clock of the
load, and resets its counters: access data does not survive a restart there either).
Only lookups touch (reads and writes, as Redis's lookupKey does); the keyspace drops
a key's entry when the key goes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

LRU_CLOCK_MAX = (1 << 24) - 1  # Redis's LRU_CLOCK_MAX: 24 bits of seconds
LRU_CLOCK_RESOLUTION_MS = 1000
LFU_INIT_VAL = 5
LFU_MINUTES_MASK = 65535


def lru_clock(now: float | None = None) -> int:
    """Redis's getLRUClock: the time in seconds, 24 bits."""
    return int(time.time() if now is None else now) & LRU_CLOCK_MAX


def lfu_minutes(now: float | None = None) -> int:
    """Redis's LFUGetTimeInMinutes: 16 bits of minutes."""
    return (int(time.time() if now is None else now) // 60) & LFU_MINUTES_MASK


class Access:
    """Every database's access data, and the clock it is kept by (advanced by
    :meth:`tick`, as Redis's serverCron advances ``server.lruclock``)."""

    def __init__(self, databases: int, rng: random.Random | None = None) -> None:
        self.maps: list[dict[bytes, int]] = [{} for _ in range(databases)]
        self.lfu = False  # the policy is an LFU one: counters instead of times
        self.log_factor = 10  # lfu-log-factor
        self.decay_time = 1  # lfu-decay-time, minutes
        self._random = (rng or random.Random()).random
        self.clock = lru_clock()
        self.minutes = lfu_minutes()
        self.loaded_clock = self.clock
        self.loaded_minutes = self.minutes
        self._lfu_values = self._intern_lfu()

    def tick(self, now: float | None = None) -> None:
        """Advance the clocks (the server's cron, ``hz`` times a second)."""
        clock = lru_clock(now)
        if clock != self.clock:
            self.clock = clock
            minutes = lfu_minutes(now)
            if minutes != self.minutes:
                self.minutes = minutes
                self._lfu_values = self._intern_lfu()

    def _intern_lfu(self) -> list[int]:
        base = self.minutes << 8
        return [base | counter for counter in range(256)]

    def set_policy(self, lfu: bool) -> None:
        """Switch between LRU and LFU data. As in Redis, the values already kept are
        then read the other way until keys are used again ("LRU and LFU data will take
        some time to adjust")."""
        self.lfu = lfu

    # ------------------------------------------------------------ touching

    def touch(self, db: int, key: bytes, new: bool = False) -> None:
        """``key`` was looked up (read or written); ``new``: it was just created."""
        if self.lfu:
            self.maps[db][key] = self._lfu_values[
                LFU_INIT_VAL if new else self._log_incr(self.counter(db, key))]
        else:
            self.maps[db][key] = self.clock

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
            self.maps[db][key] = self._lfu_values[min(freq, 255)]
        elif not self.lfu and idle_seconds is not None:
            lru = self.clock - idle_seconds  # wrapped once, then cut to 24 bits, as Redis's
            self.maps[db][key] = (lru if lru >= 0 else lru + LRU_CLOCK_MAX) & LRU_CLOCK_MAX

    @contextmanager
    def notouch(self, db: int, key: bytes) -> Iterator[None]:
        """Lookups inside leave ``key``'s access data as it was (Redis's
        LOOKUP_NOTOUCH: TYPE, OBJECT, TTL look without using the key)."""
        saved = self.maps[db].get(key)
        try:
            yield
        finally:
            if saved is None:
                self.maps[db].pop(key, None)
            else:
                self.maps[db][key] = saved

    # ------------------------------------------------------------ reading

    def idle_ms(self, db: int, key: bytes) -> int:
        """estimateObjectIdleTime: ms since the key was last used (LRU data)."""
        lru = self.maps[db].get(key, self.loaded_clock)
        clock = self.clock
        if clock >= lru:
            return (clock - lru) * LRU_CLOCK_RESOLUTION_MS
        return (clock + (LRU_CLOCK_MAX - lru)) * LRU_CLOCK_RESOLUTION_MS

    def counter(self, db: int, key: bytes) -> int:
        """LFUDecrAndReturn: the key's counter, less one per ``lfu-decay-time``
        minutes since it was last decremented (not stored: only a use stores)."""
        value = self.maps[db].get(key)
        if value is None:
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
        return self.maps[db].get(key, default)

    # ------------------------------------------------------------ keys going

    def forget(self, db: int, key: bytes) -> None:
        self.maps[db].pop(key, None)

    def move(self, db: int, key: bytes, target_db: int, target: bytes) -> None:
        """RENAME and MOVE keep the object, so its access data goes along."""
        value = self.maps[db].pop(key, None)
        if value is None:
            self.maps[target_db].pop(target, None)
        else:
            self.maps[target_db][target] = value

    def flushdb(self, db: int) -> None:
        self.maps[db] = {}

    def swapdb(self, db: int, other: int) -> None:
        self.maps[db], self.maps[other] = self.maps[other], self.maps[db]
