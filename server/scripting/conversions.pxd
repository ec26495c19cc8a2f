# C types for server/scripting/conversions.py when Cython compiles it (see
# server/compiled.py). The .py file stays the one description of the conversions;
# this file only adds types. run.py cimports the functions a script's run calls, so
# that they are C calls.

from server.scripting.sandbox cimport LuaSandbox

cpdef error_table(LuaSandbox sandbox, message, bint from_command=*)
cpdef tuple reply_to_lua(LuaSandbox sandbox, reply, bint resp3)
cpdef lua_to_reply(LuaSandbox sandbox, value, bint script_resp3, bint caller_resp3, kind=*)
