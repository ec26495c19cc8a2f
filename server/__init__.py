"""caskd's server: sockets, sessions, the dispatcher, the command table and the commands."""

from server import compiled  # noqa: F401  (first: CASKD_PURE_PYTHON applies from here on)
