# C types for storage/datatypes.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of the collections; this file only adds types.
#
# ZSet becomes a C type: its three fields are C struct fields (as its __slots__ are
# in Python, so a sorted set costs the same memory either way), and len() and truth,
# which the engine asks of every collection it changes, are C calls to __len__.

cdef class ZSet:
    cdef public bint listpack
    cdef public object order
    cdef public dict scores
