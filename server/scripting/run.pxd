# C types for server/scripting/run.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of a script's run; this file only adds types.
#
# Scripting and the run in progress are C types, so that redis.call (RedisCall, the
# object Lua calls) reads them as struct fields and calls the dispatcher, the checks
# and the conversions as C functions. ``cdef dict __dict__``: an attribute of
# Scripting not declared here still works, at Python speed.

cimport cython
from server.commands.registry cimport Command
from server.dispatch cimport Dispatcher
from server.scripting.conversions cimport error_table, lua_to_reply, reply_to_lua
from server.scripting.sandbox cimport LuaSandbox

cdef class ScriptRun:
    cdef public object caller
    cdef public object session
    cdef public object name
    cdef public object argv
    cdef public bint read_only
    cdef public bint eval_mode
    cdef public double started
    cdef public bint wrote
    cdef public bint busy
    cdef public bint killed

cdef class Scripting:
    cdef dict __dict__
    cdef public object server
    cdef public Dispatcher dispatcher
    cdef public object random
    cdef public dict scripts
    cdef public ScriptRun running
    cdef public bint allow_oom
    cdef public object _session
    cdef public LuaSandbox eval_sandbox
    cdef public object libraries
    cdef public LuaSandbox function_sandbox

    cpdef feed_monitors(self, caller, argv)
    cpdef prepare(self, caller, frozenset flags, bint compat, bint read_only)
    @cython.locals(run=ScriptRun, watched=bint)
    cpdef run(self, caller, LuaSandbox sandbox, function, list argv, Py_ssize_t numkeys,
              name, bint read_only, bint eval_mode)
    cpdef _script_session(self, caller)
    @cython.locals(command=Command)
    cpdef tuple check(self, ScriptRun run, list argv)

cdef class RedisCall:
    cdef Scripting scripting
    cdef LuaSandbox sandbox
    cdef bint raise_errors

@cython.locals(argv=list)
cpdef _argv(tuple args)
