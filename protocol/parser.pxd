# C types for protocol/parser.py when Cython compiles it (see compiled/__init__.py).
# The .py file stays the one description of the parser; this file only says which
# names are C integers, which Python types are exact, and which methods are C calls.

cimport cython

cdef Py_ssize_t _CACHED
cdef dict _ARRAY_HEADERS
cdef list _BULK_HEADERS

@cython.locals(tokens=list, last=Py_ssize_t, commands=list, i=Py_ssize_t,
               end=Py_ssize_t, header=Py_ssize_t, size=Py_ssize_t, args=list,
               bulk_headers=list, arrays=object)
cpdef tuple _split_commands(bytes data, Py_ssize_t max_bulk)


cdef class RequestParser:
    cdef list _args
    cdef Py_ssize_t _base
    cdef bytes _buf
    cdef Py_ssize_t _bulk_len
    cdef list _chunks
    cdef Py_ssize_t _done
    cdef object _error
    cdef Py_ssize_t _missing
    cdef Py_ssize_t _need
    cdef Py_ssize_t _pos
    cdef list _ready
    cdef Py_ssize_t _ready_from
    cdef Py_ssize_t _received
    cdef public bint authenticated
    cdef public Py_ssize_t max_inline_size
    cdef public Py_ssize_t proto_max_bulk_len

    cpdef feed(self, data)
    cpdef list get_commands(self)
    cdef _join(self)
    @cython.locals(buf=bytes, pos=Py_ssize_t, k=Py_ssize_t, left=Py_ssize_t, views=list)
    cdef bytes _read(self, Py_ssize_t size)
    cdef _wait_for_more(self)
    cdef bint _wait_for_line(self, Py_ssize_t pos, str too_big) except -1
    @cython.locals(used=Py_ssize_t)
    cdef list _fast(self)
    @cython.locals(buf=bytes, pos=Py_ssize_t)
    cdef _next(self)
    @cython.locals(newline=Py_ssize_t, end=Py_ssize_t)
    cdef _inline(self, bytes buf, Py_ssize_t pos)
    @cython.locals(cr=Py_ssize_t, header=bytes)
    cdef bint _multibulk_header(self, bytes buf, Py_ssize_t pos) except -1
    @cython.locals(buf=bytes, pos=Py_ssize_t, cr=Py_ssize_t, header=bytes)
    cdef bint _bulk_header(self) except -1
    @cython.locals(args=list, size=Py_ssize_t, end=Py_ssize_t)
    cdef _bulks(self)
