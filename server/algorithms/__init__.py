"""Pure algorithms the commands rely on, with no server state: Redis's glob matching,
LCS, C's ``long double`` arithmetic and ``strtod``/``%.17g`` doubles, the 52-bit
geohash of the geo commands and HyperLogLog, each as Redis computes them."""
