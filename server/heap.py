"""Hand memory freed inside glibc's heap back to the OS.

glibc returns freed heap memory to the OS only from the top of the heap. Memory
freed below a live object stays resident until it is reused: after a burst of
writes, the request bodies and the log's write buffers (kept until an fsync
covers them) leave MBs of free pages behind, counted in the process's RSS.
``malloc_trim(0)`` releases every free page of the heap, in about a millisecond.

The cron calls :meth:`HeapTrimmer.check` once a second. It trims when, since the
last trim, the heap's free bytes (memory was freed) or the process's resident
anonymous memory (free pages were touched again, or the data grew) rose by
:data:`TRIM_STEP` over their lowest; so an idle server never pays for it.
Without glibc (``malloc_trim``, ``mallinfo2``) or ``/proc`` it does nothing.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from collections.abc import Callable

TRIM_STEP = 1024 * 1024
_STATM = "/proc/self/statm"


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def resident_anonymous() -> int:
    """Bytes of this process's memory that are resident and not backed by a file."""
    with open(_STATM, "rb") as statm:
        fields = statm.read().split()
    return (int(fields[1]) - int(fields[2])) * mmap.PAGESIZE  # resident - file-backed


def _glibc_functions() -> tuple[Callable | None, Callable | None]:
    """``malloc_trim`` and ``mallinfo2``; (None, None) without glibc or ``/proc``."""
    if not os.path.exists(_STATM):
        return None, None
    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        malloc_trim, mallinfo2 = libc.malloc_trim, libc.mallinfo2
    except (OSError, AttributeError):
        return None, None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    mallinfo2.argtypes = []
    mallinfo2.restype = _MallInfo2
    return malloc_trim, mallinfo2


class HeapTrimmer:
    def __init__(self) -> None:
        self._malloc_trim, self._mallinfo2 = _glibc_functions()
        self._lowest = self._sample() if self.available else (0, 0)

    @property
    def available(self) -> bool:
        return self._malloc_trim is not None

    def _sample(self) -> tuple[int, int]:
        """Bytes free in glibc's arenas (resident or not), resident anonymous bytes."""
        return self._mallinfo2().fordblks, resident_anonymous()

    def check(self) -> bool:
        """Trim if freed or resident memory rose by TRIM_STEP; True if it trimmed."""
        if self._malloc_trim is None:
            return False
        free, resident = self._sample()
        lowest_free, lowest_resident = self._lowest
        if free < lowest_free + TRIM_STEP and resident < lowest_resident + TRIM_STEP:
            self._lowest = (min(free, lowest_free), min(resident, lowest_resident))
            return False
        self._malloc_trim(0)
        self._lowest = self._sample()
        return True
