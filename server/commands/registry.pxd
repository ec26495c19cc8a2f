# C types for server/commands/registry.py when Cython compiles it (see
# server/compiled.py). The .py file stays the one description of a table row; this
# file only adds types.
#
# What the dispatcher reads or counts for every command (server/dispatch.pxd types
# its ``command`` as a Command) is a struct field here; the rest of a row lives in the
# instance's dict (``cdef dict __dict__``), at Python speed, so an attribute added to
# Command needs no change here. The integers are C integers: an arity or key position
# of another type is refused when the row is made.

cdef class Command:
    cdef dict __dict__
    cdef public str name
    cdef public str full_name
    cdef public Py_ssize_t arity
    cdef public object handler
    cdef public dict subcommands
    cdef public frozenset flag_set
    cdef public bint is_write
    cdef public bint needs_auth
    cdef public bint queued_in_multi
    cdef public long long calls
    cdef public long long usec
    cdef public long long rejected_calls
    cdef public long long failed_calls
