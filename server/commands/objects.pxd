# server/commands/objects.py is compiled by Cython (see server/compiled.py): its
# read_key and write_key are how every hash, list, set and sorted-set command looks its
# key up. Nothing is typed here; compiling spares each call an interpreter frame.
