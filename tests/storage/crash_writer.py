"""The child process of the crash tests: writes a deterministic sequence of
changes through the engine and reports progress on stdout, until it is killed.

    python -m tests.storage.crash_writer DIR POLICY SEED CYCLE MODE [DIE_AT]

Lines it prints (each with one unbuffered write, so a line that was printed is
a promise made): ``ready``; ``F i`` once changes 0..i are flushed (written to
the file: a process crash keeps them); ``D i`` once the fsync thread reports
changes 0..i durable. MODE ``compact`` also compacts over and over while
writing. DIE_AT n makes the process SIGKILL itself just before its n-th file
operation (write, fsync, rename, unlink) once a compaction has started: a
deterministic crash point inside compaction. The same module gives the tests
the sequence of changes and a model that applies them.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
from collections import deque

KEYS = [(0, b"key%d" % i) for i in range(40)] + [(1, b"one%d" % i) for i in range(10)]
Change = tuple


def changes(seed: int, cycle: int):
    """The endless, deterministic sequence of changes of one cycle."""
    rng = random.Random(seed * 1000 + cycle)
    i = 0
    while True:
        yield _change(rng, cycle, i)
        i += 1


def _change(rng: random.Random, cycle: int, i: int) -> Change:
    r = rng.random()
    if r < 0.55:
        return ("put", *rng.choice(KEYS), _value(rng, cycle, i))
    if r < 0.75:
        return ("del", *rng.choice(KEYS))
    if r < 0.97:
        parts = [("put", *rng.choice(KEYS), _value(rng, cycle, i, n)) for n in range(2)]
        return ("batch", [*parts, ("del", *rng.choice(KEYS))])
    return ("flushdb", 1)


def _value(rng: random.Random, cycle: int, i: int, n: int = 0) -> bytes:
    size = rng.choice((0, 10, 100, 1000, 3000, 20000))
    return b"%d:%d:%d:" % (cycle, i, n) + b"x" * size


def apply(model: dict, change: Change) -> None:
    """What the change does to a {(db, key): value} model."""
    kind = change[0]
    if kind == "put":
        model[change[1], change[2]] = change[3]
    elif kind == "del":
        model.pop((change[1], change[2]), None)
    elif kind == "batch":
        for part in change[1]:
            apply(model, part)
    elif kind == "flushdb":
        for key in [k for k in model if k[0] == change[1]]:
            del model[key]


def _make(engine, change: Change) -> None:
    kind = change[0]
    if kind == "put":
        engine.put(change[1], change[2], change[3])
    elif kind == "del":
        engine.delete(change[1], change[2])
    elif kind == "batch":
        with engine.batch():
            for part in change[1]:
                _make(engine, part)
    elif kind == "flushdb":
        engine.flushdb(change[1])


def _say(line: str) -> None:
    os.write(1, line.encode() + b"\n")


def _die_at(n: int) -> threading.Event:
    """Wrap file operations so the n-th one of compaction's, once the returned
    event is set, kills us: every operation of the merge thread, and the
    owner's renames, unlinks and fsyncs (retiring inputs; it does no others)."""
    armed = threading.Event()
    count = [0]
    lock = threading.Lock()

    def wrap(func, owner_too: bool):
        def wrapper(*args, **kwargs):
            thread = threading.current_thread()
            if armed.is_set() and (thread.name == "caskd-compact"
                                   or (owner_too and thread is threading.main_thread())):
                with lock:
                    count[0] += 1
                    if count[0] > n:
                        os.kill(os.getpid(), signal.SIGKILL)
            return func(*args, **kwargs)
        return wrapper

    for name in ("write", "fsync", "rename", "unlink", "open"):
        setattr(os, name, wrap(getattr(os, name), owner_too=name in ("fsync", "rename",
                                                                        "unlink")))
    return armed


def main() -> None:
    directory, policy, seed, cycle, mode = sys.argv[1:6]
    die_at = int(sys.argv[6]) if len(sys.argv) > 6 else -1
    seed_, cycle_ = int(seed), int(cycle)
    armed = _die_at(die_at) if die_at >= 0 else None
    from storage.engine import Engine

    flushed: deque[tuple[int, int]] = deque()  # (position, last change) awaiting fsync

    def on_durable(position: int) -> None:
        last = None
        while flushed and flushed[0][0] <= position:
            last = flushed.popleft()[1]
        if last is not None:
            _say(f"D {last}")

    engine = Engine(directory, fsync=policy, segment_size=64 * 1024, on_durable=on_durable,
                    auto_compact_min_size=1 << 40)
    if armed is not None:
        engine.merge_in_child = False  # count the merge's file operations in this process
    rng = random.Random(seed_ + 7 * cycle_)
    _say("ready")
    for i, change in enumerate(changes(seed_, cycle_)):
        _make(engine, change)
        if rng.random() < 0.4:
            position = engine.flush()
            flushed.append((position, i))
            _say(f"F {i}")
        if mode == "compact":
            engine.compaction_step(budget=rng.choice((1, 10, 1000)))
            if armed is not None and engine.compaction_count:
                engine.close()  # a whole compaction went by without reaching DIE_AT
                _say("done")
                return
            if not engine.compacting and (i + 1) % 300 == 0:
                if armed is not None:
                    armed.set()
                engine.start_compaction()


if __name__ == "__main__":
    main()
