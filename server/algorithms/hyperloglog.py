"""HyperLogLog exactly as Redis 7.0's hyperloglog.c keeps it, so the same inputs
give the same bytes and the same PFCOUNT, and a value moves between caskd and
Redis as a plain string.

A value is a string: a 16-byte header (``HYLL``, the encoding, three zero bytes,
the cached cardinality: 8 bytes little-endian, its top bit set when stale), then
16384 6-bit registers, either *dense* (12288 bytes, registers packed from the
least significant bit) or *sparse*: run-length opcodes

- ZERO ``00xxxxxx``: 1..64 registers at 0;
- XZERO ``01xxxxxx yyyyyyyy``: 1..16384 registers at 0;
- VAL ``1vvvvvxx``: 1..4 registers at the value 1..32.

A sparse value becomes dense when a register needs more than 32 or the value would
outgrow ``hll-sparse-max-bytes`` (3000 by default). The sparse edits below follow Redis's
hllSparseSet step by step (including which neighbouring runs it merges), since a
different but equivalent encoding would be different bytes.
"""

from __future__ import annotations

import math
import random

from storage.encoding import ENCODING

P = 14
Q = 64 - P
REGISTERS = 1 << P
REGISTER_MAX = 63
HEADER_SIZE = 16
DENSE_SIZE = HEADER_SIZE + (REGISTERS * 6 + 7) // 8
DENSE, SPARSE = 0, 1
_VAL_MAX_VALUE = 32
_VAL_MAX_LEN = 4
_ZERO_MAX_LEN = 64
_XZERO_MAX_LEN = 16384
_ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)
_SEED = 0xADC83B19
_M64 = (1 << 64) - 1


class InvalidHll(Exception):
    """A sparse representation that does not add up to 16384 registers."""


# ------------------------------------------------------------------ hashing


def murmurhash64a(data: bytes, seed: int = _SEED) -> int:
    """MurmurHash64A as Redis has it (endian-neutral: blocks read little-endian)."""
    m, r = 0xC6A4A7935BD1E995, 47
    length = len(data)
    h = (seed ^ (length * m)) & _M64
    tail = length - (length & 7)
    for pos in range(0, tail, 8):
        k = int.from_bytes(data[pos:pos + 8], "little")
        k = (k * m) & _M64
        k ^= k >> r
        k = (k * m) & _M64
        h ^= k
        h = (h * m) & _M64
    if length & 7:
        h ^= int.from_bytes(data[tail:], "little")
        h = (h * m) & _M64
    h ^= h >> r
    h = (h * m) & _M64
    h ^= h >> r
    return h


def pattern_length(element: bytes) -> tuple[int, int]:
    """hllPatLen: (register index, length of the 000..1 run that follows it)."""
    hashed = murmurhash64a(element)
    index = hashed & (REGISTERS - 1)
    rest = (hashed >> P) | (1 << Q)  # the run ends by Q + 1 at the latest
    return index, (rest & -rest).bit_length()


# ------------------------------------------------------------------ estimating


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if previous == z:
            return z / 3


def estimate(histogram: list[int]) -> int:
    """hllCount's estimate from the histogram of register values (Otmar Ertl's
    improved estimator, as Redis 5 and later use)."""
    m = float(REGISTERS)
    z = m * _tau((m - histogram[Q + 1]) / m)
    for value in range(Q, 0, -1):
        z += histogram[value]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    estimate = _ALPHA_INF * m * m / z
    whole = int(estimate)
    return whole + (estimate - whole >= 0.5)  # llroundl: halves away from zero


def count_registers(registers: bytearray | list[int]) -> int:
    """The cardinality of plain register values (PFCOUNT of several keys)."""
    histogram = [0] * 64
    for value in registers:
        histogram[value] += 1
    return estimate(histogram)


# ------------------------------------------------------------------ values


def _dense_get(registers: bytearray, index: int) -> int:
    byte, shift = divmod(index * 6, 8)
    if shift <= 2:  # within one byte (the last register is such a one)
        return registers[byte] >> shift & REGISTER_MAX
    return (registers[byte] >> shift | registers[byte + 1] << (8 - shift)) & REGISTER_MAX


def _dense_set(registers: bytearray, index: int, value: int) -> None:
    byte, shift = divmod(index * 6, 8)
    registers[byte] = (registers[byte] & ~(REGISTER_MAX << shift) & 0xFF) | (value << shift
                                                                           & 0xFF)
    if shift > 2:
        spill = 8 - shift
        registers[byte + 1] = (registers[byte + 1] & ~(REGISTER_MAX >> spill) & 0xFF) | (
            value >> spill)


def _dense_registers(registers) -> list[int]:
    """Every register of a dense value, three bytes (four registers) at a time."""
    values = []
    append = values.append
    for pos in range(0, REGISTERS * 6 // 8, 3):
        b0, b1, b2 = registers[pos], registers[pos + 1], registers[pos + 2]
        append(b0 & 63)
        append((b0 >> 6 | b1 << 2) & 63)
        append((b1 >> 4 | b2 << 4) & 63)
        append(b2 >> 2)
    return values


def _opcode(data: bytearray, pos: int) -> tuple[str, int, int, int]:
    """The sparse opcode at ``pos``: (kind, registers it covers, value, its size)."""
    first = data[pos]
    if first & 0x80:
        return "val", (first & 3) + 1, (first >> 2 & 0x1F) + 1, 1
    if first & 0x40:
        return "xzero", ((first & 0x3F) << 8 | data[pos + 1]) + 1, 0, 2
    return "zero", (first & 0x3F) + 1, 0, 1


def _zeros(length: int) -> bytes:
    if length > _ZERO_MAX_LEN:
        return bytes(((length - 1) >> 8 | 0x40, (length - 1) & 0xFF))
    return bytes((length - 1,))


def _val(value: int, length: int) -> int:
    return (value - 1) << 2 | (length - 1) | 0x80


class Hll:
    """A HyperLogLog value, edited in place as Redis edits its string."""

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = bytearray(data)
        # (position, first register, the opcode before it) of a sparse opcode that
        # starts where it did before the last edit: where the next walk may start.
        self._resume: tuple[int, int, tuple[int, int] | None] | None = None

    @classmethod
    def new(cls) -> Hll:
        """createHLLObject: sparse, every register in XZERO runs."""
        runs = b"".join(_zeros(_XZERO_MAX_LEN) for _ in range(REGISTERS // _XZERO_MAX_LEN))
        return cls(b"HYLL" + bytes((SPARSE,)) + bytes(11) + runs)

    @classmethod
    def parse(cls, value: bytes) -> Hll | None:
        """isHLLObjectOrReply's checks; None if ``value`` is not a HyperLogLog."""
        if len(value) < HEADER_SIZE or value[:4] != b"HYLL" or value[4] > SPARSE:
            return None
        if value[4] == DENSE and len(value) != DENSE_SIZE:
            return None
        return cls(value)

    def __bytes__(self) -> bytes:
        return bytes(self.data)

    @property
    def encoding(self) -> int:
        return self.data[4]

    # -------------------------------------------------------------- the cache

    def cached_count(self) -> int | None:
        if self.data[15] & 0x80:
            return None
        return int.from_bytes(self.data[8:16], "little")

    def store_count(self, count: int) -> None:
        self.data[8:16] = count.to_bytes(8, "little")

    def invalidate_cache(self) -> None:
        self.data[15] |= 0x80

    # -------------------------------------------------------------- registers

    def add(self, element: bytes) -> bool:
        """hllAdd: True if a register grew. InvalidHll for a corrupt sparse value."""
        return self.set_register(*pattern_length(element))

    def set_register(self, index: int, count: int) -> bool:
        """Raise register ``index`` to ``count`` if it is lower; True if it was."""
        if self.encoding == DENSE:
            registers = memoryview(self.data)[HEADER_SIZE:]
            if _dense_get(registers, index) >= count:
                return False
            _dense_set(registers, index, count)
            return True
        return self._sparse_set(index, count)

    def registers(self) -> bytearray:
        """Every register's value (hllMerge into zeros)."""
        values = bytearray(REGISTERS)
        self.merge_into(values)
        return values

    def merge_into(self, maxima: bytearray) -> None:
        """hllMerge: raise each of ``maxima`` to this value's register."""
        if self.encoding == DENSE:
            for index, value in enumerate(_dense_registers(memoryview(self.data)[HEADER_SIZE:])):
                if value > maxima[index]:
                    maxima[index] = value
            return
        for first, span, value in self._runs():
            if not value:
                continue
            for position in range(first, first + span):
                if value > maxima[position]:
                    maxima[position] = value

    def count(self) -> int:
        """hllCount of this value. InvalidHll for a corrupt sparse value."""
        if self.encoding == DENSE:
            return count_registers(_dense_registers(memoryview(self.data)[HEADER_SIZE:]))
        histogram = [0] * 64
        for _, span, value in self._runs():
            histogram[value] += span
        return estimate(histogram)

    def to_dense(self) -> bool:
        """hllSparseToDense; True if it was sparse. The cached count is kept."""
        if self.encoding == DENSE:
            return False
        dense = bytearray(DENSE_SIZE)
        dense[:HEADER_SIZE] = self.data[:HEADER_SIZE]
        dense[4] = DENSE
        registers = memoryview(dense)[HEADER_SIZE:]
        for first, span, value in self._runs():
            if not value:
                continue
            for position in range(first, first + span):
                _dense_set(registers, position, value)
        self.data = dense
        return True

    def decode_sparse(self) -> str:
        """PFDEBUG DECODE's text: ``z:len``, ``Z:len``, ``v:value,len`` per opcode."""
        names = {"zero": "z:{1}", "xzero": "Z:{1}", "val": "v:{2},{1}"}
        return " ".join(names[kind].format(kind, span, value)
                        for kind, span, value, _ in self._opcodes())

    def _runs(self):
        """(first register, registers, value) of each run of a sparse value, zeros
        included. InvalidHll unless they cover exactly the 16384 registers; the
        caller's work is then dropped, as Redis drops its command's."""
        index = 0
        for _, span, value, _ in self._opcodes():
            if index + span > REGISTERS:
                raise InvalidHll
            yield index, span, value
            index += span
        if index != REGISTERS:
            raise InvalidHll

    def _opcodes(self):
        data, pos = self.data, HEADER_SIZE
        end = len(data)
        while pos < end:
            if data[pos] & 0xC0 == 0x40 and pos + 1 >= end:
                return  # an XZERO cut short: the registers will not add up
            opcode = _opcode(data, pos)
            yield opcode
            pos += opcode[3]

    # -------------------------------------------------------------- sparse edits

    def _sparse_set(self, index: int, count: int) -> bool:
        """hllSparseSet, step by step."""
        if count > _VAL_MAX_VALUE:
            return self._promote(index, count)
        data = self.data
        # Step 1: the opcode covering the register, and the one before it.
        pos, first, previous, before_previous = self._find(index)
        self._resume = None if previous is None else (*previous, before_previous)
        previous = None if previous is None else previous[0]
        kind, span, value, size = _opcode(data, pos)
        # Step 2: cases A, B and C change nothing or one byte.
        if kind == "val":
            if value >= count:
                return False
            if span == 1:
                data[pos] = _val(count, 1)
                self._merge_runs(previous)
                return True
        if kind == "zero" and span == 1:
            data[pos] = _val(count, 1)
            self._merge_runs(previous)
            return True
        # Case D: split the run into what is before, the register, what is after.
        last = first + span - 1
        if kind == "val":
            before = bytes((_val(value, index - first),)) if index != first else b""
            after = bytes((_val(value, last - index),)) if index != last else b""
        else:
            before = _zeros(index - first) if index != first else b""
            after = _zeros(last - index) if index != last else b""
        sequence = before + bytes((_val(count, 1),)) + after
        # Step 3: put the sequence in place of the opcode, unless that outgrows the limit.
        if (len(sequence) > size
                and len(data) + len(sequence) - size > ENCODING.hll_sparse_max_bytes):
            return self._promote(index, count)
        data[pos:pos + size] = sequence
        self._merge_runs(previous)
        return True

    def _find(self, index: int) -> tuple[int, int, tuple | None, tuple | None]:
        """Step 1: the sparse opcode covering register ``index``: its position, its
        first register, and (position, first register) of the opcode before it and of
        the one before that (None: none). Redis walks from the first opcode every time;
        here the walk may resume at the opcode before the last edit's (no edit changes
        a byte before that one), which makes PFMERGE's register-by-register edits
        linear. It must then move on at least one opcode, so both predecessors are
        known; else it walks from the start."""
        if self._resume is not None and index >= self._resume[1]:
            pos, first, previous = self._resume
            found = self._walk(index, pos, first, previous, resumed=True)
            if found is not None:
                return found
        return self._walk(index, HEADER_SIZE, 0, None, resumed=False)

    def _walk(self, index: int, pos: int, first: int, previous: tuple | None,
              resumed: bool):
        """Step 1's loop from the opcode at ``pos`` (covering registers from ``first``,
        after ``previous``); None if a resumed walk would stop where it started."""
        data, end = self.data, len(self.data)
        before, span, steps = None, 0, 0
        try:
            while pos < end:
                opcode = data[pos]
                if opcode & 0x80:
                    span, size = (opcode & 3) + 1, 1
                elif opcode & 0x40:
                    span, size = ((opcode & 0x3F) << 8 | data[pos + 1]) + 1, 2
                else:
                    span, size = (opcode & 0x3F) + 1, 1
                if index < first + span:
                    break
                before, previous = previous, (pos, first)
                pos += size
                first += span
                steps += 1
        except IndexError:  # an XZERO cut short
            raise InvalidHll from None
        if span == 0 or pos >= end:
            raise InvalidHll
        if resumed and not steps:
            return None
        return pos, first, previous, before

    def _merge_runs(self, previous: int | None) -> None:
        """Step 4: join neighbouring VAL opcodes of one value, looking at up to five
        opcodes from the one before the change; then the cache is stale."""
        data = self.data
        pos = HEADER_SIZE if previous is None else previous
        scans = 5
        while pos < len(data) and scans:
            scans -= 1
            first = data[pos]
            if first & 0xC0 == 0x40:
                pos += 2
                continue
            if not first & 0x80:
                pos += 1
                continue
            if pos + 1 < len(data) and data[pos + 1] & 0x80:
                value, following = (first >> 2 & 0x1F) + 1, data[pos + 1]
                length = (first & 3) + 1 + (following & 3) + 1
                if value == (following >> 2 & 0x1F) + 1 and length <= _VAL_MAX_LEN:
                    data[pos:pos + 2] = bytes((_val(value, length),))
                    continue  # the merged run may join the next one too
            pos += 1
        self.invalidate_cache()

    def _promote(self, index: int, count: int) -> bool:
        self.to_dense()
        _dense_set(memoryview(self.data)[HEADER_SIZE:], index, count)
        return True


# ------------------------------------------------------------------ PFSELFTEST


def selftest(cycles: int = 3, cardinalities: int = 10_000) -> str | None:
    """PFSELFTEST's checks: None if they pass, else Redis's TESTFAILED message.
    Redis runs 1000 register cycles and counts up to ten million; this runs fewer
    (``cycles``, up to ``cardinalities``) so the server is not stalled for minutes."""
    dense = bytearray(DENSE_SIZE - HEADER_SIZE)
    for _ in range(cycles):
        expected = [random.randrange(REGISTER_MAX + 1) for _ in range(REGISTERS)]
        for index, value in enumerate(expected):
            _dense_set(dense, index, value)
        for index, (value, found) in enumerate(zip(expected, _dense_registers(dense),
                                                   strict=True)):
            if found != value:
                return f"TESTFAILED Register {index} should be {value} but is {found}"
    dense_hll = Hll(b"HYLL" + bytes(DENSE_SIZE - 4))
    sparse_hll = Hll.new()
    relative_error = 1.04 / math.sqrt(REGISTERS)
    checkpoint, seed = 1, random.getrandbits(64)
    for number in range(1, cardinalities + 1):
        element = (number ^ seed).to_bytes(8, "little")
        dense_hll.add(element)
        sparse_hll.add(element)
        if number != checkpoint:
            continue
        if number < ENCODING.hll_sparse_max_bytes // 2 and sparse_hll.encoding != SPARSE:
            return "TESTFAILED sparse encoding not used"
        counted = dense_hll.count()
        if counted != sparse_hll.count():
            return "TESTFAILED dense/sparse disagree"
        error = abs(checkpoint - counted)
        allowed = 1 if number == 10 else math.ceil(relative_error * 6 * checkpoint)
        if error > allowed:
            return f"TESTFAILED Too big error. card:{checkpoint} abserr:{error}"
        checkpoint *= 10
    return None
