"""MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
[AUTH2 username password] [KEYS key ...], as Redis's migrateCommand (cluster.c):
each key DUMPed (with what is left of its TTL) and sent as RESTORE, after AUTH and a
SELECT where the cached connection needs them; a key the target acknowledged is
then deleted here, unless COPY.

Redis does the round trip with blocking socket calls, stalling every client for it.
caskd serializes the keys at once, then does the network exchange on an asyncio
connection while the MIGRATE client waits (as a blocked client does: its next
commands wait too) and everyone else is served. Because other clients run
meanwhile, a key written during the round trip is not deleted when the target
acknowledges the older value it got: the newer write stays here (each key is
WATCHed for the purpose, through the server's change events).

Inside MULTI/EXEC or a script, where nothing may wait, the exchange is done with a
blocking socket, as Redis does it always. Connections are cached per host:port
(up to 64, closed after 10 s unused) as Redis's migrateGetSocket caches them, and
one that fails before the first reply is dropped and the exchange tried once more
on a fresh one, unless it timed out.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from protocol.reply import OK, Error, SimpleString
from server.blocking import Blocked
from server.commands.dump import payload_of
from server.errors import SYNTAX, CommandError, parse_int
from storage.engine import now_ms

if TYPE_CHECKING:
    from server.session import Session

CACHE_ITEMS = 64  # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10  # MIGRATE_SOCKET_CACHE_TTL, seconds
_CONNECT_ERROR = "IOERR error or timeout connecting to the client"
# Redis's connSocketBlockingConnect reports only a connect that fails at once (the name
# does not resolve); a refused or timed-out one counts as connected, and the first
# write then fails: so those are reported as writing errors.
_CONNECT_FAILED_LATER = "IOERR error or timeout writing to target instance"
_KEYS_NOT_EMPTY = ("ERR When using MIGRATE KEYS option, the key argument must be set to "
                   "the empty string")


@dataclass
class Request:
    """What one MIGRATE sends and how to read what comes back."""

    host: bytes
    port: bytes
    db: int
    timeout: float  # seconds, for the connect and for each read and write
    copy: bool
    replace: bool
    username: bytes | None
    password: bytes | None
    keys: list[bytes] = field(default_factory=list)
    payloads: list[tuple[int, bytes]] = field(default_factory=list)  # (ttl ms, DUMP)

    def commands(self, select: bool) -> bytes:
        """AUTH, SELECT (if the connection is not on ``db`` already), one RESTORE a key."""
        commands = []
        if self.password is not None:
            auth = [b"AUTH", self.password]
            if self.username is not None:
                auth.insert(1, self.username)
            commands.append(auth)
        if select:
            commands.append([b"SELECT", b"%d" % self.db])
        for key, (ttl, payload) in zip(self.keys, self.payloads, strict=True):
            commands.append([b"RESTORE", key, b"%d" % ttl, payload,
                             *([b"REPLACE"] if self.replace else [])])
        return b"".join(_resp(command) for command in commands)

    def replies_expected(self, select: bool) -> int:
        return (self.password is not None) + select + len(self.keys)


def _resp(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)


@dataclass
class ExchangeFailed:
    """How the connection failed: while ``writing`` or reading, ``timed_out`` or not."""

    writing: bool
    timed_out: bool


# ------------------------------------------------------------------ parsing


def parse(client: Session, argv: list[bytes]) -> Request:
    """The options first, then timeout and db, as migrateCommand checks them."""
    copy = replace = False
    username = password = None
    first_key, num_keys = 3, 1
    i = 6
    while i < len(argv):
        option, more = argv[i].lower(), len(argv) - 1 - i
        if option == b"copy":
            copy = True
        elif option == b"replace":
            replace = True
        elif option == b"auth":
            if not more:
                raise CommandError(SYNTAX)
            i += 1
            password = argv[i]
        elif option == b"auth2":
            if more < 2:
                raise CommandError(SYNTAX)
            username, password = argv[i + 1], argv[i + 2]
            i += 2
        elif option == b"keys":
            if argv[3]:
                raise CommandError(_KEYS_NOT_EMPTY)
            first_key, num_keys = i + 1, len(argv) - i - 1
            break
        else:
            raise CommandError(SYNTAX)
        i += 1
    timeout = parse_int(argv[5])
    db = parse_int(argv[4])
    request = Request(argv[1], argv[2], db, (timeout if timeout > 0 else 1000) / 1000,
                      copy, replace, username, password)
    request.keys = argv[first_key:first_key + num_keys]
    return request


_SKIPPED = {b"auth": 1, b"auth2": 2}  # the options' own arguments: not KEYS


def migrate_keys(argv: list[bytes]) -> list[int]:
    """MIGRATE's key positions as Redis's migrateGetKeys finds them: the key argument,
    or those after KEYS (none if the key argument is not "", a syntax error)."""
    i = 6
    while i < len(argv):
        option = argv[i].lower()
        if option == b"keys":
            return [] if argv[3] else list(range(i + 1, len(argv)))
        i += 1 + _SKIPPED.get(option, 0)
    return [3]


# ------------------------------------------------------------------ the command


def migrate(client: Session, argv: list[bytes]):
    request = parse(client, argv)
    engine, db = client.engine, client.db
    keys, payloads = [], []
    for key in request.keys:  # lookupKeyRead: the missing ones are left out
        payload = payload_of(engine, db, key)
        client.server.count_lookup(payload is not None)
        if payload is None:
            continue
        expire_at = engine.get_expire(db, key)
        ttl = max(expire_at - now_ms(), 1) if expire_at else 0
        keys.append(key)
        payloads.append((ttl, payload))
    if not keys:
        return SimpleString("NOKEY")
    request.keys, request.payloads = keys, payloads
    sockets = client.server.migrate_sockets
    if client.in_exec or client.peer is None:  # nothing may wait: block, as Redis does
        return _finish(client, request, sockets.exchange_now(request), guards=None)
    guards = [_Guard() for _ in keys]
    for guard, key in zip(guards, keys, strict=True):
        client.server.watches.watch(guard, engine, db, [key])
    task = client.server.loop.create_task(sockets.exchange(request))
    task.add_done_callback(lambda done: _answer(client, request, done, guards))
    raise Blocked([], object, 0)


class _Guard:
    """A watcher of one migrating key: ``cas_dirty`` once it is written meanwhile."""

    def __init__(self) -> None:
        self.watched: dict = {}
        self.cas_dirty = False


def _answer(client: Session, request: Request, done: asyncio.Task, guards: list[_Guard]):
    """The exchange is over: the keys the target took go (even if the client has
    disconnected meanwhile: they have moved), and the client gets its reply."""
    for guard in guards:
        client.server.watches.unwatch_all(guard)
    try:
        outcome = done.result()
    except Exception as exc:  # a bug: answer, never leave the client waiting
        client.server.log.exception("MIGRATE failed")
        outcome = Error(f"ERR internal error in 'migrate': {exc}")
    reply = _finish(client, request, outcome, guards)
    if client.blocked is None:
        return
    # The dispatcher did not count a call that went on waiting: count it now, as
    # Redis counts MIGRATE (INFO commandstats, errorstats).
    command = client.blocked.command
    command.calls += 1
    if isinstance(reply, Error):
        command.failed_calls += 1
        client.server.stats.count_error(reply.text)
    client.server.blocking.unblock(client, reply)


def _finish(client: Session, request: Request, outcome, guards: list[_Guard] | None):
    """The reply, given what the target answered, deleting here each key it took
    (unless COPY, or the key changed meanwhile), as migrateCommand does: keys
    acknowledged before an error or a broken connection are done too."""
    if isinstance(outcome, Error):
        return outcome
    lines = list(outcome.lines)
    auth = lines.pop(0) if request.password is not None and lines else None
    selected = lines.pop(0) if outcome.select and lines else None
    target_error = None
    acknowledged = []
    for index, line in enumerate(lines):
        failed = next((reply for reply in (auth, selected, line)
                       if reply is not None and reply.startswith(b"-")), None)
        if failed is not None:
            target_error = target_error or failed
        elif not request.copy and not (guards and guards[index].cas_dirty):
            acknowledged.append(request.keys[index])
    if acknowledged:
        with client.engine.batch():  # one atomic unit, as Redis propagates one DEL
            for key in acknowledged:
                client.engine.delete(client.db, key)
    if target_error is not None:
        text = target_error[1:].decode("utf-8", "surrogateescape")
        return Error(f"ERR Target instance replied with error: {text}")
    if outcome.failure is not None:
        doing = "writing" if outcome.failure.writing else "reading"
        return Error(f"IOERR error or timeout {doing} to target instance")
    return OK


# ------------------------------------------------------------------ connections


class _Cached:
    """A cached connection to one target, and the db it last SELECTed (-1: unknown)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_db = -1
        self.last_use = time.monotonic()
        self.lock = asyncio.Lock()  # one MIGRATE at a time on it


@dataclass
class Outcome:
    """The target's replies, as lines, in the order asked: AUTH's (if sent), SELECT's
    (if ``select``), then one per RESTORE; ``failure`` if the connection broke first."""

    lines: list[bytes]
    select: bool
    failure: ExchangeFailed | None = None


class MigrateSockets:
    """Redis's migrate_cached_sockets: host:port -> an open connection."""

    def __init__(self) -> None:
        self.cached: dict[bytes, _Cached] = {}

    async def exchange(self, request: Request) -> Outcome | Error:
        """Send the request on the cached connection (or a new one) and read the
        replies; Error if no connection could be made."""
        name = request.host + b":" + request.port
        before_restores = request.password is not None
        for attempt in (1, 2):
            cached = await self._connection(name, request)
            if isinstance(cached, Error):
                return cached
            async with cached.lock:
                select = cached.last_db != request.db
                outcome = await self._talk(cached, request, select)
            failure = outcome.failure
            if failure is not None:
                self._drop(name, cached)
                if (attempt == 1 and not failure.timed_out
                        and len(outcome.lines) <= before_restores + select):
                    continue  # no RESTORE answered (a closed cached connection?): once more
            cached.last_db = -1 if failure or _any_error(outcome.lines) else request.db
            return outcome
        raise AssertionError("unreachable")

    async def _connection(self, name: bytes, request: Request) -> _Cached | Error:
        cached = self.cached.get(name)
        if cached is not None:
            cached.last_use = time.monotonic()
            return cached
        if len(self.cached) >= CACHE_ITEMS:  # Redis drops one at random
            self._drop(*next(iter(self.cached.items())))
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(request.host.decode(), _atoi(request.port)),
                request.timeout)
        except (socket.gaierror, OverflowError, UnicodeDecodeError):
            return Error(_CONNECT_ERROR)
        except (OSError, TimeoutError):
            return Error(_CONNECT_FAILED_LATER)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cached = self.cached[name] = _Cached(reader, writer)
        asyncio.get_running_loop().call_later(CACHE_TTL, self._expire, name, cached)
        return cached

    def _expire(self, name: bytes, cached: _Cached) -> None:
        """Close a connection unused for CACHE_TTL (Redis: migrateCloseTimedoutSockets)."""
        if self.cached.get(name) is not cached:
            return
        idle = time.monotonic() - cached.last_use
        if idle >= CACHE_TTL and not cached.lock.locked():
            self._drop(name, cached)
        else:
            asyncio.get_running_loop().call_later(max(CACHE_TTL - idle, 1), self._expire,
                                                  name, cached)

    def _drop(self, name: bytes, cached: _Cached) -> None:
        if self.cached.get(name) is cached:
            del self.cached[name]
        cached.writer.close()

    @staticmethod
    async def _talk(cached: _Cached, request: Request, select: bool) -> Outcome:
        outcome = Outcome([], select)
        try:
            cached.writer.write(request.commands(select))
            await asyncio.wait_for(cached.writer.drain(), request.timeout)
        except (OSError, TimeoutError) as exc:
            outcome.failure = ExchangeFailed(True, isinstance(exc, TimeoutError))
            return outcome
        for _ in range(request.replies_expected(select)):
            try:
                line = await asyncio.wait_for(cached.reader.readline(), request.timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                line, timed_out = b"", isinstance(exc, TimeoutError)
            else:
                timed_out = False
            if not line.endswith(b"\n"):  # closed, or broken
                outcome.failure = ExchangeFailed(False, timed_out)
                break
            outcome.lines.append(line.rstrip(b"\r\n"))
        return outcome

    @staticmethod
    def exchange_now(request: Request) -> Outcome | Error:
        """exchange() with a blocking socket of its own (inside MULTI or a script,
        where nothing may wait): the loop stalls for it, as Redis always does."""
        select = True
        try:
            sock = socket.create_connection((request.host.decode(), _atoi(request.port)),
                                            timeout=request.timeout)
        except (socket.gaierror, OverflowError, UnicodeDecodeError):
            return Error(_CONNECT_ERROR)
        except OSError:
            return Error(_CONNECT_FAILED_LATER)
        outcome = Outcome([], select)
        with sock, sock.makefile("rb") as replies:
            try:
                sock.sendall(request.commands(select))
            except OSError as exc:
                outcome.failure = ExchangeFailed(True, isinstance(exc, TimeoutError))
                return outcome
            for _ in range(request.replies_expected(select)):
                try:
                    line, timed_out = replies.readline(), False
                except OSError as exc:
                    line, timed_out = b"", isinstance(exc, TimeoutError)
                if not line.endswith(b"\n"):
                    outcome.failure = ExchangeFailed(False, timed_out)
                    break
                outcome.lines.append(line.rstrip(b"\r\n"))
        return outcome


def _atoi(text: bytes) -> int:
    """C's atoi, as Redis reads the port: the leading number, else 0."""
    match = re.match(rb"\s*[-+]?\d+", text)
    return int(match.group()) if match else 0


def _any_error(lines: list[bytes]) -> bool:
    return any(line.startswith(b"-") for line in lines)
