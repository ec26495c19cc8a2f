"""Crash test: kill -9 caskd under acknowledged writes, restart, check nothing was lost.

    python -m scripts.crashtest [--clients N] [--cycles K] [--seconds S]
                                [--fsync always|everysec] [--dir DIR] [--short]

Starts caskd (``python -m server``) on a free port with a temp data directory
(or ``--dir``), then runs K cycles: N clients write as fast as caskd answers
(SET, INCR, MSET, MULTI/EXEC, DEL, EXPIRE with a long TTL), and at a random
moment within S seconds the server is killed with SIGKILL and started again on
the same directory. Each client keeps a model of its own keys: the state its
acknowledged writes left them in, plus the one write in flight at the crash,
whose reply never came (it may or may not have happened). After each restart
every key must be in its acknowledged state or, where the in-flight write
touched it, in the state that write would have left; a multi-key write (MSET,
MULTI/EXEC) must be there whole or not at all. A background BGREWRITEAOF every
``--rewrite-every`` seconds and small log segments put some crashes in the
middle of a compaction.

The durability contract promises this for ``always`` and ``everysec`` alike: a
process crash leaves the OS running, and caskd hands every write to the OS
before it replies. Prints ``lost X of N acknowledged over K crashes`` and exits
1 on any loss, torn transaction or wrong reply.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

from scripts.bench import Server, positive
from scripts.benchlib import BenchError

PREFIX = "crashtest"
SET_KEYS = 40  # per client: written by SET, MSET, MULTI, DEL, EXPIRE
COUNTERS = 8  # per client: written by INCR and MULTI
LONG_TTL = 100_000  # seconds: no key expires during a run
REPLY_TIMEOUT = 30.0  # a live caskd answers far sooner; a dead one fails at once
SHORT = {"clients": 4, "cycles": 3, "seconds": 1.5}
DEFAULTS = {"clients": 8, "cycles": 10, "seconds": 3.0}


@dataclass(frozen=True)
class KeyState:
    """What a key holds: its value (None: no key) and whether it has a TTL."""

    value: str | None
    ttl: bool = False

    def __str__(self) -> str:
        if self.value is None:
            return "(no key)"
        return repr(self.value) + (" with a TTL" if self.ttl else "")


ABSENT = KeyState(None)


@dataclass
class Write:
    """One write: what to send, the reply it must get, and what it does to which keys."""

    kind: str
    send: Callable[[redis.Redis], object]
    reply: object
    changes: dict[str, KeyState]


class Writer:
    """One client: its own keys, the model of them, and the write in flight."""

    def __init__(self, index: int, kinds: Sequence[str], seed: int) -> None:
        self.index = index
        self.kinds = list(kinds)
        self.rng = random.Random(seed)
        self.set_keys = [f"{PREFIX}:{index}:s{i}" for i in range(SET_KEYS)]
        self.counters = [f"{PREFIX}:{index}:n{i}" for i in range(COUNTERS)]
        self.state: dict[str, KeyState] = dict.fromkeys(self.keys, ABSENT)
        self.in_flight: dict[str, KeyState] | None = None
        self.acknowledged = 0
        self.wrong_replies: list[str] = []
        self._serial = 0

    @property
    def keys(self) -> list[str]:
        return self.set_keys + self.counters

    # ------------------------------------------------------------------ writes

    def run(self, server: Server, stop: threading.Event) -> None:
        """Write until ``stop`` or until the server goes away (the kill)."""
        client = server.client(REPLY_TIMEOUT)
        try:
            while not stop.is_set():
                write = self.next_write()
                self.in_flight = write.changes
                try:
                    reply = write.send(client)
                except (redis.ConnectionError, redis.TimeoutError):
                    return  # killed: this write stays in flight
                if reply != write.reply:
                    self.wrong_replies.append(f"{write.kind}: expected {write.reply!r}, "
                                              f"got {reply!r}")
                    return
                self.state.update(write.changes)
                self.in_flight = None
                self.acknowledged += 1
        except redis.ResponseError as exc:
            self.wrong_replies.append(f"error reply: {exc}")
        finally:
            client.close()

    def next_write(self) -> Write:
        self._serial += 1
        return getattr(self, "_" + self.rng.choice(self.kinds))()

    def _value(self) -> str:
        return f"{self.index}:{self._serial}"

    def _set(self) -> Write:
        key, value = self.rng.choice(self.set_keys), self._value()
        return Write("SET", lambda c: c.set(key, value), True, {key: KeyState(value)})

    def _incr(self) -> Write:
        key = self.rng.choice(self.counters)
        after = self._incremented(key)
        return Write("INCR", lambda c: c.incr(key), int(after.value), {key: after})

    def _mset(self) -> Write:
        keys = self.rng.sample(self.set_keys, 3)
        values = {key: f"{self._value()}:{n}" for n, key in enumerate(keys)}
        return Write("MSET", lambda c: c.mset(values), True,
                     {key: KeyState(value) for key, value in values.items()})

    def _multi(self) -> Write:
        """MULTI SET a / INCR n / DEL b EXEC: three keys, all or nothing."""
        key, gone = self.rng.sample(self.set_keys, 2)
        counter = self.rng.choice(self.counters)
        value, after = self._value(), self._incremented(counter)

        def send(client: redis.Redis) -> object:
            pipe = client.pipeline(transaction=True)
            pipe.set(key, value).incr(counter).delete(gone)
            return pipe.execute()

        existed = int(self.state[gone] != ABSENT)
        return Write("MULTI/EXEC", send, [True, int(after.value), existed],
                     {key: KeyState(value), counter: after, gone: ABSENT})

    def _del(self) -> Write:
        keys = self.rng.sample(self.set_keys, self.rng.choice((1, 2)))
        existing = sum(self.state[key] != ABSENT for key in keys)
        return Write("DEL", lambda c: c.delete(*keys), existing, dict.fromkeys(keys, ABSENT))

    def _expire(self) -> Write:
        key = self.rng.choice(self.set_keys)
        current = self.state[key]
        if current == ABSENT:
            return Write("EXPIRE", lambda c: c.expire(key, LONG_TTL), False, {})
        return Write("EXPIRE", lambda c: c.expire(key, LONG_TTL), True,
                     {key: KeyState(current.value, ttl=True)})

    def _incremented(self, counter: str) -> KeyState:
        current = self.state[counter]
        return KeyState(str(int(current.value or 0) + 1), current.ttl)

    # ------------------------------------------------------------------ checks

    def check(self, found: dict[str, KeyState]) -> list[str]:
        """What the restarted server lost or tore; then adopt what it has."""
        problems = []
        pending = self.in_flight or {}
        for key in self.keys:
            allowed = {self.state[key], pending.get(key, self.state[key])}
            if found[key] not in allowed:
                want = " or ".join(sorted(map(str, allowed)))
                problems.append(f"{key}: acknowledged {want}, found {found[key]}")
        done = [key for key in pending if found[key] == pending[key] != self.state[key]]
        undone = [key for key in pending if found[key] == self.state[key] != pending[key]]
        if done and undone:
            problems.append(f"a write in flight was applied in part: {sorted(done)} changed, "
                            f"{sorted(undone)} did not")
        self.state = {key: found[key] for key in self.keys}
        self.in_flight = None
        return problems


def read_states(client: redis.Redis, keys: list[str]) -> dict[str, KeyState]:
    """Every key's value and whether it has a TTL, in one pipeline."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
        pipe.pttl(key)
    replies = pipe.execute()
    found = {}
    for key, value, pttl in zip(keys, replies[::2], replies[1::2], strict=True):
        found[key] = ABSENT if value is None else KeyState(value.decode(), pttl > 0)
    return found


def probe_kinds(client: redis.Redis) -> list[str]:
    """The write kinds this caskd supports; prints a note for each one skipped."""
    kinds = ["set", "del", "expire"]
    probe = f"{PREFIX}:probe"
    trials: dict[str, Callable[[], object]] = {
        "incr": lambda: client.incr(probe),
        "mset": lambda: client.mset({probe: "1"}),
        "multi": lambda: client.pipeline(transaction=True).set(probe, "1").execute(),
    }
    for kind, trial in trials.items():
        try:
            trial()
        except redis.ResponseError as exc:
            print(f"note: skipping {kind.upper()} writes: {exc}")
            continue
        kinds.append(kind)
        client.delete(probe)
    return kinds


class CrashTest:
    def __init__(self, opts: argparse.Namespace, data_dir: Path) -> None:
        self.opts = opts
        server_cmd = [sys.executable, "-m", "server", "--caskd-segment-size",
                      opts.segment_size, "--loglevel", "warning"]
        self.server = Server("caskd", server_cmd, data_dir, opts.fsync)
        self.rng = random.Random(opts.seed)
        self.writers: list[Writer] = []
        self.problems: list[str] = []

    def run(self) -> int:
        opts = self.opts
        self.server.start()
        try:
            with self.server.client(REPLY_TIMEOUT) as client:
                kinds = probe_kinds(client)
                keys = [f"{PREFIX}:{i}:{k}" for i in range(opts.clients)
                        for k in [*(f"s{n}" for n in range(SET_KEYS)),
                                  *(f"n{n}" for n in range(COUNTERS))]]
                client.delete(*keys)  # a --dir from an earlier run starts clean
            self.writers = [Writer(i, kinds, self.rng.random()) for i in range(opts.clients)]
            print(f"{opts.clients} clients, {opts.cycles} crashes, appendfsync {opts.fsync}, "
                  f"writes: {', '.join(kinds)}")
            for cycle in range(1, opts.cycles + 1):
                self.cycle(cycle)
            lost = len(self.problems)
        finally:
            self.server.stop()
        total = sum(w.acknowledged for w in self.writers)
        wrong = [reply for w in self.writers for reply in w.wrong_replies]
        for problem in self.problems[:20] + wrong[:20]:
            print(f"  {problem}")
        print(f"lost {lost} of {total} acknowledged over {opts.cycles} crashes")
        if wrong:
            print(f"{len(wrong)} wrong replies")
        return 1 if lost or wrong or not total else 0

    def cycle(self, number: int) -> None:
        """Write, kill -9 at a random moment, restart, check."""
        before = sum(w.acknowledged for w in self.writers)
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(self.server, stop), daemon=True)
                   for w in self.writers]
        if self.opts.rewrite_every:
            threads.append(threading.Thread(target=self.rewrite, args=(stop,), daemon=True))
        for thread in threads:
            thread.start()
        moment = self.rng.uniform(self.opts.seconds / 4, self.opts.seconds)
        stop.wait(moment)
        kill(self.server)
        stop.set()
        for thread in threads:
            thread.join()
        restart = self.server.start()
        with self.server.client(REPLY_TIMEOUT) as client:
            problems = [problem for w in self.writers
                        for problem in w.check(read_states(client, w.keys))]
        self.problems += problems
        done = sum(w.acknowledged for w in self.writers) - before
        print(f"crash {number}: {done} writes acknowledged, killed after {moment:.2f} s, "
              f"restarted in {restart:.2f} s, lost {len(problems)}", flush=True)

    def rewrite(self, stop: threading.Event) -> None:
        """BGREWRITEAOF now and then, so that some kills land inside a compaction."""
        client = self.server.client(REPLY_TIMEOUT)
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
            while not stop.wait(self.rng.uniform(0, 2 * self.opts.rewrite_every)):
                with contextlib.suppress(redis.ResponseError):  # one is already running
                    client.bgrewriteaof()
        client.close()


def kill(server: Server) -> None:
    """kill -9: the server gets no chance to flush or answer anything more."""
    proc, server.proc = server.proc, None
    proc.kill()
    proc.wait()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.crashtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=positive,
                        help=f"concurrent writers (default {DEFAULTS['clients']})")
    parser.add_argument("--cycles", type=positive,
                        help=f"kill -9 / restart cycles (default {DEFAULTS['cycles']})")
    parser.add_argument("--seconds", type=float,
                        help=f"longest run before a kill (default {DEFAULTS['seconds']})")
    parser.add_argument("--fsync", choices=("always", "everysec"), default="always",
                        help="appendfsync policy (default: always)")
    parser.add_argument("--dir", type=Path, help="data directory (default: a temp dir)")
    parser.add_argument("--segment-size", default="256kb",
                        help="caskd-segment-size, small so compactions have work (256kb)")
    parser.add_argument("--rewrite-every", type=float, default=0.5,
                        help="mean seconds between BGREWRITEAOFs, 0 for none (0.5)")
    parser.add_argument("--seed", type=int, help="random seed, to replay a run")
    parser.add_argument("--short", action="store_true",
                        help=f"CI size: {SHORT['clients']} clients, {SHORT['cycles']} "
                             f"crashes, {SHORT['seconds']} s")
    opts = parser.parse_args(argv)
    for name, default in (SHORT if opts.short else DEFAULTS).items():
        if getattr(opts, name) is None:
            setattr(opts, name, default)
    if opts.seed is None:
        opts.seed = random.randrange(1 << 32)
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    print(f"seed {opts.seed}")
    try:
        if opts.dir is not None:
            return CrashTest(opts, opts.dir).run()
        with tempfile.TemporaryDirectory(prefix="caskd-crashtest-") as tmp:
            return CrashTest(opts, Path(tmp) / "data").run()
    except (BenchError, redis.RedisError, OSError) as exc:
        print(f"crashtest: FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
