"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c).

Scripts are cached by the SHA1 of their body until SCRIPT FLUSH; as in Redis 7.0
the cache is not persisted, so EVALSHA after a restart gets NOSCRIPT and clients
send the script again (redis-py's Script and Lock do).
"""

from __future__ import annotations

import hashlib

from protocol.reply import OK
from server.errors import CommandError, parse_int
from server.replies import help_reply
from server.scripting.functions import SCRIPT_FLAGS
from server.scripting.run import Script, Scripting

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."


def eval_(client, argv: list[bytes]):
    return _eval(client, argv, by_sha=False, read_only=False)


def evalsha(client, argv: list[bytes]):
    return _eval(client, argv, by_sha=True, read_only=False)


def eval_ro(client, argv: list[bytes]):
    return _eval(client, argv, by_sha=False, read_only=True)


def evalsha_ro(client, argv: list[bytes]):
    return _eval(client, argv, by_sha=True, read_only=True)


def _eval(client, argv: list[bytes], by_sha: bool, read_only: bool):
    """evalGenericCommand."""
    scripting: Scripting = client.server.scripting
    scripting.feed_monitors(client, argv)
    if by_sha and len(argv[1]) != 40:
        raise CommandError(NOSCRIPT)
    numkeys = parse_int(argv[2])
    if numkeys > len(argv) - 3:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise CommandError("ERR Number of keys can't be negative")
    if by_sha:
        script = scripting.scripts.get(argv[1].lower())
        if script is None:
            raise CommandError(NOSCRIPT)
    else:
        script = load_script(scripting, argv[1])
    scripting.prepare(client, script.flags, script.compat, read_only)
    read_only = read_only or (not script.compat and "no-writes" in script.flags)
    return scripting.run(client, scripting.eval_sandbox, script.function, argv, numkeys,
                         script.sha, read_only, eval_mode=True)


def load_script(scripting: Scripting, body: bytes) -> Script:
    """luaCreateFunction: the cached script, or compile and cache it."""
    sha = hashlib.sha1(body).hexdigest().encode()
    script = scripting.scripts.get(sha)
    if script is not None:
        return script
    flags, compat, shebang_length = _shebang_flags(body)
    compiled = scripting.eval_sandbox.entry.compile(body[shebang_length:])
    if isinstance(compiled, tuple):
        message = compiled[1].decode("utf-8", "surrogateescape")
        raise CommandError(f"ERR Error compiling script (new function): {message}")
    script = scripting.scripts[sha] = Script(sha, body, compiled, flags, compat)
    return script


def _shebang_flags(body: bytes) -> tuple[frozenset[str], bool, int]:
    """evalExtractShebangFlags: ``#!lua flags=no-writes,...`` on the first line; the
    flags, whether there was no shebang (compatibility mode) and its length (the
    line feed stays, keeping the user's line numbers)."""
    if not body.startswith(b"#!"):
        return frozenset(), True, 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError("ERR Invalid script shebang")
    parts = body[:end].split()
    if not parts:
        raise CommandError("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise CommandError(f"ERR Unexpected engine in script shebang: {_text(parts[0])}")
    flags = set()
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError(f"ERR Unknown lua shebang option: {_text(part)}")
        for flag in part[6:].split(b","):
            name = _text(flag)
            if name not in SCRIPT_FLAGS:
                raise CommandError(f"ERR Unexpected flag in script shebang: {name}")
            flags.add(name)
    return frozenset(flags), False, end


# ------------------------------------------------------------------ SCRIPT

def script_load(client, argv: list[bytes]):
    return load_script(client.server.scripting, argv[2]).sha


def script_exists(client, argv: list[bytes]):
    scripts = client.server.scripting.scripts
    return [1 if sha.lower() in scripts else 0 for sha in argv[2:]]


def script_flush(client, argv: list[bytes]):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC")):
        raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    client.server.scripting.reset_eval()
    return OK


def script_kill(client, argv: list[bytes]):
    client.server.scripting.kill(eval_mode=True)
    return OK


def script_debug(client, argv: list[bytes]):
    """The Lua debugger (LDB) is not supported: SCRIPT DEBUG NO is accepted, YES and
    SYNC are refused."""
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise CommandError("ERR SCRIPT DEBUG is not supported by caskd")
    raise CommandError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


_SCRIPT_HELP = (
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
)


def script_help(client, argv: list[bytes]):
    return help_reply("SCRIPT", _SCRIPT_HELP)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")

