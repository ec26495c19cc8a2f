# C types for server/scripting/sandbox.py when Cython compiles it (see
# server/compiled.py). The .py file stays the one description of the sandbox; this
# file only adds types.
#
# ``cdef dict __dict__``: an attribute not declared here still works (kept in the
# instance's dict, at Python speed); declare it here once it is on a script's hot path.

cdef class LuaSandbox:
    cdef dict __dict__
    cdef public object runtime
    cdef public object _raised
    cdef public object loading
    cdef public object entry
    cdef public object _call
    cdef public object _call_unpacked
    cdef public object reply_kind
    cdef public object where

    cpdef error(self, value)
    cpdef call(self, function, bint watched, list arguments, Py_ssize_t numkeys)
