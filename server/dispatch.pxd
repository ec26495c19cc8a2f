# C types for server/dispatch.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of dispatch; this file only adds types.
#
# ``cdef dict __dict__``: an attribute not declared here still works (kept in the
# instance's dict, at Python speed), so adding one to Dispatcher needs no change
# here; declare it here once it is on the hot path.

cimport cython
from server.commands.registry cimport Command
from server.session cimport Session

cdef class Dispatcher:
    cdef dict __dict__
    cdef public object server
    cdef public dict commands
    cdef public list _own_monitor_lines
    cdef public bint too_few_replicas
    cdef public bint guarded

    @cython.locals(commands=dict, arity=Py_ssize_t, command=Command)
    cpdef execute(self, Session session, argv)
    cdef _execute_guarded(self, Session session, Command command, argv)
    cdef _call_writable(self, Session session, Command command, argv)
    @cython.locals(started=cython.longlong, usec=cython.longlong, observed=bint)
    cpdef call(self, Session session, Command command, argv)
