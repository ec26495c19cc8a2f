# C types for storage/log.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of the log; this file only adds types.
#
# ``cdef dict __dict__``: an attribute not declared here still works (kept in the
# instance's dict, at Python speed), so adding one to Log needs no change here;
# declare it here once it is on the hot path.

cimport cython

cdef object _unpack_lengths

cdef class Log

# The context manager of Log.batch: entering and leaving it are C calls into the Log.
cdef class _Batch:
    cdef Log _log

cdef class Log:
    cdef dict __dict__
    cdef public object directory
    cdef public Py_ssize_t segment_size
    cdef public object sealed
    cdef public dict segments
    cdef public dict views
    cdef public dict dead_bytes
    cdef public set damaged_segments
    cdef public set damaged
    cdef public Py_ssize_t _next_number
    cdef public object active
    cdef public int active_fd
    cdef public Py_ssize_t _active_mapped
    cdef public bytearray pending
    cdef public Py_ssize_t _batch_start
    cdef public Py_ssize_t _batch_depth
    cdef public Py_ssize_t position
    cdef public object write_error
    cdef public bint last_write_ok
    cdef public bint _rotate_failing
    cdef public list _sealed_unsynced
    cdef public object syncer
    cdef public int _lock_fd

    cpdef tuple record_buffer(self, location)
    @cython.locals(dead=dict)
    cpdef superseded(self, location)
    @cython.locals(pending=bytearray, rest=bytes)
    cpdef append(self, int rtype, int db, key, value=*, expire_at=*)
    cpdef _open_batch(self)
    cpdef _close_batch(self)
    @cython.locals(pending=bytearray, start=Py_ssize_t, length=Py_ssize_t)
    cpdef _seal_batch(self)
