"""Shared fixtures for the storage tests: engines that are always closed, a fake
clock, and crash images (a copy of a data directory as a crash would leave it)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import storage.engine
from storage.compaction import MergeInput, merge
from storage.engine import Engine
from storage.segment import list_segments


class FakeClock:
    """Replaces storage.engine.now_ms: time moves only when a test says so."""

    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(storage.engine, "now_ms", fake)
    return fake


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def open_engine(data_dir: Path) -> Iterator[Callable[..., Engine]]:
    """``open_engine(**options)`` opens an Engine on ``data_dir`` (or ``directory=``);
    every engine still open at the end of the test is closed."""
    opened: list[Engine] = []

    def factory(directory: Path | None = None, **options) -> Engine:
        options.setdefault("fsync", "no")
        engine = Engine(directory or data_dir, **options)
        opened.append(engine)
        return engine

    yield factory
    for engine in opened:
        if not engine._closed:
            engine.close()


def crash_image(source: Path, target: Path) -> Path:
    """Copy a live data directory as a process crash would leave it: every file
    with exactly the bytes written so far (the page cache survives a crash)."""
    shutil.copytree(source, target)
    return target


def merged_crash_images(data_dir: Path, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """Merge every segment of a closed ``data_dir``, then yield (inputs kept, image)
    for each way a crash between publishing the merge's outputs and retiring its
    inputs (oldest first) can leave the directory: all inputs kept, down to none."""
    inputs = [data_dir / f"{major:010d}-{minor:04d}.log" for major, minor in
              list_segments(data_dir)]
    last = max(major for major, _ in list_segments(data_dir))
    merge([MergeInput(n, path) for n, path in enumerate(inputs)], data_dir, last, 1,
          1 << 20, 0, 16)
    for kept in range(len(inputs), -1, -1):
        image = crash_image(data_dir, tmp_path / f"image{kept}")
        for path in inputs[:len(inputs) - kept]:
            (image / path.name).unlink()
        yield kept, image


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.log"))
