"""The storage engine: log segments, index, fsync, recovery, compaction. No RESP, no sockets."""
