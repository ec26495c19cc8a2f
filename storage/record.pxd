# C types for storage/record.py when Cython compiles it (see compiled/__init__.py).
# The .py file stays the one description of the format; this file only adds types.

cimport cython

@cython.locals(start=Py_ssize_t)
cpdef bytes value_at(buf, Py_ssize_t offset)

@cython.locals(chunk=bytes, rest=bytes)
cpdef Py_ssize_t _skip_zeros(buf, Py_ssize_t pos, Py_ssize_t end) except -1

@cython.locals(pos=Py_ssize_t)
cpdef object find_next_record(buf, Py_ssize_t start, Py_ssize_t end)
