"""A Lua 5.1 state set up as Redis 7.0 sets up its own (script_lua.c
luaRegisterRedisAPI, eval.c scriptingInit, function_lua.c luaEngineInitEngine).

Redis patches its Lua with read-only tables; lupa's stock Lua has none, so the same
sandbox is built from metatables: the globals and every library table refuse
writes with Redis's "Attempt to modify a readonly table", reading a global that
does not exist raises "Script attempted to access nonexistent global variable",
``rawset``/``setmetatable`` refuse the protected tables too. ``os``, ``io``,
``package``, ``require``, ``loadfile``, ``dofile``, ``print`` and ``debug`` are
gone, as in Redis 7.0 (which loads neither ``os`` nor ``io``).

The ``redis`` API is written in Lua around a few Python callbacks (the bridge), so
that errors are raised as Lua errors at the user's line, as Redis's C functions
raise them, and no Python object is ever reachable from a script.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lupa.lua51 as lupa

from server.scripting import libraries

USER_SCRIPT = b"@user_script"
USER_FUNCTION = b"@user_function"

# Run once in a fresh state, with the bridge's callbacks as arguments; returns the
# entry points Python uses. Its own frames are named "=caskd" so that the error
# handler can step over them to the user's line.
_BOOTSTRAP = r"""
local bridge, libs, functions_engine = ...
local G = _G
local error, type, tostring, select = error, type, tostring, select
local rawset, rawget, setmetatable = rawset, rawget, setmetatable
local dbg, clock = debug, os.clock
local load_chunk, xpcall, lua_pcall, setfenv = loadstring, xpcall, pcall, setfenv

for _, name in ipairs({"os", "io", "package", "require", "module", "print", "dofile",
                       "loadfile", "python", "debug"}) do
  G[name] = nil
end

local readonly = setmetatable({}, {__mode = "k"})
local function readonly_error() error("Attempt to modify a readonly table", 2) end

-- The table Lua code sees in place of ``t``: reads go through, writes fail.
local function protect(t)
  local proxy = setmetatable({}, {__index = t, __newindex = readonly_error, __metatable = false})
  readonly[proxy] = true
  return proxy
end

-- Redis's patched lua_rawset refuses them without a position.
G.rawset = function(t, k, v)
  if readonly[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end
G.setmetatable = function(t, m)
  if readonly[t] then error("Attempt to modify a readonly table", 0) end
  return setmetatable(t, m)
end

-- The Python functions' metatable (lupa's, shared by all: its __gc, __index...) is
-- never handed to a script, which sees them as having none, like Redis's C functions.
local python_meta = getmetatable(bridge.take_raised)
local lua_getmetatable = getmetatable
G.getmetatable = function(value)
  local meta = lua_getmetatable(value)
  if meta == python_meta then return nil end
  return meta
end

-- Redis's Lua reads every chunk as text, so bytecode (string.dump's, which could be
-- crafted to break out of the VM) is a syntax error there: the same here.
local function refuse_bytecode(chunk, name)
  if type(chunk) ~= "string" or chunk:byte(1) ~= 27 then return nil end
  local shown = name or chunk:match("^[^%z\n\r]*")
  local stop = chunk:byte(#shown + 1)  -- C's string ends at a NUL: no "..." for it
  if not name and (#shown > 43 or stop == 10 or stop == 13) then
    shown = shown:sub(1, 43) .. "..."
  end
  return "[string \"" .. shown .. "\"]:1: unexpected symbol near 'char(27)'"
end
local lua_loadstring, lua_load, concat = loadstring, load, table.concat
G.loadstring = function(chunk, name)
  local refused = refuse_bytecode(chunk, name)
  if refused then return nil, refused end
  return lua_loadstring(chunk, name)
end
G.load = function(reader, name)
  local pieces = {}
  local ok, err = lua_pcall(function()
    while true do
      local piece = reader()
      if piece == nil or piece == "" then return end
      pieces[#pieces + 1] = piece
    end
  end)
  if not ok then return nil, err end
  local chunk = concat(pieces)
  local refused = refuse_bytecode(chunk, name)
  if refused then return nil, refused end
  return lua_load(function() local c = chunk; chunk = nil; return c end, name)
end

-- An error raised by a Python function reaches Lua as a userdata wrapping the
-- exception; the Lua error value it stands for is waiting in the bridge.
local take_raised = bridge.take_raised
local function lua_error_value(err)
  if type(err) == "userdata" then
    local raised = take_raised()
    if raised ~= nil then return raised end
  end
  return err
end

-- luaRedisPcall: an error raised as a Redis error table comes back as its text.
local function pcall_result(ok, ...)
  if not ok then
    local err = lua_error_value((...))
    if type(err) == "table" and type(err.err) == "string" then return false, err.err end
    return false, err
  end
  return ok, ...
end
G.pcall = function(...) return pcall_result(lua_pcall(...)) end
G.xpcall = function(f, handler)
  return xpcall(f, function(err) return handler(lua_error_value(err)) end)
end

-- luaL_where(L, 1) for a Python function: the user's line it was called from.
local function where()
  local level = 2
  local info = dbg.getinfo(level, "Sl")
  while info and (info.what == "C" or info.source == "=caskd") do
    level = level + 1
    info = dbg.getinfo(level, "Sl")
  end
  if info and info.currentline > 0 then return info.short_src .. ":" .. info.currentline .. ": " end
  return ""
end

local math_lib = {}
for name, f in pairs(math) do math_lib[name] = f end
math_lib.random, math_lib.randomseed = bridge.random, bridge.randomseed

-- redis.*: the API of script_lua.c, each a Python function (a C function to Lua, as
-- Redis's are: an error raised in one is at the calling line even in a tail call).
local redis = {}
for _, name in ipairs({"call", "pcall", "sha1hex", "error_reply", "status_reply", "log",
                       "setresp", "set_repl", "acl_check_cmd"}) do
  redis[name] = bridge[name]
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REDIS_VERSION_NUM, redis.REDIS_VERSION = bridge.version()
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE = 0, 1, 2
redis.REPL_REPLICA, redis.REPL_ALL = 2, 3
if not functions_engine then
  redis.replicate_commands = function() return true end
  redis.breakpoint = function() return false end
  redis.debug = function() end
end

G.math = protect(math_lib)
for name, functions in pairs(libs) do
  G[name] = protect(functions)
end
for _, name in ipairs({"string", "table", "coroutine"}) do
  G[name] = protect(G[name])
end

-- Whether the user's code runs: a script, a function, a library being loaded.
local in_user_code = false

local function missing_global(_, name)
  -- lupa looks up "debug" (for a traceback) from C whenever Python calls into Lua:
  -- outside the user's code it is the only reader, so the answer is nil at once;
  -- inside, a reader that is not C is the user's.
  if name == "debug" then
    if not in_user_code then return nil end
    local caller = dbg.getinfo(2, "S")
    if caller == nil or caller.what == "C" then return nil end
  end
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

-- The error handler of eval.c (__redis__err__handler): the error as a table, with
-- the user's source and line (this sandbox's own frames and C frames skipped).
local function error_handler(err)
  local level = 2
  local info = dbg.getinfo(level, "nSl")
  while info and (info.what == "C" or info.what == "tail" or info.source == "=caskd") do
    level = level + 1
    info = dbg.getinfo(level, "nSl")
  end
  err = lua_error_value(err)
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end

local entry = {}

-- luaMaskCountHook: every 100000 instructions the bridge may answer other clients
-- (past busy-reply-threshold) and tells whether SCRIPT/FUNCTION KILL asked to stop;
-- then every line raises the error, so that pcall cannot swallow it. The hook stays
-- set between runs (``hooked``) while busy-reply-threshold is on: setting and clearing
-- it around each run costs more than it does between runs (a call to the bridge every
-- 100000 instructions, which answers nil when no script runs).
local interrupt = bridge.interrupt
local hooked, killing = false, false
local function count_hook()
  local killed = interrupt()
  if killed and dbg.getinfo(2, "S").source ~= "=caskd" then  -- not in this file's lines
    killing = true
    dbg.sethook(count_hook, "l")
    error(killed)
  end
end

-- What a table returned to Redis is (luaReplyToRedisReply's order of checks).
local function reply_kind(t)
  local v = rawget(t, "err")
  if type(v) == "string" then return "err", v end
  v = rawget(t, "ok")
  if type(v) == "string" then return "ok", v end
  v = rawget(t, "double")
  if type(v) == "number" then return "double", v end
  v = rawget(t, "big_number")
  if type(v) == "string" then return "big_number", v end
  v = rawget(t, "verbatim_string")
  if type(v) == "table" then
    local format, s = rawget(v, "format"), rawget(v, "string")
    if type(format) == "string" and type(s) == "string" then return "verbatim", s, format end
  end
  v = rawget(t, "map")
  if type(v) == "table" then return "map", v end
  v = rawget(t, "set")
  if type(v) == "table" then return "set", v end
  local items, n = {}, 0
  while rawget(t, n + 1) ~= nil do
    n = n + 1
    items[n] = rawget(t, n)
  end
  return "array", items, n
end
entry.reply_kind = reply_kind

-- Run f as Redis runs a script: under the error handler, its first result only; a
-- table comes with what reply_kind makes of it, which spares Python a call back.
local function guarded(watched, f)
  if watched ~= hooked then
    if watched then dbg.sethook(count_hook, "", 100000) else dbg.sethook() end
    hooked = watched
  end
  in_user_code = true
  local ok, result = xpcall(f, error_handler)
  in_user_code = false
  if killing then  -- back from every line to every 100000 instructions
    killing = false
    dbg.sethook(count_hook, "", 100000)
  end
  if ok and type(result) == "table" then return ok, result, reply_kind(result) end
  return ok, result
end

-- KEYS and ARGV from a call's arguments (luaCreateArray): made here, they cost a
-- fraction of two tables made from Python. KEYS is the table of all the arguments
-- with ARGV's moved out (the arguments are strings: # counts them all).
local function split_arguments(numkeys, ...)
  local keys, argv = {...}, {}
  for i = numkeys + 1, #keys do
    argv[i - numkeys] = keys[i]
    keys[i] = nil
  end
  return keys, argv
end

if functions_engine then
  -- function_lua.c: while a library loads, its globals are only the library API;
  -- when its functions run, the full globals (both read-only).
  local register = bridge.register_function
  local library_api = setmetatable({}, {__index = missing_global, __newindex = readonly_error})
  local library_redis = {register_function = register, log = redis.log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM, REDIS_VERSION = redis.REDIS_VERSION}
  rawset(library_api, "redis", protect(setmetatable(library_redis, {__index = missing_global})))
  readonly[library_api] = true
  G.redis = protect(redis)
  local env_meta = {__index = library_api, __newindex = readonly_error, __metatable = false}
  local env = setmetatable({}, env_meta)
  readonly[env] = true
  setmetatable(G, {__index = missing_global, __newindex = readonly_error, __metatable = false})
  readonly[G] = true

  entry.load = function(code)
    local chunk, message = load_chunk(code, "@user_function")
    if not chunk then return false, message, true end
    setfenv(chunk, env)
    env_meta.__index = library_api
    -- luaEngineLoadHook: loading may take 500 ms at most (it only registers functions).
    local started = clock()
    local function load_hook()
      if clock() - started > 0.5 and dbg.getinfo(2, "S").source ~= "=caskd" then
        dbg.sethook(load_hook, "l")
        error({err = "ERR FUNCTION LOAD timeout"})
      end
    end
    dbg.sethook(load_hook, "", 100000)
    in_user_code = true
    local ok, err = lua_pcall(chunk)
    in_user_code = false
    dbg.sethook()
    hooked = false
    err = lua_error_value(err)
    env_meta.__index = G
    if not ok then
      if type(err) == "table" and type(err.err) == "string" then return false, err.err end
      return false, "ERR " .. tostring(err)
    end
    return true
  end
  entry.call = function(f, watched, keys, argv)
    return guarded(watched, function() return f(keys, argv) end)
  end
else
  G.redis = protect(redis)
  setmetatable(G, {__index = missing_global, __newindex = readonly_error, __metatable = false})
  readonly[G] = true
  entry.compile = function(code)
    return load_chunk(code, "@user_script")
  end
  entry.call = function(f, watched, keys, argv)
    rawset(G, "KEYS", keys)
    rawset(G, "ARGV", argv)
    return guarded(watched, f)
  end
end

local call = entry.call
entry.call_unpacked = function(f, watched, numkeys, ...)
  return call(f, watched, split_arguments(numkeys, ...))
end
entry.where = where
entry.memory = function() return collectgarbage("count") * 1024 end
return entry
"""


# Arguments up to this many are handed to Lua on its C stack (which takes 8000 at
# most), for the bootstrap to make KEYS and ARGV; more go as two tables.
_UNPACKED_ARGUMENTS = 1000


class LuaRaise(Exception):
    """Raised by a Python function called from Lua to raise the Lua error ``value``
    there (a message or a Redis error table); see :meth:`LuaSandbox.error`."""


class LuaSandbox:
    """One Lua state with Redis's sandbox. ``make_bridge(sandbox)`` gives the Python
    functions the bootstrap installs (the redis API: call, pcall, sha1hex, log,
    setresp, ..., math.random, the count hook's interrupt and, for the functions
    engine, register_function)."""

    def __init__(self, make_bridge: Callable[[LuaSandbox], dict[str, Callable[..., Any]]],
                 functions_engine: bool) -> None:
        self.runtime = lupa.LuaRuntime(encoding=None, register_eval=False,
                                       register_builtins=False, unpack_returned_tuples=True,
                                       attribute_filter=_no_attributes)
        self._raised: Any = None
        self.loading: Any = None  # the library FUNCTION LOAD is running (register_function)
        load = self.runtime.globals().loadstring
        bootstrap = load(_BOOTSTRAP.encode(), b"=caskd")
        null = self.runtime.eval(b"newproxy()")  # cjson.null, a unique userdata
        same = self.runtime.eval(b"function(a, b) return rawequal(a, b) end")
        libs = {name: self.table({fname: self._library_function(f) if lupa.lua_type(f) is None
                                  else f for fname, f in functions.items()})
                for name, functions in libraries.lua_libraries(
                    self, null, lambda value: same(value, null)).items()}
        self.entry = bootstrap(self.table({**make_bridge(self), "take_raised": self._take_raised}),
                               self.table(libs), functions_engine)
        # The entry points a script's run uses, read once: reading a Lua table's field
        # from Python (an AttributeError first, then a new wrapper) costs more than a
        # call into Lua.
        self._call, self._call_unpacked = self.entry.call, self.entry.call_unpacked
        self.reply_kind, self.where = self.entry.reply_kind, self.entry.where

    def error(self, value: Any) -> LuaRaise:
        """The exception that, raised from Python, raises ``value`` in Lua."""
        self._raised = value
        return LuaRaise()

    def error_here(self, message: str | bytes) -> LuaRaise:
        """A library error at the script's line, as luaL_error writes it."""
        text = message.encode() if isinstance(message, str) else message
        return self.error(self.where() + text)

    def _take_raised(self) -> Any:
        value, self._raised = self._raised, None
        return value

    def _library_function(self, function: Callable[..., tuple]) -> Callable[..., tuple]:
        def call(*args):
            ok, *results = function(*args)
            if not ok:
                raise self.error_here(results[0])
            return tuple(results)
        return call

    def table(self, mapping: dict) -> Any:
        """A Lua table of ``mapping`` (str keys become Lua strings)."""
        return self.runtime.table_from({(k.encode() if isinstance(k, str) else k): v
                                        for k, v in mapping.items()})

    def array(self, items: list) -> Any:
        return self.runtime.table_from(items)

    def call(self, function: Any, watched: bool, arguments: list[bytes], numkeys: int
             ) -> tuple:
        """Run a script or function for KEYS ``arguments[:numkeys]`` and ARGV the rest:
        (True, its result[, reply_kind's answer for a table]) or (False, the error)."""
        if len(arguments) <= _UNPACKED_ARGUMENTS:
            return self._call_unpacked(function, watched, numkeys, *arguments)
        return self._call(function, watched, self.array(arguments[:numkeys]),
                          self.array(arguments[numkeys:]))

    def memory(self) -> int:
        return int(self.entry.memory())


def _no_attributes(obj: object, name: object, is_setting: bool) -> object:
    """Scripts never reach a Python object's attributes."""
    raise AttributeError("not accessible from Lua")
