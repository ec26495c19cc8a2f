"""The storage engine: log segments, index, fsync, recovery, compaction. No RESP, no sockets."""

import compiled  # noqa: F401  (first: it applies CASKD_PURE_PYTHON to storage's modules)
