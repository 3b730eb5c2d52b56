"""Keep large freed arrays in the process while the indicators are computed (glibc only).

glibc hands every block above its mmap threshold (at most 32 MiB) straight back to the
kernel when it is freed, so each of the hundreds of temporary arrays of a 5-million-row
computation (40 MB each) is mapped afresh and its pages zeroed and faulted in again: a
third of the computation's CPU time was the kernel's. Inside :func:`large_blocks_reused`
such blocks come from the heap and freed ones are reused; on leaving, the thresholds are
set to the largest values glibc's own dynamic thresholds reach (32 MiB mmap, 64 MiB trim)
and ``malloc_trim`` returns the freed memory, so the process keeps no more memory after
the computation than before it. Nested and concurrent uses share
one setting (the last to leave restores it). Elsewhere (musl, macOS, Windows) nothing
changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["large_blocks_reused"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_REUSE_BELOW = 1 << 30  # blocks up to 1 GiB come from the heap
_KEEP_FREE = (1 << 31) - 1  # freed memory stays up to 2 GiB
_MMAP_AFTER = 32 << 20  # glibc's largest dynamic thresholds (64-bit)
_TRIM_AFTER = 64 << 20

_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()


@contextmanager
def large_blocks_reused() -> Iterator[None]:
    """Within the block, freed large arrays are reused instead of returned to the kernel."""
    global _depth
    if _LIBC is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _LIBC.mallopt(_M_MMAP_THRESHOLD, _REUSE_BELOW)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, _KEEP_FREE)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _LIBC.mallopt(_M_MMAP_THRESHOLD, _MMAP_AFTER)
                _LIBC.mallopt(_M_TRIM_THRESHOLD, _TRIM_AFTER)
                _LIBC.malloc_trim(0)
