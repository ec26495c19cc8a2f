"""Pure algorithms the commands rely on, with no server state: Redis's glob matching,
LCS, C's ``long double`` arithmetic and ``strtod``/``%.17g`` doubles, each as Redis
computes them."""
