"""caskd-check: verify a caskd data directory and, with --fix, repair it.

Reads every segment and checks every record's checksum (a batch's parts too),
and every hint file against its checksum and against the segment it describes.
Prints a line per file and then the first problem with its file and offset.

``--fix`` truncates each damaged segment at its first bad record, after showing
what that drops (bytes, and how many intact-looking records lie beyond the
damage) and asking for confirmation (``--yes`` skips the question), in the
spirit of ``redis-check-aof --fix``. A truncated segment's hint file, and any
damaged hint file, is deleted: caskd then scans the segment at start-up.

Exit status: 0 the directory is sound (or was repaired), 1 damage remains,
2 usage error (bad arguments, no such directory, directory in use for --fix).

    caskd-check [--fix [--yes]] DIR
    python -m scripts.caskd_check [--fix [--yes]] DIR
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from storage import record
from storage.hints import iter_hint, read_hint
from storage.lock import try_lock
from storage.record import CorruptRecord, RecordType
from storage.segment import hint_path, list_segments, segment_name

OK, DAMAGED, USAGE = 0, 1, 2


@dataclass
class FileReport:
    """What was found in one segment (and its hint file)."""

    path: Path
    size: int
    records: int = 0
    valid_end: int = 0  # end of the last good record
    unused: int = 0  # zero bytes after it (preallocated space: harmless)
    problem: str | None = None  # the first bad record, if any
    problem_offset: int = 0
    torn_tail: bool = False  # the problem is a crash's torn tail (caskd cuts it itself)
    records_beyond: int = 0  # intact-looking records after the problem
    hint: str | None = None  # "ok (N entries)", or what is wrong with the hint
    hint_bad: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return self.problem is not None


def check_segment(path: Path, is_last: bool) -> FileReport:
    """Verify one segment file record by record."""
    size = path.stat().st_size
    report = FileReport(path, size)
    if size == 0:
        return report
    with open(path, "rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as view:
        buf = memoryview(view)
        try:
            _scan_records(buf, report)
            _check_hint(view, buf, report)
        finally:
            buf.release()
    if report.damaged:
        report.torn_tail = is_last and report.records_beyond == 0
    return report


def _scan_records(buf: memoryview, report: FileReport) -> None:
    pos, end = 0, len(buf)
    while pos < end:
        try:
            rec = record.decode_at(buf, pos, end)
            if rec is not None and rec.type == RecordType.BATCH:
                parts = sum(1 for _ in record.iter_records(buf, rec.value_offset, rec.end,
                                                           verify=False))
            else:
                parts = 1
        except CorruptRecord as exc:
            _set_problem(buf, report, pos, exc.reason)
            return
        if rec is None:  # unused space: fine if nothing but zeros follows
            if record.find_next_record(buf, pos, end) is not None:
                _set_problem(buf, report, pos, "data after unused space")
            elif _has_nonzero(buf, pos, end):
                _set_problem(buf, report, pos, "garbage after unused space")
            else:
                report.unused = end - pos
            return
        report.records += parts
        pos = report.valid_end = rec.end


def _has_nonzero(buf: memoryview, start: int, end: int) -> bool:
    chunk = 1 << 20
    return any(bytes(buf[pos:min(end, pos + chunk)]).strip(b"\0")
               for pos in range(start, end, chunk))


def _set_problem(buf: memoryview, report: FileReport, pos: int, reason: str) -> None:
    report.problem, report.problem_offset = reason, pos
    found = record.find_next_record(buf, pos, len(buf))
    while found is not None:  # what --fix would throw away besides the damage itself
        report.records_beyond += 1
        found = record.find_next_record(buf, found, len(buf))


def _check_hint(view: mmap.mmap, buf: memoryview, report: FileReport) -> None:
    path = hint_path(report.path)
    if not path.exists():
        return
    steps = read_hint(path, view)
    if steps is None:
        report.hint, report.hint_bad = "damaged (bad checksum or header) or stale", True
        return
    count = 0
    for offset, put in iter_hint(steps):
        count += 1
        try:
            rec = record.decode_at(buf, offset, report.valid_end or len(buf))
        except CorruptRecord:
            rec = None
        matches = rec is not None and (
            (rec.type, rec.db, rec.expire_at, rec.key) == (RecordType.PUT, *put) if put
            else rec.type != RecordType.PUT)
        if not matches:
            report.hint = f"does not match the segment (entry {count - 1}, offset {offset})"
            report.hint_bad = True
            return
    report.hint = f"ok ({count} entries)"


def check_directory(directory: Path) -> list[FileReport]:
    names = list_segments(directory)
    reports = [check_segment(directory / segment_name(*name), index == len(names) - 1)
               for index, name in enumerate(names)]
    for orphan in sorted(directory.glob("*.hint")):
        if not orphan.with_suffix(".log").exists():
            report = FileReport(orphan, orphan.stat().st_size)
            report.notes.append("hint without a segment (caskd deletes it at start-up)")
            reports.append(report)
    for temp in sorted(directory.glob("*.tmp")):
        report = FileReport(temp, temp.stat().st_size)
        report.notes.append("left by an interrupted compaction or hint file "
                            "(caskd deletes it at start-up)")
        reports.append(report)
    return reports


def print_reports(directory: Path, reports: list[FileReport]) -> None:
    print(f"caskd-check: {directory}")
    if not reports:
        print("  (no segment files)")
    for report in reports:
        if report.path.suffix != ".log":
            print(f"  {report.path.name:28} {report.size:>12} bytes  note: {report.notes[0]}")
            continue
        if report.damaged:
            kind = "torn tail" if report.torn_tail else "BAD"
            status = f"{kind}: {report.problem} at offset {report.problem_offset}"
        else:
            status = "ok"
            if report.unused:
                status += f" ({report.unused} bytes of unused preallocated space)"
        print(f"  {report.path.name:28} {report.size:>12} bytes {report.records:>9} records"
              f"  {status}")
        if report.hint is not None:
            print(f"  {hint_path(report.path).name:28} hint {report.hint}")


def first_problem(reports: list[FileReport]) -> str | None:
    for report in reports:
        if report.damaged:
            what = ("a torn tail (an interrupted write; caskd drops it at start-up)"
                    if report.torn_tail else report.problem)
            return f"{report.path} at offset {report.problem_offset}: {what}"
        if report.hint_bad:
            return (f"{hint_path(report.path)}: hint {report.hint} "
                    "(caskd ignores it and scans the segment)")
    return None


def plan_fix(reports: list[FileReport]) -> list[str]:
    lines = []
    for report in reports:
        if report.damaged:
            dropped = report.size - report.problem_offset
            lines.append(
                f"truncate {report.path.name} at offset {report.problem_offset}: drops "
                f"{dropped} bytes ({report.size} -> {report.problem_offset}), including "
                f"{report.records_beyond} intact-looking record(s) after the damage")
            if hint_path(report.path).exists():
                lines.append(f"delete {hint_path(report.path).name} (it describes the "
                             f"segment before truncation)")
        elif report.hint_bad:
            lines.append(f"delete {hint_path(report.path).name} ({report.hint})")
    return lines


def apply_fix(reports: list[FileReport]) -> None:
    for report in reports:
        if report.damaged:
            hint_path(report.path).unlink(missing_ok=True)
            os.truncate(report.path, report.problem_offset)
        elif report.hint_bad:
            hint_path(report.path).unlink(missing_ok=True)
    fd = os.open(reports[0].path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(directory: Path) -> int | None:
    """Take caskd's directory lock (see :mod:`storage.lock`); None if a running
    caskd holds it, -1 if the directory has no LOCK file (no caskd ever used it)."""
    try:
        return try_lock(directory, create=False)
    except FileNotFoundError:
        return -1


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N]: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="caskd-check", description="Verify a caskd data directory; --fix repairs it.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--fix", action="store_true",
                        help="truncate damaged segments at their first bad record")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before fixing")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return USAGE if exc.code else OK
    directory: Path = args.directory
    if not directory.is_dir():
        print(f"caskd-check: {directory} is not a directory", file=sys.stderr)
        return USAGE
    lock = _lock(directory)
    if lock is None:
        if args.fix:
            print(f"caskd-check: {directory} is in use by a running caskd; stop it before "
                  "--fix", file=sys.stderr)
            return USAGE
        print("caskd-check: warning: a running caskd holds this directory; its newest "
              "records may still be in flight", file=sys.stderr)
    try:
        return _run(directory, args.fix, args.yes)
    finally:
        if lock is not None and lock >= 0:
            os.close(lock)


def _run(directory: Path, fix: bool, yes: bool) -> int:
    reports = check_directory(directory)
    print_reports(directory, reports)
    problem = first_problem(reports)
    if problem is None:
        print("No problems found.")
        return OK
    print(f"First problem: {problem}")
    if not fix:
        print(f"Run 'caskd-check --fix {directory}' to repair (it shows what it would drop "
              "and asks first).")
        return DAMAGED
    print("The fix would:")
    for line in plan_fix(reports):
        print(f"  - {line}")
    if not yes and not _confirm("Continue?"):
        print("Nothing changed.")
        return DAMAGED
    apply_fix(reports)
    again = check_directory(directory)
    remaining = first_problem(again)
    if remaining is not None:
        print(f"Still damaged after the fix: {remaining}")
        return DAMAGED
    print("Repaired: the directory is sound now.")
    return OK


if __name__ == "__main__":
    sys.exit(main())
