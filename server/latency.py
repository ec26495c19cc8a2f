"""The latency monitor, as Redis's latency.c: events that took at least
``latency-monitor-threshold`` ms, kept per event as the last 160 seconds that had one
(the worst of each second), with each event's all-time high; LATENCY DOCTOR's report
and LATENCY GRAPH's sparkline (sparkline.c) are built from them.

The events caskd records, under Redis's names: ``command`` and ``fast-command`` (a
command's run, by its ``fast`` flag: the dispatcher), ``aof-write`` (the write of an
event-loop iteration's log records: the server's commit) and ``expire-cycle`` (a
round of active expiry: the engine's tick).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

HISTORY_LENGTH = 160  # LATENCY_TS_LEN


@dataclass
class Series:
    """One event's samples: (unix time, ms), oldest first, one per second at most."""

    samples: list[list[int]] = field(default_factory=list)
    max: int = 0


class LatencyMonitor:
    def __init__(self) -> None:
        self.threshold_ms = 0  # latency-monitor-threshold (0: off)
        self.events: dict[str, Series] = {}

    @property
    def threshold_us(self) -> float:
        """The threshold in µs, infinite when off: what the dispatcher compares with."""
        return self.threshold_ms * 1000 if self.threshold_ms else math.inf

    def record(self, event: str, seconds: float) -> None:
        """latencyAddSampleIfNeeded: an event that took ``seconds``, in whole ms."""
        threshold = self.threshold_ms
        if threshold:
            latency = int(seconds * 1000)
            if latency >= threshold:
                self.add(event, latency)

    def add(self, event: str, latency: int) -> None:
        """latencyAddSample: within one second only the worst sample is kept."""
        series = self.events.setdefault(event, Series())
        series.max = max(series.max, latency)
        now = int(time.time())
        samples = series.samples
        if samples and samples[-1][0] == now:
            samples[-1][1] = max(samples[-1][1], latency)
            return
        samples.append([now, latency])
        if len(samples) > HISTORY_LENGTH:
            del samples[0]

    def reset(self, events: list[str] | None) -> int:
        """latencyResetEvent for each name (case-insensitive), or every event."""
        if events is None:
            count = len(self.events)
            self.events.clear()
            return count
        resets = 0
        for name in events:
            for event in [event for event in self.events if event.lower() == name.lower()]:
                del self.events[event]
                resets += 1
        return resets

    def latest(self) -> list[list]:
        """LATENCY LATEST: per event its name, last sample's time and latency, max."""
        return [[event.encode(), *series.samples[-1], series.max]
                for event, series in self.events.items()]

    def graph(self, event: str) -> str:
        """latencyCommandGenSparkeline: the samples, labelled with how long ago."""
        series = self.events[event]
        latencies = [latency for _, latency in series.samples]
        now = int(time.time())
        labels = [_ago(now - when) for when, _ in series.samples]
        head = (f"{event} - high {max(latencies)} ms, low {min(latencies)} ms "
                f"(all time high {series.max} ms)\n" + "-" * GRAPH_COLUMNS + "\n")
        return head + sparkline(latencies, labels, GRAPH_COLUMNS, 4)

    def doctor(self, *, slowlog_slower_than: int, fsync_always: bool, hz: int) -> str:
        """createLatencyReport, for the events caskd records."""
        if not self.events and not self.threshold_ms:
            return DOCTOR_DISABLED
        advice: set[str] = set()
        lines = []
        for number, (event, series) in enumerate(self.events.items(), 1):
            if number == 1:
                lines.append("Dave, I have observed latency spikes in this Redis instance. "
                             "You don't mind talking about it, do you Dave?\n\n")
            count, average, deviation, period = _statistics(series)
            lines.append(f"{number}. {event}: {count} latency spikes (average {average}ms, "
                         f"mean deviation {deviation}ms, period {period / count:.2f} sec). "
                         f"Worst all time event {series.max}ms.\n")
            name = event.lower()
            if name == "command":
                if slowlog_slower_than < 0:
                    advice.add("slowlog_enabled")
                elif slowlog_slower_than // 1000 > self.threshold_ms:
                    advice.add("slowlog_tuning")
                advice.update(("slowlog_inspect", "large_objects"))
            elif name == "fast-command":
                advice.add("scheduler")
            elif name == "aof-fsync-always":
                advice.add("relax_fsync_policy")
            elif name == "expire-cycle":
                advice.update(("hz", "large_objects"))
        if _anon_huge_pages():
            advice.add("disable_thp")
        if not lines and not advice:
            return DOCTOR_NOTHING
        if not advice:
            return "".join(lines) + DOCTOR_NO_ADVICE
        lines.append("\nI have a few advices for you:\n\n")
        threshold_us = self.threshold_ms * 1000
        for name, text in _ADVICE:
            if name not in advice:
                continue
            if (name == "relax_fsync_policy" and not fsync_always) or (name == "hz"
                                                                      and hz >= 100):
                continue
            lines.append(text.replace("%llu", str(threshold_us)))
        return "".join(lines)


def _statistics(series: Series) -> tuple[int, int, int, int]:
    """analyzeLatencyForEvent: samples, average, mean absolute deviation (whole ms, as
    C's integer division), and the seconds since the oldest sample."""
    latencies = [latency for _, latency in series.samples]
    count = len(latencies)
    average = sum(latencies) // count
    deviation = sum(abs(average - latency) for latency in latencies) // count
    period = int(time.time()) - min(when for when, _ in series.samples) or 1
    return count, average, deviation, period


def _ago(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _anon_huge_pages() -> int:
    """THPGetAnonHugePagesSize: the process's transparent huge pages, in kB."""
    try:
        with open("/proc/self/smaps_rollup") as smaps:
            for line in smaps:
                if line.startswith("AnonHugePages:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------ sparkline.c

GRAPH_COLUMNS = 80
_CHARSET_FILL = "_o#"
_LABEL_MARGIN_TOP = 1


def sparkline(values: list[int], labels: list[str], columns: int, rows: int) -> str:
    """sparklineRender with SPARKLINE_FILL: ``columns`` samples a block."""
    low, high = min(values), max(values)
    blocks = [_render_range(values[start:start + columns], labels[start:start + columns],
                            low, high, rows)
              for start in range(0, len(values), columns)]
    return "\n".join(blocks)


def _render_range(values: list[int], labels: list[str], low: int, high: int,
                  rows: int) -> str:
    span = (high - low) or 1
    steps = len(_CHARSET_FILL) * rows
    levels = [min(max(math.trunc((value - low) * steps / span), 0), steps - 1)
              for value in values]
    out = []
    for row in range(rows):
        chars = []
        for level in levels:
            index = level - (rows - row - 1) * len(_CHARSET_FILL)
            chars.append(_CHARSET_FILL[index] if 0 <= index < len(_CHARSET_FILL)
                         else "|" if index >= len(_CHARSET_FILL) else " ")
        out.append("".join(chars) + "\n")
    out.append(" " * len(values) + "\n")  # the labels' top margin
    for row in range(max(map(len, labels), default=0)):
        out.append("".join(label[row] if row < len(label) else " " for label in labels)
                   + "\n")
    return "".join(out)


# ------------------------------------------------------------------ the report's texts

DOCTOR_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
    "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
    "order to enable it. If we weren't in a deep space mission I'd suggest to take a look "
    "at https://redis.io/topics/latency-monitor.\n")
DOCTOR_NOTHING = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not "
    "in the slightest bit. I honestly think you ought to sit down calmly, take a stress "
    "pill, and think things over.\n")
DOCTOR_NO_ADVICE = (
    "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please "
    "use the Redis community to get some help, providing this report in your help "
    "request.\n")

# In createLatencyReport's order; %llu is the threshold in microseconds.
_ADVICE = (
    ("slowlog_enabled", "- There are latency issues with potentially slow commands you are "
     "using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET "
     "slowlog-log-slower-than %llu'. If the Slow log is disabled Redis is not able to log "
     "slow commands execution for you.\n"),
    ("slowlog_tuning", "- Your current Slow Log configuration only logs events that are "
     "slower than your configured latency monitor threshold. Please use 'CONFIG SET "
     "slowlog-log-slower-than %llu'.\n"),
    ("slowlog_inspect", "- Check your Slow Log to understand what are the commands you are "
     "running which are too slow to execute. Please check https://redis.io/commands/slowlog "
     "for more information.\n"),
    ("scheduler", "- The system is slow to execute Redis code paths not containing system "
     "calls. This usually means the system does not provide Redis CPU time to run for long "
     "periods. You should try to:\n"
     "  1) Lower the system load.\n"
     "  2) Use a computer / VM just for Redis if you are running other software in the same "
     "system.\n"
     "  3) Check if you have a \"noisy neighbour\" problem.\n"
     "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in "
     "your system.\n"
     "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, "
     "if you are using Jemalloc. However this may create fragmentation problems.\n"),
    ("relax_fsync_policy", "- Your fsync policy is set to 'always'. It is very hard to get "
     "good performances with such a setup, if possible try to relax the fsync policy to "
     "'onesec'.\n"),
    ("hz", "- In order to make the Redis keys expiring process more incremental, try to set "
     "the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n"),
    ("large_objects", "- Deleting, expiring or evicting (because of maxmemory policy) large "
     "objects is a blocking operation. If you have very large objects that are often "
     "deleted, expired, or evicted, try to fragment those objects into multiple smaller "
     "objects.\n"),
    ("disable_thp", "- I detected a non zero amount of anonymous huge pages used by your "
     "process. This creates very serious latency events in different conditions, especially "
     "when Redis is persisting on disk. To disable THP support use the command 'echo never > "
     "/sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into "
     "/etc/rc.local so that the command will be executed again after a reboot. Note that "
     "even if you have already disabled THP, you still need to restart the Redis process to "
     "get rid of the huge pages already created.\n"),
)
