# C types for server/scripting/eval.py when Cython compiles it (see server/compiled.py).
# The .py file stays the one description of EVAL; this file only adds types.

cimport cython
from server.scripting.run cimport Scripting

@cython.locals(scripting=Scripting, numkeys=Py_ssize_t)
cpdef _eval(client, list argv, bint by_sha, bint read_only)
