"""ACL users, as Redis 7.0 has them: who may connect, which commands and keys they may use.

A :class:`User` holds its rules in the form Redis's acl.c keeps them: a set of allowed
commands (containers and subcommands alike, the "command bits"), first-arg exceptions
(``+select|0``), key and channel patterns, passwords as SHA-256 hex digests. Rules are
applied by :meth:`Acl.apply_rule`, checked by :meth:`Acl.check`, and turned back into text
(``ACL LIST``, the ACL file) by :meth:`Acl.describe`, which follows Redis's
ACLDescribeSelectorCommandRules: start from ``+@all`` or ``-@all``, apply the categories
that fit best, then name the single commands that still differ.

Every check works from the command table as built (renamed commands keep their original
names here, as Redis's ``orig_commands``). A user whose rules allow everything is
``unrestricted``: the dispatcher then skips the check altogether, so the default user costs
one attribute test per command.

Not supported: selectors (``(...)``) and read/write key patterns (``%R~``, ``%W~``):
caskd's command table has no per-key read/write flags to check them against.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from server.algorithms.glob import compile_pattern, stringmatch
from server.commands.registry import ACL_CATEGORIES, Command

if TYPE_CHECKING:
    from server.session import Session

DENIED_CMD, DENIED_KEY, DENIED_AUTH = "command", "key", "auth"  # ACL LOG reasons
DENIED_CHANNEL = "channel"
LOG_GROUPING_MS = 60_000  # Redis merges like log entries this close in time
_LOG_SCAN = 10  # ... among this many recent ones

# Names, patterns and rules are bytes; as text they are decoded with "surrogateescape",
# which the reply encoder and the ACL file reverse, so any byte comes back unchanged.

# Why a rule was refused: Redis's ACLSetUserStringError texts.
UNKNOWN_NAME = "Unknown command or category name in ACL"
SYNTAX = "Syntax error"
KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid "
                  "and does not have any effect. Try 'resetkeys' to start with an empty list "
                  "of patterns")
CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not "
                      "valid and does not have any effect. Try 'resetchannels' to start with an "
                      "empty list of channels")
NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
BAD_HASH = ("The password hash must be exactly 64 characters and contain only lowercase "
            "hexadecimal characters")
SUBCOMMAND_FIRST_ARG = "Allowing first-arg of a subcommand is not supported"


class RuleError(Exception):
    """A rule ACL SETUSER (or the ACL file) cannot apply; the message is Redis's reason."""


class AclFileError(Exception):
    """The ACL file could not be loaded; the message is Redis's (every problem found)."""


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def has_spaces(name: bytes) -> bool:
    """Redis's ACLStringHasSpaces: usernames and patterns may hold no space or NUL."""
    return any(c in b" \t\n\v\f\r\x00" for c in name)


def _valid_hash(text: bytes) -> bool:
    return len(text) == 64 and all(c in b"0123456789abcdef" for c in text)


class User:
    """One user's flags, passwords and permissions (Redis's user plus its root selector)."""

    def __init__(self, name: bytes) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize = ""  # "", "sanitize-payload" or "skip-sanitize-payload"
        self.passwords: list[str] = []  # SHA-256 hex digests
        self.allowed: set[Command] = set()  # the command bits
        self.all_commands = False  # Redis's ALLCOMMANDS flag: no command check at all
        self.future_commands = False  # the reserved bit: the rules began with +@all
        self.first_args: dict[Command, tuple[bytes, ...]] = {}  # +select|0, lower-cased
        self.all_keys = False
        self.key_patterns: list[bytes] = []
        self.key_matchers: list[Callable[[bytes], bool]] = []
        self.all_channels = False
        self.channel_patterns: list[bytes] = []
        self.unrestricted = False  # may run anything on any key: the dispatcher skips checks

    def copy_from(self, other: User) -> None:
        """Take ``other``'s rules (not its name), in place: clients holding this object
        see the change at once. Containers are copied; what they hold is immutable."""
        for attribute, value in vars(other).items():
            if attribute != "name":
                setattr(self, attribute, value.copy() if hasattr(value, "copy") else value)

    def flags(self) -> list[str]:
        """ACL LIST's and ACL GETUSER's flags, in Redis's order."""
        flags = ["on" if self.enabled else "off"]
        if self.nopass:
            flags.append("nopass")
        if self.sanitize:
            flags.append(self.sanitize)
        return flags

    def refresh(self) -> None:
        self.key_matchers = [compile_pattern(p) for p in self.key_patterns]
        self.unrestricted = self.all_commands and self.all_keys

    def check_password(self, password: bytes) -> bool:
        """Whether ``password`` logs in (an enabled user is assumed)."""
        if self.nopass:
            return True
        digest = hash_password(password)
        return any(hmac.compare_digest(digest, known) for known in self.passwords)


@dataclass
class LogEntry:
    """One ACL LOG entry; like denials within a minute are counted in one."""

    reason: str
    context: str
    target: bytes  # Redis's "object": the denied command or key, or the failed AUTH/HELLO
    username: bytes
    created_ms: int
    client_info: str
    count: int = 1

    def same_as(self, other: LogEntry) -> bool:
        return (self.reason == other.reason and self.context == other.context
                and self.target == other.target and self.username == other.username
                and abs(self.created_ms - other.created_ms) <= LOG_GROUPING_MS)


class Acl:
    """The users of one server, its ACL log, and the checks."""

    def __init__(self, table: list[Command], log_max_len: int = 128) -> None:
        self.lookup = {c.name: c for c in table}
        # Every row, each container followed by its subcommands.
        self.rows = [row for command in table for row in (command, *command.subcommands.values())]
        self.categories = {category: [c for c in self.rows if "@" + category in c.acl_categories]
                           for category in ACL_CATEGORIES}
        self.users: dict[bytes, User] = {}
        self.default = self._new_default_user()
        self.users[b"default"] = self.default
        self.log: list[LogEntry] = []  # newest first
        self.log_max_len = log_max_len
        self.requirepass = ""  # as last applied to the default user

    # ------------------------------------------------------------ commands

    def find_command(self, name: bytes) -> Command | None:
        """``get`` or ``config|get``, by its original name (Redis's ACLLookupCommand)."""
        base, _, sub = name.decode(errors="replace").lower().partition("|")
        command = self.lookup.get(base)
        if not sub or command is None:
            return command
        if "|" in sub or not command.subcommands:
            return None
        return command.subcommands.get(sub.encode())

    # ------------------------------------------------------------- rules

    def _new_default_user(self) -> User:
        user = User(b"default")
        for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            self.apply_rule(user, rule)
        user.refresh()
        return user

    def apply_rule(self, user: User, rule: bytes) -> None:
        """One ACL SETUSER rule (Redis's ACLSetUser); RuleError with Redis's reason.

        The caller calls ``user.refresh()`` when done."""
        if not rule:
            return  # an empty rule does nothing, as in Redis
        lowered = rule.lower()
        if lowered in (b"on", b"off"):
            user.enabled = lowered == b"on"
        elif lowered in (b"sanitize-payload", b"skip-sanitize-payload"):
            user.sanitize = lowered.decode()
        elif lowered == b"nopass":
            user.nopass = True
            user.passwords.clear()
        elif lowered == b"resetpass":
            user.nopass = False
            user.passwords.clear()
        elif rule[:1] in b"><#!":
            self._password_rule(user, rule)
        elif lowered == b"reset":
            for step in (b"resetpass", b"resetkeys", b"resetchannels", b"off",
                         b"sanitize-payload", b"-@all"):
                self.apply_rule(user, step)
        elif lowered == b"clearselectors":
            return  # caskd users have no selectors to clear
        elif rule[:1] == b"(":
            raise RuleError("caskd does not support ACL selectors")
        else:
            self._selector_rule(user, rule, lowered)

    def _password_rule(self, user: User, rule: bytes) -> None:
        kind, text = rule[:1], rule[1:]
        if kind in b"#!":
            if not _valid_hash(text):
                raise RuleError(BAD_HASH)
            digest = text.decode()
        else:
            digest = hash_password(text)
        if kind in b">#":
            if digest not in user.passwords:
                user.passwords.append(digest)
            user.nopass = False
        elif digest in user.passwords:
            user.passwords.remove(digest)
        else:
            raise RuleError(NO_SUCH_PASSWORD)

    def _selector_rule(self, user: User, rule: bytes, lowered: bytes) -> None:
        """Keys, channels and commands: Redis's ACLSetSelector."""
        if lowered in (b"allkeys", b"~*"):
            user.all_keys = True
            user.key_patterns.clear()
        elif lowered == b"resetkeys":
            user.all_keys = False
            user.key_patterns.clear()
        elif lowered in (b"allchannels", b"&*"):
            user.all_channels = True
            user.channel_patterns.clear()
        elif lowered == b"resetchannels":
            user.all_channels = False
            user.channel_patterns.clear()
        elif lowered in (b"allcommands", b"+@all", b"nocommands", b"-@all"):
            allow = lowered in (b"allcommands", b"+@all")
            user.allowed = set(self.rows) if allow else set()
            user.all_commands = user.future_commands = allow
            user.first_args.clear()
        elif rule[:1] == b"~":
            if user.all_keys:
                raise RuleError(KEYS_AFTER_ALL)
            _add_pattern(user.key_patterns, rule[1:])
        elif rule[:1] == b"%":
            raise RuleError("caskd does not support read/write key permissions (%R~, %W~)")
        elif rule[:1] == b"&":
            if user.all_channels:
                raise RuleError(CHANNELS_AFTER_ALL)
            _add_pattern(user.channel_patterns, rule[1:])
        elif rule[:2] in (b"+@", b"-@"):
            category = lowered[2:].decode(errors="replace")
            if category not in ACL_CATEGORIES:
                raise RuleError(UNKNOWN_NAME)
            self._allow_category(user, category, rule[:1] == b"+")
        elif rule[:1] == b"+":
            self._allow_command(user, rule[1:])
        elif rule[:1] == b"-":
            command = self.find_command(rule[1:])
            if command is None:
                raise RuleError(UNKNOWN_NAME)
            _change_permission(user, command, False)
        else:
            raise RuleError(SYNTAX)

    def _allow_category(self, user: User, category: str, allow: bool) -> None:
        for command in self.categories[category]:
            _change_permission(user, command, allow)

    def _allow_command(self, user: User, name: bytes) -> None:
        """``+get``, ``+config|get``, or a first argument of another command
        (``+select|0``)."""
        base, bar, first_arg = name.rpartition(b"|")
        command = self.find_command(base if bar else name)
        if command is None:
            raise RuleError(UNKNOWN_NAME)
        if not bar:
            _change_permission(user, command, True)
        elif "|" in command.full_name:
            raise RuleError(SUBCOMMAND_FIRST_ARG)
        elif not first_arg:
            raise RuleError(SYNTAX)
        elif command.subcommands:
            sub = self.find_command(name)
            if sub is None:
                raise RuleError(UNKNOWN_NAME)
            _change_permission(user, sub, True)
        else:
            args = user.first_args.get(command, ())
            if first_arg.lower() not in args:
                user.first_args[command] = (*args, first_arg.lower())

    def set_user(self, name: bytes, rules: list[bytes]) -> User:
        """ACL SETUSER: all rules apply or none (RuleError names the bad one)."""
        staged = User(name)
        existing = self.users.get(name)
        if existing is not None:
            staged.copy_from(existing)
        for rule in rules:
            try:
                self.apply_rule(staged, rule)
            except RuleError as exc:
                raise RuleError(f"Error in ACL SETUSER modifier "
                                f"'{rule.decode(errors='surrogateescape')}': {exc}") from None
        user = existing or self.users.setdefault(name, User(name))
        user.copy_from(staged)
        user.refresh()
        return user

    # ------------------------------------------------------------ describe

    def describe(self, user: User) -> str:
        """The user as ACL LIST and the ACL file show it: flags, passwords, keys,
        channels, commands."""
        parts = user.flags() + ["#" + digest for digest in user.passwords]
        parts += self.describe_keys(user).split()
        if user.all_channels:
            parts.append("&*")
        else:
            parts.append("resetchannels")
            parts += self.describe_channels(user).split()
        parts.append(self.describe_commands(user))
        return " ".join(parts)

    @staticmethod
    def describe_keys(user: User) -> str:
        if user.all_keys:
            return "~*"
        return " ".join("~" + p.decode(errors="surrogateescape") for p in user.key_patterns)

    @staticmethod
    def describe_channels(user: User) -> str:
        if user.all_channels:
            return "&*"
        return " ".join("&" + p.decode(errors="surrogateescape") for p in user.channel_patterns)

    def describe_commands(self, user: User) -> str:
        """Rules that rebuild exactly the user's command bits, the way Redis 7.0 words
        them: ``+@all`` or ``-@all``, the categories that fit best, then single
        commands and first-args."""
        additive = not user.future_commands
        described = User(b"")  # what the rules emitted so far give
        self.apply_rule(described, b"-@all" if additive else b"+@all")
        rules = ["-@all" if additive else "+@all"]
        unexplained = User(b"")  # the user's bits, each chosen category undone
        unexplained.allowed = set(user.allowed)
        candidates = list(ACL_CATEGORIES)
        while True:
            best = self._best_category(unexplained.allowed, candidates, additive)
            if best is None:
                break
            candidates.remove(best)
            rules.append(("+@" if additive else "-@") + best)
            self._allow_category(described, best, additive)
            self._allow_category(unexplained, best, not additive)
        for command in self.rows:
            has = command in user.allowed
            if has != (command in described.allowed):
                rules.append(("+" if has else "-") + command.full_name)
                _change_permission(described, command, has)
            if not has:
                rules += [f"+{command.full_name}|{arg.decode(errors='surrogateescape')}"
                          for arg in user.first_args.get(command, ())]
        return " ".join(rules)

    def _best_category(self, bits: set[Command], candidates: list[str],
                       additive: bool) -> str | None:
        """The category sharing more commands with ``bits`` than it differs by, and
        among those the one with the fewest differences, then the most in common."""
        best, best_diff, best_same = None, None, 0
        for category in candidates:
            commands = self.categories[category]
            on = sum(1 for c in commands if c in bits)
            off = len(commands) - on
            diff, same = (off, on) if additive else (on, off)
            if same > diff and (best_diff is None or diff < best_diff
                                or (diff == best_diff and same > best_same)):
                best, best_diff, best_same = category, diff, same
        return best

    # ------------------------------------------------------------- checks

    def authenticate(self, username: bytes, password: bytes) -> User | None:
        """The user these credentials log in as, or None (unknown, off, wrong password)."""
        user = self.users.get(username)
        if user is None or not user.enabled or not user.check_password(password):
            return None
        return user

    def follow_requirepass(self, password: str) -> bool:
        """``requirepass`` was set: the default user gets it as its only password, or
        nopass when empty (Redis's ACLUpdateDefaultUserPassword). True if it changed."""
        if password == self.requirepass:
            return False
        self.requirepass = password
        self.apply_rule(self.default, b"resetpass")
        self.apply_rule(self.default, b">" + password.encode() if password else b"nopass")
        return True

    def set_default_auth(self, client: Session) -> None:
        """A new connection's state, and RESET's: the default user, already authenticated
        when that user needs no password (Redis's clientSetDefaultAuth)."""
        default = self.default
        client.user = default
        client.authenticated = default.nopass and default.enabled
        client.refresh_request_limits()

    @staticmethod
    def log_in(client: Session, user: User) -> None:
        client.user = user
        client.authenticated = True
        client.refresh_request_limits()

    def default_changed(self, clients: Iterable[Session]) -> None:
        """The default user's password or state changed: whether a client must AUTH, and
        so its request size limits, may have too."""
        for client in clients:
            client.refresh_request_limits()

    def disconnect_users(self, users: list[User], current: Session,
                         clients: Iterable[Session]) -> None:
        """Deleted users' clients go (the current one after its reply), back to the
        default user and unauthenticated meanwhile, as Redis does."""
        for client in list(clients):
            if client.user in users:
                client.user = self.default
                client.authenticated = False
                client.refresh_request_limits()
                if client is current:
                    client.close_after_reply = True
                else:
                    client.close()

    def auth_required(self, client: Session) -> bool:
        """Redis's authRequired(): the default user has a password (or is off) and the
        client has not authenticated."""
        default = self.default
        return (not default.nopass or not default.enabled) and not client.authenticated

    @staticmethod
    def check(user: User, command: Command, argv: list[bytes]) -> tuple[str, int] | None:
        """None when ``user`` may run ``argv``; else why not (DENIED_CMD, DENIED_KEY or
        DENIED_CHANNEL) and the index of the argument at fault (ACLSelectorCheckCmd)."""
        if not user.all_commands and command.needs_auth and command not in user.allowed:
            first_args = user.first_args.get(command)
            if not first_args or len(argv) < 2 or argv[1].lower() not in first_args:
                return DENIED_CMD, 0
        if command.channels:  # their arguments are channels, not keys
            if user.all_channels or command.channels == "unsubscribe":
                return None
            positions = range(1, 2 if command.channels == "publish" else len(argv))
            for index in positions:
                if not Acl.may_use_channel(user, argv[index], command.channels == "pattern"):
                    return DENIED_CHANNEL, index
            return None
        if not user.all_keys:
            matchers = user.key_matchers
            for index in command.key_positions(argv):
                if not any(matches(argv[index]) for matches in matchers):
                    return DENIED_KEY, index
        return None

    @staticmethod
    def may_use_channel(user: User, channel: bytes, is_pattern: bool) -> bool:
        """Redis's ACLCheckChannelAgainstList: a channel must match one of the user's
        channel patterns; a PSUBSCRIBE pattern must be one of them, to the letter."""
        if user.all_channels:
            return True
        if is_pattern:
            return channel in user.channel_patterns
        return any(stringmatch(pattern, channel) for pattern in user.channel_patterns)

    def lost_channel_access(self, session: Session) -> bool:
        """Whether a subscriber's user may no longer use one of its subscriptions (the
        rules changed): Redis then disconnects it (ACLKillPubsubClientsIfNeeded)."""
        user = session.user
        return (any(not self.may_use_channel(user, pattern, True)
                    for pattern in session.patterns)
                or any(not self.may_use_channel(user, channel, False)
                       for channel in (*session.channels, *session.shard_channels)))

    def deny(self, client: Session, command: Command, argv: list[bytes]) -> str | None:
        """The dispatcher's check for a restricted user: None, or the NOPERM error (the
        denial is logged)."""
        denied = self.check(client.user, command, argv)
        if denied is None:
            return None
        reason, index = denied
        self.log_denial(client, reason, command, argv, index)
        if reason == DENIED_CMD:
            return f"NOPERM this user has no permissions to run the '{command.full_name}' " \
                   f"command"
        if reason == DENIED_CHANNEL:
            return "NOPERM this user has no permissions to access one of the channels used " \
                   "as arguments"
        return "NOPERM this user has no permissions to access one of the keys used as " \
               "arguments"

    def deny_in_exec(self, client: Session, command: Command,
                     argv: list[bytes]) -> str | None:
        """EXEC checks each queued command again: the rules may have changed since."""
        denied = self.check(client.user, command, argv)
        if denied is None:
            return None
        reason, index = denied
        self.log_denial(client, reason, command, argv, index, context="multi")
        why = {DENIED_CMD: "no permission to execute the command or subcommand",
               DENIED_KEY: "no permission to touch the specified keys",
               DENIED_CHANNEL: "no permission to access one of the channels used as "
                               "arguments"}[reason]
        return ("NOPERM ACLs rules changed between the moment the transaction was "
                "accumulated and the EXEC call. This command is no longer allowed for the "
                f"following reason: {why}")

    def log_denial(self, client: Session, reason: str, command: Command,
                   argv: list[bytes], index: int, context: str | None = None) -> None:
        client.last_command = command.full_name  # Redis sets it before any check
        target = command.full_name.encode() if reason == DENIED_CMD else argv[index]
        context = context or ("multi" if client.multi is not None else "toplevel")
        self.add_log_entry(reason, context, target, client.user.name,
                           client.server.describe_client(client))

    def add_log_entry(self, reason: str, context: str, target: bytes, username: bytes,
                      client_info: str) -> None:
        """Redis's addACLLogEntry: a like entry among the latest few is bumped instead."""
        entry = LogEntry(reason, context, target, username, time.time_ns() // 1_000_000,
                         client_info)
        for i, old in enumerate(self.log[:_LOG_SCAN]):
            if old.same_as(entry):
                del self.log[i]
                old.count += 1
                old.created_ms, old.client_info = entry.created_ms, client_info
                self.log.insert(0, old)
                return
        self.log.insert(0, entry)
        del self.log[self.log_max_len:]

    # --------------------------------------------------------------- file

    def load_file(self, path: Path) -> list[User]:
        """ACL LOAD (and the ``aclfile`` at start): replace every user with the file's,
        all or nothing; AclFileError with Redis's text lists every problem found.

        The default user object stays (connected clients keep it) and takes the file's
        rules, or a fresh default user's if the file has none. Returns the users that
        were dropped: as in Redis, their clients must be disconnected."""
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise AclFileError(f"Error loading ACLs, opening file '{path}': "
                               f"{exc.strerror}") from None
        users: dict[bytes, User] = {}
        errors = [self._load_line(users, line.strip(b" \t\r\n"), path, number)
                  for number, line in enumerate(text.split(b"\n"), 1)]
        if any(errors):
            raise AclFileError("".join(errors) + "WARNING: ACL errors detected, no change "
                               "to the previously active ACL rules was performed")
        self.default.copy_from(users.pop(b"default", None) or self._new_default_user())
        self.default.refresh()
        dropped = [user for user in self.users.values() if user is not self.default]
        self.users = {b"default": self.default, **users}
        return dropped

    def _load_line(self, users: dict[bytes, User], line: bytes, path: Path,
                   number: int) -> str:
        """Load one ``user <name> <rules...>`` line into ``users``; an error text or ""."""
        if not line:
            return ""
        words = line.split(b" ")
        if words[0] != b"user" or len(words) < 2:
            return f"{path}:{number} should start with user keyword followed by the username. "
        name = words[1]
        shown = name.decode(errors="surrogateescape")
        if has_spaces(name):
            return f"'{path}:{number}: username '{shown}' contains invalid characters. "
        if name in users:
            return f"WARNING: Duplicate user '{shown}' found on line {number}. "
        user = users[name] = User(name)
        problems = []
        for rule in (word.strip(b"\t\r\n") for word in words[2:]):
            try:
                self.apply_rule(user, rule)
            except RuleError as exc:
                problems.append(f"{path}:{number}: Error in applying operation "
                                f"'{rule.decode(errors='surrogateescape')}': {exc}. ")
        user.refresh()
        return "".join(problems)

    def save_file(self, path: Path) -> None:
        """ACL SAVE: every user, written to a temporary file renamed over the old one.
        Owner-only permissions: the file holds password hashes. OSError on failure."""
        text = "".join(f"user {name.decode(errors='surrogateescape')} {self.describe(u)}\n"
                       for name, u in sorted(self.users.items()))
        temp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{time.time_ns() // 1_000_000}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(text.encode(errors="surrogateescape"))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except OSError:
            temp.unlink(missing_ok=True)
            raise


def _add_pattern(patterns: list[bytes], pattern: bytes) -> None:
    if has_spaces(pattern):
        raise RuleError(SYNTAX)
    if pattern not in patterns:
        patterns.append(pattern)


def _change_permission(user: User, command: Command, allow: bool) -> None:
    """Set or clear a command's bit, its subcommands' with it (ACLChangeSelectorPerm)."""
    for target in (command, *command.subcommands.values()):
        if allow:
            user.allowed.add(target)
        else:
            user.allowed.discard(target)
            user.all_commands = False
    user.first_args.pop(command, None)


def generate_password(bits: int) -> str:
    """ACL GENPASS: ``bits`` random bits as hex digits, rounded up to whole digits."""
    digits = (bits + 3) // 4
    return secrets.token_hex((digits + 1) // 2)[:digits]
