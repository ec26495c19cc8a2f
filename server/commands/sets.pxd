# server/commands/sets.py is compiled by Cython (see server/compiled.py): SADD and SISMEMBER
# are among its handlers. Nothing is typed here (the handlers take whatever argv a caller
# gives); compiling spares each call an interpreter frame.
