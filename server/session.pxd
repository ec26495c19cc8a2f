# C types for server/session.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of a session; this file only adds types.
#
# What the transport and the dispatcher read or write for every command is a struct
# field here (server/dispatch.pxd and server/transport.pxd type their sessions as
# Session); the rest lives in the instance's dict (``cdef dict __dict__``), at Python
# speed, so an attribute added to Session needs no change here. The four states behind
# ``slow_path`` are private fields: only their properties' setters write them.

cdef class Session:
    cdef dict __dict__
    cdef public object server
    cdef public object engine
    cdef public object peer
    cdef public Py_ssize_t db
    cdef public bint resp3
    cdef public object user
    cdef public bint authenticated
    cdef public double last_interaction
    cdef public str last_command
    cdef public bint in_exec
    cdef public object blocked
    cdef public bint close_after_reply
    cdef public object tracking
    cdef public bint slow_path
    cdef object _multi
    cdef str _reply_mode
    cdef bint _monitoring
    cdef bint _pubsub

    cdef void _refresh_slow_path(self)
