"""HyperLogLog commands, caskd against redis-server: the same inputs give the same
replies and the same value bytes (GET, DUMP), sparse and dense, in RESP2 and RESP3;
Redis's errors for wrong types and corrupt values."""

from __future__ import annotations

from tests.compat.test_dump import same_table_rows
from tests.compat.test_strings import run

ELEMENTS = [f"element:{i}" for i in range(6000)]


def grow(pair, key: str, elements: list[str], batch: int = 250) -> None:
    """PFADD in batches, checking each reply, the count and the bytes as they grow."""
    for start in range(0, len(elements), batch):
        pair.check("PFADD", key, *elements[start:start + batch])
        pair.check("PFCOUNT", key)
        pair.check("GET", key)
    pair.check("PFDEBUG", "ENCODING", key)


def test_pfadd_and_pfcount_from_sparse_to_dense(pair):
    run(pair, ("PFADD", "h"), ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFADD", "h", "a", "b", "c"), ("PFADD", "h", "a"), ("PFADD", "h"),
        ("PFDEBUG", "DECODE", "h"), ("PFCOUNT", "h"), ("PFCOUNT", "nokey"),
        ("PFADD", "one", ""), ("PFCOUNT", "one"), ("PFADD",), ("PFCOUNT",))
    grow(pair, "big", ELEMENTS)
    run(pair, ("DUMP", "big"), ("DUMP", "h"), ("STRLEN", "big"))


def test_small_batches_hit_every_sparse_edit(pair):
    """One element at a time: VAL runs split and join as Redis's hllSparseSet does."""
    for i in range(400):
        pair.check("PFADD", "s", f"x{i}")
        if i % 25 == 0:
            pair.check("PFDEBUG", "DECODE", "s")
    run(pair, ("GET", "s"), ("PFCOUNT", "s"))


def test_pfcount_of_several_keys_and_pfmerge(pair):
    grow(pair, "dense", ELEMENTS[:4000], batch=2000)
    run(pair,
        ("PFADD", "a", *ELEMENTS[:100]), ("PFADD", "b", *ELEMENTS[50:300]),
        ("PFCOUNT", "a", "b"), ("PFCOUNT", "a", "nokey", "b"), ("PFCOUNT", "nokey", "nokey2"),
        ("PFCOUNT", "a", "dense"),
        ("PFMERGE", "ab", "a", "b"), ("GET", "ab"), ("PFCOUNT", "ab"),
        ("PFDEBUG", "ENCODING", "ab"),
        ("PFMERGE", "a", "b"), ("GET", "a"),  # into an existing key: it is a source too
        ("PFMERGE", "mixed", "b", "dense"), ("PFDEBUG", "ENCODING", "mixed"), ("GET", "mixed"),
        ("PFMERGE", "alone"), ("GET", "alone"), ("PFMERGE", "none", "nokey"), ("GET", "none"),
        ("PFMERGE", "b", "b"), ("GET", "b"), ("PFMERGE",))


def test_pfdebug(pair):
    run(pair,
        ("PFADD", "h", "a", "b", "c"),
        ("PFDEBUG", "GETREG", "h"), ("PFDEBUG", "ENCODING", "h"), ("GET", "h"),
        ("PFADD", "t", "x"), ("PFDEBUG", "TODENSE", "t"), ("PFDEBUG", "TODENSE", "t"),
        ("PFDEBUG", "DECODE", "t"), ("PFDEBUG", "encoding", "t"), ("GET", "t"),
        ("PFADD", "t", "y"), ("PFCOUNT", "t"),
        ("PFDEBUG", "NOPE", "h"), ("PFDEBUG", "GETREG", "nokey"), ("PFDEBUG", "NOPE", "nokey"),
        ("PFDEBUG", "GETREG"), ("PFDEBUG", "GETREG", "h", "x"),
        ("SET", "s", "x"), ("PFDEBUG", "ENCODING", "s"))


def test_wrong_types_and_corrupt_values(pair):
    sparse_header = b"HYLL\x01" + bytes(11)
    run(pair,
        ("SET", "str", "not an hll"), ("PFADD", "str", "a"), ("PFCOUNT", "str"),
        ("PFCOUNT", "str", "nokey"), ("PFMERGE", "dst", "str"), ("EXISTS", "dst"),
        ("SET", "int", "12"), ("PFADD", "int", "a"),
        ("RPUSH", "list", "a"), ("PFADD", "list", "a"), ("PFCOUNT", "list"),
        ("PFCOUNT", "list", "str"), ("PFMERGE", "list", "nokey"), ("PFMERGE", "dst", "list"),
        ("SET", "short", b"HYLL\x00" + bytes(11) + bytes(100)), ("PFCOUNT", "short"),
        ("SET", "enc", b"HYLL\x02" + bytes(11) + b"\x7f\xff"), ("PFADD", "enc", "a"),
        # Sparse runs that cover too few or too many registers: Redis's INVALIDOBJ.
        ("SET", "few", sparse_header + b"\x7f\xfe"), ("PFCOUNT", "few"), ("PFADD", "few", "a"),
        ("PFCOUNT", "few", "few"), ("PFMERGE", "dst", "few"), ("PFDEBUG", "GETREG", "few"),
        ("PFDEBUG", "TODENSE", "few"), ("PFDEBUG", "DECODE", "few"),
        ("SET", "many", sparse_header + b"\x7f\xff\x80"), ("PFCOUNT", "many"),
        ("GET", "few"), ("GET", "many"))


def test_a_value_keeps_its_ttl_and_moves_as_a_string(pair):
    run(pair, ("PFADD", "h", "a", "b"), ("EXPIRE", "h", "1000"), ("PFADD", "h", "c"),
        ("TTL", "h"), ("PFCOUNT", "h"), ("TTL", "h"), ("PFMERGE", "h", "h"), ("TTL", "h"))
    value = pair.check("GET", "h")
    run(pair, ("SET", "copy", value), ("PFCOUNT", "copy"), ("PFADD", "copy", "d"),
        ("PFCOUNT", "copy", "h"), ("GET", "copy"))


def test_pfselftest(pair):
    run(pair, ("PFSELFTEST",), ("PFSELFTEST", "x"))


def test_command_table_rows(pair2):
    same_table_rows(pair2, "pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest")


def test_elements_of_every_length_hash_as_in_redis(pair):
    """MurmurHash64A reads 8-byte blocks, then a tail of 0 to 7 bytes: each length
    lands its element in Redis's register with Redis's run length."""
    for length in range(0, 25):
        pair.check("PFADD", "lengths", bytes(range(200, 200 + length)))
        pair.check("PFADD", "lengths", b"\xff" * length)
    run(pair, ("GET", "lengths"), ("PFCOUNT", "lengths"), ("PFDEBUG", "GETREG", "lengths"))


def test_hll_sparse_max_bytes_decides_when_a_value_turns_dense(pair2):
    """A lower hll-sparse-max-bytes promotes the sparse value sooner; a higher one keeps
    it sparse longer: the same bytes as Redis's at each step."""
    for limit in ("200", "10000"):
        pair2.both("CONFIG", "SET", "hll-sparse-max-bytes", limit)
        try:
            for batch in range(8):
                pair2.both("PFADD", f"h{limit}", *[f"e{batch}-{i}" for i in range(150)])
                pair2.check("GET", f"h{limit}")
                pair2.check("PFDEBUG", "ENCODING", f"h{limit}")
        finally:
            pair2.both("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
