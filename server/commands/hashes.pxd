# server/commands/hashes.py is compiled by Cython (see server/compiled.py): HSET and HGET
# are among its handlers. Nothing is typed here (the handlers take whatever argv a caller
# gives); compiling spares each call an interpreter frame.
