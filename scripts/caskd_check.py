"""caskd-check: verify a caskd data directory and, with --fix, repair it.

Reads every segment and checks every record's checksum (a batch's parts too),
and every hint file against its checksum and against the segment it describes.
Prints a line per file, each damaged record (file, offset, the keys it names),
and then the first problem.

``--fix`` removes only what is damaged: each damaged segment is rewritten
without its damaged records (a batch goes whole: it is one atomic unit) and,
in the last segment, without a crash's torn tail, after showing exactly what it
drops and asking for confirmation (``--yes`` skips the question; ``--dry-run``
only shows it). The damage is found as caskd finds it at start-up (see
:mod:`storage.damage`), so what is removed is what caskd already skips. A key
a removed record named then reads as its previous record left it, if the log
holds one, or as missing. A rewritten segment's hint file, and any damaged
hint file, is deleted: caskd then scans the segment at start-up.

Exit status: 0 the directory is sound (or was repaired), 1 damage remains,
2 usage error (bad arguments, no such directory, directory in use for --fix).

    caskd-check [--fix [--yes] | --dry-run] DIR
    python -m scripts.caskd_check [--fix [--yes] | --dry-run] DIR
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from storage import record
from storage.damage import Damage, damage_at, ends_the_records
from storage.hints import iter_hint, read_hint
from storage.lock import try_lock
from storage.record import CorruptRecord, RecordType
from storage.segment import fsync_directory, hint_path, list_segments, segment_name

OK, DAMAGED, USAGE = 0, 1, 2


@dataclass
class FileReport:
    """What was found in one segment (and its hint file)."""

    path: Path
    size: int
    records: int = 0
    records_end: int = 0  # where the records end: the size, or a torn tail or unused space
    unused: int = 0  # zero bytes after the records (preallocated space: harmless)
    damage: list[Damage] = field(default_factory=list)  # damaged records, in order
    torn_tail: bool = False  # the records end in a crash's torn tail (caskd cuts it itself)
    hint: str | None = None  # "ok (N entries)", or what is wrong with the hint
    hint_bad: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.damage) or self.torn_tail


def check_segment(path: Path, is_last: bool) -> FileReport:
    """Verify one segment file record by record."""
    size = path.stat().st_size
    report = FileReport(path, size, records_end=size)
    if size == 0:
        return report
    with open(path, "rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as view:
        buf = memoryview(view)
        try:
            _scan_records(buf, report, is_last)
            _check_hint(view, buf, report)
        finally:
            buf.release()
    return report


def _scan_records(buf: memoryview, report: FileReport, is_last: bool) -> None:
    """Count the records and find the damage as recovery does (stepping over it),
    up to a torn tail of the last segment or unused space."""
    pos, end = 0, len(buf)
    while pos < end:
        try:
            rec = record.decode_at(buf, pos, end)
        except CorruptRecord:
            rec = None
        if rec is None:
            damage = damage_at(buf, pos, end)
            if ends_the_records(damage, is_last):
                report.records_end = pos
                if damage is None:
                    report.unused = end - pos
                else:
                    report.torn_tail = True
                return
            report.damage.append(damage)
            pos = damage.end
            continue
        if rec.type == RecordType.BATCH:
            report.records += sum(1 for _ in record.iter_records(buf, rec.value_offset,
                                                                 rec.end, verify=False))
        else:
            report.records += 1
        pos = rec.end


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
            rec = record.decode_at(buf, offset, report.records_end, may_be_part=True)
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
        problems = []
        if report.damage:
            problems.append(f"BAD: {len(report.damage)} damaged record(s)")
        if report.torn_tail:
            problems.append(f"torn tail at offset {report.records_end}")
        status = "; ".join(problems) or "ok"
        if report.unused:
            status += f" ({report.unused} bytes of unused preallocated space)"
        print(f"  {report.path.name:28} {report.size:>12} bytes {report.records:>9} records"
              f"  {status}")
        for damage in report.damage:
            print(f"      damaged: {damage.describe()}")
        if report.hint is not None:
            print(f"  {hint_path(report.path).name:28} hint {report.hint}")


def first_problem(reports: list[FileReport]) -> str | None:
    for report in reports:
        if report.damage:
            damage = report.damage[0]
            return f"{report.path} at offset {damage.start}: {damage.reason}"
        if report.torn_tail:
            return (f"{report.path} at offset {report.records_end}: a torn tail (an "
                    "interrupted write; caskd drops it at start-up)")
        if report.hint_bad:
            return (f"{hint_path(report.path)}: hint {report.hint} "
                    "(caskd ignores it and scans the segment)")
    return None


def plan_fix(reports: list[FileReport]) -> list[str]:
    lines = []
    for report in reports:
        for damage in report.damage:
            lines.append(f"remove from {report.path.name} {damage.describe()}")
        if report.torn_tail:
            lines.append(f"cut {report.path.name} at offset {report.records_end}: drops "
                         f"{report.size - report.records_end} bytes of a torn tail (a write "
                         "a crash interrupted)")
        if report.damaged:
            if hint_path(report.path).exists():
                lines.append(f"delete {hint_path(report.path).name} (it describes the "
                             "segment before the repair)")
        elif report.hint_bad:
            lines.append(f"delete {hint_path(report.path).name} ({report.hint})")
    if any(damage.keys for report in reports for damage in report.damage):
        lines.append("keys named above then read as the log's other records leave them: "
                     "their previous value if the log holds one (with any later change to a "
                     "hash, list, set or sorted set applied), else missing")
    return lines


def apply_fix(reports: list[FileReport]) -> None:
    for report in reports:
        if report.damaged:
            hint_path(report.path).unlink(missing_ok=True)
            _rewrite_without_damage(report)
        elif report.hint_bad:
            hint_path(report.path).unlink(missing_ok=True)
    fsync_directory(reports[0].path.parent)


def _rewrite_without_damage(report: FileReport) -> None:
    """Write the segment again with only its intact records (their order kept),
    then rename it over the original: a crash meanwhile leaves either file whole."""
    keep, pos = [], 0
    for damage in report.damage:
        keep.append((pos, damage.start))
        pos = damage.end
    keep.append((pos, report.records_end))
    temp = report.path.with_suffix(".log.tmp")  # caskd deletes a leftover at start-up
    with open(report.path, "rb") as source, open(temp, "wb") as target:
        for start, end in keep:
            source.seek(start)
            target.write(source.read(end - start))
        target.flush()
        os.fsync(target.fileno())
    os.replace(temp, report.path)


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
                        help="remove the damaged records (and a torn tail) from the segments")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what --fix would remove, change nothing")
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
        return _run(directory, args.fix, args.yes, args.dry_run)
    finally:
        if lock is not None and lock >= 0:
            os.close(lock)


def _run(directory: Path, fix: bool, yes: bool, dry_run: bool) -> int:
    reports = check_directory(directory)
    print_reports(directory, reports)
    problem = first_problem(reports)
    if problem is None:
        print("No problems found.")
        return OK
    print(f"First problem: {problem}")
    if not fix and not dry_run:
        print(f"Run 'caskd-check --fix {directory}' to repair (it shows what it would drop "
              "and asks first).")
        return DAMAGED
    print("The fix would:")
    for line in plan_fix(reports):
        print(f"  - {line}")
    if dry_run:
        print("Nothing changed (--dry-run).")
        return DAMAGED
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
