"""Running a script: the sandboxes, the run in progress and its ``redis.call``.

As in Redis (script.c scriptPrepareForRun / scriptCall, script_lua.c
luaRedisGenericCommand), a script's commands run for a session of its own (a
client with no socket) that takes the caller's database and user, starts in RESP2
(``redis.setresp`` changes it) and goes through the dispatcher's ``call``, after
the checks Redis makes for scripts: arity, ``noscript``, ACL, writes from
read-only scripts, a disk that refuses writes. The whole script is one engine
batch, so its writes are one atomic unit in the log, and nothing else runs until it
is over. Its commands are counted in commandstats and SLOWLOG, seen by MONITOR and
WATCH, as Redis's call() does for them.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from protocol.reply import Error, Raw
from server.acl import DENIED_CMD
from server.commands.registry import DENYOOM, NOSCRIPT, Command
from server.errors import CommandError
from server.maxmemory import OOM
from server.replication.replica import MASTERDOWN_ERROR, READONLY_ERROR
from server.scripting import busy
from server.scripting.conversions import error_table, lua_to_reply, reply_to_lua
from server.scripting.functions import Libraries, LibraryError, register_function
from server.scripting.libraries import Lrand48, lua_number, lua_number_text, lua_type
from server.scripting.sandbox import LuaSandbox
from server.session import Session

if TYPE_CHECKING:
    from server.app import Server

_LOG_LEVELS = {0: 10, 1: 15, 2: 20, 3: 30}  # redis.LOG_* -> Python logging levels


@dataclass
class Script:
    """A cached EVAL script (eval.c luaScript): its body, compiled function, flags."""

    sha: bytes  # of the body, 40 lowercase hex digits
    body: bytes
    function: Any
    flags: frozenset[str]
    compat: bool  # no shebang: Redis's "eval compatibility mode" (no flags declared)


class ScriptRun:
    """The script in progress (script.c scriptRunCtx)."""

    def __init__(self, caller: Session, session: Session, name: bytes, argv: list[bytes],
                 read_only: bool, eval_mode: bool) -> None:
        self.caller = caller
        self.session = session
        self.name = name  # the sha of an EVAL, the function's name for FCALL
        self.argv = argv  # the caller's EVAL/FCALL (FUNCTION STATS shows it)
        self.read_only = read_only
        self.eval_mode = eval_mode
        self.started = time.monotonic()
        self.wrote = False
        self.busy = False  # past busy-reply-threshold: others get -BUSY
        self.killed = False  # SCRIPT KILL / FUNCTION KILL asked it to stop


class Scripting:
    """Everything scripting keeps per server: the EVAL and functions sandboxes, the
    script cache, the function libraries and the run in progress."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.dispatcher = server.dispatcher
        self.random = Lrand48()
        self.scripts: dict[bytes, Script] = {}
        self.running: ScriptRun | None = None
        self.allow_oom = False  # the script about to run (or running) declared allow-oom
        self._session: Session | None = None
        self.eval_sandbox = self._new_sandbox(functions_engine=False)
        self.libraries = Libraries()
        self.function_sandbox = self._new_sandbox(functions_engine=True)

    def _new_sandbox(self, functions_engine: bool) -> LuaSandbox:
        return LuaSandbox(lambda sandbox: self._bridge(sandbox, functions_engine),
                          functions_engine)

    def _bridge(self, sandbox: LuaSandbox, functions_engine: bool) -> dict[str, Any]:
        """The Python functions ``sandbox``'s redis API calls."""
        api = RedisApi(self, sandbox)
        bridge: dict[str, Any] = {
            "call": RedisCall(self, sandbox, True), "pcall": RedisCall(self, sandbox, False),
            "acl_check_cmd": lambda *args: self._acl_check(sandbox, args),
            "sha1hex": api.sha1hex, "error_reply": api.error_reply,
            "status_reply": api.status_reply, "log": api.log, "setresp": api.setresp,
            "set_repl": api.set_repl, "random": api.random, "randomseed": api.randomseed,
            "interrupt": lambda: self._interrupt(sandbox),
            "version": lambda: (_version_number(self.server.redis_version),
                                self.server.redis_version.encode())}
        if functions_engine:
            bridge["register_function"] = lambda *args: register_function(sandbox, args)
        return bridge

    def reset_eval(self) -> None:
        """SCRIPT FLUSH: a new Lua state and an empty cache (Redis's scriptingReset)."""
        self.scripts.clear()
        self.eval_sandbox = self._new_sandbox(functions_engine=False)

    def reset_functions(self) -> None:
        """FUNCTION FLUSH / RESTORE FLUSH: a new functions state, no libraries."""
        self.libraries.clear()
        self.function_sandbox = self._new_sandbox(functions_engine=True)

    def load_libraries(self, stored: dict[bytes, bytes]) -> None:
        """The libraries the engine stored (at start, DEBUG RELOAD), as Redis's
        rdbFunctionLoad loads them. Each was checked when FUNCTION LOAD stored it, so
        only a change in caskd can make one fail: it is reported, the others load."""
        self.reset_functions()
        for name, code in stored.items():
            try:
                self.libraries.load(self.function_sandbox, code, replace=False)
            except LibraryError as exc:
                self.server.log.error("Failed loading library %s: %s",
                                      name.decode("utf-8", "replace"), exc)

    # ------------------------------------------------------------ running

    def feed_monitors(self, caller: Session, argv: list[bytes]) -> None:
        """EVAL and FCALL are shown to MONITOR before the commands they run."""
        if self.server.monitors:
            self.server.dispatcher.feed_monitors(caller, argv[0].lower().decode(), argv)

    def prepare(self, caller: Session, flags: frozenset[str], compat: bool,
                read_only: bool) -> None:
        """scriptPrepareForRun's refusals for a script that declared its flags."""
        # Its first write may then run under OOM (SCRIPT_ALLOW_OOM; read by check).
        self.allow_oom = not compat and "allow-oom" in flags
        # A replica's refusals: Redis's processCommand gives them, a script's declared
        # flags being its command flags there (scriptFlagsToCmdFlags).
        link = self.server.master_link
        if not compat and link is not None and "allow-stale" not in flags and \
                link.refuses_stale(caller):
            raise CommandError(MASTERDOWN_ERROR)
        if compat or "no-writes" in flags:
            return
        if link is not None and link.refuses_writes(caller):
            raise CommandError(READONLY_ERROR)
        if not self.server.engine.writable:
            raise CommandError("MISCONF Redis is configured to persist data to AOF, but it's "
                               "currently unable to persist to disk. Writable scripts are "
                               "blocked. Use 'no-writes' flag for read only scripts. AOF "
                               f"error: {self.server.dispatcher.disk_error()}")
        if read_only:
            raise CommandError("ERR Can not execute a script with write flag using *_ro "
                               "command.")
        if self.server.maxmemory.oom and not self.allow_oom:
            # processCommand refuses it so: the script's flags make EVAL denyoom
            raise CommandError(OOM)

    def kill(self, eval_mode: bool) -> None:
        """SCRIPT KILL / FUNCTION KILL, sent while a script is busy (scriptKill)."""
        run = self.running
        if run is None:
            raise CommandError("NOTBUSY No scripts in execution right now.")
        if run.wrote:
            raise CommandError("UNKILLABLE Sorry the script already executed write commands "
                               "against the dataset. You can either wait the script "
                               "termination or kill the server in a hard way using the "
                               "SHUTDOWN NOSAVE command.")
        if eval_mode != run.eval_mode:
            raise CommandError(busy.busy_error(run.eval_mode))
        run.killed = True

    def _interrupt(self, sandbox: LuaSandbox) -> Any:
        """The count hook's call (scriptInterrupt): past busy-reply-threshold, answer
        the other clients; the error to raise once the script is killed, else None."""
        run = self.running
        if run is None:
            return None
        if not run.killed:
            elapsed_ms = (time.monotonic() - run.started) * 1000
            if elapsed_ms < self.server.config["busy-reply-threshold"]:
                return None
            if not run.busy:
                run.busy = True
                self.server.log.warning(
                    "Slow script detected: still in execution after %d milliseconds. You "
                    "can try killing the script using the %s command. Script name is: %s.",
                    elapsed_ms, "SCRIPT KILL" if run.eval_mode else "FUNCTION KILL",
                    run.name.decode("utf-8", "replace"))
            busy.answer_others(self.server, run.caller, busy.busy_error(run.eval_mode))
            if not run.killed:
                return None
            self.server.log.warning("Lua script killed by user with SCRIPT KILL.")
        return error_table(sandbox, b"Script killed by user with SCRIPT KILL...")

    def run(self, caller: Session, sandbox: LuaSandbox, function: Any, argv: list[bytes],
            numkeys: int, name: bytes, read_only: bool, eval_mode: bool):
        """Run a compiled script or a function for ``argv`` (EVAL/FCALL's, keys from
        argv[3]) and return the caller's reply."""
        session = self._script_session(caller)
        run = self.running = ScriptRun(caller, session, name, argv, read_only, eval_mode)
        watched = self.server.config["busy-reply-threshold"] > 0
        try:
            with self.server.engine.batch():
                result = sandbox.call(function, watched, argv[3:], numkeys)
        finally:
            self.running = None
            if run.busy:
                self.server.log.warning("Slow script finished (%d ms)",
                                        (time.monotonic() - run.started) * 1000)
        if not result[0]:
            return _error_reply(sandbox, result[1], run.name)
        return lua_to_reply(sandbox, result[1], session.resp3, caller.resp3, result[2:])

    def _script_session(self, caller: Session) -> Session:
        """The script's client (Redis's lua_client): the caller's db and user, RESP2."""
        session = self._session
        if session is None:
            session = self._session = Session(self.server, address="lua")
            session.in_exec = True  # blocking commands answer at once, as in EXEC
        session.db = caller.db
        session.user = caller.user
        session.authenticated = True
        session.protocol, session.resp3 = 2, False
        return session

    def check(self, run: ScriptRun, argv: list[bytes]) -> tuple[Command | None, bytes | None]:
        """The command to run, or why scriptCall refuses it, as Redis words it (and
        counts it: errorstats, rejected_calls)."""
        server = self.server
        command = self.dispatcher.resolve(argv)
        message = None
        if command is None:
            message = "Unknown Redis command called from script"
        elif (len(argv) != command.arity) if command.arity > 0 else \
                (len(argv) < -command.arity):  # command.arity_ok(), inlined: the hot path
            message = "Wrong number of args calling Redis command from script"
        elif NOSCRIPT in command.flag_set:
            message = "This Redis command is not allowed from script"
        elif not run.session.user.unrestricted and \
                (denied := server.acl.check(run.session.user, command, argv)) is not None:
            reason, index = denied
            target = command.full_name.encode() if reason == DENIED_CMD else argv[index]
            server.acl.add_log_entry(reason, "lua", target, run.caller.user.name,
                                     server.describe_client(run.caller))
            message = "The user executing the script " + (
                "can't run this command or subcommand" if reason == DENIED_CMD else
                "can't access at least one of the keys mentioned in the command arguments")
        elif command.is_write:
            if run.read_only:
                message = "Write commands are not allowed from read-only scripts."
            elif not run.wrote and server.master_link is not None and \
                    server.master_link.refuses_writes(run.caller):
                message = "-" + READONLY_ERROR
            elif not run.wrote and not server.engine.writable:
                message = "-" + server.dispatcher.misconf_error()
            elif not run.wrote and server.maxmemory.oom and not self.allow_oom and \
                    DENYOOM in command.flag_set:  # scriptVerifyOOM
                message = "-" + OOM
            else:
                run.wrote = True
        if message is None:
            return command, None
        if command is not None:
            command.rejected_calls += 1
        server.stats.count_error(message[1:] if message.startswith("-")
                                 else "ERR " + message)
        return None, message.encode()

    def _acl_check(self, sandbox: LuaSandbox, args: tuple) -> bool:
        """redis.acl_check_cmd: may the caller's user run this command?"""
        argv = _argv(args)
        if isinstance(argv, bytes):
            raise sandbox.error(error_table(sandbox, argv))
        command = self.server.dispatcher.resolve(argv)
        if command is None:
            raise sandbox.error(error_table(
                sandbox, b"Invalid command passed to redis.acl_check_cmd()"))
        run = self.running
        user = run.caller.user if run is not None else self.server.acl.default
        return user.unrestricted or self.server.acl.check(user, command, argv) is None

    def memory(self) -> dict[str, int]:
        """What INFO memory reports: the two Lua states' sizes (their own count), and
        the cached scripts' and the libraries' code."""
        return {"eval_vm": self.eval_sandbox.memory(),
                "functions_vm": self.function_sandbox.memory(),
                "scripts": sum(len(script.body) for script in self.scripts.values()),
                "functions": sum(len(library.code)
                                 for library in self.libraries.libraries.values())}


class RedisCall:
    """redis.call (``raise_errors``) or redis.pcall for one sandbox
    (luaRedisGenericCommand): the Python object Lua calls, so that, as Redis's C
    function, it adds no Lua frame (an error it raises is at the caller's line, even
    in a tail call) and nothing stands between Lua and the command."""

    def __init__(self, scripting: Scripting, sandbox: LuaSandbox, raise_errors: bool) -> None:
        self.scripting = scripting
        self.sandbox = sandbox
        self.raise_errors = raise_errors

    def __call__(self, *args: Any) -> Any:
        sandbox = self.sandbox
        scripting = self.scripting
        run = scripting.running
        if run is None:
            raise sandbox.error(error_table(
                sandbox, b"redis.call/pcall can only be called inside a script invocation"))
        argv = _argv(args)
        if type(argv) is bytes:
            error = error_table(sandbox, argv)
            if self.raise_errors:
                raise sandbox.error(error)
            return error
        command, refusal = scripting.check(run, argv)
        if refusal is not None:
            error = error_table(sandbox, refusal, from_command=True)
        else:
            session = run.session
            reply = scripting.dispatcher.call(session, command, argv)
            value, is_error = reply_to_lua(sandbox, reply, session.resp3)
            if not is_error:
                return value
            error = value
        if self.raise_errors:
            raise sandbox.error(error)
        return error


class RedisApi:
    """The redis.* functions besides call/pcall (script_lua.c), and math.random on
    Redis's PRNG, with Redis's argument checks and error texts."""

    def __init__(self, scripting: Scripting, sandbox: LuaSandbox) -> None:
        self.scripting = scripting
        self.sandbox = sandbox

    def _raise(self, message: bytes) -> Exception:
        return self.sandbox.error(error_table(self.sandbox, message))

    def _outside_script(self, name: bytes) -> Exception | None:
        if self.scripting.running is None:
            return self._raise(name + b" can only be called inside a script invocation")
        return None

    def sha1hex(self, *args) -> bytes:
        if len(args) != 1:
            raise self._raise(b"wrong number of arguments")
        text = _lua_string(args[0])
        return hashlib.sha1(text or b"").hexdigest().encode()

    def error_reply(self, *args) -> Any:
        sandbox = self.sandbox
        if len(args) != 1 or type(args[0]) is not bytes:
            return error_table(sandbox, b"wrong number or type of arguments")
        message = args[0]
        return error_table(sandbox, message if message.startswith(b"-") else b"-" + message)

    def status_reply(self, *args) -> Any:
        sandbox = self.sandbox
        if len(args) != 1 or type(args[0]) is not bytes:
            return error_table(sandbox, b"wrong number or type of arguments")
        return sandbox.table({b"ok": args[0]})

    def log(self, *args) -> None:
        if len(args) < 2:
            raise self._raise(b"redis.log() requires two arguments or more.")
        level = lua_number(args[0])
        if level is None:
            raise self._raise(b"First argument must be a number (log level).")
        if not 0 <= int(level) <= 3:
            raise self._raise(b"Invalid debug level.")
        parts = [text for text in map(_lua_string, args[1:]) if text is not None]
        self.scripting.server.log.log(_LOG_LEVELS[int(level)], "%s",
                                      b" ".join(parts).decode("utf-8", "replace"))

    def setresp(self, *args) -> None:
        if (refusal := self._outside_script(b"redis.setresp")) is not None:
            raise refusal
        if len(args) != 1:
            raise self._raise(b"redis.setresp() requires one argument.")
        resp = int(lua_number(args[0]) or 0)
        if resp not in (2, 3):
            raise self._raise(b"RESP version must be 2 or 3.")
        session = self.scripting.running.session
        session.protocol, session.resp3 = resp, resp == 3

    def set_repl(self, *args) -> None:
        """Accepted and checked; caskd logs a script's effects, never the script, so
        every write is kept whatever the flags say."""
        if (refusal := self._outside_script(b"redis.set_repl")) is not None:
            raise refusal
        if len(args) != 1:
            raise self._raise(b"redis.set_repl() requires two arguments.")
        if int(lua_number(args[0]) or 0) & ~3:
            raise self._raise(b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                              b"REPL_ALL or REPL_NONE.")

    def random(self, *args) -> float:
        """redis_math_random: Lua's math.random on redisLrand48."""
        sandbox = self.sandbox
        if self.scripting.running is None:
            raise sandbox.error_here(b"math.random can only be called inside a script "
                                     b"invocation")
        r = self.scripting.random.random()
        if not args:
            return r
        if len(args) == 1:
            upper = self._checkint(args, 0, b"random")
            if upper < 1:
                raise sandbox.error_here(b"bad argument #1 to 'random' (interval is empty)")
            return math.floor(r * upper) + 1
        if len(args) == 2:
            lower, upper = self._checkint(args, 0, b"random"), self._checkint(args, 1, b"random")
            if lower > upper:
                raise sandbox.error_here(b"bad argument #2 to 'random' (interval is empty)")
            return math.floor(r * (upper - lower + 1)) + lower
        raise sandbox.error_here(b"wrong number of arguments")

    def randomseed(self, *args) -> None:
        if self.scripting.running is None:
            raise self.sandbox.error_here(b"math.randomseed can only be called inside a "
                                            b"script invocation")
        self.scripting.random.seed(self._checkint(args, 0, b"randomseed"))

    def _checkint(self, args: tuple, index: int, function: bytes) -> int:
        """luaL_checkint: a number (or numeric string), truncated to a C int."""
        value = lua_number(args[index]) if index < len(args) else None
        if value is None:
            got = b"no value" if index >= len(args) else lua_type(args[index]).encode()
            raise self.sandbox.error_here(b"bad argument #%d to '%b' (number expected, got "
                                            b"%b)" % (index + 1, function, got))
        return int(value)


def _lua_string(value: Any) -> bytes | None:
    """lua_tolstring: a string, or a number as Lua writes it (%.14g); else None."""
    if type(value) is bytes:
        return value
    if type(value) in (int, float):
        return lua_number_text(value)
    return None


def _argv(args: tuple) -> list[bytes] | bytes:
    """luaArgsToRedisArgv: strings as they are, numbers as %.17g; else the error."""
    if not args:
        return b"Please specify at least one argument for this redis lib call"
    argv = []
    for arg in args:
        kind = type(arg)
        if kind is bytes:
            argv.append(arg)
        elif kind is int or kind is float:
            argv.append(b"%.17g" % arg)
        else:
            return b"Lua redis lib command arguments must be strings or integers"
    return argv


def _error_reply(sandbox: LuaSandbox, error: Any, name: bytes):
    """luaCallFunction's error reply: the error's text, then where it happened."""
    if lua_type(error) != "table":
        text = error if isinstance(error, bytes) else b"execution failure"
        return sandbox_error(b"ERR Error running script %b, %b" % (name, text[:100]), False)
    message = error[b"err"]
    source, line = error[b"source"], error[b"line"]
    text = message if isinstance(message, bytes) else b""
    if isinstance(line, int | float) and isinstance(source, bytes):
        text += b" script: %b, on %b:%d." % (name, source, line)
    return sandbox_error(text, error[b"ignore_error_stats_update"] is True)


def sandbox_error(text: bytes, counted: bool):
    """An error reply; one a command already counted in errorstats is not counted
    again (Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE)."""
    line = text.replace(b"\r", b" ").replace(b"\n", b" ")
    if counted:
        return Raw(b"-" + line + b"\r\n")
    return Error(line.decode("utf-8", "surrogateescape"))


def _version_number(version: str) -> int:
    major, minor, patch = (int(part) for part in version.split(".")[:3])
    return major << 16 | minor << 8 | patch
