# C types for server/transport.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of a connection; this file only adds types.
#
# ``cdef dict __dict__``: an attribute not declared here still works (kept in the
# instance's dict, at Python speed), so adding one to Connection needs no change here;
# declare it here once it is on the hot path. Typing parser, session and dispatcher
# makes the per-read path's reads of their fields struct reads and its calls of their
# cpdef methods C calls; so is the call of encode_into, cimported.

cimport cython
from protocol.parser cimport RequestParser
from protocol.reply cimport encode_into
from server.dispatch cimport Dispatcher
from server.session cimport Session
from storage.engine cimport Engine

cdef class Connection:
    cdef dict __dict__
    cdef public object server
    cdef public RequestParser parser
    cdef public Session session
    cdef public Dispatcher dispatcher
    cdef public object transport
    cdef public list out
    cdef public object held
    cdef public bint closed
    cdef public object queued
    cdef public bint postponed
    cdef public bint output_full
    cdef public bint writing_paused
    cdef public object output_limits
    cdef public object _soft_limit_timer

    cdef bint _gate_open(self)
    @cython.locals(engine=Engine)
    cdef bint may_send_now(self) except -1
    @cython.locals(parser=RequestParser)
    cdef _process(self)
    @cython.locals(dispatcher=Dispatcher, session=Session, out=list, count=Py_ssize_t,
                   _=Py_ssize_t)
    cdef _run_slice(self)
    cdef _after_send(self)
