# server/commands/strings.py is compiled by Cython (see server/compiled.py): GET and
# SET are its handlers, the hottest in the table. Nothing is typed here (the handlers
# take whatever argv a caller gives); compiling spares each call an interpreter frame.
