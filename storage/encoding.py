"""Redis's thresholds for its compact encodings, shared by the collections
(storage.datatypes) and streams (storage.streams): Redis 7.0's defaults until the
server sets them from its config (hash-max-listpack-entries, stream-node-max-bytes
…); compaction's child gets the server's (storage.compaction)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EncodingLimits:
    """OBJECT ENCODING's thresholds, whether a sorted set keeps -0 scores, where a
    stream's listpack nodes end, how a list's quicklist nodes are cut when written
    as RDB, and when a sparse HyperLogLog turns dense."""

    hash_entries: int = 512
    hash_value: int = 64
    zset_entries: int = 128
    zset_value: int = 64
    intset_entries: int = 512
    stream_node_bytes: int = 4096  # stream-node-max-bytes (0: the listpack's limit)
    stream_node_entries: int = 100  # stream-node-max-entries (0: no limit)
    list_fill: int = -2  # list-max-listpack-size: how the RDB writer cuts quicklist nodes
    hll_sparse_max_bytes: int = 3000  # hll-sparse-max-bytes: a sparse HyperLogLog's limit


ENCODING = EncodingLimits()
