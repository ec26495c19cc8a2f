"""Lua scripting as Redis 7.0 runs it: EVAL/EVALSHA and the script cache (eval.py),
FUNCTION/FCALL and the libraries (functions.py), on a Lua 5.1 sandbox (sandbox.py)
whose ``redis.call`` runs commands through the dispatcher (run.py), converting
replies both ways as Redis's script_lua.c does (conversions.py). The libraries Redis
bundles that lupa's Lua lacks (cjson, cmsgpack, bit, struct) are in libraries.py.
"""
