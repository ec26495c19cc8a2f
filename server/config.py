"""Settings: Redis's names, redis.conf syntax, command-line flags and CONFIG GET/SET.

Every setting is one row of :data:`SETTINGS`: its type decides how a value is
parsed and shown, so the config file, ``--name value`` flags and ``CONFIG SET``
share one parser and give the same errors.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protocol.numbers import LLONG_MAX
from server.algorithms.glob import compile_pattern

_UNITS = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


class ConfigError(Exception):
    """A bad setting name or value; the message names it."""


def parse_memory(text: str) -> int:
    """Redis's memory notation: ``1gb``, ``64mb``, ``100k``, ``4096``."""
    lowered = text.lower()
    for suffix in ("kb", "mb", "gb", "k", "m", "g"):
        if lowered.endswith(suffix) and lowered[: -len(suffix)].isdigit():
            return int(lowered[: -len(suffix)]) * _UNITS[suffix]
    if lowered.lstrip("-").isdigit():
        return int(lowered)
    raise ValueError("argument must be a memory value")


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("yes", "no"):
        raise ValueError("argument must be 'yes' or 'no'")
    return lowered == "yes"


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    parse: Callable[[str], object]
    show: Callable[[object], str] = str
    mutable: bool = True  # CONFIG SET may change it at run time
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    # For a value that sets only part of the setting: merge(current, parsed) -> new.
    merge: Callable[[object, object], object] | None = None

    def convert(self, text: str) -> object:
        if self.choices and text.lower() not in self.choices:
            raise ValueError(f"argument(s) must be one of the following: {', '.join(self.choices)}")
        value = self.parse(text.lower() if self.choices else text)
        is_number = isinstance(value, int) and not isinstance(value, bool)
        if is_number and ((self.low is not None and value < self.low)
                          or (self.high is not None and value > self.high)):
            raise ValueError(f"argument must be between {self.low} and {self.high} inclusive")
        return value


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("argument couldn't be parsed into an integer") from None


def _int(name: str, default: int, low: int, high: int, mutable: bool = True) -> Setting:
    return Setting(name, default, _parse_int, mutable=mutable, low=low, high=high)


def _memory(name: str, default: int, low: int = 0, high: int = 1 << 62) -> Setting:
    return Setting(name, default, parse_memory, low=low, high=high)


def _bool(name: str, default: bool, mutable: bool = True) -> Setting:
    return Setting(name, default, _parse_bool, lambda v: "yes" if v else "no", mutable)


def _enum(name: str, default: str, choices: tuple[str, ...], mutable: bool = True) -> Setting:
    return Setting(name, default, str, mutable=mutable, choices=choices)


def _string(name: str, default: str, mutable: bool = True) -> Setting:
    return Setting(name, default, str, mutable=mutable)


OUTPUT_LIMIT_CLASSES = ("normal", "slave", "pubsub")  # CONFIG GET's order
_OUTPUT_LIMIT_ERROR = "Error in hard, soft or soft_seconds setting in buffer limit configuration."


def _parse_output_limits(text: str) -> dict[str, tuple[int, int, int]]:
    """client-output-buffer-limit: ``<class> <hard> <soft> <soft-seconds>``, repeated;
    only the classes named change (see _merge_output_limits)."""
    words = text.split()
    if len(words) % 4:
        raise ValueError("Wrong number of arguments in buffer limit configuration.")
    limits = {}
    for i in range(0, len(words), 4):
        name = {"replica": "slave"}.get(words[i].lower(), words[i].lower())
        if name not in OUTPUT_LIMIT_CLASSES:
            raise ValueError("Invalid client class specified in buffer limit configuration.")
        seconds = words[i + 3]
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
        except ValueError:
            raise ValueError(_OUTPUT_LIMIT_ERROR) from None
        if hard < 0 or soft < 0 or not (seconds.isascii() and seconds.isdigit()):
            raise ValueError(_OUTPUT_LIMIT_ERROR)
        limits[name] = (hard, soft, int(seconds))
    return limits


def _merge_output_limits(current: dict, parsed: dict) -> dict[str, tuple[int, int, int]]:
    return {**current, **parsed}


def _show_output_limits(limits: dict) -> str:
    return " ".join(f"{name} {' '.join(map(str, limits[name]))}" for name in OUTPUT_LIMIT_CLASSES)


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    _string("bind", "127.0.0.1", mutable=False),
    _int("port", 6379, 0, 65535, mutable=False),
    _string("dir", "./data", mutable=False),
    _enum("appendfsync", "everysec", ("everysec", "always", "no")),  # Redis's order
    _bool("appendonly", True, mutable=False),  # always on: the log is the store
    _string("appendfilename", "appendonly.aof", mutable=False),  # accepted, unused
    _string("save", "", mutable=True),  # accepted for compatibility; no RDB
    _enum("loglevel", "notice", ("debug", "verbose", "notice", "warning", "nothing")),
    _string("logfile", "", mutable=False),
    _string("pidfile", "", mutable=False),
    _bool("daemonize", False, mutable=False),
    _int("databases", 16, 1, 256, mutable=False),
    _int("maxclients", 10000, 1, 1_000_000),
    _int("timeout", 0, 0, 2**31 - 1),
    _int("tcp-keepalive", 300, 0, 2**31 - 1),
    _int("tcp-backlog", 511, 0, 65535, mutable=False),
    _int("hz", 10, 1, 500),
    _string("requirepass", ""),
    _bool("protected-mode", True),
    _string("aclfile", "", mutable=False),
    _int("acllog-max-len", 128, 0, LLONG_MAX),
    _int("tls-port", 0, 0, 65535, mutable=False),
    _string("tls-cert-file", "", mutable=False),
    _string("tls-key-file", "", mutable=False),
    _string("tls-ca-cert-file", "", mutable=False),
    _enum("tls-auth-clients", "yes", ("no", "yes", "optional"), mutable=False),
    _memory("proto-max-bulk-len", 512 * 1024 * 1024, 1024 * 1024, 512 * 1024 * 1024),
    _memory("client-query-buffer-limit", 1024 * 1024 * 1024, 1024 * 1024),
    Setting("client-output-buffer-limit",
            {"normal": (0, 0, 0), "slave": (256 * 1024 * 1024, 64 * 1024 * 1024, 60),
             "pubsub": (32 * 1024 * 1024, 8 * 1024 * 1024, 60)},
            _parse_output_limits, _show_output_limits, merge=_merge_output_limits),
    _memory("maxmemory", 0),
    _int("auto-aof-rewrite-percentage", 100, 0, 2**31 - 1),
    _memory("auto-aof-rewrite-min-size", 64 * 1024 * 1024),
    _int("caskd-dead-ratio-percent", 50, 1, 100),  # compact when this much is dead
    _memory("caskd-segment-size", 64 * 1024 * 1024, 1024, 1 << 30),
    _int("slowlog-log-slower-than", 10000, -1, 2**62),
    _int("slowlog-max-len", 128, 0, 2**31 - 1),
    _int("latency-monitor-threshold", 0, 0, LLONG_MAX),  # caskd records no latency events
    _enum("enable-debug-command", "no", ("no", "yes", "local"), mutable=False),
    _int("busy-reply-threshold", 5000, 0, LLONG_MAX),  # ms a script runs before -BUSY
)}
# Redis's older names, still accepted (and shown by CONFIG GET) for the settings.
ALIASES = {"lua-time-limit": "busy-reply-threshold"}


class Config:
    """The current value of every setting."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {name: s.default for name, s in SETTINGS.items()}
        self.config_file: Path | None = None
        self.renames: list[tuple[str, str]] = []  # rename-command: (command, new name or "")

    def __getitem__(self, name: str) -> object:
        return self.values[name]

    def set(self, name: str, text: str, *, at_runtime: bool = False) -> None:
        """Parse and store ``text`` for ``name``; ConfigError with Redis's wording."""
        setting = SETTINGS.get(ALIASES.get(name.lower(), name.lower()))
        if setting is None:
            raise ConfigError(f"Unknown option or number of arguments for CONFIG SET - '{name}'"
                              if at_runtime else f"Bad directive or wrong number of arguments "
                              f"for '{name}'")
        if at_runtime and not setting.mutable:
            raise ConfigError(f"CONFIG SET failed (possibly related to argument '{name}') - "
                              f"can't set immutable config")
        try:
            value = setting.convert(text)
        except ValueError as exc:
            if at_runtime:
                raise ConfigError(f"CONFIG SET failed (possibly related to argument "
                                  f"'{name}') - {exc}") from None
            raise ConfigError(f"Invalid value for '{name}': {text!r} ({exc})") from None
        if setting.merge is not None:
            value = setting.merge(self.values[setting.name], value)
        self.values[setting.name] = value

    def matching(self, pattern: bytes) -> dict[str, str]:
        """CONFIG GET: every setting whose name matches the glob ``pattern``."""
        matches = compile_pattern(pattern.lower())
        shown = {name: SETTINGS[name].show(value) for name, value in self.values.items()
                 if matches(name.encode())}
        shown.update({alias: SETTINGS[name].show(self.values[name])
                      for alias, name in ALIASES.items() if matches(alias.encode())})
        return shown

    def load_file(self, path: Path) -> None:
        """Apply a redis.conf-syntax file: ``name value`` per line, ``#`` comments."""
        self.config_file = path.resolve()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = shlex.split(line, comments=True)
            if not words:
                continue
            name, *rest = words
            if not rest and name.lower() != "save":
                raise ConfigError(f"{path}:{number}: '{name}' needs a value")
            try:
                if name.lower() == "rename-command":
                    self.rename_command(rest)
                    continue
                self.set(name, " ".join(rest))
            except ConfigError as exc:
                raise ConfigError(f"{path}:{number}: {exc}") from None

    def rename_command(self, args: list[str]) -> None:
        """``rename-command NAME NEW`` (``""``: the command is gone); the server applies
        it to its command lookup (Server.__init__)."""
        if len(args) != 2:
            raise ConfigError("Bad directive or wrong number of arguments for "
                              "'rename-command'")
        self.renames.append((args[0], args[1]))

    def rewrite_lines(self) -> list[str]:
        """The non-default settings as redis.conf lines (CONFIG REWRITE)."""
        return [f"{name} {shlex.quote(SETTINGS[name].show(value))}"
                for name, value in self.values.items() if value != SETTINGS[name].default] + \
            [f"rename-command {shlex.quote(old)} {shlex.quote(new)}"
             for old, new in self.renames]


def parse_command_line(argv: list[str]) -> Config:
    """``caskd [config-file] [--name value ...]``, as redis-server takes them."""
    config = Config()
    args = list(argv)
    if args and not args[0].startswith("--"):
        config.load_file(Path(args.pop(0)))
    while args:
        flag = args.pop(0)
        if not flag.startswith("--") or len(flag) == 2:
            raise ConfigError(f"Unexpected argument '{flag}': settings are given as "
                              f"--name value")
        values = []
        while args and not args[0].startswith("--"):
            values.append(args.pop(0))
        if not values and flag[2:].lower() != "save":
            raise ConfigError(f"Setting '{flag[2:]}' needs a value")
        if flag[2:].lower() == "rename-command":
            config.rename_command(values)
        else:
            config.set(flag[2:], " ".join(values))
    return config
