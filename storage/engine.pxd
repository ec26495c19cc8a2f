# C types for storage/engine.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of the engine; this file only adds types.
#
# ``cdef dict __dict__``: an attribute not declared here still works (kept in the
# instance's dict, at Python speed), so adding one to Engine needs no change here;
# declare it here once it is on the hot path. Typing _log and _keyspace makes the
# engine's reads of their attributes C struct reads.

cimport cython
from storage.keyspace cimport Keyspace
from storage.log cimport Log

cdef object _unpack_checked_lengths
cdef object _crc32

cdef class Engine:
    cdef dict __dict__
    cdef public object changes
    cdef public Log _log
    cdef public Keyspace _keyspace

    @cython.locals(keyspace=Keyspace, log=Log)
    cpdef get(self, Py_ssize_t db, key)
    @cython.locals(log=Log)
    cpdef Py_ssize_t released_position(self) except? -1
    cpdef bint settled(self) except -1
