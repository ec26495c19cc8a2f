"""Settings: every directive of Redis 7.0's redis.conf, in the config file, as
command-line flags and by CONFIG GET/SET/REWRITE.

Every setting is one row of :data:`SETTINGS`, transcribed from Redis's
``static_configs[]`` (config.c at 7.0.15): name, alias, type, bounds, default and
flags. Its type decides how a value is parsed and shown, so the config file,
``--name value`` flags and ``CONFIG SET`` share one parser and give Redis's errors.
Rows in ``_NO_EFFECT`` are accepted and shown but change nothing in caskd; where
that could mislead, the row has a ``warning`` that is logged once at start when
the setting is not at its default.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protocol.numbers import INT_MAX, LLONG_MAX, LLONG_MIN, UINT_MAX, ULLONG_MAX, ULLONG_RANGE
from server import conffile, notifications
from server.algorithms.glob import compile_pattern

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
          "g": 1000**3, "gb": 1024**3}
# Directives Redis reads from a file only, without a CONFIG name: kept by CONFIG REWRITE.
_FILE_ONLY = frozenset({"include", "rename-command", "user", "loadmodule", "sentinel"})
# Directives Redis 7.0 still accepts in a file (with one value) and ignores.
_DEPRECATED = frozenset({"list-max-ziplist-entries", "list-max-ziplist-value",
                         "lua-replicate-commands"})


class ConfigError(Exception):
    """A bad setting name or value; the message is Redis's."""


def parse_memory(text: str) -> int:
    """Redis's memtoull: digits and an optional unit (b, k, kb, m, mb, g, gb, any case)."""
    digits = text[:len(text) - len(text.lstrip("0123456789"))]
    unit = text[len(digits):].lower()
    if text.startswith("-") or unit not in _UNITS:  # no digits at all: 0, as strtoull
        raise ValueError("argument must be a memory value")
    return int(digits or 0) * _UNITS[unit] % ULLONG_RANGE


def parse_strict_int(text: str) -> int:
    """Redis's string2ll: no spaces, no '+', no leading zeros, 64-bit."""
    body = text[1:] if text.startswith("-") else text
    if not (body.isascii() and body.isdigit()) or (body[0] == "0" and len(text) > 1) \
            or not LLONG_MIN <= int(text) <= LLONG_MAX:
        raise ValueError("argument couldn't be parsed into an integer")
    return int(text)


def format_memory(value: int) -> str:
    """A byte count as CONFIG REWRITE writes it: 1gb, 64mb, 10kb or plain bytes."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def _one(args: list[str]) -> str:
    if len(args) != 1:
        raise ValueError("wrong number of arguments")
    return args[0]


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    parse: Callable[[list[str]], object]  # the arguments -> the value; ValueError(message)
    show: Callable[[object], str] = str  # as CONFIG GET shows it
    conf: Callable[[object], list[str]] | None = None  # its arguments per line in a file
    mutable: bool = True  # CONFIG SET may change it at run time (Redis: MODIFIABLE)
    protected: bool = False  # CONFIG SET only under enable-protected-configs (Redis: PROTECTED)
    multi_arg: bool = False  # takes several arguments (CONFIG SET splits at spaces)
    alias: str | None = None  # the other name Redis accepts (hash-max-ziplist-entries…)
    hidden: bool = False  # CONFIG GET lists it only when asked by its exact name
    sensitive: bool = False  # redacted from SLOWLOG and MONITOR
    effect: bool = True  # False: accepted and shown, nothing in caskd reads it
    warning: str = ""  # logged at start when a setting without effect is not at its default
    always_written: bool = False  # CONFIG REWRITE writes it even at its default, as Redis

    def lines(self, value: object) -> list[str]:
        """The setting as redis.conf lines (CONFIG REWRITE)."""
        conf = self.conf or (lambda v: [self.show(v)])
        return [f"{self.name} {text}" for text in conf(value)]


def _checked(parse: Callable[[str], int], low: int, high: int,
             clamp: tuple[int, int] | None = None, octal: bool = False
             ) -> Callable[[list[str]], int]:
    def parse_number(args: list[str]) -> int:
        value = parse(_one(args))
        if high > LLONG_MAX:  # unsigned 64-bit (maxmemory): any parsed value fits
            return value
        if value > LLONG_MAX:  # a memory value wraps to negative in a signed setting
            value -= ULLONG_RANGE
        if not low <= value <= high:
            shown = f"{low:o} and {high:o}" if octal else f"{low} and {high}"
            raise ValueError(f"argument must be between {shown} inclusive")
        return min(max(value, clamp[0]), clamp[1]) if clamp else value
    return parse_number


def _parse_octal(text: str) -> int:
    try:
        return int(text, 8)
    except ValueError:
        raise ValueError("argument couldn't be parsed as an octal number") from None


def _parse_memory_or_percent(args: list[str]) -> int:
    """maxmemory-clients: bytes, or ``N%`` of maxmemory, kept as -N (as Redis keeps it)."""
    text = _one(args)
    try:
        value = parse_memory(text)
    except ValueError:
        digits = text[:-1]
        if not (len(text) > 1 and text.endswith("%") and digits.isascii() and digits.isdigit()
                and (digits == "0" or digits[0] != "0")):
            raise ValueError("argument must be a memory or percent value") from None
        value = -int(digits)
        if value < -100:
            raise ValueError("percentage argument must be less or equal to 100") from None
    if value > LLONG_MAX:
        raise ValueError(f"argument must be between -100 and {LLONG_MAX} inclusive")
    return value


def _show_memory_or_percent(value: int) -> str:
    return f"{-value}%" if value < 0 else str(value)


def _int(name: str, default: int, low: int, high: int, *,
         clamp: tuple[int, int] | None = None, **flags) -> Setting:
    return Setting(name, default, _checked(parse_strict_int, low, high, clamp), **flags)


def _memory(name: str, default: int, low: int, high: int, **flags) -> Setting:
    return Setting(name, default, _checked(parse_memory, low, high), str,
                   lambda v: [format_memory(v)], **flags)


def _parse_bool(args: list[str]) -> bool:
    text = _one(args).lower()
    if text not in ("yes", "no"):
        raise ValueError("argument must be 'yes' or 'no'")
    return text == "yes"


def _bool(name: str, default: bool, **flags) -> Setting:
    return Setting(name, default, _parse_bool, lambda v: "yes" if v else "no", **flags)


def _enum(name: str, default: str, choices: tuple[str, ...],
          synonyms: dict[str, str] | None = None, **flags) -> Setting:
    """One of ``choices`` (any case); a synonym is stored and shown as the name it
    stands for, as Redis shows an enum's first name for its value."""
    synonyms = synonyms or {}

    def parse(args: list[str]) -> str:
        text = _one(args).lower()
        if text not in choices:
            raise ValueError(f"argument(s) must be one of the following: {', '.join(choices)}")
        return synonyms.get(text, text)
    return Setting(name, default, parse, **flags)


_SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")


def _parse_shutdown_flags(args: list[str]) -> str:
    """shutdown-on-sigint/sigterm: several of the flags, shown in the table's order."""
    words = {arg.lower() for arg in args}
    if not words or not words <= set(_SHUTDOWN_FLAGS):
        raise ValueError(f"argument(s) must be one of the following: "
                         f"{', '.join(_SHUTDOWN_FLAGS)}")
    if {"save", "nosave"} <= words:
        raise ValueError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return " ".join(flag for flag in _SHUTDOWN_FLAGS[1:] if flag in words) or "default"


def _string(name: str, default: str, *, nullable: bool = False,
            check: Callable[[str], None] | None = None, **flags) -> Setting:
    """A text value. ``nullable``: empty means unset (Redis's EMPTY_STRING_IS_NULL), and
    an unset one is not written by CONFIG REWRITE."""
    def parse(args: list[str]) -> str:
        text = _one(args)
        if check:
            check(text)
        return text

    def conf(value: str) -> list[str]:
        return [] if nullable and not value else [conffile.quote(value)]
    return Setting(name, default, parse, conf=conf, **flags)


def _base_name(what: str, kind: str, may_be_empty: bool = False) -> Callable[[str], None]:
    """isValidDBfilename, isValidAOFfilename, isValidAOFdirname: a name, not a path."""
    def check(text: str) -> None:
        if not text and not may_be_empty:
            raise ValueError(f"{what} can't be empty")
        if "/" in text or "\\" in text:
            raise ValueError(f"{what} can't be a path, just a {kind}")
    return check


# proc-title-template's variables: whether each can expand to something (caskd has
# no unix socket, cluster or sentinel mode; the title is empty when checking).
_TITLE_VARIABLES = {"title": False, "listen-addr": True, "server-mode": False,
                    "config-file": True, "port": True, "tls-port": True, "unixsocket": False}


def _check_proc_title(template: str) -> None:
    """isValidProcTitleTemplate: known {variables}, ``{{`` for a brace, and something
    left once expanded with an empty title (sdstemplate, validateProcTitleTemplate)."""
    pos, shown = 0, False
    while (start := template.find("{", pos)) >= 0:
        shown = shown or bool(template[pos:start].strip(" "))
        if template[start + 1:start + 2] == "{":
            shown, pos = True, start + 2
            continue
        end = template.find("}", start + 1)
        name = template[start + 1:end] if end > start else None
        if name not in _TITLE_VARIABLES:
            raise ValueError("template format is invalid or contains unknown variables")
        shown, pos = shown or _TITLE_VARIABLES[name], end + 1
    if not (shown or template[pos:].strip(" ")):
        raise ValueError("template format is invalid or contains unknown variables")


_C_LONG = re.compile(r"\s*[+-]?[0-9]+")


def _c_long(arg: str) -> int | None:
    """``arg`` as C's strtoll(arg, &end, 10) reads it when it must take all of it
    (an empty string reads as 0)."""
    return int(arg or 0) if not arg or _C_LONG.fullmatch(arg) else None


def _parse_save(args: list[str]) -> tuple[tuple[int, int], ...]:
    """``save <seconds> <changes> …`` pairs; ``save ""``: none (setConfigSaveOption)."""
    if args == [""]:
        args = []
    if len(args) % 2:
        raise ValueError("Invalid save parameters")
    numbers = []
    for i, arg in enumerate(args):
        number = _c_long(arg)
        if number is None or number < (1 if i % 2 == 0 else 0):
            raise ValueError("Invalid save parameters")
        numbers.append(number)
    return tuple(zip(numbers[::2], numbers[1::2], strict=True))


def _show_save(pairs: tuple[tuple[int, int], ...]) -> str:
    return " ".join(f"{seconds} {changes}" for seconds, changes in pairs)


OUTPUT_LIMIT_CLASSES = ("normal", "slave", "pubsub")  # CONFIG GET's order
_OUTPUT_LIMIT_ERROR = "Error in hard, soft or soft_seconds setting in buffer limit configuration."
_OUTPUT_LIMIT_DEFAULTS = {"normal": (0, 0, 0), "slave": (256 * 1024**2, 64 * 1024**2, 60),
                          "pubsub": (32 * 1024**2, 8 * 1024**2, 60)}


def _parse_output_limits(args: list[str]) -> dict[str, tuple[int, int, int]]:
    """client-output-buffer-limit: ``<class> <hard> <soft> <soft-seconds>``, repeated;
    only the classes named change (Config._apply merges them into the current ones)."""
    if len(args) % 4:
        raise ValueError("Wrong number of arguments in buffer limit configuration.")
    limits = {}
    for i in range(0, len(args), 4):
        name = {"replica": "slave"}.get(args[i].lower(), args[i].lower())
        if name not in OUTPUT_LIMIT_CLASSES:
            raise ValueError("Invalid client class specified in buffer limit configuration.")
        seconds = args[i + 3]
        try:
            hard, soft = parse_memory(args[i + 1]), parse_memory(args[i + 2])
        except ValueError:
            raise ValueError(_OUTPUT_LIMIT_ERROR) from None
        if not (seconds.isascii() and seconds.isdigit()):
            raise ValueError(_OUTPUT_LIMIT_ERROR)
        limits[name] = (hard, soft, int(seconds))
    return limits


def _show_output_limits(limits: dict) -> str:
    return " ".join(f"{name} {' '.join(map(str, limits[name]))}" for name in OUTPUT_LIMIT_CLASSES)


def _conf_output_limits(limits: dict) -> list[str]:
    return [f"{'replica' if name == 'slave' else name} {format_memory(limits[name][0])} "
            f"{format_memory(limits[name][1])} {limits[name][2]}" for name in OUTPUT_LIMIT_CLASSES]


def _parse_oom_values(args: list[str]) -> tuple[int, int, int]:
    if len(args) != 3:
        raise ValueError("wrong number of arguments")
    values = tuple(_c_long(arg) for arg in args)
    if None in values or not all(-2000 <= value <= 2000 for value in values):
        raise ValueError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
    return values


def _parse_events(args: list[str]) -> str:
    """notify-keyspace-events: Redis's class letters, kept as Redis shows them."""
    return notifications.show_classes(notifications.parse_classes(_one(args)))


def _parse_bind(args: list[str]) -> str:
    if len(args) > 16:
        raise ValueError("Too many bind addresses specified.")
    return " ".join(arg for arg in args if arg)


def _parse_replicaof(args: list[str]) -> str:
    if len(args) != 2:
        raise ValueError("wrong number of arguments")
    host, port = args
    if host.lower() == "no" and port.lower() == "one":
        return ""
    if not (port.isascii() and port.lstrip("-").isdigit()) or not 0 <= int(port) <= 65535:
        raise ValueError("Invalid master port")
    return f"{host} {int(port)}"


def _parse_percentiles(args: list[str]) -> tuple[float, ...]:
    if args == [""]:
        return ()
    values = []
    for arg in args:
        try:
            value = float(arg)
        except ValueError:
            raise ValueError("Invalid latency-tracking-info-percentiles parameters") from None
        if math.isnan(value) or arg.strip() != arg:
            raise ValueError("Invalid latency-tracking-info-percentiles parameters")
        if not 0.0 <= value <= 100.0:
            raise ValueError("latency-tracking-info-percentiles parameters should sit "
                             "between [0.0,100.0]")
        values.append(value)
    return tuple(values)


def _show_percentiles(values: tuple[float, ...]) -> str:
    """``%f`` with trailing zeros (and a bare point) trimmed, as Redis's trimDoubleString."""
    return " ".join(f"{value:f}".rstrip("0").rstrip(".") for value in values)


def _special(name: str, default: object, parse, show=str, conf=None, **flags) -> Setting:
    return Setting(name, default, parse, show, conf, **flags)


# ------------------------------------------------------------------ the table

# The settings caskd acts on. Where caskd cannot change one at run time that Redis
# can (port, bind, dir, TLS), it is immutable here: CONFIG SET says so.
_EFFECTIVE = (
    _special("bind", "127.0.0.1", _parse_bind, multi_arg=True, mutable=False,
             conf=lambda v: [v or '""']),
    _int("port", 6379, 0, 65535, mutable=False),
    _special("dir", "./data", lambda args: _one(args), os.path.abspath,  # as Redis's getcwd()
             lambda v: [conffile.quote(os.path.abspath(v))], mutable=False, protected=True,
             always_written=True),
    _enum("appendfsync", "everysec", ("everysec", "always", "no")),
    _enum("loglevel", "notice", ("debug", "verbose", "notice", "warning")),
    _string("logfile", "", mutable=False),
    _string("pidfile", "", nullable=True, mutable=False),
    _int("databases", 16, 1, INT_MAX, mutable=False),
    _int("maxclients", 10000, 1, UINT_MAX),
    _int("timeout", 0, 0, INT_MAX),
    _int("tcp-backlog", 511, 0, INT_MAX, mutable=False),
    _int("hz", 10, 0, INT_MAX, clamp=(1, 500)),
    _string("requirepass", "", nullable=True, sensitive=True),
    _bool("protected-mode", True),
    _string("aclfile", "", mutable=False),
    _int("acllog-max-len", 128, 0, LLONG_MAX),
    _int("tls-port", 0, 0, 65535, mutable=False),
    _string("tls-cert-file", "", nullable=True, mutable=False),
    _string("tls-key-file", "", nullable=True, mutable=False),
    _string("tls-ca-cert-file", "", nullable=True, mutable=False),
    _enum("tls-auth-clients", "yes", ("no", "yes", "optional"), mutable=False),
    _memory("proto-max-bulk-len", 512 * 1024**2, 1024**2, LLONG_MAX),
    _memory("client-query-buffer-limit", 1024**3, 1024**2, LLONG_MAX),
    _special("client-output-buffer-limit", _OUTPUT_LIMIT_DEFAULTS, _parse_output_limits,
             _show_output_limits, _conf_output_limits, multi_arg=True),
    _int("auto-aof-rewrite-percentage", 100, 0, INT_MAX),
    _memory("auto-aof-rewrite-min-size", 64 * 1024**2, 0, LLONG_MAX),
    _int("slowlog-log-slower-than", 10000, -1, LLONG_MAX),
    _int("slowlog-max-len", 128, 0, LLONG_MAX),
    _int("latency-monitor-threshold", 0, 0, LLONG_MAX),  # server/latency.py
    _enum("enable-debug-command", "no", ("no", "yes", "local"), mutable=False),
    # The thresholds of the compact encodings OBJECT ENCODING reports (and that decide
    # how a sorted set keeps -0): see storage.collections.ENCODING.
    _int("hash-max-listpack-entries", 512, 0, LLONG_MAX, alias="hash-max-ziplist-entries"),
    _memory("hash-max-listpack-value", 64, 0, LLONG_MAX, alias="hash-max-ziplist-value"),
    _int("set-max-intset-entries", 512, 0, LLONG_MAX),
    _int("zset-max-listpack-entries", 128, 0, LLONG_MAX, alias="zset-max-ziplist-entries"),
    _memory("zset-max-listpack-value", 64, 0, LLONG_MAX, alias="zset-max-ziplist-value"),
    # caskd's own
    _int("caskd-dead-ratio-percent", 50, 1, 100),  # compact when this much is dead
    _memory("caskd-segment-size", 64 * 1024**2, 1024, 1 << 30),
    # maxmemory and eviction (server/maxmemory.py); caskd's: whether strings' values
    # (on disk) count
    _memory("maxmemory", 0, 0, ULLONG_MAX),
    _enum("maxmemory-policy", "noeviction",
          ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
           "allkeys-lfu", "allkeys-random", "noeviction")),
    _int("maxmemory-samples", 5, 1, INT_MAX),
    _int("maxmemory-eviction-tenacity", 10, 0, 100),
    _int("lfu-log-factor", 10, 0, INT_MAX),
    _int("lfu-decay-time", 1, 0, INT_MAX),
    _bool("caskd-maxmemory-values", True),
    _int("http-port", 0, 0, 65535, mutable=False),  # REST and metrics: server/http/
    _string("http-bind", "", nullable=True, mutable=False),  # unset: ``bind``'s addresses
    # ms a script runs before other clients get -BUSY (server/scripting/busy.py)
    _int("busy-reply-threshold", 5000, 0, LLONG_MAX, alias="lua-time-limit"),
    # A replica's (server/replication/replica.py); REPLICAOF changes replicaof.
    _special("replicaof", "", _parse_replicaof, conf=lambda v: [v] if v else [],
             multi_arg=True, mutable=False, alias="slaveof"),
    _bool("replica-serve-stale-data", True, alias="slave-serve-stale-data"),
    _bool("replica-read-only", True, alias="slave-read-only"),
    _bool("replica-announced", True),
    _string("replica-announce-ip", "", nullable=True, alias="slave-announce-ip"),
    _string("masteruser", "", nullable=True, sensitive=True),
    _string("masterauth", "", nullable=True, sensitive=True),
    _int("replica-priority", 100, 0, INT_MAX, alias="slave-priority"),
    _int("replica-announce-port", 0, 0, 65535, alias="slave-announce-port"),
    _int("repl-timeout", 60, 1, INT_MAX),
)

_NO_SNAPSHOTS = "caskd writes no RDB snapshots: every write is in its log already"

# Accepted, shown by CONFIG GET and written by CONFIG REWRITE; nothing in caskd reads
# them (no RDB files, cluster mode or modules; one thread).
_NO_EFFECT = (
    _bool("rdbchecksum", True, mutable=False),
    _bool("daemonize", False, mutable=False,
          warning="daemonize yes has no effect: caskd stays in the foreground "
                  "(run it under a service manager)"),
    _bool("io-threads-do-reads", False, mutable=False),
    _bool("always-show-logo", False, mutable=False),
    _bool("rdbcompression", True),
    _bool("rdb-del-sync-files", False),
    _bool("activerehashing", True),
    _bool("stop-writes-on-bgsave-error", True),
    _bool("set-proc-title", True, mutable=False),
    _bool("dynamic-hz", True),
    _bool("lazyfree-lazy-eviction", False),
    _bool("lazyfree-lazy-expire", False),
    _bool("lazyfree-lazy-server-del", False),
    _bool("lazyfree-lazy-user-del", False),
    _bool("lazyfree-lazy-user-flush", False),
    _bool("repl-disable-tcp-nodelay", False),
    _bool("repl-diskless-sync", True),
    _bool("aof-rewrite-incremental-fsync", True),
    _bool("no-appendfsync-on-rewrite", False),
    _bool("cluster-require-full-coverage", True),
    _bool("rdb-save-incremental-fsync", True),
    _bool("aof-load-truncated", True),
    _bool("aof-use-rdb-preamble", True),
    _bool("aof-timestamp-enabled", False),
    _bool("cluster-replica-no-failover", False, alias="cluster-slave-no-failover"),
    _bool("replica-lazy-flush", False, alias="slave-lazy-flush"),
    _bool("replica-ignore-maxmemory", True, alias="slave-ignore-maxmemory"),
    _bool("jemalloc-bg-thread", True),
    _bool("activedefrag", False),
    _bool("syslog-enabled", False, mutable=False,
          warning="syslog-enabled has no effect: caskd logs to logfile (or stdout) only"),
    _bool("cluster-enabled", False, mutable=False,
          warning="cluster-enabled has no effect: caskd has no Redis Cluster mode "
                  "(see the README's Scaling out)"),
    # Always on: the log is the store. Redis's default is no.
    _bool("appendonly", True, warning="appendonly no has no effect: caskd's log is its "
                                      "store, and every write goes to it"),
    _bool("cluster-allow-reads-when-down", False),
    _bool("cluster-allow-pubsubshard-when-down", True),
    _bool("crash-log-enabled", True),
    _bool("crash-memcheck-enabled", True),
    _bool("use-exit-on-panic", False, hidden=True),
    _bool("disable-thp", True, mutable=False),
    _bool("cluster-allow-replica-migration", True),
    _bool("latency-tracking", True),
    _bool("aof-disable-auto-gc", False),
    _bool("replica-ignore-disk-write-errors", False),
    _string("unixsocket", "", nullable=True, mutable=False,
            warning="unixsocket has no effect: caskd listens on TCP only"),
    _string("cluster-announce-ip", "", nullable=True),
    _string("cluster-config-file", "nodes.conf", mutable=False),
    _string("cluster-announce-hostname", "", nullable=True),
    _string("syslog-ident", "redis", mutable=False),
    _string("dbfilename", "dump.rdb", protected=True,
            check=_base_name("dbfilename", "filename", may_be_empty=True)),
    _string("appendfilename", "appendonly.aof", mutable=False,
            check=_base_name("appendfilename", "filename")),
    _string("appenddirname", "appendonlydir", mutable=False,
            check=_base_name("appenddirname", "dirname")),
    _string("server_cpulist", "", nullable=True, mutable=False),
    _string("bio_cpulist", "", nullable=True, mutable=False),
    _string("aof_rewrite_cpulist", "", nullable=True, mutable=False),
    _string("bgsave_cpulist", "", nullable=True, mutable=False),
    _string("ignore-warnings", ""),
    _string("proc-title-template", "{title} {listen-addr} {server-mode}",
            check=_check_proc_title),
    _string("bind-source-addr", "", nullable=True),
    _enum("supervised", "no", ("upstart", "systemd", "auto", "no"), mutable=False),
    _enum("syslog-facility", "local0", ("user", "local0", "local1", "local2", "local3",
                                        "local4", "local5", "local6", "local7"),
          mutable=False),
    _enum("repl-diskless-load", "disabled", ("disabled", "on-empty-db", "swapdb")),
    _enum("oom-score-adj", "no", ("no", "yes", "relative", "absolute"), {"relative": "yes"}),
    _enum("acl-pubsub-default", "resetchannels", ("allchannels", "resetchannels")),
    _enum("sanitize-dump-payload", "no", ("no", "yes", "clients")),
    _enum("enable-protected-configs", "no", ("no", "yes", "local"), mutable=False),
    _enum("enable-module-command", "no", ("no", "yes", "local"), mutable=False),
    _enum("cluster-preferred-endpoint-type", "ip", ("ip", "hostname", "unknown-endpoint")),
    _enum("propagation-error-behavior", "ignore", ("ignore", "panic", "panic-on-replicas")),
    _special("shutdown-on-sigint", "default", _parse_shutdown_flags, multi_arg=True),
    _special("shutdown-on-sigterm", "default", _parse_shutdown_flags, multi_arg=True),
    _int("io-threads", 1, 1, 128, mutable=False),
    _int("cluster-replica-validity-factor", 10, 0, INT_MAX,
         alias="cluster-slave-validity-factor"),
    # Redis 7.0 keeps every list as a quicklist whatever these say.
    _int("list-max-listpack-size", -2, -(2**31), INT_MAX, alias="list-max-ziplist-size"),
    _int("list-compress-depth", 0, 0, INT_MAX),
    _int("tcp-keepalive", 300, 0, INT_MAX),
    _int("cluster-migration-barrier", 1, 0, INT_MAX),
    _int("active-defrag-cycle-min", 1, 1, 99),
    _int("active-defrag-cycle-max", 25, 1, 99),
    _int("active-defrag-threshold-lower", 10, 0, 1000),
    _int("active-defrag-threshold-upper", 100, 0, 1000),
    _int("repl-diskless-sync-delay", 5, 0, INT_MAX),
    _int("cluster-port", 0, 0, 65535, mutable=False),
    _int("cluster-announce-bus-port", 0, 0, 65535),
    _int("cluster-announce-port", 0, 0, 65535),
    _int("cluster-announce-tls-port", 0, 0, 65535),
    _int("repl-ping-replica-period", 10, 1, INT_MAX, alias="repl-ping-slave-period"),
    _int("rdb-key-save-delay", 0, -(2**31), INT_MAX, hidden=True),
    _int("key-load-delay", 0, -(2**31), INT_MAX, hidden=True),
    _int("active-expire-effort", 1, 1, 10),
    _int("min-replicas-to-write", 0, 0, INT_MAX, alias="min-slaves-to-write"),
    _int("min-replicas-max-lag", 10, 0, INT_MAX, alias="min-slaves-max-lag"),
    _int("watchdog-period", 0, 0, INT_MAX, hidden=True),
    _int("shutdown-timeout", 10, 0, INT_MAX),
    _int("repl-diskless-sync-max-replicas", 0, 0, INT_MAX),
    _int("socket-mark-id", 0, 0, UINT_MAX, mutable=False),
    Setting("unixsocketperm", 0, _checked(_parse_octal, 0, 0o777, octal=True), lambda v: f"{v:o}",
            mutable=False),
    Setting("maxmemory-clients", 0, _parse_memory_or_percent, _show_memory_or_percent,
            lambda v: [_show_memory_or_percent(v) if v < 0 else format_memory(v)]),
    _int("active-defrag-max-scan-fields", 1000, 1, LLONG_MAX),
    _int("cluster-node-timeout", 15000, 0, LLONG_MAX),
    _int("stream-node-max-entries", 100, 0, LLONG_MAX),
    _memory("repl-backlog-size", 1024**2, 1, LLONG_MAX),
    _memory("cluster-link-sendbuf-limit", 0, 0, ULLONG_MAX),
    _memory("active-defrag-ignore-bytes", 100 << 20, 1, LLONG_MAX),
    _memory("stream-node-max-bytes", 4096, 0, LLONG_MAX),
    _memory("hll-sparse-max-bytes", 3000, 0, LLONG_MAX),
    _int("tracking-table-max-keys", 1000000, 0, LLONG_MAX),
    _int("repl-backlog-ttl", 3600, 0, LLONG_MAX),
    _int("loading-process-events-interval-bytes", 2 * 1024**2, 1024, INT_MAX, hidden=True),
    _int("tls-session-cache-size", 20 * 1024, 0, INT_MAX),
    _int("tls-session-cache-timeout", 300, 0, INT_MAX),
    _bool("tls-cluster", False),
    _bool("tls-replication", False),
    _bool("tls-prefer-server-ciphers", False),
    _bool("tls-session-caching", True),
    _string("tls-key-file-pass", "", nullable=True),
    _string("tls-client-cert-file", "", nullable=True),
    _string("tls-client-key-file", "", nullable=True),
    _string("tls-client-key-file-pass", "", nullable=True),
    _string("tls-dh-params-file", "", nullable=True),
    _string("tls-ca-cert-dir", "", nullable=True),
    _string("tls-protocols", "", nullable=True),
    _string("tls-ciphers", "", nullable=True),
    _string("tls-ciphersuites", "", nullable=True),
    _special("save", (), _parse_save, _show_save,
             lambda pairs: [f"{s} {c}" for s, c in pairs] or ['""'], multi_arg=True,
             warning=_NO_SNAPSHOTS, always_written=True),
    _special("oom-score-adj-values", (0, 200, 800), _parse_oom_values,
             lambda v: " ".join(map(str, v)), multi_arg=True),
    _special("notify-keyspace-events", "", _parse_events, conf=lambda v: [conffile.quote(v)]),
    _special("latency-tracking-info-percentiles", (50.0, 99.0, 99.9), _parse_percentiles,
             _show_percentiles, lambda v: [_show_percentiles(v) or '""'], multi_arg=True,
             always_written=True),
)

SETTINGS: dict[str, Setting] = {s.name: s for s in (
    *_EFFECTIVE, *(dataclasses.replace(s, effect=False) for s in _NO_EFFECT))}
_BY_NAME: dict[str, Setting] = {**SETTINGS, **{s.alias: s for s in SETTINGS.values() if s.alias}}
SENSITIVE = frozenset(name for name, s in _BY_NAME.items() if s.sensitive)


def lookup(name: str) -> Setting | None:
    """A setting by its name or alias, in any case (Redis's lookupConfig)."""
    return _BY_NAME.get(name.lower())


class Config:
    """The current value of every setting."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {name: s.default for name, s in SETTINGS.items()}
        self.config_file: Path | None = None
        self.renames: list[tuple[str, str]] = []  # rename-command: (command, new name or "")
        self._save_loaded = False

    def __getitem__(self, name: str) -> object:
        return self.values[name]

    def _apply(self, setting: Setting, args: list[str], from_file: bool = False) -> None:
        value = setting.parse(args)
        if setting.name == "client-output-buffer-limit":  # only the classes named change
            value = {**self.values[setting.name], **value}
        elif setting.name == "save" and from_file and args != [""]:
            # A file's save lines add up; the first replaces the default, "" empties it.
            value = (self.values["save"] if self._save_loaded else ()) + value
            self._save_loaded = True
        self.values[setting.name] = value

    def set_many(self, pairs: list[tuple[str, str]], protected_allowed: bool = False) -> None:
        """CONFIG SET's pairs: all applied, or (ConfigError, Redis's message) none.
        As Redis's configSetCommand, names are checked first (unknown, protected,
        immutable, repeated: the first problem is reported; a name and its alias are
        not a repeat), then values in order."""
        settings: list[Setting] = []
        for i, (name, _) in enumerate(pairs):
            setting = lookup(name)
            if setting is None:
                raise ConfigError(f"Unknown option or number of arguments for CONFIG SET - "
                                  f"'{name}'")
            repeated = any(name.lower() == other.lower() for other, _ in pairs[:i])
            problem = ("can't set protected config" if setting.protected and not
                       protected_allowed else "can't set immutable config" if not
                       setting.mutable else "duplicate parameter" if repeated else "")
            if problem:
                raise ConfigError(f"CONFIG SET failed (possibly related to argument "
                                  f"'{name}') - {problem}")
            settings.append(setting)
        before = dict(self.values)
        for setting, (_, text) in zip(settings, pairs, strict=True):
            try:
                # As Redis's sdssplitlen: "" is no arguments at all.
                args = (text.split(" ") if text else []) if setting.multi_arg else [text]
                self._apply(setting, args)
            except ValueError as exc:
                self.values = before
                raise ConfigError(f"CONFIG SET failed (possibly related to argument "
                                  f"'{setting.name}') - {exc}") from None

    def matching(self, pattern: str) -> dict[str, str]:
        """CONFIG GET: a name (or alias) as asked, or every setting and alias whose name
        matches the glob ``pattern``, hidden ones excepted (configGetCommand)."""
        if not any(char in pattern for char in "[*?"):
            setting = lookup(pattern)
            return {} if setting is None else {pattern: setting.show(self.values[setting.name])}
        matches = compile_pattern(pattern.encode("utf-8", "surrogateescape"), nocase=True)
        return {name: setting.show(self.values[setting.name])
                for name, setting in _BY_NAME.items()
                if not setting.hidden and matches(name.encode())}

    def warnings(self) -> list[str]:
        """What to log at start: settings without effect that a user set expecting one."""
        return [s.warning for name, s in SETTINGS.items()
                if s.warning and self.values[name] != s.default]

    # ------------------------------------------------------------ the file

    def load(self, text: str, origin: str = "") -> None:
        """Apply redis.conf text, as Redis's loadServerConfigFromString: ``name value…``
        per line, ``#`` comment lines, quotes as in :func:`conffile.split_args`."""
        for number, line in enumerate(text.split("\n"), 1):
            line = line.strip(" \t\r\n")
            if not line or line.startswith("#"):
                continue
            try:
                self._load_line(conffile.split_args(line))
            except ValueError as exc:
                raise ConfigError(f"Reading the configuration file{origin}, at line "
                                  f"{number}\n>>> '{line}'\n{exc}") from None

    def _load_line(self, args: list[str]) -> None:
        if not args:
            return
        name = args[0].lower()
        setting = lookup(name)
        if setting is not None:
            values = args[1:]
            if not setting.multi_arg and len(values) != 1:
                raise ValueError("wrong number of arguments")
            if setting.multi_arg and len(values) == 1 and values[0]:
                values = conffile.split_args(values[0])  # --save "900 1" as one argument
            self._apply(setting, values, from_file=True)
        elif name in _DEPRECATED and len(args) == 2:
            pass
        elif name == "include" and len(args) == 2:
            self.load(Path(args[1]).read_text(), f" {args[1]}")
        elif name == "rename-command" and len(args) == 3:
            self.renames.append((args[1], args[2]))  # applied by Server.__init__
        else:
            raise ValueError("Bad directive or wrong number of arguments")

    def rewrite(self) -> None:
        """CONFIG REWRITE: the current values into the config file, keeping its layout
        and comments, as Redis's rewriteConfig. A line is added only if the default
        would not give it (or Redis always writes the setting: dir, save…)."""
        def lines(setting: Setting) -> list[tuple[str, bool]]:
            default = setting.lines(setting.default)
            return [(line, setting.always_written or line not in default)
                    for line in setting.lines(self.values[setting.name])]
        conffile.rewrite(self.config_file, lambda name: s.name if (s := lookup(name)) else None,
                         ((name, lines(s)) for name, s in SETTINGS.items()), _FILE_ONLY)


def command_line_text(args: list[str]) -> str:
    """``--name value …`` as the redis.conf lines Redis makes of them: each ``--name``
    starts a line and the arguments after it are appended quoted; the first argument
    after a name is its value even if it starts with ``--`` (a bare ``--save`` is
    ``save ""``)."""
    lines: list[str] = []
    expecting_value = False
    for i, arg in enumerate(args):
        if not expecting_value and arg.startswith("--"):
            lines.append(arg[2:])
            expecting_value = len(conffile.split_args(arg)) == 1
            last = i == len(args) - 1
            if expecting_value and arg.lower() == "--save" and (
                    last or args[i + 1].startswith("--")):
                lines[-1] += ' ""'
                expecting_value = False
        elif lines:
            lines[-1] += " " + conffile.quote(arg)
            expecting_value = False
        else:
            raise ConfigError(f"Unexpected argument '{arg}': settings are given as "
                              f"--name value")
    return "\n".join(lines)


def parse_command_line(argv: list[str]) -> Config:
    """``caskd [config-file] [--name value ...]``, as redis-server takes them: the flags
    are read as lines appended to the file."""
    config = Config()
    args = list(argv)
    text = ""
    if args and not args[0].startswith("-"):
        config.config_file = Path(args.pop(0)).resolve()
        text = config.config_file.read_text()
    config.load(text + "\n" + command_line_text(args))
    return config
