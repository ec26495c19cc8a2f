"""Which key to evict next, by a maxmemory policy: Redis's evict.c, sampled.

Redis samples ``maxmemory-samples`` keys of each database per round (dictGetSomeKeys)
into an eviction pool of the 16 best candidates seen so far, ordered by score (idle
time for LRU, 255 - counter for LFU, how soon it expires for volatile-ttl), and evicts
the best one that still exists. The random policies take one random key, visiting the
databases in turn. The ``volatile-*`` policies sample only keys with a TTL.

A Python dict cannot hand out a random key in O(1), so each database's candidates are
drawn from a snapshot of its key list (8 bytes a key, shared key objects), taken when
eviction first needs it and taken again once a quarter of it was evicted or has gone
(keys written since are not candidates until then: they are the most recently used).
Keys that have gone meanwhile are skipped, as Redis skips the pool's ghosts.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.keyspace import Keyspace

POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
            "allkeys-lfu", "allkeys-random", "noeviction")
EVPOOL_SIZE = 16
ULLONG_MAX = (1 << 64) - 1
STALE_SHARE = 4  # a snapshot is taken again once 1/STALE_SHARE of it went


class Evictor:
    """Chooses keys of ``keyspace`` to evict under ``policy`` (set :attr:`policy` and
    :attr:`samples` from the config). ``rng`` makes the choice reproducible (tests)."""

    def __init__(self, keyspace: Keyspace, rng: random.Random | None = None) -> None:
        self.keyspace = keyspace
        self.policy = "noeviction"
        self.samples = 5
        self.random = rng or random.Random()
        self.pool: list[tuple[int, int, bytes]] = []  # (score, db, key), best last
        self._snapshots: dict[int, list[bytes]] = {}  # db -> its candidates' key list
        self._gone: dict[int, int] = {}  # db -> snapshot keys found gone or evicted
        self._next_db = 0

    def set_policy(self, policy: str) -> None:
        if policy != self.policy:
            self.policy = policy
            self.pool.clear()
            self._snapshots.clear()

    def _candidates(self, db: int) -> dict:
        """What the policy samples in ``db``: every key or those with a TTL."""
        keyspace = self.keyspace
        return keyspace.keydirs[db] if self.policy.startswith("allkeys") else keyspace.expires[db]

    def choose(self) -> tuple[int, bytes] | None:
        """(db, key) to evict next, or None when no key can go (or the policy is
        noeviction)."""
        policy = self.policy
        if policy == "noeviction":
            return None
        if policy.endswith("random"):
            return self._random_key()
        while True:
            total = 0
            for db in range(self.keyspace.databases):
                if self._candidates(db):
                    total += self._populate(db)
            if not total:
                return None
            while self.pool:  # the best first; a key gone since it was pooled is a ghost
                _, db, key = self.pool.pop()
                if key in self._candidates(db):
                    return db, key

    def _sample(self, db: int, count: int) -> list[bytes]:
        """Up to ``count`` keys of ``db``'s candidates, at random, still there."""
        candidates = self._candidates(db)
        snapshot = self._snapshots.get(db)
        if snapshot is None or self._gone[db] * STALE_SHARE > len(snapshot) \
                or len(candidates) > 2 * len(snapshot):
            snapshot = self._snapshots[db] = list(candidates)
            self._gone[db] = 0
        keys = []
        for _ in range(count * 2):  # a few more draws to make up for keys gone
            if not snapshot or len(keys) == count:
                break
            key = snapshot[int(self.random.random() * len(snapshot))]
            if key in candidates:
                keys.append(key)
            else:
                self._gone[db] += 1
        if not keys and candidates:  # all drawn were gone: start over on a fresh list
            self._snapshots.pop(db)
            return self._sample(db, count)
        return keys

    def _score(self, db: int, key: bytes) -> int:
        """evictionPoolPopulate's "idle": the higher, the better to evict."""
        policy, access = self.policy, self.keyspace.access
        if policy.endswith("lru"):
            return access.idle_ms(db, key)
        if policy.endswith("lfu"):
            return 255 - access.counter(db, key)
        return ULLONG_MAX - self.keyspace.expires[db][key]  # volatile-ttl: soonest first

    def _populate(self, db: int) -> int:
        """evictionPoolPopulate: put ``db``'s sampled keys in the pool where they beat
        its worst. Returns how many keys ``db`` has to sample from."""
        pool = self.pool
        for key in self._sample(db, self.samples):
            score = self._score(db, key)
            entry = (score, db, key)
            if any(pooled[1] == db and pooled[2] == key for pooled in pool):
                continue
            if len(pool) == EVPOOL_SIZE:
                if score <= pool[0][0]:
                    continue  # no better than the worst we hold
                pool.pop(0)
            position = 0
            while position < len(pool) and pool[position][0] < score:
                position += 1
            pool.insert(position, entry)
        return len(self._candidates(db))

    def _random_key(self) -> tuple[int, bytes] | None:
        """allkeys-random, volatile-random: a random key, one db after the other."""
        databases = self.keyspace.databases
        for _ in range(databases):
            self._next_db = db = (self._next_db + 1) % databases
            if self._candidates(db):
                keys = self._sample(db, 1)
                if keys:
                    return db, keys[0]
        return None

    def evicted(self, db: int) -> None:
        """A key chosen from ``db`` was evicted: its snapshot ages."""
        if db in self._gone:
            self._gone[db] += 1
