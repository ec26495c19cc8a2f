# C types for storage/record.py when Cython compiles it (see compiled/__init__.py).
# The .py file stays the one description of the format; this file only adds types.

cimport cython

@cython.locals(start=Py_ssize_t)
cpdef bytes value_at(buf, Py_ssize_t offset)

