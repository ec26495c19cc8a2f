# C types for storage/keyspace.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of the index; this file only adds types.
#
# ``cdef dict __dict__``: an attribute not declared here still works (kept in the
# instance's dict, at Python speed), so adding one to Keyspace needs no change here;
# declare it here once it is on the hot path.

cimport cython

cdef class Keyspace:
    cdef dict __dict__
    cdef public Py_ssize_t databases
    cdef public object superseded
    cdef public list keydirs
    cdef public list expires
    cdef public list expiry_heap
    cdef public bint loading
    cdef public set damaged
    cdef public object access
    cdef public dict libraries
    cdef public list removals
    cdef public object _scan_lists
    cdef public object _scan_meta
    cdef public Py_ssize_t _next_snapshot

    @cython.locals(keydir=dict, expires=dict)
    cpdef put(self, Py_ssize_t db, key, value, expire_at)
    @cython.locals(others=dict)
    cdef object _with_access(self, Py_ssize_t db, key, old, value)
