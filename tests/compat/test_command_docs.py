"""COMMAND INFO and COMMAND DOCS of every command caskd and Redis 7.0.15 both have,
compared whole: flags and ACL categories as sets (their order is the table's), the
subcommands in any order (Redis lists them in its hash table's order), everything
else byte for byte once decoded: tips, key specs, summaries, complexity, history,
argument specs (what redis-cli's hints and redis-py read)."""

from __future__ import annotations

from tests.compat.differences import CASKD_ONLY_SUBCOMMANDS, COMMAND_INFO_ORDER
from tests.compat.harness import decode


def _names(pair) -> list[bytes]:
    """Top-level commands both servers know."""
    ours = {info[0] for info in decode(pair.both("COMMAND")[1])}
    return sorted(info[0] for info in decode(pair.both("COMMAND")[0]) if info[0] in ours)


def _as_dict(reply) -> dict:
    """A map, from RESP3 or (a flat array) RESP2."""
    return dict(zip(reply[::2], reply[1::2], strict=True)) if isinstance(reply, list) else reply


def _normal_docs(reply) -> dict:
    """COMMAND DOCS' reply (name -> docs) with every subcommand map sorted by name."""
    return {name: _normal_command_docs(docs) for name, docs in _as_dict(reply).items()
            if name not in CASKD_ONLY_SUBCOMMANDS}


def _normal_command_docs(docs) -> dict:
    docs = dict(_as_dict(docs))
    if b"subcommands" in docs:
        docs[b"subcommands"] = sorted(_normal_docs(docs[b"subcommands"]).items())
    return docs


def test_command_info_has_redis_tips_and_key_specs(pair):
    for name in _names(pair):
        pair.check("COMMAND", "INFO", name, allow=COMMAND_INFO_ORDER)


def test_command_docs_are_redis_docs(pair):
    for name in _names(pair):
        expected, actual = (_normal_docs(decode(raw))
                            for raw in pair.both("COMMAND", "DOCS", name))
        assert actual == expected, name


def test_bytes_where_no_hash_order_is_involved(pair):
    """Commands without subcommands, byte for byte: the maps, the sets' RESP3 types."""
    for name in ("set", "migrate", "xadd", "georadius", "zadd", "bitfield", "lpos"):
        pair.check("COMMAND", "DOCS", name)
    for name in ("get", "migrate", "xreadgroup", "keys", "lmpop", "georadius"):
        pair.check("COMMAND", "INFO", name, allow=COMMAND_INFO_ORDER)
