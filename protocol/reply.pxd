# C types for protocol/reply.py when Cython compiles it (see compiled/__init__.py).
# The .py file stays the one description of the encoding; this file only adds types.

cimport cython

cdef Py_ssize_t _CACHED
cdef list _BULK_HEADERS
cdef list _INTEGERS
cdef dict _RESP2
cdef dict _RESP3

@cython.locals(kind=type, table=dict, size=Py_ssize_t)
cpdef encode_into(list out, reply, bint resp3=*)
