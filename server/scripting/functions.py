"""Function libraries (Redis 7.0's functions.c): what FUNCTION LOAD registers.

The libraries live here, behind this one class, and in the log: each command that
changes them stores the change in the engine (a library's code by name, see
``Engine.put_library``), and the server loads the stored ones at start
(``Scripting.load_libraries``), as Redis loads them from its RDB/AOF.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import lupa.lua51 as lupa

from protocol.numbers import string2ll
from protocol.reply import OK, OrderedSet, SimpleString
from server.algorithms.glob import compile_pattern
from server.errors import CommandError, bad_subcommand_usage
from server.replies import help_reply
from server.scripting import conversions, rdb
from server.scripting.busy import busy_error

if TYPE_CHECKING:
    from server.scripting.sandbox import LuaSandbox

# scripts_flags_def (script.c), in Redis's order: FUNCTION LIST shows them so.
SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")
_NAME = re.compile(rb"[A-Za-z0-9_]+")
_BAD_NAME = ("Library names can only contain letters, numbers, or underscores(_) and must be "
             "at least one character long")


class LibraryError(Exception):
    """Why a library could not be loaded, as Redis words it (without the ERR)."""


@dataclass
class Function:
    name: bytes
    callback: Any  # the Lua function
    description: bytes | None
    flags: frozenset[str]
    library: Library


@dataclass
class Library:
    name: bytes
    code: bytes  # the whole payload, shebang included (FUNCTION LIST WITHCODE, DUMP)
    functions: dict[bytes, Function] = field(default_factory=dict)


class Libraries:
    """The loaded libraries and their functions, by name."""

    def __init__(self) -> None:
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}

    def clear(self) -> None:
        self.libraries.clear()
        self.functions.clear()

    def load(self, sandbox: LuaSandbox, code: bytes, replace: bool) -> bytes:
        """functionsCreateWithLibraryCtx: run the library's code, register its
        functions; returns its name. LibraryError: Redis's reason."""
        engine, name, body = _metadata(code)
        if not _NAME.fullmatch(name):
            raise LibraryError(_BAD_NAME)
        if engine.upper() != b"LUA":
            raise LibraryError(f"Engine '{_text(engine)}' not found")
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise LibraryError(f"Library '{_text(name)}' already exists")
        library = Library(name, code)
        sandbox.loading = library
        try:
            result = sandbox.entry.load(body)
        finally:
            sandbox.loading = None
        if result is not True:
            _, message, *compiling = result
            raise LibraryError(("Error compiling function: " if compiling else
                                "Error registering functions: ") + _text(message))
        if not library.functions:
            raise LibraryError("No functions registered")
        for function_name in library.functions:
            other = self.functions.get(function_name)
            if other is not None and other.library is not old:
                raise LibraryError(f"Function {_text(function_name)} already exists")
        if old is not None:
            self.delete(name)
        self.libraries[name] = library
        self.functions.update(library.functions)
        return name

    def join(self, other: Libraries, policy: bytes) -> None:
        """Add ``other``'s libraries (FUNCTION RESTORE): FLUSH drops ours first, REPLACE
        replaces ours of the same name, APPEND refuses them (libraryJoin)."""
        if policy == b"flush":
            self.clear()
        kept = {name: library for name, library in self.libraries.items()
                if name not in other.libraries}
        for name in other.libraries:
            if name in self.libraries and policy != b"replace":
                raise LibraryError(f"Library {_text(name)} already exists")
        for library in kept.values():
            for function_name in library.functions:
                if function_name in other.functions:
                    raise LibraryError(f"Function {_text(function_name)} already exists")
        self.clear()
        for library in (*kept.values(), *other.libraries.values()):
            self.libraries[library.name] = library
            self.functions.update(library.functions)

    def codes(self) -> dict[bytes, bytes]:
        """Each library's code by name: what the engine stores."""
        return {name: library.code for name, library in self.libraries.items()}

    def delete(self, name: bytes) -> bool:
        library = self.libraries.pop(name, None)
        if library is None:
            return False
        for function_name in library.functions:
            del self.functions[function_name]
        return True

def register_function(sandbox: LuaSandbox, args: tuple) -> None:
    """redis.register_function(name, callback) or ({function_name=, callback=, flags=,
    description=}), while FUNCTION LOAD runs a library's code (luaRegisterFunction)."""
    library = sandbox.loading
    try:
        if library is None:
            raise LibraryError("redis.register_function can only be called on FUNCTION LOAD "
                               "command")
        function = _function_args(args, library)
        if not _NAME.fullmatch(function.name):
            raise LibraryError(_BAD_NAME)
        if function.name in library.functions:
            raise LibraryError("Function already exists in the library")
    except LibraryError as exc:
        raise sandbox.error(conversions.error_table(sandbox, str(exc).encode())) from None
    library.functions[function.name] = function


def _metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """functionExtractLibMetaData: ``#!lua name=<name>`` on the first line; returns the
    engine, the name and the code from that line's end (line numbers stay the user's)."""
    if not code.startswith(b"#!"):
        raise LibraryError("Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise LibraryError("Invalid library metadata")
    parts = code[:end].split()
    if not parts:
        raise LibraryError("Invalid library metadata")
    engine, name = parts[0][2:], None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise LibraryError("Invalid metadata value, name argument was given multiple "
                                   "times")
            name = part[5:]
            continue
        raise LibraryError(f"Invalid metadata value given: {_text(part)}")
    if name is None:
        raise LibraryError("Library name was not given")
    return engine, name, code[end:]


def _function_args(args: tuple, library: Library) -> Function:
    if not 1 <= len(args) <= 2:
        raise LibraryError("wrong number of arguments to redis.register_function")
    if len(args) == 2:
        name, callback = args
        if not isinstance(name, bytes | int | float) or isinstance(name, bool):
            raise LibraryError("first argument to redis.register_function must be a string")
        if lupa.lua_type(callback) != "function":
            raise LibraryError("second argument to redis.register_function must be a function")
        return Function(_string(name), callback, None, frozenset(), library)
    named = args[0]
    if lupa.lua_type(named) != "table":
        raise LibraryError("calling redis.register_function with a single argument is only "
                           "applicable to Lua table (representing named arguments).")
    name = description = callback = None
    flags: frozenset[str] = frozenset()
    for key, value in named.items():
        if not isinstance(key, bytes | int | float) or isinstance(key, bool):
            raise LibraryError("named argument key given to redis.register_function is not a "
                               "string")
        key = _string(key).lower()
        if key == b"function_name":
            if not isinstance(value, bytes | int | float) or isinstance(value, bool):
                raise LibraryError("function_name argument given to redis.register_function "
                                   "must be a string")
            name = _string(value)
        elif key == b"description":
            if not isinstance(value, bytes | int | float) or isinstance(value, bool):
                raise LibraryError("description argument given to redis.register_function "
                                   "must be a string")
            description = _string(value)
        elif key == b"callback":
            if lupa.lua_type(value) != "function":
                raise LibraryError("callback argument given to redis.register_function must "
                                   "be a function")
            callback = value
        elif key == b"flags":
            if lupa.lua_type(value) != "table":
                raise LibraryError("flags argument to redis.register_function must be a table "
                                   "representing function flags")
            flags = _flags(value)
        else:
            raise LibraryError("unknown argument given to redis.register_function")
    if name is None:
        raise LibraryError("redis.register_function must get a function name argument")
    if callback is None:
        raise LibraryError("redis.register_function must get a callback argument")
    return Function(name, callback, description, flags, library)


def _flags(table: Any) -> frozenset[str]:
    flags = set()
    for value in table.values():
        name = value.decode("utf-8", "replace") if isinstance(value, bytes) else None
        if name not in SCRIPT_FLAGS:
            raise LibraryError("unknown flag given")
        flags.add(name)
    return frozenset(flags)


def _string(value: bytes | float) -> bytes:
    """lua_tostring of a string or a number."""
    if isinstance(value, bytes):
        return value
    return b"%.14g" % value


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


# ------------------------------------------------------------------ FCALL, FUNCTION

def fcall(client, argv: list[bytes]):
    return _fcall(client, argv, read_only=False)


def fcall_ro(client, argv: list[bytes]):
    return _fcall(client, argv, read_only=True)


def _fcall(client, argv: list[bytes], read_only: bool):
    """fcallCommandGeneric."""
    scripting = client.server.scripting
    scripting.feed_monitors(client, argv)
    function = scripting.libraries.functions.get(argv[1])
    if function is None:
        raise CommandError("ERR Function not found")
    numkeys = string2ll(argv[2])
    if numkeys is None:
        raise CommandError("ERR Bad number of keys provided")
    if numkeys > len(argv) - 3:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise CommandError("ERR Number of keys can't be negative")
    scripting.prepare(client, function.flags, False, read_only)
    return scripting.run(client, scripting.function_sandbox, function.callback, argv,
                         numkeys, function.name, read_only or "no-writes" in function.flags,
                         eval_mode=False)


def function_load(client, argv: list[bytes]):
    """FUNCTION LOAD [REPLACE] code."""
    replace = False
    for option in argv[2:-1]:
        if option.lower() != b"replace":
            raise CommandError(f"ERR Unknown option given: {_text(option)}")
        replace = True
    if len(argv) < 3 or (replace and len(argv) == 3):
        raise CommandError("ERR Function code is missing")
    scripting = client.server.scripting
    try:
        name = scripting.libraries.load(scripting.function_sandbox, argv[-1], replace)
    except LibraryError as exc:
        raise CommandError(f"ERR {exc}") from None
    client.server.engine.put_library(name, argv[-1])
    return name


def function_delete(client, argv: list[bytes]):
    if not client.server.scripting.libraries.delete(argv[2]):
        raise CommandError("ERR Library not found")
    client.server.engine.delete_library(argv[2])
    return OK


def function_flush(client, argv: list[bytes]):
    if len(argv) > 3:
        raise bad_subcommand_usage("function", argv[1])
    if len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC"):
        raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    client.server.scripting.reset_functions()
    client.server.engine.replace_libraries({})
    return OK


def function_kill(client, argv: list[bytes]):
    client.server.scripting.kill(eval_mode=False)
    return OK


def function_list(client, argv: list[bytes]):
    """FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern]."""
    with_code = False
    pattern = None
    i = 2
    while i < len(argv):
        option = argv[i].upper()
        if option == b"WITHCODE" and not with_code:
            with_code = True
        elif option == b"LIBRARYNAME" and pattern is None:
            if i == len(argv) - 1:
                raise CommandError("ERR library name argument was not given")
            pattern = compile_pattern(argv[i + 1], nocase=True)
            i += 1
        else:
            raise CommandError(f"ERR Unknown argument {_text(argv[i])}")
        i += 1
    return [_library_entry(library, with_code)
            for library in client.server.scripting.libraries.libraries.values()
            if pattern is None or pattern(library.name)]


def _library_entry(library: Library, with_code: bool) -> dict:
    entry: dict = {b"library_name": library.name, b"engine": b"LUA",
                   b"functions": [{b"name": f.name, b"description": f.description,
                                   b"flags": OrderedSet(SimpleString(flag) for flag in
                                                        SCRIPT_FLAGS if flag in f.flags)}
                                  for f in library.functions.values()]}
    if with_code:
        entry[b"library_code"] = library.code
    return entry


def function_dump(client, argv: list[bytes]):
    libraries = client.server.scripting.libraries.libraries.values()
    return rdb.dump([library.code for library in libraries])


def function_restore(client, argv: list[bytes]):
    """FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE] (functionRestoreCommand)."""
    if len(argv) > 4:
        raise bad_subcommand_usage("function", argv[1])
    policy = argv[3].lower() if len(argv) == 4 else b"append"
    if policy not in (b"append", b"replace", b"flush"):
        raise CommandError("ERR Wrong restore policy given, value should be either FLUSH, "
                           "APPEND or REPLACE.")
    if not rdb.verify(argv[2]):
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    scripting = client.server.scripting
    restored = Libraries()
    try:
        for code in rdb.library_codes(argv[2]):
            restored.load(scripting.function_sandbox, code, replace=False)
        scripting.libraries.join(restored, policy)
    except (rdb.PayloadError, LibraryError) as exc:
        raise CommandError(f"ERR {exc}") from None
    client.server.engine.replace_libraries(scripting.libraries.codes())
    return OK


def function_stats(client, argv: list[bytes]):
    """FUNCTION STATS: the function running (while it is busy), and the counts."""
    scripting = client.server.scripting
    run = scripting.running
    if run is not None and run.eval_mode:
        raise CommandError(busy_error(eval_mode=True))
    running = None if run is None else {
        b"name": run.name, b"command": run.argv,
        b"duration_ms": int((time.monotonic() - run.started) * 1000)}
    libraries = scripting.libraries
    return {b"running_script": running,
            b"engines": {b"LUA": {b"libraries_count": len(libraries.libraries),
                                  b"functions_count": len(libraries.functions)}}}


_FUNCTION_HELP = (
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME "
    "argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored "
    "using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a "
    "restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
    "abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
    "replace the old",
    "      libraries with the new libraries (notice that even on this option there is a "
    "chance of failure",
    "      in case of functions name collision with another library).",
)


def function_help(client, argv: list[bytes]):
    return help_reply("FUNCTION", _FUNCTION_HELP)
