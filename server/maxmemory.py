"""maxmemory: evict keys by the policy before a command while the data set is over
the limit, or refuse the commands that would grow it (Redis's evict.c
performEvictions and server.c processCommand's OOM check).

What counts as used memory is the data set's size as :mod:`storage.datasize` counts
it (keys, their index entries, collections' members and, unless
``caskd-maxmemory-values no``, strings' values on disk): see the README's "Using
caskd as a cache". Evictions are the engine's (:meth:`Engine.evict`): a logged
delete reported as the change event "evicted", so WATCH, client tracking, keyspace
notifications and replication see them as Redis's do.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from server.commands.registry import DENYOOM

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.session import Session

OOM = "OOM command not allowed when used memory > 'maxmemory'."
#: Commands a client in MULTI may still send under OOM (processCommand): the rest
#: would grow the queue.
_ALLOWED_IN_MULTI = frozenset({"exec", "discard", "quit", "reset"})
EVICTIONS_PER_CHECK = 16  # keys evicted between two looks at the clock, as Redis


def eviction_time_limit_us(tenacity: int) -> float:
    """evictionTimeLimitUs: how long one eviction cycle may run, by
    maxmemory-eviction-tenacity (0..100)."""
    if tenacity <= 10:
        return 50.0 * tenacity  # linear, 0..500 us
    if tenacity < 100:
        return 500.0 * 1.15 ** (tenacity - 10)  # ~2 minutes at 99
    return float("inf")


class Maxmemory:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._limit = 0
        self.policy = "noeviction"
        self.tenacity = 10
        #: Whether memory was over the limit when the current command started
        #: (server.pre_command_oom_state): scripts' first write checks it.
        self.oom = False
        self.evicting = False  # a cycle ran out of time: its sequel is scheduled

    @property
    def limit(self) -> int:
        """maxmemory in bytes (0: none): the dispatcher's guards follow it."""
        return self._limit

    @limit.setter
    def limit(self, limit: int) -> None:
        self._limit = limit
        self.server.dispatcher.refresh_guards()

    def follow_config(self) -> None:
        """Take the maxmemory settings (at start, after CONFIG SET, after DEBUG RELOAD)."""
        config, engine = self.server.config, self.server.engine
        self.limit = config["maxmemory"]
        self.policy = config["maxmemory-policy"]
        self.tenacity = config["maxmemory-eviction-tenacity"]
        engine.evictor.set_policy(self.policy)
        engine.evictor.samples = config["maxmemory-samples"]
        access = engine.access
        access.set_policy(self.policy.endswith("lfu"))
        access.log_factor = config["lfu-log-factor"]
        access.decay_time = config["lfu-decay-time"]
        engine.data_size.set_values(config["caskd-maxmemory-values"])
        if not self.limit:
            self.oom = False
            engine.data_size.reset()  # nobody needs the count: stop keeping it
        else:
            self.perform()  # as Redis's CONFIG SET maxmemory does at once

    # ------------------------------------------------------------ before commands

    def refuses(self, session: Session, command: Command) -> bool:
        """processCommand's maxmemory step, for a command about to run (maxmemory is
        set): evict what the policy allows; True if the command must get ``OOM``."""
        self.oom = out_of_memory = self.perform()
        if not out_of_memory:
            return False
        if session.multi is not None:
            if command.full_name not in _ALLOWED_IN_MULTI:
                return True
            return command.full_name == "exec" and any(
                DENYOOM in queued.flag_set for queued, _ in session.multi)
        return DENYOOM in command.flag_set

    def perform(self) -> bool:
        """performEvictions: evict keys until the data set fits, for at most the
        tenacity's time (then it goes on between commands: evictionTimeProc). True if
        it is over the limit with nothing left the policy lets go (EVICT_FAIL): denyoom
        commands are refused then."""
        server = self.server
        if not self._safe_to_evict():
            return False
        engine = server.engine
        data_size = engine.data_size
        if data_size.total() <= self.limit:
            return False
        if self.policy == "noeviction":
            return True
        evictor = engine.evictor
        deadline = time.perf_counter() + eviction_time_limit_us(self.tenacity) / 1e6
        evicted = 0
        while data_size.total() > self.limit:
            victim = evictor.choose()
            if victim is None:
                return True  # nothing left to evict
            engine.evict(*victim)
            evicted += 1
            if evicted % EVICTIONS_PER_CHECK == 0 and time.perf_counter() > deadline:
                self._go_on()
                return False
        return False

    def _safe_to_evict(self) -> bool:
        """isSafeToPerformEvictions: not while a slow script lets other clients in (they
        get -BUSY), nor while clients are paused (the data set must stay still), nor
        while the disk refuses writes (an eviction is a logged delete), nor on a
        replica with replica-ignore-maxmemory (its master evicts for it: its DELs come
        down the stream)."""
        server = self.server
        if server.master_link is not None and server.config["replica-ignore-maxmemory"]:
            return False
        return (server.scripting.running is None and server.pause.mode is None
                and server.engine.writable)

    def _go_on(self) -> None:
        """startEvictionTimeProc: go on evicting in the event loop's next iteration
        (after the clients waiting meanwhile), until the data set fits."""
        loop = self.server.loop
        if not self.evicting and loop is not None:
            loop.call_soon(self._continue)
        self.evicting = True

    def _continue(self) -> None:
        """evictionTimeProc."""
        self.evicting = False
        if self.limit:
            self.perform()
